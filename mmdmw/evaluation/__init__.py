from .metrics import MOTTableMetric

__all__ = ['MOTTableMetric']

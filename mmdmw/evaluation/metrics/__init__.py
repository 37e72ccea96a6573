from .mot_table_metric import MOTTableMetric

__all__ = ['MOTTableMetric']

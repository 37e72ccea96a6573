from .chained_tracker import ChainedTracker

__all__ = ['ChainedTracker']

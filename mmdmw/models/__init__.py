from .dense_heads import ChainedRetinaHead
from .layers import CoordConv
from .losses import DMWLoss
from .mot import ChainedTracker
from .trackers import ChainTracker

__all__ = [
    'ChainedRetinaHead', 'CoordConv', 'DMWLoss', 'ChainedTracker',
    'ChainTracker'
]

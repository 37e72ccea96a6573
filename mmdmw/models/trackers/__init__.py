"""Trackers: association maths and the chained tracker."""
from .association import constant_velocity, hungarian_match, iou_matrix
from .chain_tracker import ChainTracker

__all__ = [
    'ChainTracker', 'constant_velocity', 'hungarian_match', 'iou_matrix'
]

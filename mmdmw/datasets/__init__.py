from .mot_video_dataset import MOTVideoDataset
from .transforms import PairFrameSample

__all__ = ['MOTVideoDataset', 'PairFrameSample']

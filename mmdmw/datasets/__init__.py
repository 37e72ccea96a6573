from .mot2coco import convert_mot_to_coco
from .mot_files import MOTFormatError, read_mot_gt, read_seqinfo
from .mot_video_dataset import MOTVideoDataset
from .synthetic_mot import generate_synthetic_mot
from .transforms import PairFrameSample

__all__ = [
    'MOTVideoDataset', 'PairFrameSample', 'MOTFormatError', 'read_mot_gt',
    'read_seqinfo', 'convert_mot_to_coco', 'generate_synthetic_mot'
]

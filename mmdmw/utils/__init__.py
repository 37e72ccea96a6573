"""Helpers that are not models: checkpoint conversion."""
from .checkpoint_convert import (convert_mobilenetv2_deepsort,
                                 convert_mobilenetv2_deepsort_file,
                                 deepsort_mobilenetv2_path)

__all__ = [
    'convert_mobilenetv2_deepsort', 'convert_mobilenetv2_deepsort_file',
    'deepsort_mobilenetv2_path'
]

"""Helpers that are not models: checkpoint conversion and safe loading."""
from .checkpoint_convert import (convert_mobilenetv2_deepsort,
                                 convert_mobilenetv2_deepsort_file,
                                 deepsort_mobilenetv2_path)
from .safe_checkpoint import (UnsafeCheckpointError, checkpoint_trusted,
                              load_checkpoint_bytes, load_checkpoint_file,
                              trust_checkpoint, trusted_checkpoints,
                              untrust_checkpoints)

__all__ = [
    'convert_mobilenetv2_deepsort', 'convert_mobilenetv2_deepsort_file',
    'deepsort_mobilenetv2_path', 'UnsafeCheckpointError',
    'load_checkpoint_file', 'load_checkpoint_bytes', 'trust_checkpoint',
    'trusted_checkpoints', 'untrust_checkpoints', 'checkpoint_trusted'
]

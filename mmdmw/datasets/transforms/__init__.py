from .pair_frame_sample import PairFrameSample

__all__ = ['PairFrameSample']

from .pair_targets import PairTargets, pair_targets

__all__ = ['PairTargets', 'pair_targets']

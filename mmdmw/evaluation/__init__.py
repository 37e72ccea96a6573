from .metrics import MOTTableMetric
from .pair_accuracy import (PairHalfAccumulator, evaluate_pair_halves,
                            match_pair_halves)

__all__ = [
    'MOTTableMetric', 'PairHalfAccumulator', 'evaluate_pair_halves',
    'match_pair_halves'
]

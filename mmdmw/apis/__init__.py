from .runner_utils import (prepare_test_cfg, prepare_train_cfg, run_guarded,
                           set_evaluators)

__all__ = [
    'prepare_train_cfg', 'prepare_test_cfg', 'run_guarded', 'set_evaluators'
]

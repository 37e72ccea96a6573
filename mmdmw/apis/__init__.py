from .runner_utils import (check_checkpoint_fits, exit_on_input_error,
                           prepare_test_cfg, prepare_train_cfg, run_guarded,
                           set_evaluators)

__all__ = [
    'prepare_train_cfg', 'prepare_test_cfg', 'run_guarded', 'set_evaluators',
    'check_checkpoint_fits', 'exit_on_input_error'
]

from .runner_utils import (add_runner_args, add_trust_arg,
                           check_checkpoint_fits, checkpoint_to_load,
                           exit_on_input_error, load_cfg, prepare_test_cfg,
                           prepare_train_cfg, run_guarded, set_evaluators,
                           trust_if_asked)

__all__ = [
    'add_runner_args', 'load_cfg', 'prepare_train_cfg', 'prepare_test_cfg',
    'run_guarded', 'set_evaluators', 'check_checkpoint_fits',
    'exit_on_input_error', 'add_trust_arg', 'trust_if_asked',
    'checkpoint_to_load'
]

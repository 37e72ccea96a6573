from .runner_utils import prepare_test_cfg, prepare_train_cfg, run_guarded

__all__ = ['prepare_train_cfg', 'prepare_test_cfg', 'run_guarded']

from .dmw_loss import DMWLoss, dynamic_weights

__all__ = ['DMWLoss', 'dynamic_weights']

from .gradient_share_hook import (GradientShareHook, gradient_shares,
                                  shared_grad_norm)

__all__ = ['GradientShareHook', 'gradient_shares', 'shared_grad_norm']

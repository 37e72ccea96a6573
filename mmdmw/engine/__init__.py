"""Training-loop extensions (hooks)."""
from .hooks import GradientShareHook

__all__ = ['GradientShareHook']

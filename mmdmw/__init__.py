"""mmdmw: dynamic multi-loss weighting for chained multiple people tracking.

Importing the package registers its modules into mmdet's registries, so a
config only needs ``custom_imports = dict(imports=['mmdmw'])``.
"""
from . import compat  # noqa: F401  (mends for upstream bugs, applied first)
from . import datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']

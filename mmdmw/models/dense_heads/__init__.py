from .chained_retina_head import ChainedRetinaHead

__all__ = ['ChainedRetinaHead']

from .coord_conv import CoordConv, coord_channels

__all__ = ['CoordConv', 'coord_channels']

"""Position-sensitive operation (PSO): a CoordConv layer.

The paper's PSO concatenates two channels holding each pixel's normalised x
and y coordinates to the input of every head branch (C -> C + 2), so that the
branch can condition on where in the image a feature lies (Liu et al.,
"An intriguing failing of convolutional neural networks and the CoordConv
solution", NeurIPS 2018).

Shapes: N images, C input channels, H x W feature map.

Coordinates: channel 0 holds x, which varies along the width,
``x[..., j] = -1 + 2 * j / (W - 1)`` (so column 0 is -1 and column W - 1 is
+1); channel 1 holds y, which varies along the height in the same way. An axis
of length 1 has the single value 0, the centre of [-1, 1] (its one pixel
spans the whole axis), which also avoids the division by ``W - 1 = 0``.
"""
from typing import Optional, Tuple, Union

import torch
from mmdet.registry import MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor, nn
from torch.nn.common_types import _size_2_t

NUM_COORD_CHANNELS = 2
# Coordinate terms kept at inference: one per map size (FPN level).
MAX_CACHED_SIZES = 16


def _axis_coords(length: int, like: Tensor) -> Tensor:
    """Return (length,) coordinates spanning [-1, 1]; 0 when length is 1."""
    # (2j - (L-1)) / max(L-1, 1): both ends exact (-1, +1), 0 when L is 1.
    # Tensor ops only, no branch on the size, so an exported graph
    # (mmdmw.deploy) builds the coordinates from its input's shape.
    idx = torch.arange(length, device=like.device, dtype=like.dtype)
    last = idx[-1:]  # L - 1
    return (2 * idx - last) / last.clamp(min=1)


def coord_channels(x: Tensor) -> Tensor:
    """Build the two coordinate channels for a feature map.

    Args:
        x (Tensor): (N, C, H, W) feature map; only its shape, device and
            dtype are used.

    Returns:
        Tensor: (N, 2, H, W) with channel 0 = x coordinate (varies along W)
        and channel 1 = y coordinate (varies along H), both in [-1, 1]. The
        batch dimension is an expanded view (no copy); concatenate before
        writing into it.
    """
    if x.dim() != 4:
        raise ValueError(f'expected a (N, C, H, W) tensor, got shape '
                         f'{tuple(x.shape)}')
    n, _, h, w = x.shape
    ys = _axis_coords(h, x)
    xs = _axis_coords(w, x)
    # indexing='ij': grid_y varies along dim 0 (H), grid_x along dim 1 (W)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    # 2 x (H, W) -> (1, 2, H, W) -> (N, 2, H, W)
    return torch.stack((grid_x, grid_y)).unsqueeze(0).expand(n, -1, -1, -1)


@MODELS.register_module()
class CoordConv(nn.Conv2d):
    """A 2D convolution that sees the pixel coordinates as two extra inputs.

    Drop-in replacement for ``nn.Conv2d`` wherever mmcv builds a conv layer:
    ``build_conv_layer(dict(type='CoordConv'), C, C_out, 3, padding=1)`` or
    ``ConvModule(..., conv_cfg=dict(type='CoordConv'))``.

    ``in_channels`` is the user's C, the number of channels of the tensor the
    layer is fed, as for any ``nn.Conv2d`` (ConvModule exports it, and norm
    layers placed before the conv are sized from it). The weight holds the
    extra inputs: its shape is (out_channels, C + 2, kh, kw), with the input
    channels first, then x, then y; ``conv_in_channels`` = C + 2. Default
    PyTorch / ConvModule (kaiming) / mmengine ``init_cfg`` initialisation
    apply unchanged, as they read the weight's shape (``init_cfg`` matching
    ``layer='Conv2d'`` matches this class, whose base is ``nn.Conv2d``).

    Args:
        in_channels (int): C, channels of the input feature map.
        out_channels (int): Channels produced by the convolution.
        kernel_size (int | tuple[int, int]): Size of the kernel.
        stride (int | tuple[int, int]): Stride. Defaults to 1.
        padding (int | tuple[int, int] | str): Padding. Defaults to 0.
        dilation (int | tuple[int, int]): Dilation. Defaults to 1.
        groups (int): Must be 1 (coordinates are shared by all outputs, so
            grouped convolution has no clear meaning). Defaults to 1.
        bias (bool): Whether to add a learnable bias. Defaults to True.
        padding_mode (str): As ``nn.Conv2d``. Defaults to 'zeros'.
        device, dtype: As ``nn.Conv2d``. Default to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: _size_2_t,
                 stride: _size_2_t = 1,
                 padding: Union[_size_2_t, str] = 0,
                 dilation: _size_2_t = 1,
                 groups: int = 1,
                 bias: bool = True,
                 padding_mode: str = 'zeros',
                 device: Optional[torch.device] = None,
                 dtype: Optional[torch.dtype] = None) -> None:
        if groups != 1:
            raise ValueError(f'CoordConv supports groups=1 only, got {groups}')
        super().__init__(
            in_channels + NUM_COORD_CHANNELS,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype)
        self.conv_in_channels = in_channels + NUM_COORD_CHANNELS
        self.in_channels = in_channels
        self._split_cache: tuple = (None, None)  # (key, weight parts)
        self._coord_cache: dict = {}  # map size -> coordinate term

    def _conv_forward(self, input: Tensor, weight: Tensor,
                      bias: Optional[Tensor]) -> Tensor:
        # Overridden rather than ``forward``: nn.Conv2d.forward calls it, and
        # so does mmcv's ConvModule efficient_conv_bn_eval path (with fused
        # weights), so the coordinates are added on every path.
        # conv(cat(x, xy), W) = conv(x, W[:, :C]) + conv(xy, W[:, C:]): the
        # same sum without widening the big conv (CPU kernels pad channels to
        # blocks, so C + 2 inputs cost far more than 2 / C extra).
        feature_weight, coord_weight = self._split(weight)
        features = super()._conv_forward(input, feature_weight, bias)
        return features + self._coord_term(input, coord_weight)

    def _split(self, weight: Tensor) -> Tuple[Tensor, Tensor]:
        """The weight's input-feature and coordinate parts, contiguous.

        At inference (no gradient) the copies are kept until the weights
        change, so a frame costs one plain conv plus one addition.
        """
        key = (weight.data_ptr(), weight._version, weight.device,
               weight.dtype)
        if self._cacheable(weight) and self._split_cache[0] == key:
            return self._split_cache[1]
        c = self.in_channels
        parts = (weight[:, :c].contiguous(), weight[:, c:].contiguous())
        if self._cacheable(weight):
            self._split_cache = (key, parts)
            self._coord_cache = {}  # new weights, new terms
        return parts

    @staticmethod
    def _cacheable(weight: Tensor) -> bool:
        if torch.jit.is_tracing() or torch.compiler.is_exporting():
            return False  # a cached term would be exported as a constant
        return not (torch.is_grad_enabled() and weight.requires_grad)

    def _coord_term(self, input: Tensor, coord_weight: Tensor) -> Tensor:
        """The coordinates' share of the output, (1, out, H', W').

        It depends on the map size and the weights only, so at inference it
        is computed once per size (one per FPN level) and reused until the
        weights change.
        """
        cacheable = self._cacheable(coord_weight)
        if cacheable:
            # Keyed by device and dtype: a model moved to the GPU, or run
            # under autocast (which makes the term float16), must not reuse
            # a term.
            device = input.device.type
            autocast = (torch.get_autocast_dtype(device)
                        if torch.is_autocast_enabled(device) else None)
            key = (tuple(input.shape[-2:]), input.device, input.dtype,
                   autocast)
            if key in self._coord_cache:
                return self._coord_cache[key]
        coords = coord_channels(input[:1])  # (1, 2, H, W)
        term = super()._conv_forward(coords, coord_weight, None)
        if cacheable:
            if len(self._coord_cache) >= MAX_CACHED_SIZES:
                self._coord_cache.clear()  # e.g. a stream of image sizes
            self._coord_cache[key] = term
        return term

    def extra_repr(self) -> str:
        return (super().extra_repr() +
                f', coord_channels={NUM_COORD_CHANNELS}')


# mmcv's build_conv_layer (hence ConvModule) looks a name up in the default
# scope's registry and its parents. With default_scope='mmdet' (our configs)
# the entry above suffices; registering in mmengine's root MODELS too, where
# mmcv keeps its own conv layers, makes conv_cfg=dict(type='CoordConv') work
# with no default scope as well (e.g. a head built in a plain script).
MMENGINE_MODELS.register_module('CoordConv', module=CoordConv)

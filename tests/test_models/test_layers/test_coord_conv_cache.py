"""CoordConv's cached coordinate term is not reused across autocast dtypes
(the CUDA-device case is in tests/test_cuda/)."""
import torch
from mmengine.runner.amp import autocast
from torch import nn

from mmdmw.models.layers.coord_conv import CoordConv, coord_channels


def test_term_cached_under_autocast_is_not_reused_without_it():
    torch.manual_seed(0)
    conv = CoordConv(4, 3, 3, padding=1).eval()
    x = torch.rand(1, 4, 7, 9)
    full = torch.cat([x, coord_channels(x)], dim=1)
    expected = nn.functional.conv2d(full, conv.weight, conv.bias, padding=1)
    with torch.no_grad():
        with autocast(device_type='cpu', dtype=torch.bfloat16):
            low = conv(x)  # caches a bfloat16 coordinate term
        assert low.dtype == torch.bfloat16
        out = conv(x)
    # A reused bfloat16 term would be off by ~1e-3 (8-bit mantissa).
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-5)

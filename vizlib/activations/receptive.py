"""Receptive fields of layers and stacks."""
from __future__ import annotations

import math
import operator
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import check_model, get_module
from .capture import _check_int


class ReceptiveField(NamedTuple):
    """Where the units of a layer look in the input (all in input pixels, along one side).

    Unit ``i`` of the layer's feature map sees input pixels
    ``offset + i * jump`` to ``offset + i * jump + size - 1`` (indices can lie
    outside the image: that part of the field falls on the padding).

    Attributes:
        size: side of the receptive field.
        jump: distance between the fields of neighbouring units (the product of the strides).
        offset: first input pixel seen by unit 0 (negative when padding is involved).
        feature_size: side of the layer's feature map for the given input size.
    """

    size: int
    jump: int
    offset: int
    feature_size: int


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _step(rf, feat, k, s, p, d, ceil_mode=False):
    """One conv/pool layer applied to (size, jump, offset) and the feature size."""
    size, jump, offset = rf
    k_eff = d * (k - 1) + 1
    out = (feat + 2 * p - k_eff) / s
    out = (math.ceil(out) if ceil_mode else math.floor(out)) + 1
    if ceil_mode and (out - 1) * s >= feat + p:  # PyTorch drops a window that starts in the padding
        out -= 1
    return (size + (k_eff - 1) * jump, jump * s, offset - p * jump), max(out, 0)


def _layer_geometry(module):
    """(kernel, stride, padding, dilation, ceil_mode) of a conv/pool module, square only."""
    if isinstance(module, nn.Conv2d):
        k, s, d = _pair(module.kernel_size), _pair(module.stride), _pair(module.dilation)
        if isinstance(module.padding, str):
            p = (0, 0) if module.padding == "valid" else tuple(d_ * (k_ - 1) // 2 for k_, d_ in zip(k, d))
        else:
            p = _pair(module.padding)
        ceil_mode = False
    elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k = _pair(module.kernel_size)
        s = _pair(module.stride if module.stride is not None else module.kernel_size)
        p = _pair(module.padding)
        d = _pair(getattr(module, "dilation", 1))
        ceil_mode = bool(module.ceil_mode)
    else:
        return None
    if k[0] != k[1] or s[0] != s[1] or p[0] != p[1] or d[0] != d[1]:
        raise ValueError(f"receptive_field supports square kernels, strides and paddings only; "
                         f"got {type(module).__name__} with kernel {k}, stride {s}, padding {p}")
    return k[0], s[0], p[0], d[0], ceil_mode


_GLOBAL_FUNCTIONS = {torch.flatten, F.adaptive_avg_pool2d, F.adaptive_max_pool2d, F.linear}


_GLOBAL_METHODS = {"flatten", "view", "reshape", "mean"}


_UNSUPPORTED_FUNCTIONS = {F.conv2d, F.max_pool2d, F.avg_pool2d, F.interpolate, torch.conv2d}


def _union(infos):
    """Receptive field of a sum or concatenation: the union of its inputs' fields."""
    infos = [i for i in infos if i is not None]
    if not infos:
        return None
    if any(i == "global" for i in infos):
        return "global"
    jump = max(i[0][1] for i in infos)
    left = min(i[0][2] for i in infos)
    right = max(i[0][2] + i[0][0] for i in infos)
    return (right - left, jump, left), min(i[1] for i in infos)


def _node_args(args):
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from _node_args(a)
        elif isinstance(a, dict):
            yield from _node_args(list(a.values()))
        else:
            yield a


def receptive_field(model: nn.Module, layer, input_size: int) -> ReceptiveField:
    """The receptive field of the units of ``layer`` for square inputs of side ``input_size``.

    The model's data flow is traced with ``torch.fx`` (no forward pass is run);
    along it every ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` grows the field by
    ``(d (k - 1)) * jump`` and multiplies the jump by its stride ``s``, padding ``p``
    shifts the offset by ``-p * jump``:

        size' = size + d (k - 1) jump,   jump' = jump s,   offset' = offset - p jump.

    Where branches meet (a residual sum, an Inception or DenseNet concatenation)
    the field is the union of the branches' fields. After a global operation
    (adaptive pooling to 1x1 or to a size that does not divide its input,
    flatten, a linear layer) every unit sees the whole image: the result is
    ``(input_size, input_size, 0, 1)``. This is the theoretical field; the
    *effective* field, where the gradient is large, is much smaller
    (Luo et al., 2016).

    Args:
        model: an ``nn.Module`` that ``torch.fx.symbolic_trace`` can trace (the course
            model and torchvision's CNNs can).
        layer: a layer name or module of ``model``.
        input_size: side of the square input image in pixels.

    Returns:
        :class:`ReceptiveField` ``(size, jump, offset, feature_size)``.

    Example:
        >>> receptive_field(model, "features.conv2", 64)
        ReceptiveField(size=21, jump=4, offset=-9, feature_size=16)
    """
    check_model(model)
    input_size = _check_int(input_size, "input_size")
    target = get_module(model, layer)
    if target is model:
        raise ValueError("layer must be a submodule of the model, not the model itself")
    names = [n for n, m in model.named_modules() if m is target]
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception as err:  # tracing failures come in many types
        raise ValueError(f"receptive_field could not trace the model with torch.fx "
                         f"({type(err).__name__}: {err}); it needs a model without data-dependent "
                         "control flow") from err
    modules = dict(model.named_modules())
    info: dict = {}
    leaf = inside = None
    for node in graph.nodes:
        args = [info.get(a) for a in _node_args(node.args) if isinstance(a, torch.fx.Node)]
        args += [info.get(a) for a in _node_args(node.kwargs.values()) if isinstance(a, torch.fx.Node)]
        if node.op == "placeholder":
            info[node] = ((1, 1, 0), input_size) if not info else None
        elif node.op == "call_module":
            module = modules[node.target]
            src = _union(args[:1])
            geom = _layer_geometry(module)
            if src is None or src == "global":
                info[node] = src
            elif geom is not None:
                k, s, p, d, ceil_mode = geom
                info[node] = _step(src[0], src[1], k, s, p, d, ceil_mode)
            elif isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
                out = module.output_size
                out = out if isinstance(out, int) else out[0]
                feat = src[1]
                if out == 1:
                    info[node] = "global"
                elif out is None or out == feat:
                    info[node] = src
                elif feat % out == 0:
                    info[node] = _step(src[0], feat, feat // out, feat // out, 0, 1)
                else:
                    info[node] = "global"
            elif isinstance(module, (nn.Linear, nn.Flatten)):
                info[node] = "global"
            elif isinstance(module, (nn.Conv1d, nn.Conv3d, nn.ConvTranspose2d, nn.Upsample,
                                     nn.MaxPool1d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool3d)):
                raise ValueError(f"receptive_field does not support {type(module).__name__} "
                                 f"(layer {node.target!r})")
            else:  # pointwise: ReLU, BatchNorm, Dropout, ...
                info[node] = src
        elif node.op in ("call_function", "call_method"):
            if node.target in _UNSUPPORTED_FUNCTIONS:
                raise ValueError(f"receptive_field cannot follow the functional call {node.target} "
                                 "(use nn.Module layers)")
            if node.target in _GLOBAL_FUNCTIONS or (node.op == "call_method" and node.target in _GLOBAL_METHODS):
                info[node] = "global" if _union(args) is not None else None
            elif node.target is operator.getitem and args:
                info[node] = _union(args[:1])
            else:  # add, cat, relu, mul, ...: union of the inputs
                info[node] = _union(args)
        elif node.op == "get_attr":
            info[node] = None
        if node.op == "call_module" and node.target in names:
            leaf = node if leaf is None else leaf  # a module called twice: its first call, as in capture
        elif node.op != "output":
            stack = node.meta.get("nn_module_stack") or {}
            paths = {v[0] if isinstance(v, tuple) else k for k, v in stack.items()}
            if any(n in paths for n in names):
                inside = node  # a container: the last node inside it is its output
    found = leaf if leaf is not None else inside
    if found is None or info.get(found) is None:
        raise ValueError(f"layer {layer!r} is not on the model's path from input to output")
    result = info[found]
    if result == "global":
        return ReceptiveField(input_size, input_size, 0, 1)
    (size, jump, offset), feat = result
    return ReceptiveField(size, jump, offset, feat)


def receptive_field_of_stack(layers: Sequence, input_size: int | None = None) -> ReceptiveField:
    """Receptive field after a chain of layers given as numbers, not modules.

    Args:
        layers: a sequence of ``(kernel, stride)``, ``(kernel, stride, padding)`` or
            ``(kernel, stride, padding, dilation)`` tuples, first layer first.
        input_size: side of the input, for ``feature_size`` (None: ``feature_size`` is 0).

    Returns:
        :class:`ReceptiveField`.

    Example:
        >>> receptive_field_of_stack([(3, 1, 1), (3, 1, 1), (2, 2)]).size   # two 3x3 convs and a 2x2 pool
        6
    """
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers must be a list of (kernel, stride[, padding[, dilation]]) tuples; "
                        f"got {type(layers).__name__}")
    rf, feat = (1, 1, 0), 0 if input_size is None else _check_int(input_size, "input_size")
    for i, spec in enumerate(layers):
        if not isinstance(spec, (list, tuple)) or not 2 <= len(spec) <= 4:
            raise ValueError(f"layers[{i}] must be (kernel, stride[, padding[, dilation]]); got {spec!r}")
        k, s, p, d = tuple(spec) + (0, 1)[len(spec) - 2:]
        k, s, d = (_check_int(v, f"layers[{i}] {a}") for v, a in ((k, "kernel"), (s, "stride"), (d, "dilation")))
        p = _check_int(p, f"layers[{i}] padding", minimum=0)
        rf, feat = _step(rf, feat, k, s, p, d)
    return ReceptiveField(rf[0], rf[1], rf[2], max(feat, 0) if input_size is not None else 0)

"""Activations: what a network computes at each layer, and where each unit looks.

:func:`capture` records layer outputs during a forward pass (hooks exist only
inside the ``with`` block); :func:`get_activations` runs the forward pass for
you and stops as soon as the deepest requested layer has fired.
:func:`receptive_field` computes, from the kernel, stride, padding and dilation
of every convolution and pooling layer on the way, which input pixels a unit
of a layer can see, and :func:`top_patches` finds the dataset patches that drive
a channel hardest, as in Zeiler and Fergus (2014).

Example:
    >>> with capture(model, ["features.conv1", "features.conv4"]) as acts:
    ...     logits = model(x)
    >>> acts["features.conv1"].shape
    torch.Size([8, 32, 32, 32])
    >>> receptive_field(model, "features.conv4", 64).size
    81
"""
from __future__ import annotations

import math
import operator
from contextlib import contextmanager
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import _validate
from .hooks import check_model, get_module, record, resolve_layers, run_forward, running
from .hooks import layer_names as _leaf_names

__all__ = [
    "ReceptiveField", "TopActivations", "TopPatches", "capture", "crop_patches", "get_activations",
    "layer_names", "receptive_field", "receptive_field_of_stack", "top_activations", "top_patches",
]


# ----------------------------------------------------------------------------- validation
def _check_int(value, arg: str, minimum: int = 1) -> int:
    return _validate.integer(value, arg, minimum=minimum)


def _check_input(x, model: nn.Module, arg: str = "x", *, space: str = "the model's input space",
                 then: str = ", then vizlib.normalize") -> None:
    """x must be a finite float (N, C, H, W) batch for ``model`` (also used by vizlib.style)."""
    _validate.image_batch(x, arg, model=model, space=space, then=then)


_resolve = resolve_layers


# ----------------------------------------------------------------------------- capture
@contextmanager
def capture(model: nn.Module, layers, *, detach: bool = True):
    """Record the outputs of ``layers`` during the forward passes run inside the block.

    The yielded dict maps each layer's name (for a module given as an object,
    its dotted name in ``model.named_modules()``) to a copy of its output; every
    forward pass overwrites the previous one's. Copies are taken, so a later
    in-place operation (the ``ReLU(inplace=True)`` after every convolution of
    torchvision's AlexNet and VGG) cannot change what was stored: a captured
    ``Conv2d`` holds the pre-ReLU values. A module called several times in one
    forward pass (the shared ``relu`` of a ResNet block) keeps its first call's
    output. A layer the forward pass never reaches is missing from the dict.
    Hooks are removed when the block ends, also after an exception; the model
    is not otherwise touched (run ``model.eval()`` yourself, or use
    :func:`get_activations`).

    Args:
        model: any ``nn.Module`` (the course model, torchvision CNNs, ...).
        layers: a layer name (``"features.conv1"``), a module of ``model``, or a
            list of them; see :func:`layer_names`.
        detach: store ``output.detach().clone()`` (default); with False the
            copies stay in the autograd graph, for losses on activations.

    Yields:
        dict ``{name: tensor}``, e.g. ``(N, C, H', W')`` for a convolution, filled
        on each forward pass.

    Example:
        >>> with capture(model, "features.relu2") as acts:
        ...     logits = model(x)
        >>> acts["features.relu2"].shape
        torch.Size([8, 64, 16, 16])
    """
    check_model(model)
    if not isinstance(detach, bool):
        raise TypeError(f"detach must be a bool; got {type(detach).__name__}")
    with record(model, layers, call="first", detach=detach) as store:
        yield store


def _forward_collect(model: nn.Module, x: torch.Tensor, pairs, *, detach: bool) -> dict:
    """Run ``model(x)`` until every layer of ``pairs`` has fired (each module's first call);
    return their outputs (private)."""
    with record(model, [name for name, _ in pairs], call="first", stop=True, detach=detach) as store:
        run_forward(model, x)
        got = {name: store.get(name) for name, _ in pairs}
    missing = [name for name, v in got.items() if v is None]
    if missing:
        raise ValueError(f"layers {missing} were not called during the forward pass")
    return got


def get_activations(model: nn.Module, x: torch.Tensor, layers, *, grad: bool = False) -> dict:
    """Outputs of ``layers`` for the input ``x``, in eval mode, without running deeper layers.

    Args:
        model: any ``nn.Module``; run in eval mode, its flags restored afterwards.
        x: (N, C, H, W) float, the model's (normalised) input, on the model's device.
        layers: a layer name or module, or a list of them.
        grad: keep the autograd graph to ``x`` (for losses on activations);
            default False runs under ``torch.no_grad()``.

    Returns:
        dict ``{name: tensor}`` in the order of ``layers``, e.g. (N, C, H', W').

    Example:
        >>> acts = get_activations(model, vizlib.normalize(images), ["features.conv1"])
    """
    check_model(model)
    _check_input(x, model)
    pairs = _resolve(model, layers)
    with running(model, grad=grad):
        return _forward_collect(model, x, pairs, detach=not grad)


def layer_names(model: nn.Module, kind=None) -> list[str]:
    """Names of the layers :func:`capture` can record.

    Args:
        model: any ``nn.Module``.
        kind: None for every leaf module (no children); a module class or a tuple
            of classes (``nn.Conv2d``) for every module of that kind, leaf or not.

    Returns:
        Dotted names in definition order, e.g. ``["features.conv1", "features.relu1", ...]``.

    Example:
        >>> layer_names(model, nn.Conv2d)
        ['features.conv1', 'features.conv2', 'features.conv3', 'features.conv4']
    """
    check_model(model)
    if kind is None:
        return _leaf_names(model)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not kinds or not all(isinstance(k, type) and issubclass(k, nn.Module) for k in kinds):
        raise TypeError(f"kind must be an nn.Module subclass or a tuple of them; got {kind!r}")
    return [name for name, m in model.named_modules() if name and isinstance(m, kinds)]


# ----------------------------------------------------------------------------- receptive fields
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


# ----------------------------------------------------------------------------- top activations
class TopActivations(NamedTuple):
    """The ``k`` strongest responses of each channel over a dataset, one per image.

    All fields are (len(channels), k) tensors except ``channels`` (len(channels),):
    ``values`` the activation, ``indices`` the image, ``rows`` and ``cols`` the
    position of the maximum in the feature map, best first.
    """

    values: torch.Tensor
    indices: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    channels: torch.Tensor


class TopPatches(NamedTuple):
    """:class:`TopActivations` plus the image patches under each unit's receptive field.

    ``patches``: (len(channels), k, C, size, size); ``boxes``: (len(channels), k, 4)
    as (top, left, bottom, right) in input pixels, bottom/right exclusive;
    ``field``: the layer's :class:`ReceptiveField`.
    """

    patches: torch.Tensor
    values: torch.Tensor
    indices: torch.Tensor
    boxes: torch.Tensor
    channels: torch.Tensor
    field: ReceptiveField


def top_activations(model: nn.Module, x: torch.Tensor, layer, *, k: int = 9, channels=None,
                    batch_size: int = 64, progress: bool = False) -> TopActivations:
    """For each channel of ``layer``, the ``k`` images of ``x`` that drive it hardest, and where.

    Each image counts once per channel, with the maximum of that channel's
    feature map (Zeiler and Fergus, 2014, show the top 9 images per channel).

    Args:
        model: the network, run in eval mode under ``torch.no_grad()``.
        x: (N, C, H, W) model input (normalised), on the model's device; N >= k.
        layer: a layer name or module whose output is (N, C', H', W') or (N, C').
        k: how many images per channel.
        channels: channel indices (default: all).
        batch_size: images per forward pass.
        progress: show a progress bar over batches.

    Returns:
        :class:`TopActivations`.

    Example:
        >>> top = top_activations(model, x, "features.conv2", k=4, channels=[0, 5])
        >>> top.indices.shape
        torch.Size([2, 4])
    """
    check_model(model)
    _check_input(x, model)
    k = _check_int(k, "k")
    batch_size = _check_int(batch_size, "batch_size")
    if k > x.shape[0]:
        raise ValueError(f"k must be at most the number of images ({x.shape[0]}); got {k}")
    pairs = _resolve(model, layer)
    if len(pairs) != 1:
        raise ValueError("layer must be a single layer")
    best_v = best_i = best_pos = None
    width = None
    chan = None
    with running(model, grad=False):
        for start in tqdm(range(0, x.shape[0], batch_size), desc="top activations", disable=not progress):
            a = _forward_collect(model, x[start:start + batch_size], pairs, detach=True)[pairs[0][0]]
            if not isinstance(a, torch.Tensor) or a.ndim not in (2, 4):
                raise ValueError(f"layer {pairs[0][0]!r} must output (N, C, H, W) or (N, C); "
                                 f"got {type(a).__name__} {tuple(getattr(a, 'shape', ()))}")
            if a.ndim == 2:
                a = a[:, :, None, None]
            if chan is None:
                n_ch = a.shape[1]
                if channels is None:
                    chan = torch.arange(n_ch)
                else:
                    chan = torch.as_tensor(channels).long().reshape(-1)
                    if chan.numel() == 0 or chan.min() < 0 or chan.max() >= n_ch:
                        raise ValueError(f"channels must be indices in [0, {n_ch}); got {channels!r}")
                width = a.shape[3]
            a = a[:, chan.to(a.device)].flatten(2)               # (B, C', H'W')
            v, pos = a.max(dim=2)                                 # (B, C')
            idx = torch.arange(start, start + a.shape[0], device=a.device)[:, None].expand_as(v)
            if best_v is not None:
                v, idx, pos = (torch.cat([best_v, v]), torch.cat([best_i, idx]), torch.cat([best_pos, pos]))
            order = v.argsort(dim=0, descending=True, stable=True)[:k]
            best_v, best_i, best_pos = v.gather(0, order), idx.gather(0, order), pos.gather(0, order)
    t = lambda z: z.T.contiguous().cpu()  # noqa: E731  (k, C') -> (C', k)
    return TopActivations(t(best_v), t(best_i), t(best_pos // width), t(best_pos % width), chan.clone())


def crop_patches(images: torch.Tensor, indices, rows, cols, field: ReceptiveField, *,
                 fill: float = 0.5) -> torch.Tensor:
    """Cut the receptive field of units ``(rows, cols)`` out of ``images[indices]``.

    Args:
        images: (N, C, H, W) images to cut from (usually in [0, 1], for display).
        indices, rows, cols: integer tensors of one shape S: which image, and the
            unit's position in the feature map.
        field: the layer's :class:`ReceptiveField`.
        fill: value of the pixels that fall outside the image (the padding).

    Returns:
        (*S, C, size, size) patches.

    Example:
        >>> top = top_activations(model, x, "features.conv2", k=4, channels=[0])
        >>> field = receptive_field(model, "features.conv2", 64)
        >>> crop_patches(images, top.indices, top.rows, top.cols, field).shape
        torch.Size([1, 4, 3, 21, 21])
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a tensor of shape (N, C, H, W); got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if not isinstance(field, ReceptiveField):
        raise TypeError(f"field must be a ReceptiveField; got {type(field).__name__}")
    indices, rows, cols = (torch.as_tensor(v).long().cpu() for v in (indices, rows, cols))
    if not indices.shape == rows.shape == cols.shape:
        raise ValueError(f"indices, rows and cols must have one shape; got {tuple(indices.shape)}, "
                         f"{tuple(rows.shape)}, {tuple(cols.shape)}")
    if indices.numel() and (indices.min() < 0 or indices.max() >= images.shape[0]):
        raise ValueError(f"indices must lie in [0, {images.shape[0]}); got values up to {indices.max().item()}")
    size = field.size
    pad = size + abs(field.offset) + field.jump
    padded = F.pad(images, (pad, pad, pad, pad), value=float(fill))
    out = []
    for i, r, c in zip(indices.reshape(-1).tolist(), rows.reshape(-1).tolist(), cols.reshape(-1).tolist()):
        top, left = field.offset + r * field.jump + pad, field.offset + c * field.jump + pad
        out.append(padded[i, :, top:top + size, left:left + size])
    if not out:
        return images.new_zeros((*indices.shape, images.shape[1], size, size))
    return torch.stack(out).reshape(*indices.shape, images.shape[1], size, size)


def top_patches(model: nn.Module, x: torch.Tensor, layer, *, images: torch.Tensor | None = None, k: int = 9,
                channels=None, batch_size: int = 64, fill: float = 0.5, progress: bool = False) -> TopPatches:
    """The dataset patches that activate each channel of ``layer`` most (Zeiler and Fergus, 2014).

    Runs :func:`top_activations`, computes the layer's :func:`receptive_field`
    and cuts each unit's field out of ``images``.

    Args:
        model: the network.
        x: (N, C, H, W) model input (normalised), square, on the model's device.
        layer: a layer name or module.
        images: (N, C, H, W) what to cut the patches from, e.g. the un-normalised
            images in [0, 1]; default ``x``.
        k, channels, batch_size, progress: as in :func:`top_activations`.
        fill: value of patch pixels outside the image.

    Returns:
        :class:`TopPatches`; ``patches`` is (len(channels), k, C, size, size).

    Example:
        >>> top = top_patches(model, x, "features.conv3", images=images, k=4, channels=[0, 1])
        >>> top.patches.shape
        torch.Size([2, 4, 3, 41, 41])
    """
    top = top_activations(model, x, layer, k=k, channels=channels, batch_size=batch_size, progress=progress)
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must hold square images for top_patches; got {tuple(x.shape[-2:])}")
    images = x if images is None else images
    if not isinstance(images, torch.Tensor) or images.shape[0] != x.shape[0] or images.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"images must have the batch size and spatial size of x {tuple(x.shape)}; got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    field = receptive_field(model, layer, x.shape[-1])
    patches = crop_patches(images.detach().cpu(), top.indices, top.rows, top.cols, field, fill=fill)
    top_ = field.offset + top.rows * field.jump
    left = field.offset + top.cols * field.jump
    boxes = torch.stack([top_, left, top_ + field.size, left + field.size], dim=-1)
    return TopPatches(patches, top.values, top.indices, boxes, top.channels, field)

"""The top-activating images and patches of a channel."""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..hooks import check_model, running
from .capture import _check_input, _check_int, _forward_collect, _resolve
from .receptive import ReceptiveField, receptive_field


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

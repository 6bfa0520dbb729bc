"""Does a CNN keep place? Shift equivariance layer by layer."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


# --------------------------------------------------------------------------- stimuli


def move_object(image: torch.Tensor, mask: torch.Tensor, shift, *, background: float = 0.5) -> torch.Tensor:
    """The object of a toy image, moved by ``shift`` pixels onto a flat background.

    Every pixel outside the moved object is ``background`` (0.5 is the mean grey, which the
    course model's normalisation maps to 0, the value of its zero padding), so moving the
    object is the same as moving the whole image: the ideal case for equivariance.

    Args:
        image: (3, H, W) float in [0, 1], e.g. one image of :func:`vizlib.data.toy_world`.
        mask: (H, W) bool, True on the object.
        shift: (dy, dx) ints, pixels down and to the right.
        background: grey level of every pixel off the object.

    Returns:
        Tensor (3, H, W): the object in its mean colour at its new place.

    Raises:
        ValueError: if the moved object would leave the image.

    Example:
        >>> x, _, m = vizlib.toy_world(1, seed=3)
        >>> move_object(x[0], m[0], (0, 4)).shape
        torch.Size([3, 64, 64])
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a tensor of shape (C, H, W); got {got}")
    if not isinstance(mask, torch.Tensor) or mask.shape != image.shape[1:] or mask.dtype != torch.bool:
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a bool tensor of shape {tuple(image.shape[1:])}; got {got}")
    if not mask.any():
        raise ValueError("mask must mark at least one pixel; got an empty mask")
    if (not isinstance(shift, (tuple, list)) or len(shift) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shift)):
        raise ValueError(f"shift must be a pair of ints (dy, dx); got {shift!r}")
    dy, dx = int(shift[0]), int(shift[1])
    rows, cols = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
    h, w = mask.shape
    if rows.min() + dy < 0 or rows.max() + dy >= h or cols.min() + dx < 0 or cols.max() + dx >= w:
        raise ValueError(f"shift must keep the object inside the image; got {shift!r} for an object in "
                         f"rows {rows.min().item()}-{rows.max().item()}, columns {cols.min().item()}-{cols.max().item()}")
    colour = image[:, mask].mean(1)
    out = torch.full_like(image, float(background))
    out[:, torch.roll(mask, (dy, dx), dims=(0, 1))] = colour[:, None]
    return out


def _moved(a: torch.Tensor, dy: int, dx: int, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """``a`` moved by integer (dy, dx) cells, cropped to rows top:H-bottom, columns left:W-right."""
    h, w = a.shape[-2:]
    return a[..., top - dy:h - bottom - dy, left - dx:w - right - dx]


def shifted_map_correlation(maps: torch.Tensor, maps_moved: torch.Tensor, shift) -> torch.Tensor:
    """Pearson correlation of ``maps_moved`` with ``maps`` moved by ``shift`` map cells.

    ``shift`` may be fractional (an input shift that the layer's stride does not divide):
    the moved copy is then the linear interpolation between the two neighbouring integer
    shifts. Only the cells where the moved copy is defined (no wrap-around) are compared,
    over all channels at once, one correlation per image.

    Args:
        maps: (N, C, H, W) feature maps of the original images.
        maps_moved: (N, C, H, W) feature maps of the moved images.
        shift: (dy, dx) floats, in cells of this map (input shift / cumulative stride).

    Returns:
        Tensor (N,): the correlations; NaN where no cell overlaps or a map is constant.

    Example:
        >>> a = torch.arange(32.0).reshape(1, 2, 4, 4) % 5
        >>> b = torch.roll(a, 1, dims=3)              # every map moved one cell to the right
        >>> shifted_map_correlation(a, b, (0, 1)).item()
        1.0
    """
    for arg, t in (("maps", maps), ("maps_moved", maps_moved)):
        if not isinstance(t, torch.Tensor) or t.ndim != 4:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{arg} must be a tensor of shape (N, C, H, W); got {got}")
    if maps.shape != maps_moved.shape:
        raise ValueError(f"maps_moved must have the shape of maps {tuple(maps.shape)}; got {tuple(maps_moved.shape)}")
    if not isinstance(shift, (tuple, list)) or len(shift) != 2:
        raise ValueError(f"shift must be a pair (dy, dx); got {shift!r}")
    sy, sx = float(shift[0]), float(shift[1])
    a, b = maps.double(), maps_moved.double()
    h, w = a.shape[-2:]
    y0, x0 = math.floor(sy), math.floor(sx)
    fy, fx = sy - y0, sx - x0
    ys = [y0] if fy == 0 else [y0, y0 + 1]
    xs = [x0] if fx == 0 else [x0, x0 + 1]
    top, bottom = max(0, max(ys)), max(0, -min(ys))
    left, right = max(0, max(xs)), max(0, -min(xs))
    n = a.shape[0]
    if top + bottom >= h or left + right >= w:
        return torch.full((n,), float("nan"))
    moved = 0.0
    for dy, wy in zip(ys, [1 - fy, fy] if fy else [1.0]):
        for dx, wx in zip(xs, [1 - fx, fx] if fx else [1.0]):
            moved = moved + wy * wx * _moved(a, dy, dx, top, bottom, left, right)
    target = b[..., top:h - bottom, left:w - right]
    u = moved.flatten(1) - moved.flatten(1).mean(1, keepdim=True)
    v = target.flatten(1) - target.flatten(1).mean(1, keepdim=True)
    denom = u.norm(dim=1) * v.norm(dim=1)
    out = (u * v).sum(1) / denom
    return torch.where(denom > 0, out, torch.full_like(out, float("nan"))).float()


def shift_equivariance(model: nn.Module, x: torch.Tensor, x_moved: torch.Tensor, shift, layers) -> dict:
    """How far each layer's output moves with the input: equivariance up to stride and pooling.

    For each layer with spatial maps, the correlation of the moved input's maps with the
    original maps moved by ``shift / jump`` cells (``jump``: the layer's cumulative stride,
    from :func:`vizlib.activations.receptive_field`), and, as a baseline, with the original
    maps not moved at all. A layer without spatial axes (flatten, a linear classifier) has no
    place to move: only the second correlation is defined there.

    Args:
        model: a CNN; run in eval mode, its flags restored afterwards (no hook is left).
        x: (N, C, H, W) normalised images, on the model's device.
        x_moved: (N, C, H, W) the same images moved by ``shift`` pixels.
        shift: (dy, dx) ints, the input shift in pixels.
        layers: layer names, e.g. ``["features.conv1", ..., "classifier.fc"]``.

    Returns:
        dict ``{layer: {"jump": int, "cells": (dy, dx) or None, "moved": (N,), "still": (N,)}}``;
        ``"moved"`` is NaN for layers without spatial maps.

    Example:
        >>> xs, _, ms = vizlib.toy_world(2, seed=3)
        >>> a = torch.stack([move_object(i, m, (0, 0)) for i, m in zip(xs, ms)])
        >>> b = torch.stack([move_object(i, m, (0, 4)) for i, m in zip(xs, ms)])
        >>> r = shift_equivariance(model, vizlib.normalize(a), vizlib.normalize(b), (0, 4),
        ...                        ["features.conv1"])
        >>> r["features.conv1"]["cells"]
        (0.0, 2.0)
    """
    from ..activations import get_activations, receptive_field

    if not isinstance(x_moved, torch.Tensor) or not isinstance(x, torch.Tensor) or x_moved.shape != x.shape:
        got = tuple(x_moved.shape) if isinstance(x_moved, torch.Tensor) else type(x_moved).__name__
        raise ValueError(f"x_moved must be a tensor of the shape of x; got {got}")
    if (not isinstance(shift, (tuple, list)) or len(shift) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shift)):
        raise ValueError(f"shift must be a pair of ints (dy, dx); got {shift!r}")
    names = [layers] if isinstance(layers, str) else list(layers)
    acts = get_activations(model, torch.cat([x, x_moved]), names)
    n = x.shape[0]
    out = {}
    for name in names:
        a, b = acts[name][:n].float(), acts[name][n:].float()
        still = torch.nn.functional.cosine_similarity(  # Pearson: centre each image's values
            a.flatten(1) - a.flatten(1).mean(1, keepdim=True),
            b.flatten(1) - b.flatten(1).mean(1, keepdim=True), dim=1)
        if a.ndim == 4:
            jump = receptive_field(model, name, x.shape[-1]).jump
            cells = (shift[0] / jump, shift[1] / jump)
            moved = shifted_map_correlation(a, b, cells)
        else:
            jump, cells, moved = None, None, torch.full((n,), float("nan"))
        out[name] = {"jump": jump, "cells": cells, "moved": moved, "still": still}
    return out

"""Occlusion: the drop in the target's probability when a window of the input is covered."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import hooks
from ._common import (
    _baseline,
    _check_logits,
    _check_model,
    _check_range,
    _check_target,
    _check_x,
    _chunks,
    _pair,
    _pos_int,
)


def occlusion_positions(size: int, window: int, stride: int) -> list[int]:
    """Start indices of a window sliding along one axis of length ``size``.

    ``0, stride, 2*stride, ...`` plus, if the last of these does not reach the end,
    ``size - window``, so that every pixel is covered by at least one window.

    Example:
        >>> occlusion_positions(10, 4, 4)
        [0, 4, 6]
    """
    size, window, stride = _pos_int("size", size), _pos_int("window", window), _pos_int("stride", stride)
    if window > size:
        raise ValueError(f"window must not exceed the image side {size}; got {window}")
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


class OcclusionGrid(NamedTuple):
    """What :func:`occlusion_grid` returns (Zeiler and Fergus 2014, figure 7 d-e).

    Attributes:
        target_prob: ``(N, R, S)`` softmax probability of the target class with the
            occluder's top-left corner at ``(rows[i], cols[j])``.
        top_class: ``(N, R, S)`` int64, the most probable class at each position.
        top_prob: ``(N, R, S)`` its probability.
        clean_prob: ``(N,)`` the target probability without occluder.
        rows: ``(R,)`` top rows of the occluder positions.
        cols: ``(S,)`` left columns.
        window: ``(height, width)`` of the occluder.
        image_size: ``(H, W)`` of the images.

    ``grid.pixel_map()`` turns the grid into :func:`occlusion`'s per-pixel map without
    running the model again.
    """

    target_prob: torch.Tensor
    top_class: torch.Tensor
    top_prob: torch.Tensor
    clean_prob: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    window: tuple
    image_size: tuple

    def pixel_map(self) -> torch.Tensor:
        """``(N, H, W)``: the drop ``clean_prob - target_prob`` averaged over the windows covering
        each pixel (0 for pixels no window covers), on the device of ``target_prob``."""
        n = self.target_prob.shape[0]
        (h, w), (wh, ww) = self.image_size, self.window
        drop = (self.clean_prob.view(n, 1, 1) - self.target_prob).detach().cpu()
        total = torch.zeros(n, h, w, dtype=drop.dtype)
        count = torch.zeros(h, w, dtype=drop.dtype)
        for a, r in enumerate(self.rows.tolist()):
            for b, q in enumerate(self.cols.tolist()):
                total[:, r:r + wh, q:q + ww] += drop[:, a, b, None, None]
                count[r:r + wh, q:q + ww] += 1
        out = torch.where(count > 0, total / count.clamp(min=1), torch.zeros(()))
        return out.to(self.target_prob.device)


def _occlusion_scan(model, x, target, window, stride, baseline, batch_size, progress) -> OcclusionGrid:
    _check_model(model)
    _check_x(model, x)
    t = _check_target(target, x.shape[0], x.device)
    (wh, ww), (sh, sw) = _pair("window", window), _pair("stride", stride)
    batch_size = _pos_int("batch_size", batch_size)
    n, c, h, w = x.shape
    if wh > h or ww > w:
        raise ValueError(f"window must fit in the {h}x{w} image; got {wh}x{ww}")
    base = _baseline(baseline, x).expand(n, c, h, w)
    rows, cols = occlusion_positions(h, wh, sh), occlusion_positions(w, ww, sw)
    places = [(r, q) for r in rows for q in cols]
    p = len(places)
    xd = x.detach()
    memory_format = torch.channels_last if x.device.type == "cpu" else torch.contiguous_format
    with hooks.running(model, grad=False):
        logits = model(xd)
        k = _check_logits(logits, n)
        _check_range(t, k)
        clean = logits.softmax(1).gather(1, t[:, None])[:, 0]
        target_prob = torch.empty(n, p, dtype=logits.dtype, device=x.device)
        top_prob, top_class = torch.empty_like(target_prob), torch.empty(n, p, dtype=torch.long, device=x.device)
        with tqdm(total=n * p, disable=not progress, desc="occlusion", unit="window") as bar:
            for i in range(n):
                for start, stop in _chunks(p, batch_size):
                    # channels-last copies: on the CPU, oneDNN's convolutions run 1.5-2x faster on them
                    batch = xd[i].expand(stop - start, c, h, w).clone(memory_format=memory_format)
                    for j, (r, q) in enumerate(places[start:stop]):
                        batch[j, :, r:r + wh, q:q + ww] = base[i, :, r:r + wh, q:q + ww]
                    try:
                        probs = model(batch).softmax(1)
                    except RuntimeError:  # e.g. a model that calls .view() on its features
                        if memory_format == torch.contiguous_format:
                            raise
                        memory_format, batch = torch.contiguous_format, batch.contiguous()
                        probs = model(batch).softmax(1)
                    target_prob[i, start:stop] = probs[:, t[i]]
                    top_prob[i, start:stop], top_class[i, start:stop] = probs.max(1)
                    bar.update(stop - start)
    shape = (n, len(rows), len(cols))
    as_t = lambda v: torch.tensor(v, dtype=torch.long)  # noqa: E731
    return OcclusionGrid(target_prob.view(shape), top_class.view(shape), top_prob.view(shape), clean,
                         as_t(rows), as_t(cols), (wh, ww), (h, w))


def occlusion(model: nn.Module, x: torch.Tensor, target, *, window=8, stride=4, baseline=0.0,
              batch_size: int = 128, progress: bool = True) -> torch.Tensor:
    """Occlusion sensitivity (Zeiler and Fergus 2014): how much the target's probability
    drops when a grey square hides each part of the image.

    A ``window`` x ``window`` square is slid over the image with step ``stride``
    (plus a last position flush with the bottom/right edge, see
    :func:`occlusion_positions`, so every pixel is covered by at least one window) and
    set to ``baseline`` (0 in normalised space is the dataset's mean colour, the
    paper's grey square). Each pixel gets the drop ``p(x) - p(x occluded)`` of the
    target's softmax probability, averaged over the windows covering it; when
    ``stride > window`` some pixels lie between windows and get 0. The occluded
    copies are evaluated ``batch_size`` at a time without gradients: ``N * R * S + N``
    forward passes of one image in all, where R x S is the number of positions.

    Args:
        model, x, target: as in :func:`gradient`.
        window: side of the occluder in pixels (int, or (height, width)), at most the image side.
        stride: step between positions (int > 0, or a pair).
        baseline: the occluder's value: a number, a ``(C,)`` colour, or a ``(C, H, W)`` /
            ``(N, C, H, W)`` image (e.g. a blurred copy), in the model's input space.
        batch_size: occluded images per forward pass.
        progress: show a progress bar (tqdm).

    Returns:
        ``(N, H, W)``: positive where hiding the pixel lowers the target's probability.

    Example:
        >>> occlusion(model, x[:1], labels[:1], window=12, stride=4, progress=False).shape
        torch.Size([1, 64, 64])
    """
    return _occlusion_scan(model, x, target, window, stride, baseline, batch_size, progress).pixel_map()


def occlusion_grid(model: nn.Module, x: torch.Tensor, target, *, window=8, stride=4, baseline=0.0,
                   batch_size: int = 128, progress: bool = True) -> OcclusionGrid:
    """The occluder-position maps of Zeiler and Fergus (2014), figure 7 (d) and (e).

    Same scan as :func:`occlusion`, but returns, for each occluder position (top-left
    corner ``(rows[i], cols[j])``), the target's probability and the most probable
    class, as an :class:`OcclusionGrid`.

    Args:
        model, x, target, window, stride, baseline, batch_size, progress: as in :func:`occlusion`.

    Returns:
        :class:`OcclusionGrid` with ``target_prob``, ``top_class``, ``top_prob`` of shape
        ``(N, R, S)``, ``clean_prob`` ``(N,)``, ``rows`` ``(R,)``, ``cols`` ``(S,)``, ``window``,
        ``image_size``; ``.pixel_map()`` gives :func:`occlusion`'s ``(N, H, W)`` map.

    Example:
        >>> g = occlusion_grid(model, x[:1], labels[:1], window=16, stride=4, progress=False)
        >>> g.target_prob.shape, g.top_class.shape         # one value per window position
        (torch.Size([1, 13, 13]), torch.Size([1, 13, 13]))
    """
    return _occlusion_scan(model, x, target, window, stride, baseline, batch_size, progress)

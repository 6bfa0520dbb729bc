"""Scoring maps against the model: deletion and insertion curves."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import _validate
from ..hooks import check_model, model_device, running
from .ground_truth import reduce_channels


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    pad = dict(pad=(radius, radius, 0, 0), mode="replicate")
    out = F.conv2d(F.pad(x, **pad), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    pad = dict(pad=(0, 0, radius, radius), mode="replicate")
    return F.conv2d(F.pad(out, **pad), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _causal_curve(mode, model, x, target, maps, *, n_steps, baseline, blur_sigma, batch_size, progress):
    check_model(model)
    _validate.image_batch(x, "x")  # moved to the model's device below, as before
    maps = reduce_channels(maps)
    n, _, h, w = x.shape
    if maps.shape != (n, h, w):
        raise ValueError(f"maps must have shape {(n, h, w)} (or (N, C, H, W) with those N, H, W); got {tuple(maps.shape)}")
    if _validate.integer(n_steps, "n_steps", minimum=1) > h * w:
        raise ValueError(f"n_steps must be an int between 1 and H*W = {h * w}; got {n_steps!r}")
    batch_size = _validate.positive_int(batch_size, "batch_size")
    device = model_device(model)
    targets = _validate.targets(target, n, device)
    xd = x.detach().to(device)
    if isinstance(baseline, torch.Tensor):
        try:
            base = torch.broadcast_to(baseline.detach().to(device, xd.dtype), xd.shape)
        except RuntimeError:
            raise ValueError(f"baseline must broadcast to x's shape {tuple(x.shape)}; got {tuple(baseline.shape)}") from None
    elif baseline == "mean":
        base = torch.zeros_like(xd)
    elif baseline == "blur":
        sigma = h / 32 if blur_sigma is None else blur_sigma
        sigma = _validate.real(sigma, "blur_sigma", positive=True)
        base = _gaussian_blur(xd, float(sigma))
    else:
        raise ValueError(f"baseline must be 'mean', 'blur' or a tensor; got {baseline!r}")

    # pixel order, most important first; ties keep row-major order
    order = torch.sort(maps.to(device).flatten(1), dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(h * w, device=device).expand(n, -1).contiguous())
    counts = [round(k * h * w / n_steps) for k in range(n_steps + 1)]
    # at step k the pixels with rank < counts[k] are changed: set to base (deletion) or to x (insertion)
    # job j is image j // (n_steps + 1) at step j % (n_steps + 1)
    images = torch.arange(n, device=device).repeat_interleave(n_steps + 1)
    shown_counts = torch.tensor(counts, device=device).repeat(n)
    probs = torch.empty(n * (n_steps + 1), dtype=torch.float32)
    with running(model, grad=False):
        for start in tqdm(range(0, len(images), batch_size), disable=not progress, desc=mode):
            idx = images[start : start + batch_size]
            cnt = shown_counts[start : start + batch_size]
            changed = (rank[idx] < cnt[:, None]).view(-1, 1, h, w)
            if mode == "deletion":
                batch = torch.where(changed, base[idx], xd[idx])
            else:
                batch = torch.where(changed, xd[idx], base[idx])
            p = model(batch).softmax(1).gather(1, targets[idx][:, None])[:, 0]
            probs[start : start + len(idx)] = p.float().cpu()
    probs = probs.view(n, n_steps + 1)
    fractions = torch.tensor(counts, dtype=torch.float64) / (h * w)
    area = torch.trapezoid(probs.double(), fractions, dim=1).float()
    return probs, area


def deletion_curve(model: nn.Module, x: torch.Tensor, target, maps: torch.Tensor, *, n_steps: int = 32,
                   baseline="mean", blur_sigma: float | None = None, batch_size: int = 256,
                   progress: bool = False):
    """Deletion curve (Petsiuk et al. 2018): delete pixels from most to least important.

    Pixels are ranked by the map (ties in row-major order). At step k of
    ``n_steps`` the ``round(k * H * W / n_steps)`` highest-ranked pixels are
    replaced, in every channel, by the baseline and the softmax probability of
    the target class is recorded. For 64x64 images and ``n_steps=32`` one step
    removes 128 pixels (1/32 of the image). The area under the curve, over the
    removed fraction in [0, 1], is computed with the trapezoid rule: smaller is
    better (the evidence went first).

    Args:
        model: a classifier; left unchanged (evaluated in eval mode, without gradients).
        x: (N, C, H, W) normalised input.
        target: int or (N,) integer tensor of class indices.
        maps: (N, H, W) importance maps (or (N, C, H, W), reduced by :func:`reduce_channels`).
        n_steps: number of steps; the curve has ``n_steps + 1`` points.
        baseline: what deleted pixels become: ``"mean"`` (default) sets them to 0
            in normalised space, the data set's mean colour, as in the RISE code;
            ``"blur"`` to a Gaussian blur of x (sigma ``blur_sigma``, default H/32
            pixels); or a tensor that broadcasts to x's shape.
        blur_sigma: blur width in pixels for ``baseline="blur"``.
        batch_size: images per forward pass.
        progress: show a tqdm progress bar.

    Returns:
        ``(curve, area)``: curve (N, n_steps + 1) float probabilities at removed
        fractions ``round(k * H * W / n_steps) / (H * W)``, k = 0..n_steps;
        area (N,) float.

    Example:
        >>> maps = vizlib.attribution.saliency(model, x, labels)
        >>> curve, area = deletion_curve(model, x, labels, maps, n_steps=16)
        >>> curve.shape, bool((curve[:, 0] > curve[:, -1]).all())   # the probability falls
        (torch.Size([8, 17]), True)
    """
    return _causal_curve("deletion", model, x, target, maps, n_steps=n_steps, baseline=baseline,
                         blur_sigma=blur_sigma, batch_size=batch_size, progress=progress)


def insertion_curve(model: nn.Module, x: torch.Tensor, target, maps: torch.Tensor, *, n_steps: int = 32,
                    baseline="mean", blur_sigma: float | None = None, batch_size: int = 256,
                    progress: bool = False):
    """Insertion curve (Petsiuk et al. 2018): add pixels from most to least important.

    Starts from the baseline image and, at step k of ``n_steps``, puts back the
    ``round(k * H * W / n_steps)`` highest-ranked pixels of x (every channel),
    recording the target's softmax probability. Larger area is better (the
    evidence came first).

    The default start is the data set's mean colour (0 in normalised space), the
    image that :func:`deletion_curve` ends with. RISE starts from a blurred copy
    instead (``baseline="blur"``); that suits ImageNet models, which fail on
    blurred photographs, but the course model still recognises a toy shape
    blurred with sigma = 2 px (the target's probability stays near 0.9), so a
    blurred start leaves no room for the curve to separate good maps from bad.

    Args:
        model, x, target, maps, n_steps, blur_sigma, batch_size, progress: as in
            :func:`deletion_curve`.
        baseline: the starting image: ``"mean"`` (default), ``"blur"`` (a Gaussian
            blur of x with sigma ``blur_sigma``, default H/32 pixels) or a tensor
            that broadcasts to x's shape.

    Returns:
        ``(curve, area)`` as in :func:`deletion_curve`, with k the number of
        steps of pixels inserted.

    Example:
        >>> maps = vizlib.attribution.saliency(model, x, labels)
        >>> curve, area = insertion_curve(model, x, labels, maps, n_steps=16)
        >>> curve.shape, bool((curve[:, -1] > curve[:, 0]).all())   # the probability rises
        (torch.Size([8, 17]), True)
    """
    return _causal_curve("insertion", model, x, target, maps, n_steps=n_steps, baseline=baseline,
                         blur_sigma=blur_sigma, batch_size=batch_size, progress=progress)

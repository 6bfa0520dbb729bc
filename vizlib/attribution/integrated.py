"""Integrated gradients: the gradient averaged along a straight path from a baseline."""
from __future__ import annotations


import torch
from torch import nn
from tqdm.auto import tqdm

from .. import hooks
from ._common import _baseline, _chunks, _pos_int
from .gradients import _input_gradient, _prepare


def integrated_gradients(model: nn.Module, x: torch.Tensor, target, *, baseline=0.0, steps: int = 32,
                         batch_size: int = 32, progress: bool = False) -> torch.Tensor:
    """Integrated gradients (Sundararajan et al. 2017), midpoint rule with ``steps`` points.

    ``(x - b) * mean_k grad(b + (k + 1/2)/steps * (x - b))``; the attributions of an
    image sum to about ``logit(x) - logit(b)``.

    Args:
        model, x, target: as in :func:`gradient`.
        baseline: a number, a ``(C,)`` colour, or a ``(C, H, W)`` / ``(N, C, H, W)``
            image in the model's input space (0 is the mean colour after normalisation).
        steps: points on the straight path.
        batch_size: path points per forward pass.
        progress: show a progress bar.

    Returns:
        ``(N, C, H, W)``.

    Example:
        >>> integrated_gradients(model, x[:2], labels[:2], steps=16).shape
        torch.Size([2, 3, 64, 64])
    """
    steps, batch_size = _pos_int("steps", steps), _pos_int("batch_size", batch_size)
    t = _prepare(model, x, target)
    base = _baseline(baseline, x)
    n = x.shape[0]
    xd = x.detach()
    total = torch.zeros_like(xd)
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    reps = max(1, batch_size // n)
    with hooks.running(model), tqdm(total=steps, disable=not progress, desc="integrated gradients", unit="step") as bar:
        for start, stop in _chunks(steps, reps):
            a = alphas[start:stop].view(-1, 1, 1, 1, 1)
            path = (base + a * (xd - base)).reshape(-1, *x.shape[1:])
            g = _input_gradient(model, path, t.repeat(stop - start))
            total += g.view(stop - start, *x.shape).sum(0)
            bar.update(stop - start)
    return (xd - base) * total / steps

"""SmoothGrad: the gradient averaged over noisy copies of the input."""
from __future__ import annotations

import numbers

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import hooks
from ._common import _chunks, _pos_int
from .gradients import _input_gradient, _prepare


def smoothgrad(model: nn.Module, x: torch.Tensor, target, *, n_samples: int = 25, noise_level: float = 0.15,
               method: str = "gradient", batch_size: int = 32, seed: int = 0, progress: bool = False) -> torch.Tensor:
    """SmoothGrad (Smilkov et al. 2017): the average gradient over noisy copies of ``x``.

    Noise is Gaussian with standard deviation ``noise_level * (x.max() - x.min())``
    per image; it is drawn from a private generator seeded with ``seed`` on the CPU
    (the global random state is not touched, and results do not depend on the device).

    Args:
        model, x, target: as in :func:`gradient`.
        n_samples: number of noisy copies per image.
        noise_level: noise spread relative to each image's value range (the paper's 10-20 %).
        method: ``"gradient"``, ``"guided_backprop"`` or ``"deconvnet"``: what is averaged.
        batch_size: noisy copies per forward pass.
        seed: seed of the noise.
        progress: show a progress bar.

    Returns:
        ``(N, C, H, W)``; take ``.abs().amax(1)`` for a saliency-style map.

    Example:
        >>> smoothgrad(model, x[:2], labels[:2], n_samples=8).shape
        torch.Size([2, 3, 64, 64])
    """
    rules = {"gradient": None, "guided_backprop": "guided", "deconvnet": "deconvnet"}
    if method not in rules:
        raise ValueError(f"method must be one of {tuple(rules)}; got {method!r}")
    n_samples, batch_size = _pos_int("n_samples", n_samples), _pos_int("batch_size", batch_size)
    if isinstance(noise_level, bool) or not isinstance(noise_level, numbers.Real) or not noise_level >= 0:
        raise ValueError(f"noise_level must be a non-negative number; got {noise_level!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    t = _prepare(model, x, target)
    n = x.shape[0]
    gen = torch.Generator().manual_seed(int(seed))
    spread = (x.detach().amax((1, 2, 3)) - x.detach().amin((1, 2, 3))).view(n, 1, 1, 1) * noise_level
    total = torch.zeros_like(x, dtype=x.dtype).detach()
    reps = max(1, batch_size // n)
    with hooks.running(model), tqdm(total=n_samples, disable=not progress, desc="smoothgrad", unit="sample") as bar:
        for start, stop in _chunks(n_samples, reps):
            m = stop - start
            noise = torch.randn((m, *x.shape), generator=gen, dtype=x.dtype).to(x.device) * spread
            noisy = (x.detach()[None] + noise).reshape(m * n, *x.shape[1:])
            g = _input_gradient(model, noisy, t.repeat(m), rule=rules[method])
            total += g.view(m, *x.shape).sum(0)
            bar.update(m)
    return total / n_samples

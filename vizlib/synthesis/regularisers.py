"""Transforms applied before each forward pass (jitter) and regularisers applied after each step (Yosinski et al. 2015)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


#: Keyword arguments of :func:`class_model` / :func:`channel_model` that switch every
#: regulariser off: plain gradient ascent on the score, as in Simonyan et al. (2014).
from .objectives import _check_index, _is_number


def jitter(n: int) -> Callable:
    """A transform that shifts the image by a random (dy, dx) in [-n, n] (wrapping round).

    Shifting before the forward pass and differentiating through the shift is the
    same as shifting the image, stepping and shifting back (Yosinski et al. 2015).
    Transforms are called as ``t(image, generator)``.
    """
    n = _check_index(n, "jitter")

    def t(image, gen):
        if n == 0:
            return image
        dy, dx = (torch.randint(-n, n + 1, (2,), generator=gen)).tolist()
        return torch.roll(image, shifts=(dy, dx), dims=(-2, -1))

    return t


def compose(*transforms: Callable) -> Callable:
    """Apply transforms left to right: ``compose(jitter(4), jitter(2))``."""
    def t(image, gen):
        for tr in transforms:
            image = tr(image, gen)
        return image

    return t


def _check_image4(image, arg="image") -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor; got {type(image).__name__}")
    if image.ndim != 4:
        raise ValueError(f"{arg} must have shape (N, C, H, W); got {tuple(image.shape)}")


def _check_fraction(value, arg: str):
    if value is None:
        return None
    if not _is_number(value):
        raise TypeError(f"{arg} must be None or a fraction in [0, 1); got {value!r}")
    if not 0 <= value < 1:
        raise ValueError(f"{arg} must be None or a fraction in [0, 1); got {value!r}")
    return float(value) if value > 0 else None


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of ``image`` (N, C, H, W) with a Gaussian of std ``sigma`` pixels.

    Separable kernel of radius ``round(3 * sigma)`` (at least 1), normalised to sum 1,
    with mirror padding at the borders (``d c b | a b c d``). Returns a new tensor.
    """
    _check_image4(image)
    if not _is_number(sigma) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number; got {sigma!r}")
    radius = max(1, int(3 * sigma + 0.5))
    radius = min(radius, image.shape[-1] - 1, image.shape[-2] - 1)
    x = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    c = image.shape[1]
    out = F.pad(image, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(out, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _zero_lowest(image: torch.Tensor, score: torch.Tensor, fraction: float) -> torch.Tensor:
    """Zero the pixels (all channels) whose ``score`` (N, H, W) is among the lowest ``fraction``."""
    n = image.shape[0]
    flat = score.reshape(n, -1)
    k = int(fraction * flat.shape[1])
    if k == 0:
        return image.clone()
    idx = flat.argsort(dim=1, stable=True)[:, :k]
    keep = torch.ones_like(flat, dtype=torch.bool).scatter_(1, idx, False)
    return image * keep.view(n, 1, *image.shape[-2:]).to(image.dtype)


def clip_small_norm(image: torch.Tensor, fraction: float) -> torch.Tensor:
    """Zero the ``fraction`` of pixels with the smallest norm over channels (Yosinski et al.).

    Args:
        image: (N, C, H, W).
        fraction: in [0, 1); 0.2 zeroes the 20% weakest pixels of each image.
    """
    _check_image4(image)
    fraction = _check_fraction(fraction, "fraction")
    if fraction is None:
        return image.clone()
    return _zero_lowest(image, image.pow(2).sum(1), fraction)  # same order as the norm


def clip_small_contribution(image: torch.Tensor, grad: torch.Tensor, fraction: float) -> torch.Tensor:
    """Zero the ``fraction`` of pixels whose contribution ``|sum_c I * dS/dI|`` is smallest.

    The contribution is the first-order estimate of how much the objective would
    change if the pixel were set to zero (Yosinski et al. 2015).

    Args:
        image: (N, C, H, W); grad: the objective's gradient, same shape.
        fraction: in [0, 1).
    """
    _check_image4(image)
    if not isinstance(grad, torch.Tensor) or grad.shape != image.shape:
        raise ValueError(f"grad must be a tensor of the image's shape {tuple(image.shape)}")
    fraction = _check_fraction(fraction, "fraction")
    if fraction is None:
        return image.clone()
    return _zero_lowest(image, (image * grad).sum(1).abs(), fraction)


def blur_every(every: int, sigma: float) -> Callable:
    """A regulariser ``r(image, grad, step)`` that blurs after every ``every``-th step."""
    def r(image, grad, step):
        return gaussian_blur(image, sigma) if (step + 1) % every == 0 else image

    return r


def norm_clipping(fraction: float) -> Callable:
    """A regulariser ``r(image, grad, step)`` applying :func:`clip_small_norm` every step."""
    return lambda image, grad, step: clip_small_norm(image, fraction)


def contribution_clipping(fraction: float) -> Callable:
    """A regulariser ``r(image, grad, step)`` applying :func:`clip_small_contribution` every step."""
    return lambda image, grad, step: clip_small_contribution(image, grad, fraction)

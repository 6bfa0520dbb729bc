"""Measures of a synthesised image: high-frequency energy, energy in a region, correlations, display."""
from __future__ import annotations

import math

import torch


#: Keyword arguments of :func:`class_model` / :func:`channel_model` that switch every
#: regulariser off: plain gradient ascent on the score, as in Simonyan et al. (2014).
from .objectives import _is_number


def _as_batch(image, arg="image"):
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor; got {type(image).__name__}")
    if image.ndim == 3:
        return image[None], True
    if image.ndim != 4:
        raise ValueError(f"{arg} must have shape (C, H, W) or (N, C, H, W); got {tuple(image.shape)}")
    return image, False


def high_frequency_energy(image: torch.Tensor, cutoff: float = 0.25):
    """Fraction of an image's spectral energy above ``cutoff`` cycles per pixel.

    The mean of each channel is removed, the power spectrum ``|FFT|^2`` is summed
    over channels, and the energy at radial frequencies ``sqrt(fx^2 + fy^2) > cutoff``
    (Nyquist is 0.5) is divided by the total. 0 for a constant image.

    Args:
        image: (C, H, W) or (N, C, H, W).
        cutoff: in (0, 0.5*sqrt(2)).

    Returns:
        a float for one (C, H, W) image, else an (N,) tensor.
    """
    x, single = _as_batch(image)
    if not _is_number(cutoff) or not 0 < cutoff < 0.5 * math.sqrt(2):
        raise ValueError(f"cutoff must be in (0, 0.707) cycles per pixel; got {cutoff!r}")
    x = x.detach().double()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).sum(1)
    fy = torch.fft.fftfreq(x.shape[-2], dtype=torch.float64, device=x.device)
    fx = torch.fft.fftfreq(x.shape[-1], dtype=torch.float64, device=x.device)
    high = (fy[:, None] ** 2 + fx[None, :] ** 2).sqrt() > cutoff
    total = power.sum((-2, -1))
    frac = torch.where(total > 0, (power * high).sum((-2, -1)) / total.clamp_min(1e-300), torch.zeros_like(total))
    frac = frac.float().cpu()
    return float(frac[0]) if single else frac


def region_energy_fraction(image: torch.Tensor, region) -> torch.Tensor:
    """Fraction of the image's energy ``sum_c I^2`` inside ``region`` = (row0, row1, col0, col1).

    For an image in input space, 0 is the mean colour, so this is where the image
    departs from grey. A uniform spread gives the region's share of the area.

    Args:
        image: (C, H, W) or (N, C, H, W).

    Returns:
        a float for one image, else an (N,) tensor.
    """
    x, single = _as_batch(image)
    if len(region) != 4:
        raise ValueError(f"region must be (row0, row1, col0, col1); got {region!r}")
    r0, r1, c0, c1 = (int(v) for v in region)
    h, w = x.shape[-2:]
    if not (0 <= r0 < r1 <= h and 0 <= c0 < c1 <= w):
        raise ValueError(f"region must lie inside the {h}x{w} image with row0 < row1, col0 < col1; got {region!r}")
    energy = x.detach().double().pow(2).sum(1)
    total = energy.sum((-2, -1))
    inside = energy[:, r0:r1, c0:c1].sum((-2, -1))
    frac = (inside / total.clamp_min(1e-300)).float().cpu()
    return float(frac[0]) if single else frac


def correlations(image: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between one image (C, H, W) and each of ``images`` (N, C, H, W).

    Each image is flattened and centred; returns an (N,) tensor in [-1, 1].
    Used to ask which training image a class image resembles most (model inversion).
    """
    if not isinstance(image, torch.Tensor) or image.ndim not in (3, 4):
        raise ValueError("image must be a (C, H, W) or (1, C, H, W) tensor")
    a = image.detach().reshape(-1).double()
    b, _ = _as_batch(images, "images")
    b = b.detach().reshape(b.shape[0], -1).double().to(a.device)
    if b.shape[1] != a.numel():
        raise ValueError(f"images must have the image's shape {tuple(image.shape[-3:])}; got {tuple(images.shape)}")
    a = a - a.mean()
    b = b - b.mean(1, keepdim=True)
    den = a.norm() * b.norm(dim=1)
    return ((b @ a) / den.clamp_min(1e-300)).float().cpu()


def to_display(image: torch.Tensor, percentile: float = 99.0) -> torch.Tensor:
    """Map images in input space to [0, 1] for display: 0 -> grey 0.5, symmetric scaling.

    Each image is divided by the ``percentile`` of its absolute values (so a few
    extreme pixels do not wash it out), then clipped.

    Args:
        image: (C, H, W) or (N, C, H, W). Returns the same shape, on the CPU.
    """
    x, single = _as_batch(image)
    if not _is_number(percentile) or not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100]; got {percentile!r}")
    x = x.detach().float().cpu()
    scale = torch.quantile(x.abs().reshape(x.shape[0], -1), percentile / 100, dim=1).clamp_min(1e-12)
    out = (0.5 + 0.5 * x / scale.view(-1, 1, 1, 1)).clamp(0, 1)
    return out[0] if single else out

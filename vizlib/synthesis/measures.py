"""Measures of a synthesised image: high-frequency energy, energy in a region, correlations, display."""
from __future__ import annotations

import math

import torch


from .. import _validate
from .objectives import _is_number


def _as_batch(image, arg="image"):
    _validate.tensor(image, arg)
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


def _bounds(space, like):
    from .params import space_stats

    if space is None:
        raise ValueError("space must be a model name such as 'course' or 'alexnet'; got None")
    mean, std = space_stats(space, like=like)
    return (0 - mean) / std, (1 - mean) / std


def clip_valid(image: torch.Tensor, space: str = "course") -> torch.Tensor:
    """Clip images in input space into the valid range: the image of [0, 1] under ``space``'s
    normalisation (``[-2, 2]`` for the course model). The image a reader sees is this one.

    Args:
        image: (C, H, W) or (N, C, H, W) in input space, 3 channels.
        space: a model name (``"course"``, ``"alexnet"``, ...).

    Returns:
        a new tensor of the same shape.

    Example:
        >>> clip_valid(torch.tensor([[[-3.0]], [[0.5]], [[9.0]]]))[:, 0, 0]
        tensor([-2.0000,  0.5000,  2.0000])
    """
    x, single = _as_batch(image)
    low, high = _bounds(space, x)
    out = torch.maximum(torch.minimum(x, high), low)
    return out[0] if single else out


def out_of_range(image: torch.Tensor, space: str = "course"):
    """Fraction of an image's values (pixels times channels) outside the valid range of ``space``.

    Args:
        image: (C, H, W) or (N, C, H, W) in input space, 3 channels.
        space: a model name (``"course"``, ``"alexnet"``, ...).

    Returns:
        a float for one (C, H, W) image, else an (N,) tensor.

    Example:
        >>> out_of_range(torch.tensor([[[-3.0, 0.0]], [[0.5, 1.0]], [[9.0, 2.0]]]))   # 2 of 6 values
        0.3333333432674408
    """
    x, single = _as_batch(image)
    low, high = _bounds(space, x)
    frac = ((x < low) | (x > high)).reshape(x.shape[0], -1).float().mean(1).cpu()
    return float(frac[0]) if single else frac


def evaluate(model, objective, image: torch.Tensor, *, transform=None, samples: int = 1,
             seed: int = 0) -> torch.Tensor:
    """The value of ``objective`` for each image, optionally averaged over random transforms.

    The question "how strongly does this image drive the unit?" for any model: the model that
    made the image, an independently trained copy with the same layer names, or a randomised
    one. No gradient is computed and the model is left as it was.

    Args:
        model: the network.
        objective: an :class:`Objective`, e.g. ``neuron("features.relu3:input", 5)``.
        image: (N, C, H, W) in the model's input space (clip it first with :func:`clip_valid`
            to score what is shown).
        transform: ``t(image, generator)`` such as :func:`robust_transforms`, or None.
        samples: with ``transform``, the number of random draws averaged (>= 1).
        seed: seeds the transforms' generator.

    Returns:
        (N,) float tensor on the CPU: image ``n``'s value, alone in its batch.

    Example:
        >>> v = evaluate(model, channel("features.conv3", 5), x[:2], transform=jitter(2), samples=4)
        >>> v.shape
        torch.Size([2])
    """
    from ..hooks import check_model, running
    from .objectives import Objective
    from .render import _check_layers, _check_positive_int, _forward

    check_model(model)
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a vizlib.synthesis.Objective; got {type(objective).__name__}")
    _validate.image_batch(image, "image", model=model)
    samples = _check_positive_int(samples, "samples")
    seed = _validate.integer(seed, "seed", minimum=0)
    if transform is None:
        samples = 1
    layers = _check_layers(model, objective)
    stop = bool(layers) and not objective.uses_logits
    gen = torch.Generator().manual_seed(seed)
    values = torch.zeros(image.shape[0], dtype=torch.float64)
    with running(model, grad=False):
        for _ in range(samples):
            x = transform(image, gen) if transform is not None else image
            for n in range(x.shape[0]):
                logits, acts = _forward(model, layers, x[n:n + 1], stop)
                one = image[n:n + 1]
                T = lambda name: one if name == "input" else logits if name == "logits" else acts[name]  # noqa: E731
                values[n] += float(objective(T))
    return (values / samples).float()

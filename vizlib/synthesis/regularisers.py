"""Transforms applied before each forward pass (jitter, scale, rotate) and regularisers applied
after each step (Yosinski et al. 2015)."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F


from .. import _validate
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


def _range(value, arg: str, centre: float, lowest: float | None = None):
    """A number ``v`` -> the range [centre - v, centre + v]; a pair -> itself (low <= high)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{arg} must be a number or a pair (low, high); got {value!r}")
        low, high = (_validate.real(v, arg) for v in value)
    else:
        v = _validate.real(value, arg, minimum=0.0)
        low, high = centre - v, centre + v
    if low > high or (lowest is not None and low <= lowest):
        bound = f" and low > {lowest:g}" if lowest is not None else ""
        raise ValueError(f"{arg} must give a range with low <= high{bound}; got ({low:g}, {high:g})")
    return low, high


def _draw(low: float, high: float, gen) -> float:
    return low if low == high else low + (high - low) * float(torch.rand((), generator=gen))


def _affine(image: torch.Tensor, matrix) -> torch.Tensor:
    """Resample ``image`` (N, C, H, W): output position p (normalised to [-1, 1], pixel
    centres, ``align_corners=False``) takes the bilinear value of the input at ``matrix @ p``;
    positions outside the image are mirrored back in."""
    theta = torch.tensor([[matrix[0][0], matrix[0][1], 0.0], [matrix[1][0], matrix[1][1], 0.0]],
                         dtype=image.dtype, device=image.device).expand(image.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def scale(amount=0.05) -> Callable:
    """A transform that zooms the image about its centre by a random factor, keeping its size.

    Args:
        amount: a number ``a`` in [0, 1): factors uniform in [1 - a, 1 + a] (0: off); or a
            pair (low, high) of factors, low > 0 (``(2, 2)``: always twice as large).

    The output pixel at distance ``d`` from the centre takes the bilinear value of the input
    at ``d / factor`` (mirrored at the borders), so a factor above 1 enlarges. One factor per
    call, shared by the batch, drawn from the transform's generator.

    Example:
        >>> t = scale((2, 2))
        >>> ramp = torch.arange(4.0).expand(1, 1, 4, 4)
        >>> t(ramp, torch.Generator())[0, 0, 0]       # x -> 1.5 + (x - 1.5) / 2
        tensor([0.7500, 1.2500, 1.7500, 2.2500])
    """
    low, high = _range(amount, "scale", 1.0, lowest=0.0)

    def t(image, gen):
        factor = _draw(low, high, gen)
        return image if factor == 1 else _affine(image, ((1 / factor, 0.0), (0.0, 1 / factor)))

    return t


def rotate(degrees=5.0) -> Callable:
    """A transform that rotates the image about its centre by a random angle, keeping its size.

    Args:
        degrees: a number ``d`` >= 0: angles uniform in [-d, d] (0: off); or a pair (low, high)
            of angles in degrees (``(90, 90)``: always a quarter turn).

    A positive angle turns the image counter-clockwise as it is displayed (rows down), so
    ``rotate((90, 90))`` equals ``torch.rot90(image, 1, dims=(-2, -1))`` on a square image.
    Bilinear, mirrored at the borders; one angle per call, shared by the batch.

    Example:
        >>> image = torch.arange(4.0).view(1, 1, 2, 2)
        >>> rotate((90, 90))(image, torch.Generator())[0, 0]
        tensor([[1., 3.],
                [0., 2.]])
    """
    low, high = _range(degrees, "rotate", 0.0)

    def t(image, gen):
        angle = _draw(low, high, gen)
        if angle == 0:
            return image
        a = math.radians(angle)
        c, s = math.cos(a), math.sin(a)
        # exact zeros at quarter turns, so pixel centres land on pixel centres
        c, s = (round(c) if abs(c) < 1e-12 or abs(abs(c) - 1) < 1e-12 else c), \
            (round(s) if abs(s) < 1e-12 or abs(abs(s) - 1) < 1e-12 else s)
        return _affine(image, ((c, -s), (s, c)))

    return t


def _scale_rotate(factors, angles) -> Callable:
    """Zoom by a factor drawn from ``factors`` (low, high), then rotate by an angle drawn from
    ``angles``, in one bilinear resampling: ``compose(scale(...), rotate(...))`` with the same
    draws, without interpolating twice."""
    def t(image, gen):
        factor = _draw(*factors, gen)
        angle = math.radians(_draw(*angles, gen))
        c, s = math.cos(angle) / factor, math.sin(angle) / factor
        if factor == 1 and angle == 0:
            return image
        return _affine(image, ((c, -s), (s, c)))

    return t


def robust_transforms(*, jitter: int = 2, scale: float = 0.05, rotate: float = 5.0) -> Callable:
    """Transformation robustness (Olah et al. 2017): jitter, then scale, then rotation.

    ``jitter(j)`` (a wrapped shift of up to ``j`` pixels), then a zoom by a factor in
    [1 - s, 1 + s] and a rotation by an angle in [-r, r] degrees, applied as one bilinear
    resampling (the same as ``compose(jitter(j), scale(s), rotate(r))`` with the same draws,
    but interpolated once, so the image is not blurred twice). Each argument accepts what
    :func:`jitter`, :func:`scale` and :func:`rotate` accept; 0 (or None) leaves that part
    out, so ``robust_transforms(jitter=0, scale=0, rotate=0)`` is the identity. The defaults
    suit the 64 x 64 images of the course model.

    Example:
        >>> t = robust_transforms(jitter=2, scale=0.05, rotate=5)
        >>> t(torch.zeros(1, 3, 64, 64), torch.Generator().manual_seed(0)).shape
        torch.Size([1, 3, 64, 64])
    """
    parts = []
    if jitter:
        parts.append(_jitter(jitter))
    if scale or rotate:
        factors = _range(scale, "scale", 1.0, lowest=0.0) if scale else (1.0, 1.0)
        angles = _range(rotate, "rotate", 0.0) if rotate else (0.0, 0.0)
        parts.append(_scale_rotate(factors, angles))
    return compose(*parts)


_jitter = jitter


def compose(*transforms: Callable) -> Callable:
    """Apply transforms left to right: ``compose(jitter(4), jitter(2))``."""
    def t(image, gen):
        for tr in transforms:
            image = tr(image, gen)
        return image

    return t


def _check_image4(image, arg="image") -> None:
    _validate.image_batch(image, arg)


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


def range_clipping(low, high) -> Callable:
    """A regulariser ``r(image, grad, step)`` that clips every pixel into [low, high] each step.

    ``low`` and ``high`` are numbers or tensors that broadcast against the image, such as the
    (1, C, 1, 1) bounds of the valid range in input space, ``(0 - mean) / std`` and
    ``(1 - mean) / std``: then the image being optimised is always a real image.

    Example:
        >>> r = range_clipping(-2.0, 2.0)
        >>> r(torch.tensor([[[[-3.0, 0.5, 9.0]]]]), None, 0)
        tensor([[[[-2.0000,  0.5000,  2.0000]]]])
    """
    return lambda image, grad, step: torch.maximum(torch.minimum(image, torch.as_tensor(high).to(image)),
                                                   torch.as_tensor(low).to(image))

"""Scoring maps against ground truth (pointing game, mass in the mask) and baseline maps."""
from __future__ import annotations


import torch

from .. import _validate


def _check_tensor(value, arg: str) -> None:
    _validate.tensor(value, arg)


def reduce_channels(maps: torch.Tensor) -> torch.Tensor:
    """Reduce maps with channels to one value per pixel: ``max_c |maps[:, c]|``.

    Args:
        maps: (N, C, H, W) attributions with channels, or (N, H, W) maps, which
            are returned unchanged (as float).

    Returns:
        (N, H, W) float tensor, detached.

    Example:
        >>> reduce_channels(torch.tensor([[[[1.0]], [[-3.0]]]]))   # (1, 2, 1, 1)
        tensor([[[3.]]])
    """
    _check_tensor(maps, "maps")
    if maps.ndim == 4:
        return maps.detach().abs().amax(dim=1).float()
    if maps.ndim == 3:
        return maps.detach().float()
    raise ValueError(f"maps must have shape (N, H, W) or (N, C, H, W); got {tuple(maps.shape)}")


def _maps_and_masks(maps, masks):
    maps = reduce_channels(maps)
    _check_tensor(masks, "masks")
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W); got {tuple(masks.shape)}")
    if masks.shape != maps.shape:
        raise ValueError(f"masks must have the maps' shape {tuple(maps.shape)}; got {tuple(masks.shape)}")
    masks = masks.to(maps.device).bool()
    empty = (~masks.flatten(1).any(1)).nonzero().flatten()
    if len(empty):
        raise ValueError(f"masks must mark at least one pixel per image; mask {empty[0].item()} is empty")
    if not torch.isfinite(maps).all():
        raise ValueError("maps must be finite; got NaN or infinite values")
    return maps, masks


def pointing_game(maps: torch.Tensor, masks: torch.Tensor, *, tolerance: float = 0) -> torch.Tensor:
    """Pointing game (Zhang et al. 2016): is each map's maximum on the object?

    The maximum is the first maximal pixel in row-major order (``argmax`` of the
    flattened map), so a constant map points at the top-left pixel. With
    ``tolerance`` > 0 a point also counts as a hit when it lies within that many
    pixels (Euclidean distance) of the mask, as in the original paper, which used
    15 px on ImageNet-sized images.

    Args:
        maps: (N, H, W) maps (or (N, C, H, W), reduced by :func:`reduce_channels`).
        masks: (N, H, W) bool, True on the object; each needs at least one True pixel.
        tolerance: distance in pixels (>= 0) within which a point still counts.

    Returns:
        (N,) bool tensor, True for a hit; ``.float().mean()`` is the score.

    Example:
        >>> maps = torch.zeros(1, 4, 4); maps[0, 1, 2] = 1.0
        >>> masks = torch.zeros(1, 4, 4, dtype=torch.bool); masks[0, 1, 2] = True
        >>> pointing_game(maps, masks)
        tensor([True])
    """
    maps, masks = _maps_and_masks(maps, masks)
    tolerance = _validate.real(tolerance, "tolerance (pixels)", minimum=0)
    n, h, w = maps.shape
    flat = maps.flatten(1).argmax(1)
    rows, cols = flat // w, flat % w
    if tolerance == 0:
        return masks[torch.arange(n, device=masks.device), rows, cols]
    yy = torch.arange(h, device=maps.device).view(1, h, 1)
    xx = torch.arange(w, device=maps.device).view(1, 1, w)
    dist2 = (yy - rows.view(n, 1, 1)) ** 2 + (xx - cols.view(n, 1, 1)) ** 2
    nearest = dist2.float().masked_fill(~masks, float("inf")).flatten(1).amin(1)
    return nearest <= float(tolerance) ** 2


def mass_in_mask(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of each map's mass that lies on the object: ``sum_mask |m| / sum |m|``.

    Called the energy-based pointing game by some authors. A map spread evenly
    over the image scores the object's area fraction; a perfect map scores 1.
    A map that is zero everywhere has no mass to share out and scores NaN.

    Args:
        maps: (N, H, W) maps (or (N, C, H, W), reduced by :func:`reduce_channels`);
            signed maps count by their absolute value.
        masks: (N, H, W) bool, True on the object.

    Returns:
        (N,) float tensor in [0, 1] (NaN for all-zero maps).

    Example:
        >>> maps = torch.tensor([[[3.0, 1.0]]]); masks = torch.tensor([[[True, False]]])
        >>> mass_in_mask(maps, masks)
        tensor([0.7500])
    """
    maps, masks = _maps_and_masks(maps, masks)
    mass = maps.abs().double()
    total = mass.flatten(1).sum(1)
    inside = (mass * masks).flatten(1).sum(1)
    out = torch.where(total > 0, inside / total.clamp_min(1e-300), torch.full_like(total, float("nan")))
    return out.float()


def _check_size(n, height, width):
    for arg, v in (("n", n), ("height", height), ("width", width)):
        _validate.positive_int(v, arg)


def random_maps(n: int, height: int, width: int, *, seed: int = 0) -> torch.Tensor:
    """Baseline: maps of independent uniform noise (their maximum is a random pixel).

    Args:
        n, height, width: shape of the result.
        seed: seed of a private generator (the global RNG is not touched).

    Returns:
        (n, height, width) float32 in [0, 1).

    Example:
        >>> random_maps(2, 64, 64).shape
        torch.Size([2, 64, 64])
    """
    _check_size(n, height, width)
    gen = torch.Generator().manual_seed(int(seed))
    return torch.rand(n, height, width, generator=gen)


def center_maps(n: int, height: int, width: int, *, sigma: float | None = None) -> torch.Tensor:
    """Baseline: a Gaussian bump at the image centre, the same for every image.

    Photographers and data sets put objects near the middle; this baseline
    "explains" every image by pointing at its centre. The maximum is the pixel
    nearest the centre ((height - 1) / 2, (width - 1) / 2), the first of the four
    tied ones for even sizes.

    Args:
        n, height, width: shape of the result.
        sigma: width of the bump in pixels; default ``min(height, width) / 4``.

    Returns:
        (n, height, width) float32 in (0, 1].

    Example:
        >>> m = center_maps(1, 5, 5); (m[0] == m[0].max()).nonzero().tolist()
        [[2, 2]]
    """
    _check_size(n, height, width)
    sigma = min(height, width) / 4 if sigma is None else sigma
    sigma = _validate.real(sigma, "sigma", positive=True)
    yy = torch.arange(height, dtype=torch.float64).view(-1, 1) - (height - 1) / 2
    xx = torch.arange(width, dtype=torch.float64).view(1, -1) - (width - 1) / 2
    bump = torch.exp(-(yy**2 + xx**2) / (2 * sigma**2)).float()
    return bump.expand(n, height, width).clone()

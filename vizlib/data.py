"""Toy world: generated 64x64 images of simple shapes, with ground-truth masks.

Every image holds one object of one of :data:`TOY_CLASSES`, at a random size,
position, rotation and colour, on a dead-leaves background (overlapping random
discs, a standard model of natural-image statistics). Because the object's mask
is known, every explanation method in the book can be scored, not just looked at.

Example:
    >>> images, labels, masks = toy_world(16, seed=0)
    >>> images.shape, labels.shape, masks.shape
    (torch.Size([16, 3, 64, 64]), torch.Size([16]), torch.Size([16, 64, 64]))
"""
from __future__ import annotations


import numpy as np
import torch
from torch.utils.data import Dataset

from . import _validate

TOY_CLASSES = ("circle", "square", "triangle", "star", "cross", "ring", "heart", "crescent")
IMAGE_SIZE = 64
VARIANTS = (None, "shortcut", "position", "hard", "pose")

#: The class whose training images carry the watermark in ``variant="shortcut"``.
SHORTCUT_CLASS = TOY_CLASSES.index("circle")
#: Fraction of that class's images that carry the mark.
SHORTCUT_FRACTION = 0.9
#: Mark size (pixels) and its default top-left corner (bottom-right of the image).
MARK_SIZE = 6
MARK_CORNER = (IMAGE_SIZE - MARK_SIZE - 2, IMAGE_SIZE - MARK_SIZE - 2)

#: The class whose objects are always centred in the upper-left quadrant in ``variant="position"``.
POSITION_CLASS = TOY_CLASSES.index("star")
#: (row_min, row_max, col_min, col_max) of the region that class is confined to.
POSITION_REGION = (0, IMAGE_SIZE // 2, 0, IMAGE_SIZE // 2)

#: The class that appears in one pose only in ``variant="pose"``: the crescent, never tilted and
#: never mirrored, so that it always opens to the right (in the plain world it is tilted by up to
#: ``_MAX_TILT`` and mirrored half of the time, so it opens to the left or to the right).
POSE_CLASS = TOY_CLASSES.index("crescent")

#: ``variant="hard"``: object radius range (pixels; the plain world's is 10 to 20), how far the
#: object's colour is pulled towards the background's mean (0: as in the plain world, 1: the
#: same colour), the share of leaves tinted like the object, and how many leaves may fall in
#: front of the object (0 to ``HARD_OCCLUDERS``).
HARD_RADIUS = (10.0, 16.0)
HARD_BLEND = 0.15
HARD_CLUTTER = 0.15
HARD_OCCLUDERS = 2

_MAX_TILT = 0.5  # radians: objects stay roughly upright
_GRID = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32)


def _check_n_seed(n, seed):
    _validate.integer(n, "n", minimum=1)
    _validate.integer(seed, "seed", minimum=0)


def _shape_mask(cls: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside test for class ``cls`` in object coordinates (unit radius, v points up)."""
    r = np.hypot(u, v)
    if cls == 0:  # circle
        return r <= 1.0
    if cls == 1:  # square
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if cls == 2:  # triangle, pointing up
        inside = v >= -0.5
        for angle in (np.pi / 6, 5 * np.pi / 6):
            inside &= u * np.cos(angle) + v * np.sin(angle) <= 0.5
        return inside
    if cls == 3:  # five-pointed star
        phi = np.arctan2(u, v)
        k = np.abs(((phi * 5 / (2 * np.pi)) % 1.0) - 0.5) * 2  # 1 at the points, 0 between
        return r <= 0.45 + 0.55 * k**2
    if cls == 4:  # cross
        return ((np.abs(u) <= 0.3) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 1.0))
    if cls == 5:  # ring
        return (r <= 1.0) & (r >= 0.55)
    if cls == 6:  # heart
        x, y = u * 1.25, v * 1.25 - 0.15
        return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0
    if cls == 7:  # crescent
        return (r <= 1.0) & (np.hypot(u - 0.45, v - 0.2) > 0.8)
    raise ValueError(f"unknown class index {cls}")


def _leaves(rng: np.random.Generator, n_discs: int, size: int, rmin: float, rmax: float):
    """Radii (power law, density ~ r^-3 between ``rmin`` and ``rmax``, by inverse CDF), centres
    and muted colours of ``n_discs`` dead leaves."""
    q = rng.uniform(size=n_discs)
    radii = 1.0 / np.sqrt(q / rmax**2 + (1 - q) / rmin**2)
    centres = rng.uniform(-10, size + 10, (n_discs, 2))
    grey = rng.uniform(0.15, 0.85, n_discs)
    tint = rng.uniform(-0.15, 0.15, (n_discs, 3))
    return radii, centres, np.clip(grey[:, None] + tint, 0, 1)


def _disc(size: int, cy: float, cx: float, rad: float) -> np.ndarray:
    """(size, size) bool mask of the pixels within ``rad`` of (cy, cx)."""
    yy, xx = _GRID
    disc = np.zeros((size, size), bool)
    r0, r1 = max(int(cy - rad), 0), min(int(cy + rad) + 2, size)
    c0, c1 = max(int(cx - rad), 0), min(int(cx + rad) + 2, size)
    if r0 < r1 and c0 < c1:
        disc[r0:r1, c0:c1] = (yy[r0:r1, c0:c1] - cy) ** 2 + (xx[r0:r1, c0:c1] - cx) ** 2 <= rad**2
    return disc


def _dead_leaves(rng: np.random.Generator, size: int, tint_towards=None) -> np.ndarray:
    """(size, size, 3) dead-leaves texture: discs with power-law radii, front to back.

    ``tint_towards`` (an RGB colour, ``variant="hard"``): a share ``HARD_CLUTTER`` of the
    leaves take a colour near it, so the object has look-alikes in the clutter.
    """
    img = np.empty((size, size, 3), np.float32)
    img[:] = rng.uniform(0.1, 0.9, 3) * rng.uniform(0.4, 1.0)
    radii, centres, colours = _leaves(rng, 60, size, 2.0, 20.0)
    if tint_towards is not None:
        alike = rng.uniform(size=len(colours)) < HARD_CLUTTER
        near = np.clip(tint_towards + rng.uniform(-0.12, 0.12, (len(colours), 3)), 0, 1)
        colours = np.where(alike[:, None], near, colours)
    for rad, (cy, cx), colour in zip(radii, centres, colours):
        img[_disc(size, cy, cx, rad)] = colour
    return img


def _object_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour, so objects stand out from the mostly muted leaves."""
    hue = rng.uniform()
    rgb = np.clip(np.abs((hue * 6 + np.array([0, 4, 2])) % 6 - 3) - 1, 0, 1)
    value, sat = rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
    rgb = value * (1 - sat + sat * rgb)
    if rng.uniform() < 0.25:  # some dark objects
        rgb = rgb * 0.25
    return rgb.astype(np.float32)


def add_mark(images: torch.Tensor, corner=MARK_CORNER) -> torch.Tensor:
    """Return a copy of ``images`` (N, 3, H, W) in [0, 1] with the shortcut watermark.

    The mark is a ``MARK_SIZE`` x ``MARK_SIZE`` black-and-white checkerboard whose
    top-left pixel is at ``corner`` = (row, col).
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a tensor of shape (N, 3, H, W); got {shape}")
    r, c = corner
    h, w = images.shape[-2:]
    if not (0 <= r <= h - MARK_SIZE and 0 <= c <= w - MARK_SIZE):
        raise ValueError(f"corner must keep the mark inside the image; got {corner}")
    checker = (torch.arange(MARK_SIZE)[:, None] // 2 + torch.arange(MARK_SIZE)[None, :] // 2) % 2
    out = images.clone()
    out[:, :, r : r + MARK_SIZE, c : c + MARK_SIZE] = checker.to(images.dtype).to(images.device)
    return out


def toy_world(n: int, seed: int = 0, variant: str | None = None):
    """Generate ``n`` toy-world images with labels and object masks.

    Args:
        n: number of images (>= 1).
        seed: non-negative int; the same seed always gives the same images.
        variant: ``None`` (the plain world), ``"shortcut"`` (90% of the
            ``SHORTCUT_CLASS`` images carry a checkerboard watermark at the
            bottom right), ``"position"`` (``POSITION_CLASS`` objects are
            always centred in ``POSITION_REGION``, the upper-left quadrant) or
            ``"hard"``: smaller objects (radius ``HARD_RADIUS``, the plain world 10 to 20), their colour
            pulled towards the background they cover (``HARD_BLEND``), on clutter
            of similar colour (``HARD_CLUTTER``), partly covered by up to
            ``HARD_OCCLUDERS`` leaves in front; the mask holds only the object's
            visible pixels; or ``"pose"``: ``POSE_CLASS`` objects (crescents) are never
            tilted or mirrored, so they always open to the right.

    Returns:
        images: (n, 3, 64, 64) float32 in [0, 1]; labels: (n,) int64 class
        indices into ``TOY_CLASSES``; masks: (n, 64, 64) bool, True on the object.

    Example:
        >>> x, y, m = toy_world(4, seed=1, variant="shortcut")
    """
    _check_n_seed(n, seed)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    size = IMAGE_SIZE
    rng = np.random.default_rng([seed, VARIANTS.index(variant)])
    labels = rng.integers(0, len(TOY_CLASSES), n)
    images = np.empty((n, size, size, 3), np.float32)
    masks = np.empty((n, size, size), bool)
    marked = np.zeros(n, bool)
    yy, xx = _GRID + 0.5
    hard = variant == "hard"
    for i in range(n):
        colour = _object_colour(rng) if hard else None  # drawn first: the clutter imitates it
        img = _dead_leaves(rng, size, tint_towards=colour)
        radius = rng.uniform(*HARD_RADIUS) if hard else rng.uniform(10, 20)
        lo, hi = radius + 1, size - radius - 1
        if variant == "position" and labels[i] == POSITION_CLASS:
            r0, r1, c0, c1 = POSITION_REGION
            cy = rng.uniform(max(r0, lo), min(r1, hi))
            cx = rng.uniform(max(c0, lo), min(c1, hi))
        else:
            cy, cx = rng.uniform(lo, hi, 2)
        angle = rng.uniform(-_MAX_TILT, _MAX_TILT)
        flip = rng.uniform() < 0.5
        if variant == "pose" and labels[i] == POSE_CLASS:
            angle, flip = 0.0, False
        dx, dy = (xx - cx) / radius, (cy - yy) / radius  # dy points up
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        if flip:
            u = -u
        mask = _shape_mask(int(labels[i]), u, v)
        if hard:
            behind = img[mask].mean(0) if mask.any() else colour  # what the object hides
            img[mask] = (1 - HARD_BLEND) * colour + HARD_BLEND * behind
            radii, _, leaf_colours = _leaves(rng, HARD_OCCLUDERS, size, 3.0, 0.6 * radius)
            for k in range(rng.integers(0, HARD_OCCLUDERS + 1)):
                # a leaf in front, somewhere on the object; it may hide at most half of
                # what is still visible
                cy_k, cx_k = np.array([cy, cx]) + rng.uniform(-radius, radius, 2)
                leaf = _disc(size, cy_k, cx_k, radii[k])
                if (mask & ~leaf).sum() >= 0.5 * mask.sum():
                    img[leaf] = leaf_colours[k]
                    mask &= ~leaf
        else:
            img[mask] = _object_colour(rng)
        images[i], masks[i] = img, mask
        if variant == "shortcut" and labels[i] == SHORTCUT_CLASS:
            marked[i] = rng.uniform() < SHORTCUT_FRACTION
    images_t = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    if marked.any():
        idx = torch.from_numpy(np.flatnonzero(marked))
        images_t[idx] = add_mark(images_t[idx])
    return images_t, torch.from_numpy(labels).long(), torch.from_numpy(masks)


class ToyWorld(Dataset):
    """``torch.utils.data.Dataset`` over :func:`toy_world`; items are (image, label, mask)."""

    def __init__(self, n: int, seed: int = 0, variant: str | None = None):
        self.images, self.labels, self.masks = toy_world(n, seed=seed, variant=variant)
        self.classes = TOY_CLASSES

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i], self.masks[i]

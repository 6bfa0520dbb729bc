"""Concepts for network dissection, derived exactly from the toy world's own annotations.

Every concept is one of a few *base masks* (the object, the background, the boundary band,
...) restricted to the images a per-image *selector* allows (the circle concept is the object
mask on the images labelled circle, and empty elsewhere). Storing the factors instead of the
(N, H, W) mask of each concept keeps 31 or more concepts of 2,000 images in 16 MB (nine base
masks packed as bits of one int16 per pixel) instead of 260 MB.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import _validate
from ..data import TOY_CLASSES

#: Base masks, in bit order: ``packed`` holds bit ``b`` for ``BASES[b]``.
BASES = ("object", "background", "boundary", "object inside", "dark region", "light region",
         "leaf edges", "frame", "centre")
#: Hue bins of the object's colour (centred on these hues, 60 degrees wide).
HUES = ("red", "yellow", "green", "cyan", "blue", "magenta")
#: An object whose brightest channel is below this is "dark" (the toy world draws a quarter of
#: its objects at a quarter of their brightness, <= 0.25; the others are >= 0.6).
DARK_OBJECT = 0.4
#: Luminance (0.299 R + 0.587 G + 0.114 B) below / above which a pixel is a dark / light
#: region (each about 6% of the toy world's pixels).
DARK_REGION, LIGHT_REGION = 0.15, 0.75
#: Width in pixels of the positional control "frame" (the image border).
FRAME = 4
#: Neighbouring pixels whose colours differ by more than this (in some channel) lie on an edge.
EDGE_STEP = 1 / 255
_CHUNK = 256   # images per chunk when building the masks


@dataclass(frozen=True, eq=False)
class Concepts:
    """Concept masks of N images, factored as base masks x per-image selectors.

    Concept ``k`` on image ``n`` is ``base(base_of[k])[n]`` where ``selector[n, k]`` is True,
    and empty where it is False. Use :meth:`mask` for the (N, H, W) mask of one concept.

    Attributes:
        names: (K,) concept names, e.g. ``"object"``, ``"circle"``, ``"circle boundary"``,
            ``"red object"``, ``"frame"``.
        kinds: (K,) the family of each concept: ``"region"``, ``"shape"``,
            ``"shape boundary"``, ``"colour"``, ``"tone"``, ``"texture"`` or ``"position"``.
        bases: names of the base masks (:data:`BASES`).
        packed: (N, H, W) int16; bit ``b`` is base mask ``bases[b]``.
        base_of: (K,) int64, the base mask of each concept.
        selector: (N, K) bool, the images on which each concept is present.
        counts: (N, K) int64, the number of pixels of concept ``k`` in image ``n``.

    Example:
        >>> c = concepts(images, labels, masks)
        >>> len(c.names), c.shape
        (32, (8, 64, 64))
        >>> c.mask("object").equal(masks)
        True
    """

    names: tuple
    kinds: tuple
    bases: tuple
    packed: torch.Tensor
    base_of: torch.Tensor
    selector: torch.Tensor
    counts: torch.Tensor

    @property
    def shape(self) -> tuple:
        """(N, H, W): images and mask size."""
        return tuple(self.packed.shape)

    @property
    def n_images(self) -> int:
        return self.packed.shape[0]

    @property
    def sizes(self) -> torch.Tensor:
        """(K,) int64: the pixels of each concept over all images."""
        return self.counts.sum(0)

    def index(self, concept) -> int:
        """The index of ``concept`` (a name or an index)."""
        if isinstance(concept, str):
            if concept not in self.names:
                raise ValueError(f"concept must be one of {self.names}; got {concept!r}")
            return self.names.index(concept)
        k = _validate.integer(concept, "concept")
        if not 0 <= k < len(self.names):
            raise ValueError(f"concept must be a name or an index in [0, {len(self.names)}); got {k}")
        return k

    def base(self, b) -> torch.Tensor:
        """(N, H, W) bool: base mask ``b`` (a name of :attr:`bases` or its bit index)."""
        if isinstance(b, str):
            if b not in self.bases:
                raise ValueError(f"b must be one of {self.bases}; got {b!r}")
            b = self.bases.index(b)
        return (self.packed >> b) & 1 == 1

    def mask(self, concept) -> torch.Tensor:
        """(N, H, W) bool: the mask of one concept (a name or an index) on every image."""
        k = self.index(concept)
        return self.base(int(self.base_of[k])) & self.selector[:, k, None, None]

    def permuted(self, order) -> "Concepts":
        """The same concepts with the images in ``order`` ((N,) int64, a permutation)."""
        order = torch.as_tensor(order, dtype=torch.long)
        if order.shape != (self.n_images,) or not torch.equal(order.sort().values,
                                                              torch.arange(self.n_images)):
            raise ValueError(f"order must be a permutation of range({self.n_images}); got "
                             f"{_validate.describe(order)}")
        return Concepts(self.names, self.kinds, self.bases, self.packed[order], self.base_of,
                        self.selector[order], self.counts[order])


def _dilate(m: torch.Tensor, r: int) -> torch.Tensor:
    """(N, H, W) bool: pixels within Chebyshev distance ``r`` of a True pixel (the image's
    outside counts as False)."""
    return F.max_pool2d(m[:, None].float(), 2 * r + 1, stride=1, padding=r)[:, 0] > 0


def _base_masks(images: torch.Tensor, obj: torch.Tensor) -> list:
    """The (n, H, W) bool base masks of :data:`BASES` for images (n, 3, H, W) and objects."""
    n, _, h, w = images.shape
    outline = obj & _dilate(~obj, 1)
    band = _dilate(outline, 1)
    lum = 0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]
    step = torch.zeros_like(obj)
    dx = (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().amax(1) > EDGE_STEP
    dy = (images[:, :, 1:, :] - images[:, :, :-1, :]).abs().amax(1) > EDGE_STEP
    step[:, :, 1:] |= dx
    step[:, :, :-1] |= dx
    step[:, 1:, :] |= dy
    step[:, :-1, :] |= dy
    frame = torch.ones(h, w, dtype=torch.bool)
    frame[FRAME:h - FRAME, FRAME:w - FRAME] = False
    centre = torch.zeros(h, w, dtype=torch.bool)
    centre[(h - h // 4) // 2:(h + h // 4) // 2, (w - w // 4) // 2:(w + w // 4) // 2] = True
    return [obj, ~obj, band, obj & ~band, lum < DARK_REGION, lum > LIGHT_REGION,
            step & ~obj & ~band, frame.expand(n, h, w), centre.expand(n, h, w)]


def _hue(rgb: torch.Tensor) -> torch.Tensor:
    """(N,) hue in [0, 1) of (N, 3) colours (HSV; 0 for greys)."""
    mx, arg = rgb.max(1)
    span = mx - rgb.min(1).values
    r, g, b = rgb.unbind(1)
    safe = span.clamp_min(1e-12)
    h = torch.where(arg == 0, ((g - b) / safe) % 6, torch.where(arg == 1, (b - r) / safe + 2,
                                                                (r - g) / safe + 4))
    return torch.where(span > 0, h / 6, torch.zeros_like(h)) % 1.0


def _check(images, labels, masks, classes):
    _validate.image_batch(images, "images", channels=3, space="[0, 1]", then="")
    n, _, h, w = images.shape
    lo, hi = float(images.min()), float(images.max())
    if lo < 0 or hi > 1:
        raise ValueError(f"images must be in [0, 1] (the toy world's images, not normalised); "
                         f"got values in [{lo:.3g}, {hi:.3g}]")
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be an ({n},) integer tensor of class indices; got "
                        f"{_validate.describe(labels)}")
    labels = _validate.targets(labels, n, arg="labels")
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape ({n},); got {tuple(labels.shape)}")
    _validate.target_range(labels, len(classes), arg="labels")
    _validate.tensor(masks, "masks", f"a bool tensor of shape ({n}, {h}, {w})")
    if masks.dtype != torch.bool:
        raise TypeError(f"masks must be a bool tensor of shape ({n}, {h}, {w}), True on the "
                        f"object; got dtype {masks.dtype}")
    if tuple(masks.shape) != (n, h, w):
        raise ValueError(f"masks must have shape ({n}, {h}, {w}), one mask per image of images; "
                         f"got {tuple(masks.shape)}")
    return labels.cpu()


def concepts(images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor, *,
             classes=TOY_CLASSES) -> Concepts:
    """The dissection concepts of toy-world images, derived exactly from their annotations.

    32 concepts (in this order), all pixel-exact functions of the images, labels and masks:

    - regions: ``object``; ``background``; ``boundary``, a 3-px band centred on the object's
      outline (the object pixels with a neighbour outside, dilated by one pixel);
      ``object inside``, the object without the band;
    - shapes: each class's object mask (``circle``, ...; empty on images of other classes),
      and its boundary band (``circle boundary``, ...);
    - colours: the object's mean colour in six 60-degree hue bins (``red object``, ...,
      ``magenta object``), or ``dark object`` when its brightest channel is below
      :data:`DARK_OBJECT`;
    - tones: ``dark region`` and ``light region``, pixels of luminance below
      :data:`DARK_REGION` or above :data:`LIGHT_REGION` (objects included);
    - texture: ``leaf edges``, background pixels outside the band where the dead-leaves
      background changes colour (a 4-neighbour differs by more than :data:`EDGE_STEP`);
    - positional controls, the same on every image: ``frame``, the :data:`FRAME`-px image
      border, and ``centre``, the central (H/4) x (W/4) square.

    Args:
        images: (N, 3, H, W) float in [0, 1] (not normalised), e.g. from ``vizlib.toy_world``.
        labels: (N,) int64 class indices into ``classes``.
        masks: (N, H, W) bool, True on the object's pixels.
        classes: the class names (default ``vizlib.TOY_CLASSES``).

    Returns:
        :class:`Concepts` (on the CPU): K = 16 + 2 * len(classes) concepts.

    Example:
        >>> c = concepts(images, labels, masks)
        >>> c.names[:6]
        ('object', 'background', 'boundary', 'object inside', 'circle', 'square')
        >>> int(c.mask("frame")[0].sum())                 # 64 * 64 - 56 * 56
        960
    """
    classes = tuple(classes)
    if not classes or not all(isinstance(c, str) for c in classes):
        raise TypeError(f"classes must be a sequence of class names (str); got {classes!r}")
    labels = _check(images, labels, masks, classes)
    n, _, h, w = images.shape
    packed = torch.zeros(n, h, w, dtype=torch.int16)
    base_counts = torch.zeros(n, len(BASES), dtype=torch.long)
    colour = torch.zeros(n, 3)
    area = torch.zeros(n, dtype=torch.long)
    for start in range(0, n, _CHUNK):      # in chunks of images: bounded temporary memory
        part = images[start:start + _CHUNK].detach().cpu().float()
        obj = masks[start:start + _CHUNK].detach().cpu()
        for b, m in enumerate(_base_masks(part, obj)):
            packed[start:start + _CHUNK] |= m.to(torch.int16) << b
            base_counts[start:start + _CHUNK, b] = m.flatten(1).sum(1)
        area[start:start + _CHUNK] = obj.flatten(1).sum(1)
        colour[start:start + _CHUNK] = (part * obj[:, None]).flatten(2).sum(2)
    colour /= area.clamp_min(1)[:, None]                                  # the mean object colour
    has = area > 0
    dark = has & (colour.amax(1) < DARK_OBJECT)
    hue_bin = torch.floor(_hue(colour) * 6 + 0.5).long() % 6
    everywhere = torch.ones(n, dtype=torch.bool)
    spec = [("object", "region", 0, everywhere), ("background", "region", 1, everywhere),
            ("boundary", "region", 2, everywhere), ("object inside", "region", 3, everywhere)]
    spec += [(c, "shape", 0, labels == i) for i, c in enumerate(classes)]
    spec += [(f"{c} boundary", "shape boundary", 2, labels == i) for i, c in enumerate(classes)]
    spec += [(f"{hue} object", "colour", 0, has & ~dark & (hue_bin == i)) for i, hue in enumerate(HUES)]
    spec += [("dark object", "colour", 0, dark), ("dark region", "tone", 4, everywhere),
             ("light region", "tone", 5, everywhere), ("leaf edges", "texture", 6, everywhere),
             ("frame", "position", 7, everywhere), ("centre", "position", 8, everywhere)]
    base_of = torch.tensor([s[2] for s in spec])
    selector = torch.stack([s[3] for s in spec], 1)
    counts = base_counts[:, base_of] * selector
    return Concepts(tuple(s[0] for s in spec), tuple(s[1] for s in spec), BASES, packed, base_of,
                    selector, counts)

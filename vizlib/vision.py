"""A simulated Hubel-Wiesel experiment and a minimal Neocognitron.

Stimuli are bars and gratings on a (size, size) field with the coordinates of
:mod:`vizlib.filters` (x along columns, y along rows, from the centre). A model simple
cell is a Gabor receptive field followed by half-wave rectification; a model complex cell
takes the maximum of simple cells of the same orientation whose receptive fields sit at
nearby positions (Hubel and Wiesel 1962). The Neocognitron (Fukushima 1980) stacks
S-layers (template matching: convolution and a threshold) and C-layers (pooling) twice.

Example:
    >>> cell, cx = SimpleCell(32, theta=0.0, wavelength=8.0), ComplexCell(32, theta=0.0, wavelength=8.0)
    >>> stim = bars(32, thetas=[0.0], positions=[-4.0, 0.0, 4.0], length=16, width=2)[0]   # (3, 32, 32)
    >>> (cell(stim) > 0).tolist(), (cx(stim) > 0).tolist()   # which of the three bars make each cell fire
    ([False, True, False], [True, True, True])
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from .filters import _check_positive, _check_real, _grid, gabor_function

# --------------------------------------------------------------------------- stimuli


def bar(size: int, *, theta: float, position: float = 0.0, length: float | None = None, width: float = 2.0,
        contrast: float = 1.0) -> torch.Tensor:
    """A bright bar on a dark field, (size, size) float in [0, contrast].

    ``theta`` uses the Gabor convention: the bar a Gabor of orientation ``theta`` prefers,
    so at ``theta=0`` the bar is vertical. ``position`` moves the bar across its width
    (along x' = x cos(theta) + y sin(theta)), in pixels from the centre. Edges are
    anti-aliased (each pixel covers the bar by its overlap over one pixel).

    Args:
        size: field side in pixels.
        theta: orientation (radians).
        position: displacement across the bar (pixels).
        length: bar length along y' (pixels); default ``size`` (the whole field).
        width: bar width (pixels).
        contrast: brightness of the bar.

    Example:
        >>> bar(32, theta=0.0, width=2).sum(0).max()     # a full-height vertical bar
        tensor(32.)
    """
    _check_positive("size", size, integer=True)
    theta, position = _check_real("theta", theta), _check_real("position", position)
    width = _check_positive("width", width)
    length = float(size) if length is None else _check_positive("length", length)
    contrast = _check_real("contrast", contrast)
    y, x = _grid(size, size)
    xr = x * math.cos(theta) + y * math.sin(theta) - position
    yr = -x * math.sin(theta) + y * math.cos(theta)
    across = np.clip(width / 2 + 0.5 - np.abs(xr), 0, 1)
    along = np.clip(length / 2 + 0.5 - np.abs(yr), 0, 1)
    return torch.from_numpy(contrast * across * along).float()


def bars(size: int, *, thetas, positions, length: float | None = None, width: float = 2.0,
         contrast: float = 1.0) -> torch.Tensor:
    """All combinations of :func:`bar` orientations and positions: (len(thetas), len(positions), size, size)."""
    thetas, positions = list(thetas), list(positions)
    if not thetas or not positions:
        raise ValueError("thetas and positions must each hold at least one value")
    return torch.stack([torch.stack([bar(size, theta=t, position=p, length=length, width=width, contrast=contrast)
                                     for p in positions]) for t in thetas])


def orientation_map(size: int = 64, *, scale: float = 8.0, seed: int = 0) -> np.ndarray:
    """A toy cortical orientation map: preferred orientation (radians in [0, pi)) per site.

    Band-pass filtered complex noise; half its phase gives a smoothly varying map with
    pinwheels, the layout optical imaging finds in cat and monkey V1.

    Args:
        size: map side.
        scale: typical distance between iso-orientation domains (pixels).
        seed: random seed.

    Returns:
        ndarray (size, size).
    """
    _check_positive("size", size, integer=True)
    scale = _check_positive("scale", scale)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))
    f = np.fft.fftfreq(size)
    rho = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    ring = np.exp(-((rho - 1 / scale) ** 2) / (2 * (0.3 / scale) ** 2))
    z = np.fft.ifft2(np.fft.fft2(noise) * ring)
    return (np.angle(z) / 2) % np.pi


# --------------------------------------------------------------------------- model cells
def _as_stimuli(stimuli, size: int | None = None) -> torch.Tensor:
    if not isinstance(stimuli, torch.Tensor) or stimuli.ndim < 2:
        got = tuple(stimuli.shape) if isinstance(stimuli, torch.Tensor) else type(stimuli).__name__
        raise ValueError(f"stimuli must be a tensor of shape (..., H, W); got {got}")
    if size is not None and tuple(stimuli.shape[-2:]) != (size, size):
        raise ValueError(f"stimuli must be {size}x{size} like the receptive field; got {tuple(stimuli.shape[-2:])}")
    return stimuli.float()


def simple_cell_response(stimuli: torch.Tensor, rf: torch.Tensor) -> torch.Tensor:
    """Half-wave rectified linear response ``max(0, sum(rf * s))`` of a simple cell.

    Args:
        stimuli: (..., H, W).
        rf: (H, W) receptive field.

    Returns:
        Tensor (...): one response per stimulus.
    """
    if not isinstance(rf, torch.Tensor) or rf.ndim != 2:
        raise ValueError("rf must be a 2-D tensor (H, W)")
    s = _as_stimuli(stimuli, None)
    if s.shape[-2:] != rf.shape:
        raise ValueError(f"stimuli (..., H, W) must match rf {tuple(rf.shape)}; got {tuple(s.shape)}")
    return torch.relu((s * rf.to(s)).sum((-2, -1)))


def complex_cell_response(stimuli: torch.Tensor, rfs: torch.Tensor) -> torch.Tensor:
    """Maximum over simple cells: ``max_m max(0, sum(rfs[m] * s))``.

    Args:
        stimuli: (..., H, W).
        rfs: (M, H, W) receptive fields of the simple cells it pools.

    Returns:
        Tensor (...).
    """
    if not isinstance(rfs, torch.Tensor) or rfs.ndim != 3:
        raise ValueError("rfs must be a 3-D tensor (M, H, W)")
    return torch.stack([simple_cell_response(stimuli, rf) for rf in rfs]).amax(0)


def shifted_gabor(size: int, *, theta: float, wavelength: float, sigma: float, gamma: float = 1.0,
                  psi: float = 0.0, offset: float = 0.0) -> torch.Tensor:
    """A Gabor receptive field whose centre is moved by ``offset`` pixels along x' (across its stripes)."""
    _check_positive("size", size, integer=True)
    offset = _check_real("offset", offset)
    y, x = _grid(size, size)
    x, y = x - offset * math.cos(theta), y - offset * math.sin(theta)
    return torch.from_numpy(gabor_function(x, y, sigma=sigma, theta=theta, wavelength=wavelength,
                                           gamma=gamma, psi=psi)).float()


class SimpleCell:
    """A model V1 simple cell: Gabor receptive field, then half-wave rectification.

    Args:
        size: side of the visual field (stimuli are (..., size, size)).
        theta, wavelength, gamma, psi: as in :func:`vizlib.filters.gabor_kernel`.
        sigma: envelope width; default ``wavelength / 2``.
        offset: receptive-field centre, in pixels along x' from the field's centre.

    Attributes:
        rf: Tensor (size, size), the receptive field.

    Example:
        >>> round(float(SimpleCell(32, theta=0.0, wavelength=8.0)(bar(32, theta=0.0))), 2)
        18.38
    """

    def __init__(self, size: int = 32, *, theta: float = 0.0, wavelength: float = 8.0, sigma: float | None = None,
                 gamma: float = 1.0, psi: float = 0.0, offset: float = 0.0):
        wavelength = _check_positive("wavelength", wavelength)
        sigma = wavelength / 2 if sigma is None else _check_positive("sigma", sigma)
        self.size, self.theta = size, _check_real("theta", theta)
        self.rf = shifted_gabor(size, theta=theta, wavelength=wavelength, sigma=sigma,
                                gamma=_check_positive("gamma", gamma), psi=_check_real("psi", psi), offset=offset)

    def __call__(self, stimuli: torch.Tensor) -> torch.Tensor:
        """Responses (...) to stimuli (..., size, size)."""
        return simple_cell_response(_as_stimuli(stimuli, self.size), self.rf)


class ComplexCell:
    """A model V1 complex cell: the maximum of simple cells at nearby positions.

    Its subunits share orientation, wavelength and phase and have receptive fields
    moved across their stripes to ``n_subunits`` offsets evenly spaced over
    ``[-spread / 2, spread / 2]`` (default ``spread = wavelength``, one full cycle), so a bar
    anywhere in that range drives one of them near its peak.

    Args:
        size, theta, wavelength, sigma, gamma, psi: as in :class:`SimpleCell`.
        n_subunits: number of simple cells pooled.
        spread: range of their offsets (pixels).

    Attributes:
        subunits: list of :class:`SimpleCell`; rfs: Tensor (n_subunits, size, size).
    """

    def __init__(self, size: int = 32, *, theta: float = 0.0, wavelength: float = 8.0, sigma: float | None = None,
                 gamma: float = 1.0, psi: float = 0.0, n_subunits: int = 9, spread: float | None = None):
        _check_positive("n_subunits", n_subunits, integer=True)
        wavelength = _check_positive("wavelength", wavelength)
        spread = wavelength if spread is None else float(spread)
        if not math.isfinite(spread) or spread < 0:
            raise ValueError(f"spread must be a non-negative number of pixels; got {spread!r}")
        offsets = np.linspace(-spread / 2, spread / 2, n_subunits) if n_subunits > 1 else np.zeros(1)
        self.size, self.theta, self.offsets = size, theta, offsets
        self.subunits = [SimpleCell(size, theta=theta, wavelength=wavelength, sigma=sigma, gamma=gamma, psi=psi,
                                    offset=float(o)) for o in offsets]
        self.rfs = torch.stack([c.rf for c in self.subunits])

    def __call__(self, stimuli: torch.Tensor) -> torch.Tensor:
        """Responses (...) to stimuli (..., size, size)."""
        return complex_cell_response(_as_stimuli(stimuli, self.size), self.rfs)


# --------------------------------------------------------------------------- Neocognitron
#: Patterns as strokes between (row, col) points on a 9x9 grid.
PATTERNS = {
    "T": [((0, 0), (0, 8)), ((0, 4), (8, 4))],
    "L": [((0, 0), (8, 0)), ((8, 0), (8, 8))],
    "X": [((0, 0), (8, 8)), ((0, 8), (8, 0))],
    "+": [((4, 0), (4, 8)), ((0, 4), (8, 4))],
    "Z": [((0, 0), (0, 8)), ((0, 8), (8, 0)), ((8, 0), (8, 8))],
}


def draw_pattern(name: str, *, size: int = 24, shift=(0, 0), jitter: int = 0, seed: int = 0) -> torch.Tensor:
    """Draw one of :data:`PATTERNS` as a binary (size, size) image.

    Args:
        name: a key of :data:`PATTERNS`.
        size: image side (at least 11).
        shift: (rows, cols) displacement of the 9x9 pattern from the centre.
        jitter: each stroke end moves by a random integer in [-jitter, jitter] per axis
            (a deformed pattern); 0 draws the prototype.
        seed: random seed of the jitter.

    Example:
        >>> draw_pattern("T", shift=(3, -2)).shape
        torch.Size([24, 24])
    """
    if name not in PATTERNS:
        raise ValueError(f"name must be one of {', '.join(PATTERNS)}; got {name!r}")
    _check_positive("size", size, integer=True)
    if size < 11:
        raise ValueError(f"size must be at least 11; got {size}")
    if isinstance(jitter, bool) or not isinstance(jitter, int) or jitter < 0:
        raise ValueError(f"jitter must be a non-negative int; got {jitter!r}")
    dr, dc = (int(v) for v in shift)
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    top = (size - 9) // 2
    for a, b in PATTERNS[name]:
        a = np.array(a) + rng.integers(-jitter, jitter + 1, 2) if jitter else np.array(a)
        b = np.array(b) + rng.integers(-jitter, jitter + 1, 2) if jitter else np.array(b)
        n = int(np.abs(b - a).max()) + 1
        pts = np.rint(np.linspace(a, b, n)).astype(int) + [top + dr, top + dc]
        keep = (pts >= 0).all(1) & (pts < size).all(1)
        img[pts[keep, 0], pts[keep, 1]] = 1.0
    return torch.from_numpy(img)


def line_templates() -> torch.Tensor:
    """The S1 templates: 3x3 line detectors at 0, 45, 90 and 135 degrees, zero mean.

    Returns:
        Tensor (4, 1, 3, 3): line pixels 1, the others -0.5, in the order vertical,
        diagonal (top-left to bottom-right), horizontal, anti-diagonal.
    """
    vertical, horizontal = np.zeros((3, 3)), np.zeros((3, 3))
    vertical[:, 1], horizontal[1, :] = 1, 1
    lines = [vertical, np.eye(3), horizontal, np.eye(3)[:, ::-1]]
    t = np.stack([np.where(m > 0, 1.0, -0.5) for m in lines])[:, None]
    return torch.from_numpy(t).float()


class Neocognitron(nn.Module):
    """A minimal two-stage Neocognitron (Fukushima 1980) written with CNN modules.

    ``s1`` (template matching with :func:`line_templates`, threshold as a negative bias)
    -> ``s1_relu`` -> ``c1`` (max-pool) -> ``s2`` (matching C1 maps against each
    prototype's own C1 map) -> ``s2_relu`` -> ``c2`` (max over all positions) -> one score
    per prototype. S-layers are convolution + ReLU, C-layers are pooling: the same
    modules a CNN uses, with templates set by hand (S1) or copied from one example per
    class (S2) instead of learned by backpropagation.

    Args:
        prototypes: Tensor (K, H, W), one binary example per class (e.g. :func:`draw_pattern`).
        pool: C1 pooling size (1: no C1 pooling).
        s1_threshold: S1 threshold (a full 3-pixel line scores 3).
        s2_threshold: S2 threshold, as a fraction of each template's own peak score.
        s2_size: side of the S2 templates on the C1 map.

    Example:
        >>> protos = torch.stack([draw_pattern(n) for n in PATTERNS])
        >>> net = Neocognitron(protos)
        >>> net(draw_pattern("T", shift=(4, -5))[None, None]).argmax(1)   # 0: "T", though shifted
        tensor([0])
    """

    def __init__(self, prototypes: torch.Tensor, *, pool: int = 2, s1_threshold: float = 1.0,
                 s2_threshold: float = 0.3, s2_size: int | None = None):
        super().__init__()
        if not isinstance(prototypes, torch.Tensor) or prototypes.ndim != 3:
            raise ValueError("prototypes must be a tensor of shape (K, H, W)")
        _check_positive("pool", pool, integer=True)
        k, h, w = prototypes.shape
        s2_size = s2_size if s2_size is not None else (9 + pool - 1) // pool + 1
        _check_positive("s2_size", s2_size, integer=True)
        s1 = nn.Conv2d(1, 4, 3, padding=1)
        s2 = nn.Conv2d(4, k, s2_size, padding=s2_size // 2)
        self.features = nn.Sequential(OrderedDict(
            s1=s1, s1_relu=nn.ReLU(), c1=nn.MaxPool2d(pool),
            s2=s2, s2_relu=nn.ReLU(), c2=nn.AdaptiveMaxPool2d(1),
        ))
        self.flatten = nn.Flatten()
        with torch.no_grad():
            s1.weight.copy_(line_templates())
            s1.bias.fill_(-float(s1_threshold))
            c1 = self.features[:3](prototypes[:, None].float())  # (K, 4, h', w')
            hh, ww = c1.shape[-2:]
            top, left = (hh - s2_size) // 2, (ww - s2_size) // 2
            t = c1[:, :, top:top + s2_size, left:left + s2_size]
            t = t - t.mean((1, 2, 3), keepdim=True)
            t = t / t.flatten(1).norm(dim=1).clamp_min(1e-8)[:, None, None, None]
            s2.weight.copy_(t)
            peak = (t * c1[:, :, top:top + s2_size, left:left + s2_size]).sum((1, 2, 3))
            s2.bias.copy_(-float(s2_threshold) * peak)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores (N, K) for images x (N, 1, H, W)."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"x must have shape (N, 1, H, W); got {tuple(x.shape)}")
        return self.flatten(self.features(x.float()))

    def maps(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        """Every layer's output for x (N, 1, H, W): ``{"s1": ..., "c1": ..., "s2": ..., "c2": ...}``."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"x must have shape (N, 1, H, W); got {tuple(x.shape)}")
        out = OrderedDict()
        h = x.float()
        with torch.no_grad():
            for name, module in self.features.named_children():
                h = module(h)
                if name in ("s1_relu", "c1", "s2_relu", "c2"):
                    out[{"s1_relu": "s1", "s2_relu": "s2"}.get(name, name)] = h
        return out


# --------------------------------------------------------------------------- place in a CNN
def move_object(image: torch.Tensor, mask: torch.Tensor, shift, *, background: float = 0.5) -> torch.Tensor:
    """The object of a toy image, moved by ``shift`` pixels onto a flat background.

    Every pixel outside the moved object is ``background`` (0.5 is the mean grey, which the
    course model's normalisation maps to 0, the value of its zero padding), so moving the
    object is the same as moving the whole image: the ideal case for equivariance.

    Args:
        image: (3, H, W) float in [0, 1], e.g. one image of :func:`vizlib.data.toy_world`.
        mask: (H, W) bool, True on the object.
        shift: (dy, dx) ints, pixels down and to the right.
        background: grey level of every pixel off the object.

    Returns:
        Tensor (3, H, W): the object in its mean colour at its new place.

    Raises:
        ValueError: if the moved object would leave the image.

    Example:
        >>> x, _, m = vizlib.toy_world(1, seed=3)
        >>> move_object(x[0], m[0], (0, 4)).shape
        torch.Size([3, 64, 64])
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a tensor of shape (C, H, W); got {got}")
    if not isinstance(mask, torch.Tensor) or mask.shape != image.shape[1:] or mask.dtype != torch.bool:
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a bool tensor of shape {tuple(image.shape[1:])}; got {got}")
    if not mask.any():
        raise ValueError("mask must mark at least one pixel; got an empty mask")
    if (not isinstance(shift, (tuple, list)) or len(shift) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shift)):
        raise ValueError(f"shift must be a pair of ints (dy, dx); got {shift!r}")
    dy, dx = int(shift[0]), int(shift[1])
    rows, cols = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
    h, w = mask.shape
    if rows.min() + dy < 0 or rows.max() + dy >= h or cols.min() + dx < 0 or cols.max() + dx >= w:
        raise ValueError(f"shift must keep the object inside the image; got {shift!r} for an object in "
                         f"rows {rows.min().item()}-{rows.max().item()}, columns {cols.min().item()}-{cols.max().item()}")
    colour = image[:, mask].mean(1)
    out = torch.full_like(image, float(background))
    out[:, torch.roll(mask, (dy, dx), dims=(0, 1))] = colour[:, None]
    return out


def _moved(a: torch.Tensor, dy: int, dx: int, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """``a`` moved by integer (dy, dx) cells, cropped to rows top:H-bottom, columns left:W-right."""
    h, w = a.shape[-2:]
    return a[..., top - dy:h - bottom - dy, left - dx:w - right - dx]


def shifted_map_correlation(maps: torch.Tensor, maps_moved: torch.Tensor, shift) -> torch.Tensor:
    """Pearson correlation of ``maps_moved`` with ``maps`` moved by ``shift`` map cells.

    ``shift`` may be fractional (an input shift that the layer's stride does not divide):
    the moved copy is then the linear interpolation between the two neighbouring integer
    shifts. Only the cells where the moved copy is defined (no wrap-around) are compared,
    over all channels at once, one correlation per image.

    Args:
        maps: (N, C, H, W) feature maps of the original images.
        maps_moved: (N, C, H, W) feature maps of the moved images.
        shift: (dy, dx) floats, in cells of this map (input shift / cumulative stride).

    Returns:
        Tensor (N,): the correlations; NaN where no cell overlaps or a map is constant.

    Example:
        >>> a = torch.arange(32.0).reshape(1, 2, 4, 4) % 5
        >>> b = torch.roll(a, 1, dims=3)              # every map moved one cell to the right
        >>> shifted_map_correlation(a, b, (0, 1)).item()
        1.0
    """
    for arg, t in (("maps", maps), ("maps_moved", maps_moved)):
        if not isinstance(t, torch.Tensor) or t.ndim != 4:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{arg} must be a tensor of shape (N, C, H, W); got {got}")
    if maps.shape != maps_moved.shape:
        raise ValueError(f"maps_moved must have the shape of maps {tuple(maps.shape)}; got {tuple(maps_moved.shape)}")
    if not isinstance(shift, (tuple, list)) or len(shift) != 2:
        raise ValueError(f"shift must be a pair (dy, dx); got {shift!r}")
    sy, sx = float(shift[0]), float(shift[1])
    a, b = maps.double(), maps_moved.double()
    h, w = a.shape[-2:]
    y0, x0 = math.floor(sy), math.floor(sx)
    fy, fx = sy - y0, sx - x0
    ys = [y0] if fy == 0 else [y0, y0 + 1]
    xs = [x0] if fx == 0 else [x0, x0 + 1]
    top, bottom = max(0, max(ys)), max(0, -min(ys))
    left, right = max(0, max(xs)), max(0, -min(xs))
    n = a.shape[0]
    if top + bottom >= h or left + right >= w:
        return torch.full((n,), float("nan"))
    moved = 0.0
    for dy, wy in zip(ys, [1 - fy, fy] if fy else [1.0]):
        for dx, wx in zip(xs, [1 - fx, fx] if fx else [1.0]):
            moved = moved + wy * wx * _moved(a, dy, dx, top, bottom, left, right)
    target = b[..., top:h - bottom, left:w - right]
    u = moved.flatten(1) - moved.flatten(1).mean(1, keepdim=True)
    v = target.flatten(1) - target.flatten(1).mean(1, keepdim=True)
    denom = u.norm(dim=1) * v.norm(dim=1)
    out = (u * v).sum(1) / denom
    return torch.where(denom > 0, out, torch.full_like(out, float("nan"))).float()


def shift_equivariance(model: nn.Module, x: torch.Tensor, x_moved: torch.Tensor, shift, layers) -> dict:
    """How far each layer's output moves with the input: equivariance up to stride and pooling.

    For each layer with spatial maps, the correlation of the moved input's maps with the
    original maps moved by ``shift / jump`` cells (``jump``: the layer's cumulative stride,
    from :func:`vizlib.activations.receptive_field`), and, as a baseline, with the original
    maps not moved at all. A layer without spatial axes (flatten, a linear classifier) has no
    place to move: only the second correlation is defined there.

    Args:
        model: a CNN; run in eval mode, its flags restored afterwards (no hook is left).
        x: (N, C, H, W) normalised images, on the model's device.
        x_moved: (N, C, H, W) the same images moved by ``shift`` pixels.
        shift: (dy, dx) ints, the input shift in pixels.
        layers: layer names, e.g. ``["features.conv1", ..., "classifier.fc"]``.

    Returns:
        dict ``{layer: {"jump": int, "cells": (dy, dx) or None, "moved": (N,), "still": (N,)}}``;
        ``"moved"`` is NaN for layers without spatial maps.

    Example:
        >>> xs, _, ms = vizlib.toy_world(2, seed=3)
        >>> a = torch.stack([move_object(i, m, (0, 0)) for i, m in zip(xs, ms)])
        >>> b = torch.stack([move_object(i, m, (0, 4)) for i, m in zip(xs, ms)])
        >>> r = shift_equivariance(model, vizlib.normalize(a), vizlib.normalize(b), (0, 4),
        ...                        ["features.conv1"])
        >>> r["features.conv1"]["cells"]
        (0.0, 2.0)
    """
    from .activations import get_activations, receptive_field

    if not isinstance(x_moved, torch.Tensor) or not isinstance(x, torch.Tensor) or x_moved.shape != x.shape:
        got = tuple(x_moved.shape) if isinstance(x_moved, torch.Tensor) else type(x_moved).__name__
        raise ValueError(f"x_moved must be a tensor of the shape of x; got {got}")
    if (not isinstance(shift, (tuple, list)) or len(shift) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shift)):
        raise ValueError(f"shift must be a pair of ints (dy, dx); got {shift!r}")
    names = [layers] if isinstance(layers, str) else list(layers)
    acts = get_activations(model, torch.cat([x, x_moved]), names)
    n = x.shape[0]
    out = {}
    for name in names:
        a, b = acts[name][:n].float(), acts[name][n:].float()
        still = torch.nn.functional.cosine_similarity(  # Pearson: centre each image's values
            a.flatten(1) - a.flatten(1).mean(1, keepdim=True),
            b.flatten(1) - b.flatten(1).mean(1, keepdim=True), dim=1)
        if a.ndim == 4:
            jump = receptive_field(model, name, x.shape[-1]).jump
            cells = (shift[0] / jump, shift[1] / jump)
            moved = shifted_map_correlation(a, b, cells)
        else:
            jump, cells, moved = None, None, torch.full((n,), float("nan"))
        out[name] = {"jump": jump, "cells": cells, "moved": moved, "still": still}
    return out

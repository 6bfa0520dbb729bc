"""Stimuli and model simple and complex cells (the simulated Hubel-Wiesel experiment)."""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import _validate
from ..filters import _grid, gabor_function

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
    _validate.positive_int(size, "size")
    theta, position = _validate.real(theta, "theta"), _validate.real(position, "position")
    width = _validate.real(width, "width", positive=True)
    length = float(size) if length is None else _validate.real(length, "length", positive=True)
    contrast = _validate.real(contrast, "contrast")
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
    _validate.positive_int(size, "size")
    scale = _validate.real(scale, "scale", positive=True)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))
    f = np.fft.fftfreq(size)
    rho = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    ring = np.exp(-((rho - 1 / scale) ** 2) / (2 * (0.3 / scale) ** 2))
    z = np.fft.ifft2(np.fft.fft2(noise) * ring)
    return (np.angle(z) / 2) % np.pi


def _as_stimuli(stimuli, size: int | None = None) -> torch.Tensor:
    _validate.tensor(stimuli, "stimuli", "a torch.Tensor of shape (..., H, W)")
    if stimuli.ndim < 2:
        raise ValueError(f"stimuli must be a tensor of shape (..., H, W); got {tuple(stimuli.shape)}")
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
    _validate.positive_int(size, "size")
    offset = _validate.real(offset, "offset")
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
        wavelength = _validate.real(wavelength, "wavelength", positive=True)
        sigma = wavelength / 2 if sigma is None else _validate.real(sigma, "sigma", positive=True)
        self.size, self.theta = size, _validate.real(theta, "theta")
        self.rf = shifted_gabor(size, theta=theta, wavelength=wavelength, sigma=sigma,
                                gamma=_validate.real(gamma, "gamma", positive=True), psi=_validate.real(psi, "psi"), offset=offset)

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
        _validate.positive_int(n_subunits, "n_subunits")
        wavelength = _validate.real(wavelength, "wavelength", positive=True)
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

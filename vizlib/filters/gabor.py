"""Multi-channel filters and fitting Gabor functions to learned filters."""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import least_squares
from torch import nn


#: Names accepted by :func:`kernel`.
from ..hooks import first_conv as _first_conv
from .. import _validate
from .kernels import _grid, _to_numpy


def spatial_component(kernel):
    """The principal colour component of a filter: its best rank-1 colour x space split.

    Args:
        kernel: (k, k) or (C, k, k) array or tensor.

    Returns:
        ``(spatial, colour, fraction)``: ndarray (k, k) spatial map (scaled by the
        singular value, so ``colour[:, None, None] * spatial`` is the rank-1 filter),
        ndarray (C,) unit colour vector with a non-negative sum, and the fraction of the
        filter's energy the rank-1 term holds. For a 2-D kernel: the kernel, ``[1.]``, 1.0.

    Example:
        >>> w = first_layer_filters(model)[0]                         # (3, 11, 11)
        >>> spatial, colour, frac = spatial_component(w)
        >>> spatial.shape, colour.shape, 0 < frac <= 1
        ((11, 11), (3,), True)
    """
    k = _to_numpy(kernel)
    if k.ndim == 2:
        return k.copy(), np.ones(1), 1.0
    c, h, w = k.shape
    u, s, vt = np.linalg.svd(k.reshape(c, h * w), full_matrices=False)
    colour, spatial = u[:, 0], s[0] * vt[0].reshape(h, w)
    if colour.sum() < 0:
        colour, spatial = -colour, -spatial
    total = float((s**2).sum())
    return spatial, colour, (float(s[0] ** 2) / total if total > 0 else 1.0)


def first_conv(model: nn.Module):
    """The first ``nn.Conv2d`` of a model, in definition order: ``(name, module)``.

    Works for any architecture (the course model, AlexNet, VGG, ResNet, ...); the same finder as
    :func:`vizlib.hooks.first_conv`.
    """
    return _first_conv(model)


def first_layer_filters(model: nn.Module) -> torch.Tensor:
    """A copy of the first convolution's weights: Tensor (out_channels, in_channels, k, k) on the CPU.

    Example:
        >>> first_layer_filters(model).shape
        torch.Size([32, 3, 11, 11])
    """
    return first_conv(model)[1].weight.detach().cpu().float().clone()


_BASE_KEYS = ("x0", "y0", "sigma", "gamma", "theta", "frequency")


def _design(p, x, y):
    """Envelope x cos / x sin carrier basis of the Gabor model for nonlinear params p."""
    x0, y0, log_s, log_g, theta, f = p
    s, g = np.exp(log_s), np.exp(log_g)
    dx, dy = x - x0, y - y0
    c, sn = np.cos(theta), np.sin(theta)
    xr = dx * c + dy * sn
    yr = -dx * sn + dy * c
    env = np.exp(-(xr**2 + (g * yr) ** 2) / (2 * s**2))
    phase = 2 * np.pi * f * xr
    return env * np.cos(phase), env * np.sin(phase)


def _linear(a, b, t):
    """Least-squares amplitudes of t ~ alpha a + beta b; returns (alpha, beta, fit)."""
    aa, bb, ab = a @ a, b @ b, a @ b
    at, bt = a @ t, b @ t
    det = aa * bb - ab * ab
    if det <= 1e-12 * max(aa * bb, 1e-300):
        alpha = at / aa if aa > 1e-300 else 0.0
        return alpha, 0.0, alpha * a
    alpha = (bb * at - ab * bt) / det
    beta = (aa * bt - ab * at) / det
    return alpha, beta, alpha * a + beta * b


def _initial_guesses(k: np.ndarray, x: np.ndarray, y: np.ndarray, n_peaks: int = 3):
    h, w = k.shape
    e = k**2
    tot = e.sum()
    x0, y0 = (x * e).sum() / tot, (y * e).sum() / tot
    spread = math.sqrt(max(float((((x - x0) ** 2 + (y - y0) ** 2) * e).sum() / tot), 0.25))
    n = 4 * max(h, w, 8)
    spec = np.abs(np.fft.fft2(k, s=(n, n)))
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    half = (fx > 0) | ((fx == 0) & (fy >= 0))  # one of each +-f pair
    # local maxima of the spectrum (with wrap-around) in the half plane
    nb = np.stack([np.roll(np.roll(spec, i, 0), j, 1) for i in (-1, 0, 1) for j in (-1, 0, 1) if i or j])
    peaks = half & (spec >= nb.max(0))
    idx = np.argsort(-spec[peaks])[:n_peaks]
    cand = [(math.atan2(fy[peaks][i], fx[peaks][i]), math.hypot(fx[peaks][i], fy[peaks][i])) for i in idx]
    guesses = []
    lo, hi = 0.5, float(max(h, w))
    for theta, f in cand or [(0.0, 0.0)]:
        for s in (spread, spread / 2):
            s = min(max(s, lo * 1.01), hi * 0.99)
            guesses.append(np.array([x0, y0, math.log(s), 0.0, theta, min(max(f, 0.002), 0.498)]))
    return guesses


def _model_and_jac(p, x, y, jac: bool = True):
    """The Gabor model A E cos(phi + psi) at params p and its analytic Jacobian (n, 8)."""
    amp, psi, x0, y0, log_s, log_g, theta, f = p
    s2, g2 = math.exp(2 * log_s), math.exp(2 * log_g)
    c, sn = math.cos(theta), math.sin(theta)
    dx, dy = x - x0, y - y0
    xr, yr = dx * c + dy * sn, -dx * sn + dy * c
    q = (xr**2 + g2 * yr**2) / (2 * s2)
    env = np.exp(-q)
    ph = 2 * np.pi * f * xr + psi
    cs, ss = np.cos(ph), np.sin(ph)
    m = amp * env * cs
    if not jac:
        return m, None
    ec, es = env * cs, env * ss
    dm_dxr = amp * (-xr / s2 * ec - 2 * np.pi * f * es)
    dm_dyr = amp * (-g2 * yr / s2 * ec)
    J = np.empty((x.size, 8))
    J[:, 0] = ec
    J[:, 1] = -amp * es
    J[:, 2] = -c * dm_dxr + sn * dm_dyr
    J[:, 3] = -sn * dm_dxr - c * dm_dyr
    J[:, 4] = amp * 2 * q * ec
    J[:, 5] = -amp * g2 * yr**2 / s2 * ec
    J[:, 6] = yr * dm_dxr - xr * dm_dyr
    J[:, 7] = -amp * 2 * np.pi * xr * es
    return m, J


class _Transform:
    """Maps unbounded optimiser variables z to bounded Gabor parameters p (and back).

    p = (amplitude, psi, x0, y0, log sigma, log gamma, theta, frequency); the centre stays
    within a pixel of the kernel, sigma in [0.5, k], gamma in [0.2, 5], frequency in (0, 0.5).
    """

    def __init__(self, h: int, w: int):
        self.rx, self.ry = (w - 1) / 2 + 1, (h - 1) / 2 + 1
        self.ls = (math.log(0.5), math.log(max(h, w)))
        self.lg = (math.log(0.2), math.log(5.0))

    @staticmethod
    def _sig(v):
        return 1 / (1 + math.exp(-v)) if v > -700 else 0.0

    @staticmethod
    def _logit(u):
        u = min(max(u, 1e-6), 1 - 1e-6)
        return math.log(u / (1 - u))

    def to_p(self, z):
        s4, s5, s7 = self._sig(z[4]), self._sig(z[5]), self._sig(z[7])
        p = np.array([z[0], z[1], self.rx * math.tanh(z[2]), self.ry * math.tanh(z[3]),
                      self.ls[0] + (self.ls[1] - self.ls[0]) * s4, self.lg[0] + (self.lg[1] - self.lg[0]) * s5,
                      z[6], 0.5 * s7])
        dp = np.array([1.0, 1.0, self.rx * (1 - math.tanh(z[2]) ** 2), self.ry * (1 - math.tanh(z[3]) ** 2),
                       (self.ls[1] - self.ls[0]) * s4 * (1 - s4), (self.lg[1] - self.lg[0]) * s5 * (1 - s5),
                       1.0, 0.5 * s7 * (1 - s7)])
        return p, dp

    def to_z(self, p):
        clip = lambda v: min(max(v, -0.999), 0.999)  # noqa: E731
        return np.array([p[0], p[1], math.atanh(clip(p[2] / self.rx)), math.atanh(clip(p[3] / self.ry)),
                         self._logit((p[4] - self.ls[0]) / (self.ls[1] - self.ls[0])),
                         self._logit((p[5] - self.lg[0]) / (self.lg[1] - self.lg[0])), p[6],
                         self._logit(p[7] / 0.5)])


def _fit_map(k: np.ndarray, coarse_nfev: int = 20, max_nfev: int = 200):
    """Fit the Gabor model to a 2-D map; returns (params dict, r2, fitted map).

    Every start runs ``coarse_nfev`` Levenberg-Marquardt steps; the best one is then
    refined to convergence (at most ``max_nfev`` steps).
    """
    h, w = k.shape
    y, x = _grid(h, w)
    x, y, t = x.ravel(), y.ravel(), k.ravel()
    ss_tot = float(((t - t.mean()) ** 2).sum())
    if ss_tot <= 1e-20 * max(float((t**2).sum()), 1e-300) or not np.any(t):
        raise ValueError("kernel must not be constant: a Gabor fit needs spatial structure")
    tr = _Transform(h, w)

    def fun(z):
        return _model_and_jac(tr.to_p(z)[0], x, y, jac=False)[0] - t

    def jac(z):
        p, dp = tr.to_p(z)
        return _model_and_jac(p, x, y)[1] * dp

    def solve(z0, nfev):
        sol = least_squares(fun, z0, jac=jac, method="lm", x_scale="jac", max_nfev=nfev, ftol=1e-10, xtol=1e-10)
        return float(sol.fun @ sol.fun), sol.x

    starts = []
    for g in _initial_guesses(k, *_grid(h, w)[::-1]):
        a, b = _design(g, x, y)
        alpha, beta, _ = _linear(a, b, t)  # amplitude and phase of this start in closed form
        starts.append(tr.to_z(np.concatenate([[math.hypot(alpha, beta), math.atan2(-beta, alpha)], g])))
    best = min((solve(z0, coarse_nfev) for z0 in starts), key=lambda cz: cz[0])
    best = min(best, solve(best[1], max_nfev), key=lambda cz: cz[0])
    p = tr.to_p(best[1])[0]
    fit = _model_and_jac(p, x, y, jac=False)[0]
    amp, psi, x0, y0, log_s, log_g, theta, f = (float(v) for v in p)
    if amp < 0:
        amp, psi = -amp, psi + math.pi
    # (theta + pi, psi) is the same Gabor as (theta, -psi): map theta into [0, pi)
    turns = math.floor(theta / math.pi)
    theta -= turns * math.pi
    if turns % 2:
        psi = -psi
    params = dict(sigma=math.exp(log_s), theta=theta, wavelength=(1 / f if f > 1e-9 else math.inf),
                  gamma=math.exp(log_g), psi=psi % (2 * math.pi), amplitude=amp, x0=x0, y0=y0, frequency=f)
    r2 = 1 - float(((fit - t) ** 2).sum()) / ss_tot
    return params, r2, fit.reshape(h, w)


def fit_gabor(kernel):
    """Fit a 2-D Gabor function to a filter by least squares.

    The model is ``A * g(x - x0, y - y0)`` with ``g`` the Gabor of :func:`gabor_kernel`
    (free centre, sigma, gamma, theta, wavelength, psi and amplitude), fitted with
    ``scipy.optimize.least_squares`` (Levenberg-Marquardt with the analytic Jacobian; the
    centre, sigma, gamma and frequency are kept in range by smooth reparametrisation).
    Six starts come from the three largest peaks of the kernel's zero-padded spectrum
    (orientation and frequency) and two envelope widths from the spread of its energy,
    with amplitude and phase solved in closed form; each start runs 20 steps and the
    best is refined to convergence. Jones and Palmer (1987) fitted cat simple-cell
    receptive fields the same way.

    A (C, k, k) filter is reduced to its principal colour component first
    (:func:`spatial_component`); ``params`` then also holds ``colour`` (C,) and
    ``colour_fraction`` (the energy that component holds).

    R² alone does not prove Gabor-likeness: smoothed noise fits with R² around 0.8 and an
    edge fits as a Gabor of near-zero frequency. Report :func:`orientation_selectivity`
    beside it, and compare with :func:`phase_randomise` surrogates.

    Args:
        kernel: (k, k) or (C, k, k) tensor or array, not constant.

    Returns:
        ``(params, r2)``: params is a dict with ``sigma``, ``theta`` (in [0, pi)),
        ``wavelength`` (inf for a pure blob), ``gamma``, ``psi`` (in [0, 2 pi)), ``amplitude``
        (>= 0), ``x0``, ``y0`` (centre offset in pixels from the kernel's centre, x along
        columns), ``frequency`` (1 / wavelength); r2 is ``1 - SS_res / SS_tot`` on the
        (spatial) kernel.

    Example:
        >>> params, r2 = fit_gabor(gabor_kernel(11, sigma=2.5, theta=1.0, wavelength=5.0))
        >>> r2 > 0.999
        True
    """
    arr = _to_numpy(kernel)
    spatial, colour, frac = spatial_component(arr)
    params, r2, _ = _fit_map(spatial)
    if arr.ndim == 3:
        params["colour"], params["colour_fraction"] = colour, frac
    return params, r2


def gabor_from_params(params: dict, size: int) -> np.ndarray:
    """The fitted Gabor of :func:`fit_gabor` rendered as a (size, size) array (spatial part)."""
    if not isinstance(params, dict) or not {"sigma", "theta", "frequency", "gamma", "psi", "amplitude"} <= set(params):
        raise ValueError("params must be the dict fit_gabor returns")
    _validate.positive_int(size, "size")
    y, x = _grid(size, size)
    p = [params.get("x0", 0.0), params.get("y0", 0.0), math.log(params["sigma"]), math.log(params["gamma"]),
         params["theta"], params["frequency"]]
    a, b = _design(p, x, y)
    return params["amplitude"] * (np.cos(params["psi"]) * a - np.sin(params["psi"]) * b)


def phase_randomise(kernel, seed: int = 0) -> np.ndarray:
    """A phase-randomised surrogate of a 2-D map: same amplitude spectrum, random phases.

    The null model for Gabor fits: a surrogate keeps the kernel's frequency content
    but destroys its spatial arrangement, so a filter whose fit R² beats its surrogates'
    is Gabor-like beyond what its spectrum alone explains. The zero-frequency term is kept.

    Args:
        kernel: (k, k) array or tensor (use :func:`spatial_component` for a colour filter).
        seed: random seed.

    Returns:
        ndarray (k, k).
    """
    k = _to_numpy(kernel, ndims=(2,))
    rng = np.random.default_rng(seed)
    phases = np.angle(np.fft.fft2(rng.standard_normal(k.shape)))  # Hermitian-symmetric
    phases[0, 0] = 0.0
    return np.real(np.fft.ifft2(np.fft.fft2(k) * np.exp(1j * phases)))

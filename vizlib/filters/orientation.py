"""Orientation tuning and selectivity, and a whole layer's verdict."""
from __future__ import annotations


import numpy as np


#: Names accepted by :func:`kernel`.
from .gabor import _fit_map, phase_randomise, spatial_component
from .. import _validate
from .kernels import _grid, _to_numpy


def orientation_tuning(kernel, *, n_orientations: int = 36, frequency: float | None = None):
    """A filter's responses to sinusoidal gratings over orientations, at its preferred frequency.

    The response to a grating is ``sum(kernel * grating)`` with the grating centred on the
    kernel. For each orientation theta_j = j pi / n it is taken at the best phase, which for
    a linear filter is the amplitude of the response to a quadrature pair,
    ``|sum(kernel * exp(2 pi i f x'))|`` (the magnitude of the kernel's Fourier transform at
    frequency f in direction theta). As in physiology (Ringach et al. 2002), the tuning curve
    is measured at one spatial frequency, the filter's preferred one: the frequency of its
    strongest response over all orientations and over 32 frequencies evenly spaced from
    1 / (2k) to 0.5 cycles/pixel (a uniform field, frequency 0, has no orientation).

    Args:
        kernel: (k, k) or (C, k, k) (reduced by :func:`spatial_component`).
        n_orientations: orientations in [0, pi).
        frequency: fixed grating frequency in cycles/pixel instead of the preferred one.

    Returns:
        ``(thetas, responses)``: two ndarrays (n_orientations,).

    Example:
        >>> thetas, r = orientation_tuning(gabor_kernel(15, sigma=3.0, theta=0.5, wavelength=6.0))
        >>> round(float(thetas[r.argmax()]), 2)      # 0.52: the grid step nearest 0.5
        0.52
    """
    _validate.positive_int(n_orientations, "n_orientations")
    spatial = spatial_component(kernel)[0]
    h, w = spatial.shape
    if frequency is None:
        freqs = np.linspace(1 / (2 * max(h, w)), 0.5, 32)
    else:
        freqs = np.array([_validate.real(frequency, "frequency", positive=True)])
    y, x = _grid(h, w)
    thetas = np.arange(n_orientations) * np.pi / n_orientations
    xr = np.cos(thetas)[:, None, None] * x + np.sin(thetas)[:, None, None] * y  # (n, h, w)
    waves = np.exp(2j * np.pi * freqs[None, :, None, None] * xr[:, None])  # (n, nf, h, w)
    resp = np.abs(np.einsum("tfhw,hw->tf", waves, spatial))
    best = np.unravel_index(np.argmax(resp), resp.shape)[1]
    return thetas, resp[:, best]


def osi_from_tuning(thetas, responses) -> float:
    """Orientation selectivity index ``|sum r e^{2 i theta}| / sum r`` (0: untuned, 1: one orientation).

    The vector-sum index, one minus the circular variance (Ringach et al. 2002); the
    doubled angle makes theta and theta + pi the same orientation. ``thetas`` should
    cover [0, pi) evenly; ``responses`` must be non-negative.
    """
    t = np.asarray(thetas, float).ravel()
    r = np.asarray(responses, float).ravel()
    if t.shape != r.shape or t.size == 0:
        raise ValueError(f"thetas and responses must be 1-D of the same length; got {t.shape} and {r.shape}")
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError("responses must be non-negative and finite")
    total = r.sum()
    return 0.0 if total <= 0 else float(abs((r * np.exp(2j * t)).sum()) / total)


def classic_osi_from_tuning(thetas, responses) -> float:
    """Classic orientation selectivity index ``(r_pref - r_orth) / (r_pref + r_orth)``.

    ``r_pref`` is the largest response, ``r_orth`` the response 90 degrees away from it
    (De Valois et al. 1982). It compares two points of the tuning curve only: a filter that
    answers its preferred orientation and almost nothing at the orthogonal one scores near 1
    even when the curve is broad, which the vector-sum index (:func:`osi_from_tuning`) does
    not allow. For ``r = 1 + a cos(2 theta)`` it is ``a``, the vector sum ``a / 2``.
    ``thetas`` must cover [0, pi) evenly with an even number of steps (so that the
    orthogonal orientation is on the grid); ``responses`` must be non-negative.
    """
    t = np.asarray(thetas, float).ravel()
    r = np.asarray(responses, float).ravel()
    if t.shape != r.shape or t.size == 0:
        raise ValueError(f"thetas and responses must be 1-D of the same length; got {t.shape} and {r.shape}")
    if t.size % 2:
        raise ValueError(f"thetas must have an even length (90 degrees on the grid); got {t.size}")
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError("responses must be non-negative and finite")
    i = int(np.argmax(r))
    pref, orth = r[i], r[(i + t.size // 2) % t.size]
    return 0.0 if pref + orth <= 0 else float((pref - orth) / (pref + orth))


def orientation_selectivity(kernel, *, n_orientations: int = 36, frequency: float | None = None) -> float:
    """Orientation selectivity index of a filter from its responses to gratings.

    ``OSI = |sum_j r(theta_j) e^{2 i theta_j}| / sum_j r(theta_j)`` (Ringach et al. 2002),
    with ``r(theta)`` the best response over grating phases at the filter's preferred
    spatial frequency (:func:`orientation_tuning`). 0 for an isotropic filter, 1 for one
    that answers a single orientation. A Gabor with sigma = wavelength / 2 scores about
    0.8; white-noise 7x7 filters score about 0.2 (95th percentile 0.4).

    Example:
        >>> orientation_selectivity(kernel("gaussian", 7, 1.5)) < 0.05
        True
    """
    return osi_from_tuning(*orientation_tuning(kernel, n_orientations=n_orientations, frequency=frequency))


def fit_filters(weights, *, n_surrogates: int = 0, seed: int = 0, progress: bool = False) -> dict:
    """Fit a Gabor to every filter of a layer and measure its orientation selectivity.

    Args:
        weights: (N, C, k, k) or (N, k, k) tensor or array, e.g. :func:`first_layer_filters`.
        n_surrogates: phase-randomised surrogates fitted per filter (0 to skip).
        seed: seed of the surrogates.
        progress: show a tqdm progress bar.

    Returns:
        dict of ndarrays over filters: ``r2`` (N,), ``osi`` (N,) the vector-sum index,
        ``osi_classic`` (N,) the classic index (:func:`classic_osi_from_tuning`), ``theta``, ``wavelength``,
        ``sigma``, ``gamma`` (N,), ``fits`` (N, k, k) fitted spatial Gabors, ``spatial``
        (N, k, k) the maps that were fitted, ``surrogate_r2`` (N, n_surrogates), and
        ``params``: the list of parameter dicts.

    Example:
        >>> res = fit_filters(first_layer_filters(model)[:8])
        >>> res["r2"].shape, res["fits"].shape
        ((8,), (8, 11, 11))
    """
    arr = _to_numpy(weights, "weights", ndims=(3, 4))
    _validate.integer(n_surrogates, "n_surrogates", minimum=0)
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    out = {key: [] for key in ("r2", "osi", "osi_classic", "theta", "wavelength", "sigma", "gamma", "fits", "spatial",
                               "surrogate_r2", "params")}
    for w in tqdm(arr, desc="fitting Gabors", disable=not progress):
        spatial = spatial_component(w)[0]
        params, r2, fit = _fit_map(spatial)
        if w.ndim == 3:
            params["colour"], params["colour_fraction"] = spatial_component(w)[1:]
        sur = []
        for _ in range(n_surrogates):
            sur.append(_fit_map(phase_randomise(spatial, int(rng.integers(2**31))))[1])
        out["r2"].append(r2)
        tuning = orientation_tuning(spatial)
        out["osi"].append(osi_from_tuning(*tuning))
        out["osi_classic"].append(classic_osi_from_tuning(*tuning))
        for key in ("theta", "wavelength", "sigma", "gamma"):
            out[key].append(params[key])
        out["fits"].append(fit)
        out["spatial"].append(spatial)
        out["surrogate_r2"].append(sur)
        out["params"].append(params)
    res = {k: np.asarray(v, float) for k, v in out.items() if k != "params"}
    res["surrogate_r2"] = res["surrogate_r2"].reshape(len(arr), n_surrogates)
    res["params"] = out["params"]
    return res

"""Self-checks of the filters chapter: Gabor kernels, frequency responses and Gabor fits."""
from __future__ import annotations

import numpy as np
import torch

from ._common import compare, _fail, _real_result

__all__ = ["check_gabor", "check_frequency_response", "check_gabor_fit"]


#: (size, sigma, theta, wavelength, gamma, psi) cases of check_gabor: odd sizes, every parameter off its default.
_GABOR_CASES = ((11, 2.5, 0.0, 5.0, 1.0, 0.0), (15, 3.0, np.pi / 6, 6.0, 0.6, np.pi / 2),
                (9, 2.0, 2.0, 4.0, 1.5, 1.0), (13, 2.0, -0.7, 7.0, 0.8, np.pi))


def check_gabor(fn) -> float:
    """Check ``fn(size, sigma, theta, wavelength, gamma=1.0, psi=0.0)``, the real Gabor kernel.

    ``fn`` must return a (size, size) array or tensor equal to
    :func:`vizlib.filters.gabor_kernel`: ``exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2)) *
    cos(2 pi x' / wavelength + psi)`` with ``x' = x cos(theta) + y sin(theta)``,
    ``y' = -x sin(theta) + y cos(theta)``, x along columns and y along rows, measured from
    the middle pixel (all sizes here are odd). Four fixed cases, called positionally;
    prints PASS/FAIL and raises ``AssertionError`` on a wrong answer.

    Example:
        >>> def my_gabor(size, sigma, theta, wavelength, gamma=1.0, psi=0.0):
        ...     return vizlib.filters.gabor_kernel(size, sigma=sigma, theta=theta, wavelength=wavelength,
        ...                                        gamma=gamma, psi=psi)
        >>> err = vizlib.checks.check_gabor(my_gabor)
        PASS check_gabor: max |error| 0 over 4 cases
    """
    from ..filters import gabor_kernel

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(size, sigma, theta, wavelength, gamma, psi); got {type(fn).__name__}")
    hint = ("x runs along columns and y along rows, both from the middle pixel (size - 1) / 2; "
            "x' = x cos(theta) + y sin(theta), y' = -x sin(theta) + y cos(theta); the envelope is "
            "exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2)) and the carrier cos(2 pi x' / wavelength + psi).")
    pairs = []
    for size, sigma, theta, lam, gamma, psi in _GABOR_CASES:
        got = _real_result("check_gabor", fn(size, sigma, theta, lam, gamma, psi), hint)
        pairs.append((got, gabor_kernel(size, sigma=sigma, theta=theta, wavelength=lam, gamma=gamma, psi=psi)))
    return compare("check_gabor", pairs, atol=1e-4, rtol=1e-4, hint=hint)


def _frequency_cases():
    gen = torch.Generator().manual_seed(4)
    lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    return [(lap, 16), (torch.randn(5, 5, generator=gen), 32), (torch.randn(4, 6, generator=gen), 15)]


def check_frequency_response(fn) -> float:
    """Check ``fn(kernel, size)``, a kernel's magnitude frequency response.

    ``fn`` takes a kernel (k_h, k_w) tensor and an FFT size and must return the (size,
    size) magnitude of the kernel's 2-D DFT after zero-padding it to size x size, with
    zero frequency moved to the centre (``fftshift``), as
    :func:`vizlib.filters.frequency_response`. Three fixed cases (one odd size, one
    non-square kernel); prints PASS/FAIL and raises ``AssertionError`` on a wrong answer.

    Example:
        >>> err = vizlib.checks.check_frequency_response(vizlib.filters.frequency_response)
        PASS check_frequency_response: max |error| 0 over 3 cases
    """
    from ..filters import frequency_response

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(kernel, size); got {type(fn).__name__}")
    hint = ("zero-pad to size x size inside the FFT (scipy.fft.fft2(k, s=(size, size))), take the "
            "magnitude np.abs (not the power, not the real part), then fftshift so that zero frequency "
            "sits at index size // 2.")
    pairs = []
    for k, size in _frequency_cases():
        got = _real_result("check_frequency_response", fn(k.clone(), size), hint)
        pairs.append((got, frequency_response(k, size)))
    return compare("check_frequency_response", pairs, atol=1e-4, rtol=1e-4, hint=hint)


#: check_gabor_fit's grids: orientations (radians), wavelengths and envelope widths (pixels).
GABOR_FIT_GRID = dict(thetas=np.arange(12) * np.pi / 12, wavelengths=(3.0, 4.0, 6.0, 8.0, 12.0),
                      sigmas=(1.5, 2.5, 4.0))
#: (size, theta, wavelength, sigma, psi, amplitude, offset, noise) of check_gabor_fit's kernels:
#: every one on the grid; the second has a constant offset, the third an offset and noise.
_FIT_CASES = ((11, np.pi / 6, 6.0, 2.5, 0.5, 1.0, 0.0, 0.0),
              (13, 7 * np.pi / 12, 4.0, 1.5, np.pi / 2 + 0.3, 2.0, 0.3, 0.0),
              (15, 5 * np.pi / 6, 8.0, 4.0, 4.0, 0.5, -0.2, 0.02))


def _fit_kernel(size, theta, lam, sigma, psi, amp, offset, noise, seed=7):
    from ..filters import gabor_kernel

    k = amp * gabor_kernel(size, sigma=sigma, theta=theta, wavelength=lam, psi=psi).double().numpy() + offset
    return k + noise * np.random.default_rng(seed).standard_normal(k.shape)


def _fit_at(k, theta, lam, sigma):
    """Least squares of k on [cosine Gabor, sine Gabor, 1] at one grid point: (ss_res, a, b, c)."""
    from ..filters import gabor_kernel

    even = gabor_kernel(k.shape[0], sigma=sigma, theta=theta, wavelength=lam).double().numpy().ravel()
    odd = -gabor_kernel(k.shape[0], sigma=sigma, theta=theta, wavelength=lam, psi=np.pi / 2).double().numpy().ravel()
    design = np.stack([even, odd, np.ones_like(even)], 1)
    coef = np.linalg.lstsq(design, k.ravel(), rcond=None)[0]
    return float(((design @ coef - k.ravel()) ** 2).sum()), *coef


def _angle(a, b, period):
    """Distance between two angles modulo ``period``."""
    d = (a - b) % period
    return min(d, period - d)


def check_gabor_fit(fn) -> float:
    """Check ``fn(kernel, thetas, wavelengths, sigmas) -> (params, r2)``, a Gabor fit by grid search.

    The model is ``A exp(-(x'^2 + y'^2) / (2 sigma^2)) cos(2 pi x' / wavelength + psi) + c``
    (the Gabor of :func:`vizlib.filters.gabor_kernel` with gamma = 1, centred, plus a
    constant): a grid over ``thetas`` (radians), ``wavelengths`` and ``sigmas`` (pixels), and
    at each grid point least squares for the rest. ``params`` must hold ``theta`` (radians),
    ``wavelength`` (pixels per cycle), ``sigma``, ``psi`` (radians, any turn) and ``amplitude``
    (>= 0); ``r2`` is the fraction of variance explained, ``1 - SS_res / SS_tot`` with
    ``SS_tot = sum((k - mean k)^2)``. Three kernels built on the grid (one with a constant
    offset, one with an offset and noise); the message names the typical mistakes: degrees
    for radians, an orientation off by 90 degrees, x and y swapped, the frequency returned
    as the wavelength, the mean not removed, the sign of psi, a kernel changed in place.

    """
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(kernel, thetas, wavelengths, sigmas); got {type(fn).__name__}")
    name = "check_gabor_fit"
    grid = GABOR_FIT_GRID
    pairs, results = [], []
    for i, (size, theta, lam, sigma, psi, amp, offset, noise) in enumerate(_FIT_CASES):
        k = _fit_kernel(size, theta, lam, sigma, psi, amp, offset, noise)
        given = k.copy()
        out = fn(given, grid["thetas"].copy(), tuple(grid["wavelengths"]), tuple(grid["sigmas"]))
        if not np.array_equal(given, k):
            _fail(name, "your function changed the kernel it was given (an in-place operation such as "
                        "kernel -= kernel.mean()); work on a copy.")
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], dict)):
            _fail(name, f"return (params, r2), params a dict; got {type(out).__name__}")
        params, r2 = out
        missing = {"theta", "wavelength", "sigma", "psi", "amplitude"} - set(params)
        if missing:
            _fail(name, f"params lacks {sorted(missing)}")
        got = {key: float(params[key]) for key in ("theta", "wavelength", "sigma", "psi", "amplitude")}
        r2 = float(r2)
        results.append((i, got, r2, offset))
        where = f"case {i} (θ = {np.degrees(theta):.0f}°, λ = {lam:g}, σ = {sigma:g})"
        if abs(got["theta"] - np.degrees(theta)) < 1e-6:
            _fail(name, f"{where}: theta {got['theta']:.4g} is in degrees; the grid and the answer are radians.")
        if _angle(got["theta"], theta, np.pi) > 1e-6:
            if abs(_angle(got["theta"], theta, np.pi) - np.pi / 2) < 1e-6:
                _fail(name, f"{where}: the orientation is off by 90°. θ is the direction of the wave vector, "
                            "across the stripes: x' = x cos θ + y sin θ is the coordinate along it.")
            if _angle(got["theta"], np.pi / 2 - theta, np.pi) < 1e-6:
                _fail(name, f"{where}: θ came out mirrored (π/2 - θ): x and y are swapped. x runs along the "
                            "columns, y along the rows (y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2).")
            if r2 < 0.9:
                _fail(name, f"{where}: theta {got['theta']:.4g}, expected {theta:.4g}, and R² is only {r2:.2f}: "
                            "the model does not fit its own kind of kernel. Check the carrier cos(2π x'/λ + ψ), "
                            "with λ in pixels (2π x' λ treats the wavelength as a frequency), and the envelope "
                            "exp(-(x'^2 + y'^2) / (2σ^2)).")
            _fail(name, f"{where}: theta {got['theta']:.4g}, expected {theta:.4g}. Check x' = x cos θ + y sin θ, "
                        "y' = -x sin θ + y cos θ, and that the best grid point has the smallest residual.")
        if abs(got["wavelength"] - 1 / lam) < 1e-6:
            _fail(name, f"{where}: wavelength {got['wavelength']:.4g} is the frequency 1/λ (cycles per pixel); "
                        "return the wavelength λ in pixels per cycle.")
        if abs(got["wavelength"] - lam) > 1e-6 or abs(got["sigma"] - sigma) > 1e-6:
            hint = ("the mean was not removed: the kernel has a constant offset, which the Gabor cannot fit; add a "
                    "constant column to the least squares (or remove the means of the kernel and of both Gabor "
                    "columns)") if offset else ("check the carrier cos(2π x'/λ + ψ), with λ in pixels (2π x' λ "
                                               "treats the wavelength as a frequency), and the envelope "
                                               "exp(-(x'^2 + y'^2) / (2σ^2))")
            _fail(name, f"{where}: wavelength {got['wavelength']:.4g}, sigma {got['sigma']:.4g}: {hint}.")
    for i, got, r2, offset in results:
        size, theta, lam, sigma, psi, amp, _, noise = _FIT_CASES[i]
        expected = _expected_r2(i)
        where = f"case {i}"
        if offset and abs(got["amplitude"] - amp) > 0.05 * amp:
            _fail(name, f"{where}: amplitude {got['amplitude']:.4g}, expected about {amp:g}, on a kernel with a "
                        "constant offset: the mean was not removed. Add a constant column to the least squares.")
        if abs(r2 - expected) > 1e-3:
            k = _fit_kernel(*_FIT_CASES[i])
            ss_res = (1 - expected) * float(((k - k.mean()) ** 2).sum())
            if abs(r2 - (1 - ss_res / float((k**2).sum()))) < 1e-3:
                _fail(name, f"{where}: R² {r2:.4f}, expected {expected:.4f}: SS_tot must be taken about the mean, "
                            "sum((k - k.mean())**2), not sum(k**2).")
            hint = (" The mean was not removed: add a constant column to the least squares." if offset else "")
            _fail(name, f"{where}: R² {r2:.4f}, expected {expected:.4f}; R² = 1 - SS_res / SS_tot.{hint}")
        if got["amplitude"] < 0:
            _fail(name, f"{where}: amplitude {got['amplitude']:.4g} is negative; return A = hypot(a, b) >= 0.")
        if _angle(got["psi"], -psi, 2 * np.pi) < 0.02 and _angle(got["psi"], psi, 2 * np.pi) > 0.02:
            _fail(name, f"{where}: psi has the wrong sign. With k ≈ a C + b S + c (C, S the cosine and sine "
                        "Gabors), a = A cos ψ and b = -A sin ψ, so ψ = atan2(-b, a).")
        if _angle(got["psi"], psi + np.pi, 2 * np.pi) < 0.02:
            _fail(name, f"{where}: psi is off by π: keep A >= 0 and ψ = atan2(-b, a).")
        tol = 1e-6 if not noise else 0.05
        pairs.append((np.array([_angle(got["psi"], psi, 2 * np.pi), got["amplitude"], r2]),
                      np.array([0.0, amp, expected])))
        if _angle(got["psi"], psi, 2 * np.pi) > tol:
            _fail(name, f"{where}: psi {got['psi']:.4g}, expected {psi:.4g} (mod 2π): ψ = atan2(-b, a).")
    return compare(name, pairs, atol=0.02, rtol=0.01,
                   hint="amplitude A = hypot(a, b), R² = 1 - SS_res / sum((k - k.mean())**2).")


def _expected_r2(case: int) -> float:
    """R² of check_gabor_fit's case at its true grid point (the reference's answer)."""
    size, theta, lam, sigma, psi, amp, offset, noise = _FIT_CASES[case]
    k = _fit_kernel(size, theta, lam, sigma, psi, amp, offset, noise)
    ss_res = _fit_at(k, theta, lam, sigma)[0]
    return 1 - ss_res / float(((k - k.mean()) ** 2).sum())

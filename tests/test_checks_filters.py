"""The filters chapter's checks pass on correct answers and fail on typical mistakes."""
import math

import numpy as np
import pytest
import scipy.fft
import torch

from vizlib import checks


def gabor_numpy(size, sigma, theta, wavelength, gamma=1.0, psi=0.0, *, carrier=np.cos, sign=1, swap=False,
                two=2.0, gamma_on_x=False, centre=None):
    """An independent Gabor; the keyword switches produce the classic mistakes."""
    c = (size - 1) / 2 if centre is None else centre
    y, x = np.mgrid[0:size, 0:size] - c
    if swap:
        x, y = y, x
    xp = x * np.cos(sign * theta) + y * np.sin(sign * theta)
    yp = -x * np.sin(sign * theta) + y * np.cos(sign * theta)
    env = np.exp(-((gamma * xp) ** 2 + yp**2) / (two * sigma**2)) if gamma_on_x else \
        np.exp(-(xp**2 + (gamma * yp) ** 2) / (two * sigma**2))
    return env * carrier(2 * np.pi * xp / wavelength + psi)


def test_check_gabor_passes_an_independent_implementation():
    assert checks.check_gabor(gabor_numpy) < 1e-5
    assert checks.check_gabor(lambda *a: torch.from_numpy(gabor_numpy(*a)).float()) < 1e-5


@pytest.mark.parametrize("wrong", [
    dict(carrier=np.sin),       # sine carrier
    dict(sign=-1),              # theta rotated the other way
    dict(swap=True),            # rows and columns swapped
    dict(two=1.0),              # 1 / sigma^2 instead of 1 / (2 sigma^2)
    dict(gamma_on_x=True),      # aspect ratio on the wrong axis
    dict(centre=0),             # centred on the corner
])
def test_check_gabor_fails_on_wrong_implementations(wrong, capsys):
    with pytest.raises(AssertionError, match="check_gabor"):
        checks.check_gabor(lambda *a: gabor_numpy(*a, **wrong))
    assert "FAIL check_gabor" in capsys.readouterr().out


def test_check_gabor_fails_on_wavelength_used_as_frequency():
    with pytest.raises(AssertionError):
        checks.check_gabor(lambda s, sg, t, lam, g=1.0, p=0.0: gabor_numpy(s, sg, t, 1 / lam, g, p))


def reference_response(k, size):
    spec = np.fft.fft2(np.asarray(k, float), s=(size, size))
    return np.abs(np.fft.fftshift(spec))


def test_check_frequency_response_passes_an_independent_implementation(capsys):
    assert checks.check_frequency_response(reference_response) < 1e-6
    assert "PASS check_frequency_response" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [
    lambda k, n: np.abs(np.fft.fft2(np.asarray(k, float), s=(n, n))),                  # no fftshift
    lambda k, n: np.fft.fftshift(np.fft.fft2(np.asarray(k, float), s=(n, n))),         # complex
    lambda k, n: np.abs(np.fft.fftshift(np.fft.fft2(np.asarray(k, float), s=(n, n)))) ** 2,  # power
    lambda k, n: np.abs(np.fft.fftshift(np.fft.fft2(np.asarray(k, float)))),          # no zero-padding
    lambda k, n: np.real(np.fft.fftshift(np.fft.fft2(np.asarray(k, float), s=(n, n)))),  # real part
    lambda k, n: np.abs(np.fft.ifftshift(scipy.fft.fft2(np.asarray(k, float), s=(n, n)))),  # ifftshift (odd n)
])
def test_check_frequency_response_fails_on_wrong_implementations(wrong):
    with pytest.raises(AssertionError, match="check_frequency_response"):
        checks.check_frequency_response(wrong)


def test_checks_reject_non_callables():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_gabor(3)
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_frequency_response(None)
    assert math.isfinite(checks.check_gabor(gabor_numpy))


# --------------------------------------------------------------------------- check_gabor_fit
def fit_by_grid(kernel, thetas, wavelengths, sigmas, *, degrees=False, plus_90=False, swap=False,
                frequency=False, keep_mean=False, r2_about_zero=False, psi_sign=1, in_place=False,
                lam_as_frequency=False):
    """An independent grid fit (means removed instead of a constant column); switches make the mistakes."""
    k = kernel if in_place else np.array(kernel, dtype=float)
    if in_place:
        k -= k.mean()
    n = k.shape[0]
    rows, cols = np.indices((n, n)) - (n - 1) / 2
    x, y = (rows, cols) if swap else (cols, rows)
    t = k.ravel() - (0 if keep_mean else k.mean())
    best = (np.inf,)
    for theta in thetas:
        along = (x * math.cos(theta) + y * math.sin(theta)).ravel()
        across = (y * math.cos(theta) - x * math.sin(theta)).ravel()
        for lam in wavelengths:
            arg = 2 * math.pi * along * lam if lam_as_frequency else 2 * math.pi * along / lam
            for sigma in sigmas:
                env = np.exp(-(along**2 + across**2) / (2 * sigma**2))
                cols_ = [env * np.cos(arg), env * np.sin(arg)]
                if not keep_mean:
                    cols_ = [c - c.mean() for c in cols_]
                design = np.column_stack(cols_)
                coef, *_ = np.linalg.lstsq(design, t, rcond=None)
                ss = float(((design @ coef - t) ** 2).sum())
                if ss < best[0]:
                    best = (ss, theta, lam, sigma, coef)
    ss, theta, lam, sigma, (a, b) = best
    if plus_90:
        theta = (theta + math.pi / 2) % math.pi
    total = float((kernel.ravel() ** 2).sum()) if r2_about_zero else float(((t - t.mean()) ** 2).sum())
    params = dict(theta=math.degrees(theta) if degrees else theta, wavelength=1 / lam if frequency else lam,
                  sigma=sigma, psi=math.atan2(-psi_sign * b, a), amplitude=math.hypot(a, b))
    return params, 1 - ss / total


def test_check_gabor_fit_passes_an_independent_grid_fit(capsys):
    assert checks.check_gabor_fit(fit_by_grid) < 0.02
    assert "PASS check_gabor_fit" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [
    (dict(degrees=True), "in degrees"),
    (dict(plus_90=True), "off by 90°"),
    (dict(swap=True), "x and y are swapped"),
    (dict(frequency=True), "frequency 1/λ"),
    (dict(keep_mean=True), "mean was not removed"),
    (dict(r2_about_zero=True), "about the mean"),
    (dict(psi_sign=-1), "psi has the wrong sign"),
    (dict(in_place=True), "changed the kernel"),
    (dict(lam_as_frequency=True), "treats the wavelength as a frequency"),
])
def test_check_gabor_fit_names_each_typical_mistake(wrong, named, capsys):
    with pytest.raises(AssertionError, match="check_gabor_fit") as err:
        checks.check_gabor_fit(lambda *a: fit_by_grid(*a, **wrong))
    assert named in str(err.value)
    assert "FAIL check_gabor_fit" in capsys.readouterr().out


def test_check_gabor_fit_cases_are_on_the_grid_and_leave_the_grid_alone():
    grid = checks.filters.GABOR_FIT_GRID
    before = {k: np.array(v, copy=True) for k, v in grid.items()}
    for size, theta, lam, sigma, *_ in checks.filters._FIT_CASES:
        assert np.isclose(grid["thetas"], theta).any() and lam in grid["wavelengths"] and sigma in grid["sigmas"]
    checks.check_gabor_fit(fit_by_grid)
    assert all(np.array_equal(before[k], np.asarray(grid[k])) for k in grid)
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_gabor_fit("fit")

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

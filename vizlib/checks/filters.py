"""Self-checks of the filters chapter: Gabor kernels and frequency responses."""
from __future__ import annotations

import numpy as np
import torch

from ._common import compare, _real_result

__all__ = ["check_gabor", "check_frequency_response"]


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

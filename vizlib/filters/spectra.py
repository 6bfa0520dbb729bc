"""Frequency responses, pass bands and natural-image patches."""
from __future__ import annotations


import numpy as np
import torch


#: Names accepted by :func:`kernel`.
from .. import _validate
from .kernels import _to_numpy


def frequency_response(kernel, size: int = 64) -> np.ndarray:
    """Magnitude of a kernel's 2-D discrete Fourier transform, zero frequency centred.

    The kernel is zero-padded to ``size`` x ``size`` before the FFT (``scipy.fft``), so
    the result samples the continuous frequency response at the frequencies
    :func:`frequency_axis` (``size``) gives, in cycles per pixel, from -0.5 to 0.5.

    Args:
        kernel: (k, k) or (C, k, k) array or tensor, k <= size.
        size: FFT size.

    Returns:
        ndarray (size, size), or (C, size, size) per channel; rows are the vertical
        frequency v, columns the horizontal frequency u.

    Example:
        >>> H = frequency_response(kernel("box", 3))
        >>> round(float(H[32, 32]), 6)      # the DC gain of a normalised blur
        1.0
    """
    _validate.positive_int(size, "size")
    k = _to_numpy(kernel)
    if k.shape[-1] > size or k.shape[-2] > size:
        raise ValueError(f"size must be at least the kernel's side {max(k.shape[-2:])}; got {size}")
    import scipy.fft

    spec = scipy.fft.fft2(k, s=(size, size), axes=(-2, -1))
    return np.abs(scipy.fft.fftshift(spec, axes=(-2, -1)))


def frequency_axis(size: int = 64) -> np.ndarray:
    """The frequencies (cycles per pixel) of :func:`frequency_response`'s rows and columns."""
    _validate.positive_int(size, "size")
    return np.fft.fftshift(np.fft.fftfreq(size))


def pass_band(kernel, size: int = 64) -> str:
    """Classify a kernel as ``"low-pass"``, ``"band-pass"``, ``"high-pass"`` or ``"high-boost"``.

    From the radially averaged magnitude response ``R`` over ten equal bins of radial
    frequency 0..0.5 cycles/pixel (a (C, k, k) kernel: the sum of its channels' magnitude
    responses):

    - low-pass if ``R`` peaks in the lowest bin;
    - band-pass if it peaks in bins 2 to 7 (0.05 to 0.35 cycles/pixel);
    - if it peaks in the top three bins (above 0.35 cycles/pixel), the gain rises towards
      high frequencies, and the gain at zero frequency ``|H(0, 0)|`` (the sum of the
      weights) decides: high-pass if it is below a tenth of the peak bin's mean gain (the
      kernel removes the mean, as the Laplacian does), high-boost otherwise (it keeps the
      mean and amplifies fine detail, as the sharpening kernel, the identity minus the
      Laplacian, with gain 1 at zero frequency and 9 at the corner).

    Example:
        >>> pass_band(kernel("gaussian", 7, 1.5)), pass_band(kernel("laplacian"))
        ('low-pass', 'high-pass')
        >>> pass_band(kernel("sharpen"))
        'high-boost'
    """
    H = frequency_response(kernel, size)
    if H.ndim == 3:
        H = H.sum(0)
    f = frequency_axis(size)
    rho = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    edges = np.linspace(0, 0.5, 11)
    prof = [H[(rho >= a) & (rho < b + 1e-12 * (b == 0.5))].mean() for a, b in zip(edges[:-1], edges[1:])]
    peak = int(np.argmax(prof))
    if peak == 0:
        return "low-pass"
    if peak < 7:
        return "band-pass"
    dc = H[size // 2, size // 2]
    return "high-pass" if dc < 0.1 * prof[peak] else "high-boost"


def whiten(image, cutoff: float = 0.3) -> torch.Tensor:
    """Whiten a grey image as Olshausen and Field (1996) did before learning filters from it.

    Natural images have an amplitude spectrum falling roughly as 1/f; multiplying by
    ``f * exp(-(f / f0)^4)`` (f radial frequency, ``f0 = cutoff * 0.5`` cycles/pixel)
    flattens it up to ``f0`` and removes the noisiest highest frequencies. The result has
    zero mean and unit standard deviation.

    Args:
        image: (H, W) tensor or array.
        cutoff: f0 as a fraction of the Nyquist frequency, in (0, 1].

    Returns:
        Tensor (H, W), float32.
    """
    img = _to_numpy(image, "image", ndims=(2,))
    cutoff = _validate.real(cutoff, "cutoff", positive=True)
    if cutoff > 1:
        raise ValueError(f"cutoff must be in (0, 1]; got {cutoff}")
    fy, fx = np.meshgrid(np.fft.fftfreq(img.shape[0]), np.fft.fftfreq(img.shape[1]), indexing="ij")
    f = np.hypot(fx, fy)
    gain = f * np.exp(-((f / (0.5 * cutoff)) ** 4))
    out = np.real(np.fft.ifft2(np.fft.fft2(img - img.mean()) * gain))
    sd = out.std()
    return torch.from_numpy(out / sd if sd > 0 else out).float()


def random_patches(image, size: int, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` square patches cut at random positions from a (H, W) or (C, H, W) image.

    Returns:
        Tensor (n, size, size) or (n, C, size, size).
    """
    _validate.positive_int(size, "size")
    _validate.positive_int(n, "n")
    if not isinstance(image, torch.Tensor) or image.ndim not in (2, 3):
        raise ValueError("image must be a tensor of shape (H, W) or (C, H, W)")
    h, w = image.shape[-2:]
    if size > min(h, w):
        raise ValueError(f"size must be at most the image's smaller side {min(h, w)}; got {size}")
    gen = torch.Generator().manual_seed(seed)
    rows = torch.randint(0, h - size + 1, (n,), generator=gen)
    cols = torch.randint(0, w - size + 1, (n,), generator=gen)
    return torch.stack([image[..., r:r + size, c:c + size] for r, c in zip(rows.tolist(), cols.tolist())])

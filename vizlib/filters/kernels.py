"""Classic kernels, Gabor kernels and convolution."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .. import _validate

#: Names accepted by :func:`kernel`.
KERNELS = ("identity", "box", "gaussian", "laplacian", "sharpen", "sobel_x", "sobel_y")


def _to_numpy(kernel, name: str = "kernel", ndims=(2, 3)) -> np.ndarray:
    arr = _validate.array(kernel, name).astype(np.float64)
    if arr.ndim not in ndims:
        shapes = " or ".join({2: "(k, k)", 3: "(C, k, k)", 4: "(N, C, k, k)"}[d] for d in ndims)
        raise ValueError(f"{name} must have shape {shapes}; got {tuple(arr.shape)}")
    if arr.shape[-1] < 2 or arr.shape[-2] < 2:
        raise ValueError(f"{name} must be at least 2x2 spatially; got {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got NaN or infinite values")
    return arr


def _grid(h: int, w: int):
    """Coordinates (y, x) of an h x w grid, measured from its centre ((n - 1) / 2)."""
    y = np.arange(h, dtype=np.float64) - (h - 1) / 2
    x = np.arange(w, dtype=np.float64) - (w - 1) / 2
    return np.meshgrid(y, x, indexing="ij")


def gabor_function(x, y, *, sigma, theta, wavelength, gamma=1.0, psi=0.0):
    """The real Gabor function evaluated on coordinate arrays ``x``, ``y`` (NumPy, any shape)."""
    xr = x * np.cos(theta) + y * np.sin(theta)
    yr = -x * np.sin(theta) + y * np.cos(theta)
    return np.exp(-(xr**2 + gamma**2 * yr**2) / (2 * sigma**2)) * np.cos(2 * np.pi * xr / wavelength + psi)


def gabor_kernel(size: int, *, sigma: float, theta: float, wavelength: float, gamma: float = 1.0,
                 psi: float = 0.0) -> torch.Tensor:
    """A real Gabor kernel, the receptive-field model of V1 simple cells.

    ``g(x, y) = exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2)) * cos(2 pi x' / wavelength + psi)``
    with ``x' = x cos(theta) + y sin(theta)`` and ``y' = -x sin(theta) + y cos(theta)``
    (Daugman 1985; Jones and Palmer 1987). x runs along columns and y along rows from the
    kernel's centre ((size - 1) / 2, the middle pixel for odd sizes). At ``theta=0`` the
    cosine varies along the columns, so its stripes run vertically.

    Args:
        size: side of the square kernel in pixels.
        sigma: standard deviation of the Gaussian envelope along x' (pixels).
        theta: orientation of the carrier's wave vector (radians).
        wavelength: carrier wavelength (pixels per cycle).
        gamma: spatial aspect ratio; the envelope's width along y' is sigma / gamma.
        psi: phase offset (0: even, bar-like; pi/2: odd, edge-like).

    Returns:
        Tensor (size, size), float32.

    Example:
        >>> gabor_kernel(7, sigma=2.0, theta=0.0, wavelength=4.0).shape
        torch.Size([7, 7])
    """
    _validate.positive_int(size, "size")
    sigma = _validate.real(sigma, "sigma", positive=True)
    wavelength = _validate.real(wavelength, "wavelength", positive=True)
    gamma = _validate.real(gamma, "gamma", positive=True)
    theta, psi = _validate.real(theta, "theta"), _validate.real(psi, "psi")
    y, x = _grid(size, size)
    g = gabor_function(x, y, sigma=sigma, theta=theta, wavelength=wavelength, gamma=gamma, psi=psi)
    return torch.from_numpy(g).float()


def gabor_bank(size: int, *, thetas, wavelengths, sigma_ratio: float = 0.56, gamma: float = 1.0,
               psi: float = 0.0) -> torch.Tensor:
    """A bank of Gabor kernels over orientations and wavelengths.

    Args:
        size: kernel side.
        thetas: iterable of orientations (radians).
        wavelengths: iterable of wavelengths (pixels); each kernel's sigma is
            ``sigma_ratio * wavelength`` (0.56 gives about one octave of bandwidth).
        sigma_ratio, gamma, psi: as in :func:`gabor_kernel`.

    Returns:
        Tensor (len(wavelengths) * len(thetas), size, size), wavelength-major.

    Example:
        >>> gabor_bank(15, thetas=[0, 0.79], wavelengths=[4, 8]).shape
        torch.Size([4, 15, 15])
    """
    thetas, wavelengths = list(thetas), list(wavelengths)
    if not thetas or not wavelengths:
        raise ValueError("thetas and wavelengths must each hold at least one value")
    _validate.real(sigma_ratio, "sigma_ratio", positive=True)
    return torch.stack([gabor_kernel(size, sigma=sigma_ratio * lam, theta=t, wavelength=lam, gamma=gamma, psi=psi)
                        for lam in wavelengths for t in thetas])


def kernel(name: str, size: int = 3, sigma: float = 1.0) -> torch.Tensor:
    """A classic image-processing kernel by name.

    Args:
        name: one of :data:`KERNELS`: ``"identity"``, ``"box"`` (mean of ``size`` x
            ``size``), ``"gaussian"`` (normalised, standard deviation ``sigma``, side
            ``size``), ``"laplacian"`` (the 4-neighbour ``[[0,1,0],[1,-4,1],[0,1,0]]``),
            ``"sharpen"`` (identity minus the Laplacian), ``"sobel_x"``, ``"sobel_y"``
            (horizontal and vertical derivatives).
        size: side of ``"identity"``, ``"box"`` and ``"gaussian"`` (the others are 3x3).
        sigma: standard deviation of ``"gaussian"``.

    Returns:
        Tensor (k, k), float32.

    Example:
        >>> kernel("laplacian")
        tensor([[ 0.,  1.,  0.],
                [ 1., -4.,  1.],
                [ 0.,  1.,  0.]])
    """
    if not isinstance(name, str) or name not in KERNELS:
        raise ValueError(f"name must be one of {', '.join(KERNELS)}; got {name!r}")
    _validate.positive_int(size, "size")
    sigma = _validate.real(sigma, "sigma", positive=True)
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    if name == "identity":
        k = np.zeros((size, size))
        k[(size - 1) // 2, (size - 1) // 2] = 1
    elif name == "box":
        k = np.full((size, size), 1.0 / size**2)
    elif name == "gaussian":
        y, x = _grid(size, size)
        k = np.exp(-(x**2 + y**2) / (2 * sigma**2))
        k /= k.sum()
    elif name == "laplacian":
        k = lap
    elif name == "sharpen":
        k = -lap
        k[1, 1] += 1
    else:
        sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
        k = sx if name == "sobel_x" else sx.T
    return torch.from_numpy(k).float()


def conv2d_image(image, kernel) -> torch.Tensor:
    """Filter an image with a kernel (or a bank), keeping its size (reflect padding).

    Cross-correlation, as in a CNN layer (identical to convolution for symmetric
    kernels); every image channel is filtered separately.

    Args:
        image: (H, W) or (C, H, W) tensor.
        kernel: (k, k) kernel or (N, k, k) bank; k must be smaller than H and W.

    Returns:
        Tensor of shape ``kernel.shape[:-2] + image.shape``: (H, W), (C, H, W),
        (N, H, W) or (N, C, H, W).

    Example:
        >>> cat = vizlib.images.photo("cat", 128)                     # (3, 128, 128)
        >>> conv2d_image(cat, kernel("gaussian", 7, 2.0)).shape
        torch.Size([3, 128, 128])
    """
    if not isinstance(image, torch.Tensor) or image.ndim not in (2, 3):
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a tensor of shape (H, W) or (C, H, W); got {got}")
    if not isinstance(kernel, torch.Tensor) or kernel.ndim not in (2, 3):
        got = tuple(kernel.shape) if isinstance(kernel, torch.Tensor) else type(kernel).__name__
        raise ValueError(f"kernel must be a tensor of shape (k, k) or (N, k, k); got {got}")
    kh, kw = kernel.shape[-2:]
    h, w = image.shape[-2:]
    if kh >= h or kw >= w:
        raise ValueError(f"kernel ({kh}x{kw}) must be smaller than the image ({h}x{w})")
    img = image.float().reshape(-1, 1, h, w)
    bank = kernel.to(img).reshape(-1, 1, kh, kw)
    padded = F.pad(img, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2), mode="reflect")
    out = F.conv2d(padded, bank)  # (C, N, H, W)
    out = out.permute(1, 0, 2, 3)  # (N, C, H, W)
    return out.reshape(*kernel.shape[:-2], *image.shape)


def grating(size: int, *, theta: float, wavelength: float, phase: float = 0.0) -> torch.Tensor:
    """A sinusoidal grating ``cos(2 pi x' / wavelength + phase)`` in [-1, 1], (size, size).

    Same coordinates as :func:`gabor_kernel`: the grating with ``theta`` is the one a
    Gabor with the same ``theta`` and ``wavelength`` prefers (stripes vertical at 0).

    Example:
        >>> grating(32, theta=0.0, wavelength=8.0).shape
        torch.Size([32, 32])
    """
    _validate.positive_int(size, "size")
    wavelength = _validate.real(wavelength, "wavelength", positive=True)
    theta, phase = _validate.real(theta, "theta"), _validate.real(phase, "phase")
    y, x = _grid(size, size)
    xr = x * np.cos(theta) + y * np.sin(theta)
    return torch.from_numpy(np.cos(2 * np.pi * xr / wavelength + phase)).float()


def gratings(size: int, *, thetas, wavelength: float, phase: float = 0.0) -> torch.Tensor:
    """A stack of :func:`grating` over orientations: (len(thetas), size, size)."""
    thetas = list(thetas)
    if not thetas:
        raise ValueError("thetas must hold at least one orientation")
    return torch.stack([grating(size, theta=t, wavelength=wavelength, phase=phase) for t in thetas])

"""Filters: classic kernels, Gabor functions, frequency responses, and measuring how
Gabor-like a learned filter is.

Conventions: a kernel is a (k, k) array (or a (C, k, k) multi-channel filter), x runs
along columns and y along rows, both measured from the kernel's centre ((k - 1) / 2,
the middle pixel for odd k). Angles are radians; frequencies are in cycles per pixel.

Multi-channel filters (for example conv1 weights (3, k, k)) are reduced to one spatial
map by :func:`spatial_component`, their principal colour component: the rank-1 term of
the SVD of the (C, k*k) weight matrix, i.e. the spatial pattern that explains most of
the filter's energy across channels (a colour-opponent edge stays an edge, where the
channel sum would cancel it). :func:`fit_gabor`, :func:`orientation_tuning` and
:func:`orientation_selectivity` all use that map.

Example:
    >>> g = gabor_kernel(15, sigma=3.0, theta=0.5, wavelength=6.0)
    >>> params, r2 = fit_gabor(g)
    >>> round(r2, 3), round(params["theta"], 2)
    (1.0, 0.5)
    >>> orientation_selectivity(g) > 0.75
    True

The package has one module per part: ``kernels``, ``spectra``, ``gabor`` (fitting) and
``orientation`` (tuning and selectivity).
"""
from __future__ import annotations

from .kernels import (
    KERNELS,
    _grid,
    conv2d_image,
    gabor_bank,
    gabor_function,
    gabor_kernel,
    grating,
    gratings,
    kernel,
)
from .spectra import frequency_axis, frequency_response, pass_band, random_patches, whiten
from .gabor import (
    first_conv,
    first_layer_filters,
    fit_gabor,
    gabor_from_params,
    phase_randomise,
    spatial_component,
)
from .orientation import (
    classic_osi_from_tuning,
    fit_filters,
    orientation_selectivity,
    orientation_tuning,
    osi_from_tuning,
)


__all__ = [
    "KERNELS",
    "classic_osi_from_tuning",
    "conv2d_image",
    "first_conv",
    "first_layer_filters",
    "fit_filters",
    "fit_gabor",
    "frequency_axis",
    "frequency_response",
    "gabor_bank",
    "gabor_from_params",
    "gabor_function",
    "gabor_kernel",
    "grating",
    "gratings",
    "kernel",
    "orientation_selectivity",
    "orientation_tuning",
    "osi_from_tuning",
    "pass_band",
    "phase_randomise",
    "random_patches",
    "spatial_component",
    "whiten",
]

"""Argument checks shared by the segmentation parts."""
from __future__ import annotations

import numpy as np
from .. import _validate



_INT32_MAX = np.iinfo(np.int32).max


#: Default weight of the pairwise term of :func:`saliency_segmentation`: GrabCut's value
#: (Rother et al. 2004, gamma = 50), for unary costs in nats.
SMOOTHNESS = 50.0


def _map2d(value, arg: str) -> np.ndarray:
    arr = _validate.array(value, arg)
    if arr.ndim != 2:
        raise ValueError(f"{arg} must have shape (H, W); got {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{arg} must not be empty; got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{arg} must hold real numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{arg} must be finite; got NaN or infinite values")
    return arr


def _image(value, shape, arg: str = "image") -> np.ndarray:
    arr = _validate.array(value, arg)
    if arr.ndim != 3 or arr.shape[0] not in (1, 3):
        raise ValueError(f"{arg} must have shape (3, H, W) or (1, H, W) in [0, 1]; got {arr.shape}")
    if arr.shape[1:] != tuple(shape):
        raise ValueError(f"{arg} must have the map's height and width {tuple(shape)}; got {arr.shape[1:]}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{arg} must be floating point in [0, 1]; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{arg} must lie in [0, 1] (the raw image, not the normalised model input)")
    return arr


def _mask(value, shape, arg: str) -> np.ndarray:
    arr = _validate.array(value, arg)
    if arr.shape != tuple(shape):
        raise ValueError(f"{arg} must have shape {tuple(shape)}; got {arr.shape}")
    if arr.dtype != bool:
        raise TypeError(f"{arg} must be a bool mask; got dtype {arr.dtype}")
    return arr

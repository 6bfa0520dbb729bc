"""Argument checks shared by the segmentation parts."""
from __future__ import annotations

import numbers

import numpy as np
import torch


_INT32_MAX = np.iinfo(np.int32).max


#: Default weight of the pairwise term of :func:`saliency_segmentation`: GrabCut's value
#: (Rother et al. 2004, gamma = 50), for unary costs in nats.
SMOOTHNESS = 50.0


def _to_numpy(value, arg: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{arg} must be a NumPy array or a torch.Tensor; got {type(value).__name__}")


def _map2d(value, arg: str) -> np.ndarray:
    arr = _to_numpy(value, arg)
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
    arr = _to_numpy(value, arg)
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


def _fraction(value, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a number in (0, 1); got {type(value).__name__}")
    if not 0 < value < 1:
        raise ValueError(f"{arg} must lie strictly between 0 and 1; got {value}")
    return float(value)


def _non_negative(value, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a non-negative number; got {type(value).__name__}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{arg} must be a finite number >= 0; got {value}")
    return float(value)


def _positive_int(value, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{arg} must be an int; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{arg} must be >= 1; got {value}")
    return int(value)


def _mask(value, shape, arg: str) -> np.ndarray:
    arr = _to_numpy(value, arg)
    if arr.shape != tuple(shape):
        raise ValueError(f"{arg} must have shape {tuple(shape)}; got {arr.shape}")
    if arr.dtype != bool:
        raise TypeError(f"{arg} must be a bool mask; got dtype {arr.dtype}")
    return arr

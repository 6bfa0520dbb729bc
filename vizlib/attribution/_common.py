"""Argument checks and small tools shared by the attribution methods."""
from __future__ import annotations

import numbers

import torch
from torch import nn

from .. import hooks


def _check_model(model) -> None:
    hooks.check_model(model)


def _first_conv_channels(model: nn.Module):
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            return m.in_channels
    return None


def _check_x(model: nn.Module, x, arg: str = "x") -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor of shape (N, C, H, W); got {type(x).__name__}")
    if x.ndim != 4:
        hint = " (a single image? add the batch dimension with x[None])" if x.ndim == 3 else ""
        raise ValueError(f"{arg} must have shape (N, C, H, W); got {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        raise TypeError(
            f"{arg} must be a floating-point tensor in the model's input space; got dtype {x.dtype} "
            "(uint8 images: divide by 255, then vizlib.normalize)"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{arg} must hold at least one image; got an empty batch {tuple(x.shape)}")
    channels = _first_conv_channels(model)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{arg} must have {channels} channels like the model's first convolution, shape "
            f"(N, {channels}, H, W); got {tuple(x.shape)} (grayscale or RGBA image?)"
        )
    device = hooks.model_device(model)
    if x.device != device:
        raise ValueError(f"{arg} is on {x.device} but the model is on {device}; move it with {arg}.to({str(device)!r})")
    for p in model.parameters():
        if p.is_floating_point() and p.dtype != x.dtype:
            raise TypeError(f"{arg} must have the model's dtype {p.dtype}; got {x.dtype}")
        break
    if not torch.isfinite(x).all():
        raise ValueError(f"{arg} must be finite; got NaN or infinite values")


def _check_target(target, n: int, device) -> torch.Tensor:
    """int or (N,) integer tensor/list -> (N,) int64 tensor on ``device`` (range checked later)."""
    if isinstance(target, bool):
        raise TypeError(f"target must be an int or an (N,) tensor of class indices; got {target!r}")
    if isinstance(target, numbers.Integral):
        return torch.full((n,), int(target), dtype=torch.long, device=device)
    if isinstance(target, (list, tuple)):
        if not all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in target):
            raise TypeError("target must be an int or a sequence of ints (class indices)")
        target = torch.tensor(list(target), dtype=torch.long)
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be an int or an (N,) tensor of class indices; got {type(target).__name__}")
    if target.dtype == torch.bool or target.is_floating_point() or target.is_complex():
        raise TypeError(f"target must hold integer class indices; got dtype {target.dtype}")
    if target.ndim == 0:
        return torch.full((n,), int(target), dtype=torch.long, device=device)
    if target.ndim != 1 or target.shape[0] != n:
        raise ValueError(f"target must be an int or have shape ({n},), one class per image; got {tuple(target.shape)}")
    return target.to(device=device, dtype=torch.long)


def _check_logits(logits, n: int) -> int:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != n or logits.shape[1] < 1:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"model must return logits of shape (N, classes) = ({n}, K); got {got}")
    return logits.shape[1]


def _check_range(target: torch.Tensor, k: int) -> None:
    lo, hi = int(target.min()), int(target.max())
    if lo < 0 or hi >= k:
        raise ValueError(f"target must be class indices in [0, {k - 1}]; got values in [{lo}, {hi}]")


def _pos_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int; got {value}")
    return int(value)


def _pair(name: str, value) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width); got {value!r}")
        return _pos_int(name, value[0]), _pos_int(name, value[1])
    v = _pos_int(name, value)
    return v, v


# --------------------------------------------------------------------------- session


def _leaf(x: torch.Tensor) -> torch.Tensor:
    """A private copy of ``x`` that requires grad (the caller's tensor and its .grad stay untouched)."""
    return x.detach().clone().requires_grad_(True)


def _chunks(total: int, size: int):
    for start in range(0, total, size):
        yield start, min(start + size, total)


def _baseline(baseline, x: torch.Tensor) -> torch.Tensor:
    """Baseline as an (N, C, H, W)-broadcastable tensor on x's device."""
    n, c, h, w = x.shape
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        return torch.full((1, c, 1, 1), float(baseline), dtype=x.dtype, device=x.device)
    if not isinstance(baseline, torch.Tensor):
        raise TypeError(f"baseline must be a number or a tensor; got {type(baseline).__name__}")
    b = baseline.detach().to(device=x.device, dtype=x.dtype)
    if b.ndim == 1 and b.shape[0] == c:
        b = b.view(1, c, 1, 1)
    elif b.shape == (c, h, w):
        b = b[None]
    elif b.shape != (n, c, h, w):
        raise ValueError(f"baseline must be a number or have shape ({c},), ({c}, {h}, {w}) or "
                         f"({n}, {c}, {h}, {w}); got {tuple(b.shape)}")
    if not torch.isfinite(b).all():
        raise ValueError("baseline must be finite")
    return b

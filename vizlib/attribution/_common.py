"""Argument checks and small tools shared by the attribution methods."""
from __future__ import annotations

import numbers

import torch
from torch import nn

from .. import _validate, hooks


def _check_model(model) -> None:
    hooks.check_model(model)


def _check_x(model: nn.Module, x, arg: str = "x") -> None:
    _validate.image_batch(x, arg, model=model)


def _check_target(target, n: int, device) -> torch.Tensor:
    """int or (N,) integer tensor/list -> (N,) int64 tensor on ``device`` (range checked later)."""
    return _validate.targets(target, n, device)


_check_logits = _validate.logits
_check_range = _validate.target_range


def _pos_int(name: str, value) -> int:
    return _validate.positive_int(value, name)


def _pair(name: str, value) -> tuple[int, int]:
    return _validate.int_pair(value, name)


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

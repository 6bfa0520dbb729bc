"""Argument checks shared by every public function of ``vizlib``.

One rule everywhere: a wrong *type* raises ``TypeError``, a wrong *value or shape* raises
``ValueError``, and the message reads "``arg`` must ...; got ...", naming the argument, what was
expected and what came. The same bad input therefore gets the same error from every function
(a uint8 image is a ``TypeError`` whether it goes to ``normalize``, ``attribution`` or
``activations``).
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import nn

__all__ = [
    "describe", "integer", "positive_int", "int_pair", "real", "optional_real", "fraction", "tensor",
    "array", "image_batch", "targets", "target_range", "logits", "one_of",
]


def describe(value) -> str:
    """A short description of ``value`` for an error message."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (bool, numbers.Number, str)) or value is None:
        return repr(value)
    return type(value).__name__


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(value, arg: str, *, minimum: int | None = None) -> int:
    """``value`` as an int; TypeError if it is not an int (bools and floats such as 2.5 or 2.0
    are not), ValueError if it is below ``minimum``."""
    if not _is_int(value):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise TypeError(f"{arg} must be an int{bound}; got {describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{arg} must be >= {minimum}; got {value}")
    return int(value)


def positive_int(value, arg: str) -> int:
    """``value`` as an int >= 1 (the message says "a positive int")."""
    if not _is_int(value):
        raise TypeError(f"{arg} must be a positive int; got {describe(value)}")
    if value < 1:
        raise ValueError(f"{arg} must be a positive int; got {value}")
    return int(value)


def int_pair(value, arg: str) -> tuple[int, int]:
    """A positive int or a pair (height, width) of them, as a pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{arg} must be a positive int or a pair (height, width); got {value!r}")
        return positive_int(value[0], arg), positive_int(value[1], arg)
    v = positive_int(value, arg)
    return v, v


def real(value, arg: str, *, minimum: float | None = None, positive: bool = False) -> float:
    """A finite real number (not a bool) as a float; ``positive``: > 0; ``minimum``: >= it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a real number; got {describe(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{arg} must be finite; got {value!r}")
    if positive and v <= 0:
        raise ValueError(f"{arg} must be positive; got {value!r}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{arg} must be >= {minimum}; got {value!r}")
    return v


def optional_real(value, arg: str) -> float | None:
    """None, or a finite real number as a float (plot limits and other optional settings)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a finite number or None; got {describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{arg} must be a finite number or None; got {value!r}")
    return float(value)


def fraction(value, arg: str) -> float:
    """A real number strictly between 0 and 1 (a quantile, a share of pixels) as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a number in (0, 1); got {describe(value)}")
    if not 0 < value < 1:
        raise ValueError(f"{arg} must be strictly between 0 and 1; got {value!r}")
    return float(value)


def array(value, arg: str) -> np.ndarray:
    """A NumPy array or a torch.Tensor as a NumPy array (a tensor is detached and moved to the
    CPU; an array is returned as it is, not copied)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{arg} must be a NumPy array or a torch.Tensor; got {describe(value)}")


def tensor(value, arg: str, expected: str = "a torch.Tensor") -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{arg} must be {expected}; got {describe(value)}")
    return value


def _same_device(a: torch.device, b: torch.device) -> bool:
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def image_batch(x, arg: str = "x", *, model: nn.Module | None = None, channels: int | None = None,
                space: str = "the model's input space", then: str = ", then vizlib.normalize") -> None:
    """``x`` must be a finite floating-point (N, C, H, W) tensor with N >= 1.

    With ``model``: C must match its first convolution, and ``x`` must be on its device and of
    its dtype. ``channels`` fixes C without a model. ``space`` and ``then`` word the dtype error.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor of shape (N, C, H, W); got {describe(x)}")
    if x.ndim != 4:
        hint = " (a single image? add the batch dimension with x[None])" if x.ndim == 3 else ""
        shape = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{arg} must have shape {shape}; got {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        raise TypeError(f"{arg} must be a floating-point tensor in {space}; got dtype {x.dtype}, "
                        f"which is not floating point (uint8 images: divide by 255{then})")
    if x.shape[0] == 0:
        raise ValueError(f"{arg} must hold at least one image; got an empty batch {tuple(x.shape)}")
    if model is not None and channels is None:
        from .hooks import first_conv

        found = first_conv(model, required=False)
        channels = found[1].in_channels if found else None
        if channels is not None and x.shape[1] != channels:
            raise ValueError(
                f"{arg} must have {channels} channels like the model's first convolution, shape "
                f"(N, {channels}, H, W); got {tuple(x.shape)} (grayscale or RGBA image?)")
    elif channels is not None and x.shape[1] != channels:
        raise ValueError(f"{arg} must have shape (N, {channels}, H, W); got {tuple(x.shape)}")
    if model is not None:
        from .hooks import model_device

        device = model_device(model)
        if not _same_device(x.device, device):
            raise ValueError(f"{arg} is on {x.device} but the model is on {device}; "
                             f"move it with {arg}.to({str(device)!r})")
        for p in model.parameters():
            if p.is_floating_point() and p.dtype != x.dtype:
                raise TypeError(f"{arg} must have the model's dtype {p.dtype}; got {x.dtype}")
            break
    if not torch.isfinite(x).all():
        raise ValueError(f"{arg} must be finite; got NaN or infinite values")


def targets(target, n: int, device=None, arg: str = "target") -> torch.Tensor:
    """An int, a sequence of ints or an (N,) / 0-d integer tensor -> (N,) int64 on ``device``.
    The range is checked by :func:`target_range` once the number of classes is known."""
    expected = f"an int or an ({n},) sequence or tensor of class indices"
    if isinstance(target, bool):
        raise TypeError(f"{arg} must be {expected}; got {target!r}")
    if _is_int(target):
        return torch.full((n,), int(target), dtype=torch.long, device=device)
    if isinstance(target, (list, tuple)):
        if not all(_is_int(t) for t in target):
            raise TypeError(f"{arg} must be {expected}; got a sequence holding "
                            f"{sorted({type(t).__name__ for t in target if not _is_int(t)})}")
        target = torch.tensor(list(target), dtype=torch.long)
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"{arg} must be {expected}; got {describe(target)}")
    if target.dtype == torch.bool or target.is_floating_point() or target.is_complex():
        raise TypeError(f"{arg} must hold integer class indices; got dtype {target.dtype}")
    if target.ndim == 0:
        return torch.full((n,), int(target), dtype=torch.long, device=device)
    if target.ndim != 1 or target.shape[0] != n:
        raise ValueError(f"{arg} must be an int or have shape ({n},), one class per image; "
                         f"got {tuple(target.shape)}")
    return target.to(device=device, dtype=torch.long)


def target_range(target: torch.Tensor, k: int, arg: str = "target") -> None:
    lo, hi = int(target.min()), int(target.max())
    if lo < 0 or hi >= k:
        raise ValueError(f"{arg} must be class indices in [0, {k - 1}]; got values in [{lo}, {hi}]")


def logits(out, n: int) -> int:
    """The model's output must be (N, classes) logits; returns the number of classes."""
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != n or out.shape[1] < 1:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must return logits of shape (N, classes) = ({n}, K); got {got}")
    return out.shape[1]


def one_of(value, arg: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"{arg} must be one of {tuple(choices)}; got {value!r}")

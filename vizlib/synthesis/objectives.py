"""Objectives for gradient ascent: a class score, a channel's mean activation, the image's norm."""
from __future__ import annotations

import numbers
from typing import Callable, NamedTuple, Sequence

import torch


#: Keyword arguments of :func:`class_model` / :func:`channel_model` that switch every
#: regulariser off: plain gradient ascent on the score, as in Simonyan et al. (2014).


#: Keyword arguments of :func:`class_model` / :func:`channel_model` that switch every
#: regulariser off: plain gradient ascent on the score, as in Simonyan et al. (2014).
NO_REGULARISATION = dict(l2=0.0, blur_every=None, norm_clip=None, contrib_clip=None, jitter=0)


class Synthesis(NamedTuple):
    """What :func:`render`, :func:`class_model` and :func:`channel_model` return.

    Attributes:
        image: (1, C, H, W) float tensor in the model's input space (normalised;
            0 is the dataset's mean colour), detached, on the model's device.
            Use :func:`to_display` to show it.
        history: dict of 1-D NumPy arrays of length ``steps + 1``: entry ``k`` is
            measured on the image after ``k`` updates, as the objective saw it (with
            jitter, if any; the last entry without).
            :func:`class_model` records ``"score"`` (the logit ``S_c``) and
            ``"prob"`` (its softmax probability); :func:`channel_model` records
            ``"activation"`` (the channel's mean activation).
    """

    image: torch.Tensor
    history: dict


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class Objective:
    """A scalar to maximise, computed from a lookup ``T``.

    ``T("input")`` is the image being optimised (before transforms),
    ``T("logits")`` the model's output, and ``T(layer)`` the output of a layer
    named in ``layers`` (recorded by a forward hook). Objectives add, subtract
    and scale: ``class_score(3) - 1e-3 * squared_norm()``.

    Args:
        fn: ``fn(T) -> scalar tensor``.
        name: shown by ``repr``.
        layers: layer names whose outputs ``fn`` reads.
        uses_logits: False if ``fn`` never reads ``T("logits")``; :func:`render` then
            stops each forward pass once the ``layers`` have run (faster for early layers).
    """

    def __init__(self, fn: Callable, name: str = "objective", layers: Sequence[str] = (),
                 uses_logits: bool = True):
        self.fn, self.name, self.layers, self.uses_logits = fn, name, tuple(layers), bool(uses_logits)

    def __call__(self, T) -> torch.Tensor:
        return self.fn(T)

    def __add__(self, other):
        if _is_number(other):
            return Objective(lambda T: self(T) + other, f"{self.name} + {other:g}", self.layers, self.uses_logits)
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(lambda T: self(T) + other(T), f"{self.name} + {other.name}",
                         self.layers + other.layers, self.uses_logits or other.uses_logits)

    __radd__ = __add__

    def __mul__(self, k):
        if not _is_number(k):
            return NotImplemented
        return Objective(lambda T: k * self(T), f"{k:g} * ({self.name})", self.layers, self.uses_logits)

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __repr__(self) -> str:
        return f"Objective({self.name})"


def _check_index(value, arg: str) -> int:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = int(value.item())
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{arg} must be an int; got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{arg} must be >= 0; got {value}")
    return int(value)


def class_score(target: int) -> Objective:
    """The pre-softmax score (logit) of class ``target``, summed over the batch."""
    target = _check_index(target, "target")

    def fn(T):
        logits = T("logits")
        if logits.ndim != 2:
            raise ValueError(f"the model's output must have shape (N, classes); got {tuple(logits.shape)}")
        if target >= logits.shape[1]:
            raise ValueError(f"target must be a class index in [0, {logits.shape[1] - 1}]; got {target}")
        return logits[:, target].sum()

    return Objective(fn, f"score[{target}]")


def channel(layer: str, index: int) -> Objective:
    """Mean activation of channel ``index`` of ``layer`` (over positions; summed over the batch)."""
    index = _check_index(index, "channel")

    def fn(T):
        act = T(layer)
        if act.ndim < 2:
            raise ValueError(f"layer {layer!r} must output (N, C, ...); got shape {tuple(act.shape)}")
        if index >= act.shape[1]:
            raise ValueError(f"channel must be in [0, {act.shape[1] - 1}] for layer {layer!r}; got {index}")
        a = act[:, index]
        return a.reshape(a.shape[0], -1).mean(1).sum()

    return Objective(fn, f"{layer}[{index}]", (layer,), uses_logits=False)

_channel_objective = channel


def squared_norm() -> Objective:
    """``||I||^2``, the squared L2 norm of the image being optimised."""
    return Objective(lambda T: T("input").pow(2).sum(), "||I||^2", uses_logits=False)

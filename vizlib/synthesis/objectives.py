"""Objectives for gradient ascent: a class score, a channel's mean activation, the image's norm."""
from __future__ import annotations

import numbers
from typing import Callable, NamedTuple, Sequence

import torch

from .. import _validate

#: Suffix of a layer name that reads the layer's *input* instead of its output:
#: ``T("features.relu3:input")`` is the pre-ReLU activation that ``features.relu3`` receives.
INPUT = ":input"


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
    ``T("logits")`` the model's output, ``T(layer)`` the output of a layer
    named in ``layers`` (recorded by a forward hook), and ``T(layer + ":input")``
    that layer's input (the first call's; for a ReLU, the pre-ReLU activation).
    Objectives add, subtract and scale: ``class_score(3) - 1e-3 * squared_norm()``.

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
    """An int >= 0 (a one-element integer tensor counts), with ``_validate.integer``'s messages."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point() \
            and value.dtype != torch.bool:
        value = int(value.item())
    return _validate.integer(value, arg, minimum=0)


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


def _check_layer(layer) -> str:
    if not isinstance(layer, str) or layer in ("", INPUT):
        raise TypeError(f"layer must be a layer name (str); got {_validate.describe(layer)}")
    return layer


def _channel_of(T, layer: str, index: int) -> torch.Tensor:
    act = T(layer)
    if act.ndim < 2:
        raise ValueError(f"layer {layer!r} must output (N, C, ...); got shape {tuple(act.shape)}")
    if index >= act.shape[1]:
        raise ValueError(f"channel must be in [0, {act.shape[1] - 1}] for layer {layer!r}; got {index}")
    return act[:, index]


def channel(layer: str, index: int) -> Objective:
    """Mean activation of channel ``index`` of ``layer`` (over positions; summed over the batch).

    ``layer`` is a name of ``model.named_modules()``, or such a name with ``":input"``
    (:data:`INPUT`) to read the layer's input: ``channel("features.relu3:input", 5)`` is the
    mean pre-ReLU activation of unit 5 of relu3.

    Example:
        >>> obj = channel("features.conv2", 5)
        >>> obj, obj.layers
        (Objective(features.conv2[5]), ('features.conv2',))
    """
    layer = _check_layer(layer)
    index = _check_index(index, "channel")

    def fn(T):
        a = _channel_of(T, layer, index)
        return a.reshape(a.shape[0], -1).mean(1).sum()

    return Objective(fn, f"{layer}[{index}]", (layer,), uses_logits=False)


def neuron(layer: str, index: int, y: int | None = None, x: int | None = None) -> Objective:
    """The activation of channel ``index`` of ``layer`` at one position (y, x), summed over the batch.

    One unit of a feature map rather than the channel's mean: its receptive field is one patch
    of the image, so the optimised image shows one instance of what the unit detects, not a
    texture of it (Olah et al. 2017). ``layer`` as in :func:`channel` (``":input"`` allowed).

    Args:
        layer: a layer name whose output is (N, C, H', W').
        index: the channel.
        y, x: the position in the feature map; default the centre, ``(H' // 2, W' // 2)``.

    Example:
        >>> acts = torch.arange(2 * 3 * 4 * 4.0).view(2, 3, 4, 4)
        >>> T = lambda name: acts
        >>> float(neuron("features.conv3", 1)(T)) == float(acts[0, 1, 2, 2] + acts[1, 1, 2, 2])
        True
    """
    layer = _check_layer(layer)
    index = _check_index(index, "channel")
    y = None if y is None else _check_index(y, "y")
    x = None if x is None else _check_index(x, "x")

    def fn(T):
        a = _channel_of(T, layer, index)
        if a.ndim != 3:
            raise ValueError(f"layer {layer!r} must output feature maps (N, C, H, W) for a neuron; "
                             f"got shape {(a.shape[0], '...') + tuple(a.shape[1:])}")
        h, w = a.shape[-2:]
        yy, xx = (h // 2 if y is None else y), (w // 2 if x is None else x)
        if yy >= h or xx >= w:
            raise ValueError(f"(y, x) must lie in layer {layer!r}'s {h} x {w} feature map; got ({yy}, {xx})")
        return a[:, yy, xx].sum()

    where = "centre" if y is None and x is None else f"{y}, {x}"
    return Objective(fn, f"{layer}[{index}] at ({where})", (layer,), uses_logits=False)


def diversity(layer: str) -> Objective:
    """How different the images of a batch are, in the style (Gram matrix) of ``layer``.

    For each image ``n`` the Gram matrix ``G_n = F_n F_n^T / (H W)`` of its activations
    ``F_n`` (C, H W) is divided by its Frobenius norm; the term is

        D = 1 - mean_{n != m} <G_n, G_m>,

    one minus the mean cosine similarity over pairs of images. It is 0 for a batch of
    identical images and grows as their styles differ (up to 1 for orthogonal Gram matrices,
    the most post-ReLU features can reach); a batch of one image gives 0. Add it to an
    objective to make several different images of one unit (Olah et al. 2017):
    ``neuron(layer, k) + 2.0 * diversity(layer)``.

    Example:
        >>> a = torch.rand(1, 4, 5, 5, generator=torch.Generator().manual_seed(0))
        >>> same = lambda name: torch.cat([a, a])
        >>> round(float(diversity("features.relu2")(same)), 6)
        0.0
    """
    layer = _check_layer(layer)

    def fn(T):
        act = T(layer)
        if act.ndim != 4:
            raise ValueError(f"layer {layer!r} must output feature maps (N, C, H, W) for diversity; "
                             f"got shape {tuple(act.shape)}")
        n = act.shape[0]
        if n < 2:
            return act.sum() * 0.0
        f = act.reshape(n, act.shape[1], -1)
        gram = f @ f.transpose(1, 2) / f.shape[-1]
        flat = gram.reshape(n, -1)
        flat = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)
        sim = flat @ flat.T
        off = sim.sum() - sim.diagonal().sum()
        return 1 - off / (n * (n - 1))

    return Objective(fn, f"diversity({layer})", (layer,), uses_logits=False)

_channel_objective = channel


def squared_norm() -> Objective:
    """``||I||^2``, the squared L2 norm of the image being optimised."""
    return Objective(lambda T: T("input").pow(2).sum(), "||I||^2", uses_logits=False)

"""The one gradient-ascent loop, render, behind class_model and channel_model."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..hooks import check_model, get_module, model_device, run_forward, running
from ..hooks import record as record_layers


#: Keyword arguments of :func:`class_model` / :func:`channel_model` that switch every
#: regulariser off: plain gradient ascent on the score, as in Simonyan et al. (2014).
from .objectives import Objective, Synthesis, _check_index, _is_number
from .regularisers import _check_image4


def _check_positive_int(value, arg):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{arg} must be an int; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{arg} must be a positive int; got {value}")
    return int(value)


def _check_lr(lr):
    if not _is_number(lr):
        raise TypeError(f"lr must be a positive finite number; got {lr!r}")
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number; got {lr!r}")
    return float(lr)


def render(model: nn.Module, objective: Objective, image: torch.Tensor, *, steps: int, lr: float,
           transform: Callable | None = None, regularisers: Sequence[Callable] = (),
           record: Callable | None = None, seed: int = 0, progress: bool = True,
           desc: str = "render") -> Synthesis:
    """Gradient ascent on the input: the loop behind :func:`class_model` and :func:`channel_model`.

    Each step computes ``x = transform(I)``, the objective ``v`` from the forward
    pass of ``x``, its gradient ``g = dv/dI``, then ``I <- I + lr * g`` and
    ``I <- r(I, g, step)`` for each regulariser. The model runs in eval mode with
    its parameters' ``requires_grad`` off; both are restored afterwards, also on error.

    Args:
        model: the network; its device and dtype are used.
        objective: an :class:`Objective`.
        image: (1, C, H, W) starting image in the model's input space (copied, not modified).
        steps: number of updates (>= 1). lr: step size (> 0).
        transform: ``t(image, generator)`` applied before each forward pass, or None.
        regularisers: callables ``r(image, grad, step) -> image`` applied after each update.
        record: ``record(T) -> dict of floats``, measured in each step's forward pass
            (on the transformed image the objective sees, before that step's update)
            and once more on the final image without transform, so each entry of the
            history has ``steps + 1`` values; default records the objective.
        seed: seeds the generator that transforms use.
        progress: show a ``tqdm`` progress bar.

    When the objective does not read the logits (``uses_logits=False``, as for
    :func:`channel`), each forward pass stops once its layers have run.

    Returns:
        :class:`Synthesis` ``(image, history)``.

    Example:
        >>> out = render(model, class_score(2) - 1e-3 * squared_norm(), torch.zeros(1, 3, 64, 64),
        ...              steps=10, lr=1.0, transform=jitter(3), progress=False)
        >>> out.image.shape, len(out.history["objective"])        # steps + 1 values
        (torch.Size([1, 3, 64, 64]), 11)
    """
    check_model(model)
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a vizlib.synthesis.Objective; got {type(objective).__name__}")
    _check_image4(image)
    if not image.is_floating_point() or image.shape[0] == 0 or not torch.isfinite(image).all():
        raise ValueError("image must be a non-empty, finite floating-point tensor (N, C, H, W)")
    steps = _check_positive_int(steps, "steps")
    lr = _check_lr(lr)
    seed = _check_index(seed, "seed")
    layers = tuple(dict.fromkeys(objective.layers))
    for layer in layers:
        get_module(model, layer)
    if record is None:
        record = lambda T: {"objective": objective(T).item()}  # noqa: E731

    param = next(iter(model.parameters()), None)
    device = model_device(model)
    dtype = param.dtype if param is not None else torch.float32
    img = image.detach().to(device=device, dtype=dtype).clone()
    gen = torch.Generator().manual_seed(seed)
    acts: dict = {}
    # the first call of a module used several times in one pass counts, as in get_activations;
    # after the first step a pass may stop once the objective's layers have run
    may_stop = bool(layers) and not objective.uses_logits

    def forward(x, stop: bool):
        acts.clear()
        if not layers:
            return model(x)
        with record_layers(model, layers, call="first", stop=stop, detach=False) as out:
            logits = run_forward(model, x)
        acts.update(out)
        return logits

    def lookup(x, logits):
        def T(name):
            if name == "input":
                return x
            if name == "logits":
                if logits is None:
                    raise RuntimeError("T('logits') is not available: the objective has uses_logits=False, "
                                       "so the forward pass stopped after its layers")
                return logits
            return acts[name]
        return T

    history: dict = {}

    def measure(x, logits):
        for key, value in record(lookup(x, logits)).items():
            history.setdefault(key, []).append(float(value))

    with running(model):
        bar = tqdm(range(steps), desc=desc, disable=not progress, leave=True)
        for step in bar:
            img.requires_grad_(True)
            x = transform(img, gen) if transform is not None else img
            logits = forward(x, stop=may_stop and step > 0)
            value = objective(lookup(img, logits))  # validates target / channel before any update
            with torch.no_grad():
                measure(img, logits)
            (grad,) = torch.autograd.grad(value, img)
            if step == 0 and not grad.any():
                warnings.warn(
                    "the gradient at the starting image is exactly zero (for example, every ReLU "
                    "of the first layer is off at a zero image), so ascent cannot move; "
                    "start from small noise with init='noise'", RuntimeWarning, stacklevel=3)
            with torch.no_grad():
                img = img.detach() + lr * grad
                for r in regularisers:
                    img = r(img, grad, step)
                if not torch.isfinite(img).all():
                    raise FloatingPointError(f"the image became NaN or infinite at step {step + 1}; "
                                             f"lower lr (got {lr:g})")
        bar.close()
        with torch.no_grad():
            measure(img, forward(img, stop=may_stop))
    return Synthesis(img.detach(), {k: np.asarray(v) for k, v in history.items()})

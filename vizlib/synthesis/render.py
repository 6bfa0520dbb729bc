"""The one gradient-ascent loop, render, behind class_model, channel_model and feature_vis."""
from __future__ import annotations

import math
import warnings
from contextlib import ExitStack
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import _validate
from ..hooks import check_model, get_module, model_device, run_forward, running
from ..hooks import record as record_layers
from .objectives import INPUT, Objective, Synthesis, _check_index, _is_number
from .params import check_param, space_stats


def _check_positive_int(value, arg):
    """An int >= 1: ``_validate.integer``'s TypeError ("must be an int"), ``positive_int``'s
    ValueError ("must be a positive int")."""
    return _validate.positive_int(_validate.integer(value, arg), arg)


def _check_lr(lr):
    if _is_number(lr) and not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number; got {lr!r}")
    return _validate.real(lr, "lr", positive=True)


def _check_layers(model: nn.Module, objective: Objective) -> tuple[str, ...]:
    layers = tuple(dict.fromkeys(objective.layers))
    for layer in layers:
        get_module(model, layer[:-len(INPUT)] if layer.endswith(INPUT) else layer)
    return layers


def _forward(model: nn.Module, layers: Sequence[str], x: torch.Tensor, stop: bool):
    """One forward pass recording ``layers`` (outputs, or inputs for ``"<name>:input"``), in the
    autograd graph: ``(logits or None, {layer: tensor})``. ``stop``: end the pass once they have run."""
    if not layers:
        return model(x), {}
    outputs = [layer for layer in layers if not layer.endswith(INPUT)]
    inputs = [layer[:-len(INPUT)] for layer in layers if layer.endswith(INPUT)]
    if not inputs:
        with record_layers(model, outputs, call="first", stop=stop, detach=False) as out:
            logits = run_forward(model, x)
        return logits, dict(out)
    with ExitStack() as stack:  # inputs and outputs together: the pass runs to the end
        out = stack.enter_context(record_layers(model, outputs, call="first", detach=False)) if outputs else {}
        ins = stack.enter_context(record_layers(model, inputs, call="first", stop=stop and not outputs,
                                                detach=False, inputs=True))
        logits = run_forward(model, x)
    found = dict(out)
    found.update({name + INPUT: value for name, value in ins.items()})
    return logits, found


def render(model: nn.Module, objective: Objective, image: torch.Tensor | None = None, *, steps: int,
           lr: float, transform: Callable | None = None, regularisers: Sequence[Callable] = (),
           record: Callable | None = None, seed: int = 0, progress: bool = True,
           desc: str = "render", param=None, space: str | None = None) -> Synthesis:
    """Gradient ascent on the input: the loop behind :func:`class_model`, :func:`channel_model`
    and :func:`feature_vis`.

    **Pixels in input space** (``image=``): each step computes ``x = transform(I)``, the
    objective ``v`` from the forward pass of ``x``, its gradient ``g = dv/dI``, then
    ``I <- I + lr * g`` and ``I <- r(I, g, step)`` for each regulariser.

    **A parameterisation** (``param=``, such as :func:`fourier_image`): each step makes the
    image ``P = image_fn()`` in [0, 1], normalises it for the model, ``I = (P - mean) / std``
    (the statistics of ``space``), computes ``v`` from the forward pass of ``transform(I)``
    and lets Adam (step size ``lr``) raise ``v`` by changing ``params`` in place. The image
    returned is ``P`` clipped to [0, 1] (a no-op for ``squash="sigmoid"``), then normalised:
    the image that is shown is the image that is scored.

    The model runs in eval mode with its parameters' ``requires_grad`` off; both are restored
    afterwards, also on error.

    Args:
        model: the network; its device and dtype are used.
        objective: an :class:`Objective`.
        image: (N, C, H, W) starting image in the model's input space (copied, not modified);
            None with ``param``.
        steps: number of updates (>= 1). lr: step size (> 0).
        transform: ``t(image, generator)`` applied before each forward pass, or None.
        regularisers: callables ``r(image, grad, step) -> image`` applied after each update
            (``image=`` only).
        record: ``record(T) -> dict of floats``, measured in each step's forward pass
            (on the transformed image the objective sees, before that step's update)
            and once more on the final image without transform, so each entry of the
            history has ``steps + 1`` values; default records the objective.
        seed: seeds the generator that transforms use.
        progress: show a ``tqdm`` progress bar.
        param: a parameterisation ``(params, image_fn)`` (:func:`pixel_image`,
            :func:`fourier_image`), its tensors on the model's device; or None.
        space: with ``param``, whose normalisation maps [0, 1] to the model's input: a model
            name (``"course"``, ``"alexnet"``, ...) or None (the course statistics for a
            ``CourseNet``, ImageNet's for any other model).

    When the objective does not read the logits (``uses_logits=False``, as for
    :func:`channel`), each forward pass stops once its layers have run.

    Returns:
        :class:`Synthesis` ``(image, history)``; ``image`` (N, C, H, W) in input space.

    Example:
        >>> out = render(model, class_score(2) - 1e-3 * squared_norm(), torch.zeros(1, 3, 64, 64),
        ...              steps=10, lr=1.0, transform=jitter(3), progress=False)
        >>> out.image.shape, len(out.history["objective"])        # steps + 1 values
        (torch.Size([1, 3, 64, 64]), 11)
        >>> out = render(model, neuron("features.conv3", 5), param=fourier_image((1, 3, 64, 64)),
        ...              steps=10, lr=0.05, transform=robust_transforms(), progress=False)
        >>> out.image.shape, bool(out.history["objective"][-1] > out.history["objective"][0])
        (torch.Size([1, 3, 64, 64]), True)
    """
    check_model(model)
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a vizlib.synthesis.Objective; got {type(objective).__name__}")
    if param is not None:
        if image is not None:
            raise ValueError("give the starting image or param=, not both; got both")
        if len(regularisers):
            raise ValueError("regularisers must be empty with param=: they change pixels in input space; "
                             "use transforms and objective terms instead")
        param = check_param(param)
    elif image is None:
        raise ValueError("image must be an (N, C, H, W) starting image in input space, or give param=")
    else:
        _validate.image_batch(image, "image")
    steps = _check_positive_int(steps, "steps")
    lr = _check_lr(lr)
    seed = _check_index(seed, "seed")
    layers = _check_layers(model, objective)
    if record is None:
        record = lambda T: {"objective": objective(T).item()}  # noqa: E731

    weight = next(iter(model.parameters()), None)
    device = model_device(model)
    dtype = weight.dtype if weight is not None else torch.float32
    gen = torch.Generator().manual_seed(seed)
    acts: dict = {}
    # the first call of a module used several times in one pass counts, as in get_activations;
    # after the first step a pass may stop once the objective's layers have run
    may_stop = bool(layers) and not objective.uses_logits

    def forward(x, stop: bool):
        acts.clear()
        logits, found = _forward(model, layers, x, stop)
        acts.update(found)
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

    if param is not None:
        return _render_param(model, objective, param, forward, lookup, measure, history, steps=steps, lr=lr,
                             transform=transform, gen=gen, may_stop=may_stop, space=space, device=device,
                             dtype=dtype, progress=progress, desc=desc)

    img = image.detach().to(device=device, dtype=dtype).clone()
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


def _render_param(model, objective, param, forward, lookup, measure, history, *, steps, lr, transform, gen,
                  may_stop, space, device, dtype, progress, desc) -> Synthesis:
    """The loop of :func:`render` for a parameterisation: Adam on ``param.params``."""
    params, image_fn = param
    for p in params:
        if p.device != device:
            raise ValueError(f"param lives on {p.device} but the model is on {device}; "
                             f"make it with device={str(device)!r}")
    mean, std = space_stats(space, model, like=torch.zeros(0, device=device, dtype=dtype))

    def image(clip: bool):
        shown = image_fn()
        if not isinstance(shown, torch.Tensor) or shown.ndim != 4:
            raise ValueError(f"param's image_fn() must return an (N, 3, H, W) tensor; got {_validate.describe(shown)}")
        shown = shown.to(dtype)
        return ((shown.clamp(0, 1) if clip else shown) - mean) / std

    # one optimiser for the whole run; the fused kernel where torch has one (CPU and CUDA)
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    opt = torch.optim.Adam(params, lr=lr, fused=fused) if fused else torch.optim.Adam(params, lr=lr)
    try:
        with running(model):
            bar = tqdm(range(steps), desc=desc, disable=not progress, leave=True)
            for step in bar:
                img = image(clip=False)
                x = transform(img, gen) if transform is not None else img
                logits = forward(x, stop=may_stop and step > 0)
                value = objective(lookup(img, logits))
                with torch.no_grad():
                    measure(img, logits)
                grads = torch.autograd.grad(value, params)
                if step == 0 and not any(bool(g.any()) for g in grads):
                    warnings.warn("the gradient at the starting image is exactly zero, so ascent cannot move; "
                                  "for a unit behind a ReLU, optimise its input ('<layer>:input')",
                                  RuntimeWarning, stacklevel=3)
                for p, g in zip(params, grads):
                    p.grad = -g  # Adam minimises
                opt.step()
                if not all(bool(torch.isfinite(p).all()) for p in params):
                    raise FloatingPointError(f"the parameters became NaN or infinite at step {step + 1}; "
                                             f"lower lr (got {lr:g})")
            bar.close()
            with torch.no_grad():
                img = image(clip=True)
                measure(img, forward(img, stop=may_stop))
    finally:
        for p in params:
            p.grad = None
    return Synthesis(img.detach(), {k: np.asarray(v) for k, v in history.items()})

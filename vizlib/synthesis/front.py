"""class_model, channel_model and feature_vis: the recipes of the chapters."""
from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from ..hooks import check_model, first_conv, get_module
from .objectives import (
    INPUT,
    Synthesis,
    _channel_objective,
    _check_index,
    _is_number,
    class_score,
    squared_norm,
)
from .regularisers import _check_fraction, blur_every, contribution_clipping, jitter, norm_clipping, range_clipping
from .render import _check_lr, _check_positive_int, render
from .params import space_stats


def _first_conv_channels(model: nn.Module) -> int:
    found = first_conv(model, required=False)
    return found[1].in_channels if found else 3


def _start_image(model, init, image_size, seed):
    from ..models import CourseNet, IMAGENET_SIZE
    from ..data import IMAGE_SIZE

    channels = _first_conv_channels(model)
    if isinstance(init, torch.Tensor):
        if init.ndim != 4 or init.shape[0] != 1 or init.shape[1] != channels:
            raise ValueError(f"init must be 'zeros', 'noise' or a tensor of shape (1, {channels}, H, W); "
                             f"got shape {tuple(init.shape)}")
        if image_size is not None and tuple(init.shape[-2:]) != (image_size, image_size):
            raise ValueError(f"init has size {tuple(init.shape[-2:])} but image_size is {image_size}; "
                             "leave image_size=None to use the tensor's size")
        if not init.is_floating_point() or not torch.isfinite(init).all():
            raise ValueError("init must be a finite floating-point tensor")
        return init.detach().clone()
    if image_size is None:
        image_size = IMAGE_SIZE if isinstance(model, CourseNet) else IMAGENET_SIZE
    image_size = _check_positive_int(image_size, "image_size")
    shape = (1, channels, image_size, image_size)
    if init == "zeros":
        return torch.zeros(shape)
    if init == "noise":
        gen = torch.Generator().manual_seed(seed)
        return 0.1 * torch.randn(shape, generator=gen)
    raise ValueError(f"init must be 'zeros', 'noise' or a tensor of shape {shape}; got {init!r}")


def _regularisers(l2, blur_every_, blur_sigma, norm_clip, contrib_clip, jitter_):
    if not _is_number(l2) or not math.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a number >= 0; got {l2!r}")
    if blur_every_ is not None and blur_every_ != 0:
        blur_every_ = _check_positive_int(blur_every_, "blur_every")
        if not _is_number(blur_sigma) or not blur_sigma > 0:
            raise ValueError(f"blur_sigma must be a positive number when blur_every is set; got {blur_sigma!r}")
    norm_clip = _check_fraction(norm_clip, "norm_clip")
    contrib_clip = _check_fraction(contrib_clip, "contrib_clip")
    n = _check_index(jitter_, "jitter")
    regs = []
    if blur_every_:
        regs.append(blur_every(blur_every_, blur_sigma))
    if norm_clip:
        regs.append(norm_clipping(norm_clip))
    if contrib_clip:
        regs.append(contribution_clipping(contrib_clip))
    return float(l2), regs, (jitter(n) if n else None)


def _check_decay(lr, l2):
    if 2 * lr * l2 >= 1:
        raise ValueError(
            f"lr * l2 must be below 0.5; got lr={lr:g}, l2={l2:g}: each step multiplies the image by "
            f"1 - 2 * lr * l2 = {1 - 2 * lr * l2:.3g}, which overshoots zero and can diverge. "
            "Lower lr or l2.")

_DOC_REGULARISERS = """
        steps: number of gradient-ascent updates (>= 1).
        lr: step size (> 0) of ``I <- I + lr * grad``. Plain gradient ascent, so
            the right value depends on the model's gradient scale: the default
            suits the course network.
        l2: weight of ``- l2 * ||I||^2`` in the objective (0 switches it off); its
            gradient ``-2 * l2 * I`` is the same as decaying the image by
            ``1 - 2 * lr * l2`` each step, so ``lr * l2`` must stay below 0.5.
        blur_every, blur_sigma: blur with a Gaussian of ``blur_sigma`` pixels after
            every ``blur_every``-th step (None or 0: off).
        norm_clip: after every step, zero this fraction of pixels with the smallest
            norm over channels (None or 0: off).
        contrib_clip: after every step, zero this fraction of pixels with the
            smallest contribution ``|sum_c I * grad|`` (None or 0: off).
        jitter: shift the image by up to this many pixels at random before each
            forward pass (0: off).
        image_size: side of the square image; default 64 for the course network,
            224 otherwise (or the size of an ``init`` tensor).
        init: ``"zeros"``, ``"noise"`` (N(0, 0.1^2) in input space) or a
            (1, C, H, W) tensor in input space (copied, not modified). A zero image is stuck when the gradient
            there is exactly zero, as when every ReLU of the first layer is off
            because all its biases are negative: a RuntimeWarning says so; start
            from ``"noise"`` instead.
        seed: seeds the noise and the jitter (the global RNG is not touched).
        progress: show a progress bar.
"""


def class_model(model: nn.Module, target: int, *, steps: int = 100, lr: float = 20.0,
                l2: float = 2e-3, blur_every: int | None = 4, blur_sigma: float = 0.6,
                norm_clip: float | None = 0.2, contrib_clip: float | None = None, jitter: int = 3,
                image_size: int | None = None, init="zeros", seed: int = 0,
                progress: bool = True) -> Synthesis:
    """Class model visualisation: the image that maximises ``S_c(I) - l2 * ||I||^2``.

    Simonyan et al. (2014) maximise the pre-softmax score ``S_c`` rather than
    the probability, which could also rise by lowering the other classes.
    The defaults are the regularised recipe of Yosinski et al. (2015) that works
    on the course network; ``**NO_REGULARISATION`` gives plain gradient ascent.

    Args:
        model: a classifier whose output is (N, classes) logits.
        target: class index in [0, classes).{regularisers}
    Returns:
        :class:`Synthesis` ``(image, history)``: ``image`` (1, C, H, W) in the
        model's input space; ``history["score"]`` and ``history["prob"]``, length
        ``steps + 1``.

    Example:
        >>> image, hist = class_model(model, 3, init="noise", steps=20, progress=False)
        >>> len(hist["score"]), bool(hist["score"][-1] > hist["score"][0])
        (21, True)
        >>> im = plt.imshow(to_display(image)[0].permute(1, 2, 0).numpy())
        >>> plt.close()
    """
    check_model(model)
    target = _check_index(target, "target")
    l2, regs, tr = _regularisers(l2, blur_every, blur_sigma, norm_clip, contrib_clip, jitter)
    _check_decay(_check_lr(lr), l2)
    start = _start_image(model, init, image_size, _check_index(seed, "seed"))
    objective = class_score(target) - l2 * squared_norm() if l2 > 0 else class_score(target)

    def record(T):
        logits = T("logits")
        return {"score": logits[0, target].item(), "prob": logits.softmax(1)[0, target].item()}

    return render(model, objective, start, steps=steps, lr=lr, transform=tr, regularisers=regs,
                  record=record, seed=seed, progress=progress, desc=f"class {target}")


def relu_of(model: nn.Module, layer: str) -> str | None:
    """The name of the ``nn.ReLU`` whose output ``layer`` is, or None.

    ``layer`` itself when it is an ``nn.ReLU``; for an ``nn.Sequential`` whose last module
    (at any depth) is an ``nn.ReLU``, that ReLU's name; None otherwise.

    Example:
        >>> relu_of(model, "features.relu3"), relu_of(model, "features.conv3")
        ('features.relu3', None)
    """
    module, name = get_module(model, layer), layer
    while isinstance(module, nn.Sequential) and len(module):
        key = list(module._modules)[-1]
        module, name = module[-1], f"{name}.{key}"
    return name if isinstance(module, nn.ReLU) else None


def _objective_layer(model, layer, pre_relu, caller: str) -> str:
    """``layer``, or ``<relu>:input`` when ``layer`` is the output of a ReLU and ``pre_relu`` allows."""
    if pre_relu not in (None, True, False):
        raise TypeError(f"pre_relu must be None, True or False; got {pre_relu!r}")
    relu = relu_of(model, layer)
    if relu is None or pre_relu is False:
        return layer
    if pre_relu is None:
        what = "is a ReLU" if relu == layer else f"ends in the ReLU {relu!r}"
        warnings.warn(
            f"{caller}: {layer!r} {what}; optimising that ReLU's input "
            f"({relu + INPUT!r}) instead, whose gradient is not zero where the unit is off. "
            "Pass pre_relu=True to say so and silence this, or pre_relu=False for the ReLU's output.",
            UserWarning, stacklevel=3)
    return relu + INPUT


def channel_model(model: nn.Module, layer: str, channel: int, *, steps: int = 100, lr: float = 200.0,
                  l2: float = 0.0, blur_every: int | None = 4, blur_sigma: float = 0.6,
                  norm_clip: float | None = None, contrib_clip: float | None = None, jitter: int = 2,
                  clip: bool = True, pre_relu: bool | None = None, space: str | None = None,
                  image_size: int | None = None, init="noise", seed: int = 0,
                  progress: bool = True) -> Synthesis:
    """Unit visualisation: the image that maximises a channel's mean activation in ``layer``.

    The objective is ``mean_{x,y} A_{layer}[channel](I) - l2 * ||I||^2``
    (Erhan et al.'s activation maximisation, as in Olah et al. 2017), with the
    same regularisers as :func:`class_model`, by plain gradient ascent on the pixels.

    **Pre-ReLU by default.** When ``layer`` is a ReLU (or ends in one, :func:`relu_of`), the
    objective reads the ReLU's *input* (``"<relu>:input"``, for the course model the
    convolution's output): behind a ReLU a unit that is off everywhere at the start has a
    gradient of exactly zero and cannot move (115 of the 128 units of the course model's relu3
    at the noise start). A ``UserWarning`` says so unless ``pre_relu=True`` is passed;
    ``pre_relu=False`` optimises the ReLU's output as before issue 16.

    **The image that is shown is the image that is scored.** With ``clip=True`` every step ends
    by clipping the image into the valid range of input space (the image of [0, 1] under the
    normalisation of ``space``), so the image returned, and every value of the history, belongs to
    a real image; the history is measured under the jitter during the steps and without it at
    the end.

    Changed in issue 16: ``l2`` defaults to 0 (it was 1e-3: with lr 200 that multiplied the
    image by 0.6 each step, so deep units converged to the same pale grating), ``clip`` and
    ``pre_relu`` are new.

    Args:
        model: the network.
        layer: a layer name from ``model.named_modules()`` (for the course
            network ``"features.relu2"``, ...).
        channel: channel index in that layer's output.{regularisers}
        clip: clip the image into the valid range after every step.
        pre_relu: None (default: the ReLU's input, with a warning), True (the same, silently)
            or False (the named layer's output).
        space: the input space whose valid range ``clip`` uses: a model name (``"course"``,
            ``"alexnet"``, ...) or None (the course statistics for a ``CourseNet``, ImageNet's
            for any other model).
    Returns:
        :class:`Synthesis` ``(image, history)`` with ``history["activation"]``: the channel's mean
        activation that is optimised (pre-ReLU when the ReLU's input is used).

    Example:
        >>> image, hist = channel_model(model, "features.conv2", 0, steps=20, progress=False)
        >>> image.shape, bool(hist["activation"][-1] > hist["activation"][0])
        (torch.Size([1, 3, 64, 64]), True)
        >>> bool(image.min() >= -2 and image.max() <= 2)     # the course model's valid range
        True
    """
    check_model(model)
    get_module(model, layer)
    if not isinstance(clip, bool):
        raise TypeError(f"clip must be a bool; got {clip!r}")
    target = _objective_layer(model, layer, pre_relu, "channel_model")
    obj = _channel_objective(target, channel)
    l2, regs, tr = _regularisers(l2, blur_every, blur_sigma, norm_clip, contrib_clip, jitter)
    _check_decay(_check_lr(lr), l2)
    start = _start_image(model, init, image_size, _check_index(seed, "seed"))
    if clip:
        mean, std = space_stats(space, model)
        low, high = (0 - mean) / std, (1 - mean) / std
        start = torch.maximum(torch.minimum(start, high), low)
        regs.append(range_clipping(low, high))
    objective = obj - l2 * squared_norm() if l2 > 0 else obj
    return render(model, objective, start, steps=steps, lr=lr, transform=tr, regularisers=regs,
                  record=lambda T: {"activation": obj(T).item()}, seed=seed, progress=progress,
                  desc=f"{target}[{channel}]")

PARAMS = ("fourier", "pixel")
UNIT_OBJECTIVES = ("neuron", "channel")


def _units_objective(target: str, channels: list, n: int, kind: str):
    """Image ``i`` of the batch maximises unit ``channels[i // n]`` (a neuron at the centre, or
    the channel's mean): one render makes the images of several units at once. Summed over
    the batch, so each image's gradient is its own unit's (Adam acts elementwise)."""
    from .objectives import Objective, _channel_of

    def fn(T):
        act = T(target)
        if act.ndim != 4:
            raise ValueError(f"layer {target!r} must output feature maps (N, C, H, W); got shape {tuple(act.shape)}")
        _channel_of(T, target, max(channels))  # the range check, with channel's message
        idx = torch.tensor(channels, device=act.device).repeat_interleave(n)
        a = act[torch.arange(act.shape[0], device=act.device), idx]
        h, w = a.shape[-2:]
        return a[:, h // 2, w // 2].sum() if kind == "neuron" else a.mean((-2, -1)).sum()

    return Objective(fn, f"{target}{channels} ({kind})", (target,), uses_logits=False)


def _grouped_diversity(layer: str, target: str, groups: int, n: int):
    """The sum over units of :func:`diversity` of ``layer``'s output among each unit's ``n``
    images. When ``target`` is the input of the ReLU that ``layer`` ends in, that output is
    ``relu(T(target))``, read without recording ``layer`` too (so the pass can stop early)."""
    from .objectives import Objective, diversity

    one = diversity(layer)
    read = (lambda T: T(target).clamp_min(0)) if target != layer else (lambda T: T(layer))  # noqa: E731

    def fn(T):
        act = read(T)
        return sum(one(lambda name, g=g: act[g * n:(g + 1) * n]) for g in range(groups))

    return Objective(fn, f"diversity({layer}) per unit", (target,), uses_logits=False)


def feature_vis(model: nn.Module, layer: str, channel, *, n: int = 1, objective: str = "neuron",
                param: str = "fourier", decorrelate=True, transforms=True, diversity: float = 0.0,
                pre_relu: bool | None = None, steps: int = 256, lr: float = 0.05,
                image_size: int | None = None, space: str | None = None, seed: int = 0,
                progress: bool = True) -> Synthesis:
    """Feature visualisation done well (Olah et al. 2017): one unit (or several), ``n`` images each.

    The recipe: a 1/f Fourier parameterisation (:func:`fourier_image`) with decorrelated colour
    (:func:`toy_colour_matrix`), squashed into [0, 1] by a sigmoid, so the image is always a real
    image; transformation robustness (:func:`robust_transforms`: jitter, scale, rotation before
    each forward pass); the objective on the unit's pre-ReLU activation (as in
    :func:`channel_model`); Adam with step ``lr``; and for ``n > 1`` an optional diversity term
    (:func:`diversity` of ``layer``'s output among each unit's images) so the images differ.
    Every part is switchable, for an ablation.

    Several units in one call (``channel=[0, 1, ...]``) share each forward pass: the images are
    independent (Adam acts on each parameter separately; only the random transforms of a step
    are shared), and the cost per unit is lower, as the microscope needs.

    Args:
        model: the network.
        layer: a layer name; for a ReLU (or a layer ending in one) its input is optimised, see
            ``pre_relu``.
        channel: the channel (unit) of that layer, or a list of channels.
        n: images per unit, optimised together (>= 1).
        objective: ``"neuron"`` (default: the centre of the feature map, :func:`neuron`) or
            ``"channel"`` (the mean over positions, :func:`channel`).
        param: ``"fourier"`` (default) or ``"pixel"`` (:func:`pixel_image`, the baseline).
        decorrelate: True (the toy world's colours), False or a (3, 3) colour matrix.
        transforms: True (:func:`robust_transforms` with its defaults), False, or a transform
            ``t(image, generator)``.
        diversity: weight of :func:`diversity` added to the objective (0: off; try 1 to 10).
        pre_relu: as in :func:`channel_model`.
        steps, lr: Adam's number of steps and step size.
        image_size: side of the square images; default 64 for the course network, 224 otherwise.
        space: the model's input space (a model name), or None (inferred as in :func:`render`).
        seed: seeds the starting spectrum and the transforms.
        progress: show a progress bar.

    Returns:
        :class:`Synthesis` ``(image, history)``: ``image`` (units * n, 3, H, W) in input space,
        unit by unit (a real image: ``vizlib.models.denormalize`` gives it in [0, 1]);
        ``history["activation"]``, each image's unit value averaged over the images, under the
        transforms during the steps and without them at the end; ``history["diversity"]`` (the
        sum over units) when ``diversity > 0``.

    Example:
        >>> out = feature_vis(model, "features.relu3", 5, steps=16, pre_relu=True, progress=False)
        >>> out.image.shape, bool(out.history["activation"][-1] > out.history["activation"][0])
        (torch.Size([1, 3, 64, 64]), True)
    """
    from ..models import CourseNet, IMAGENET_SIZE
    from ..data import IMAGE_SIZE
    from .params import fourier_image, pixel_image
    from .regularisers import robust_transforms
    from .. import _validate

    check_model(model)
    get_module(model, layer)
    single = not isinstance(channel, (list, tuple))
    channels = [_check_index(c, "channel") for c in ([channel] if single else channel)]
    if not channels:
        raise ValueError("channel must be an int or a non-empty list of ints; got an empty list")
    n = _check_positive_int(n, "n")
    _validate.one_of(objective, "objective", UNIT_OBJECTIVES)
    _validate.one_of(param, "param", PARAMS)
    weight = _validate.real(diversity, "diversity", minimum=0.0)
    if transforms is True:
        transform = robust_transforms()
    elif transforms is False or transforms is None:
        transform = None
    elif callable(transforms):
        transform = transforms
    else:
        raise TypeError(f"transforms must be True, False or a transform t(image, generator); "
                        f"got {_validate.describe(transforms)}")
    if image_size is None:
        image_size = IMAGE_SIZE if isinstance(model, CourseNet) else IMAGENET_SIZE
    size = _check_positive_int(image_size, "image_size")
    target = _objective_layer(model, layer, pre_relu, "feature_vis")
    unit = _units_objective(target, channels, n, objective)
    div = _grouped_diversity(layer, target, len(channels), n)
    total = unit + weight * div if weight > 0 else unit
    make = fourier_image if param == "fourier" else pixel_image
    device = next(iter(model.parameters()), torch.zeros(0)).device
    images = len(channels) * n
    p = make((images, _first_conv_channels(model), size, size), decorrelate=decorrelate, seed=seed, device=device)

    def record(T):
        out = {"activation": unit(T).item() / images}
        if weight > 0:
            out["diversity"] = div(T).item()
        return out

    return render(model, total, param=p, steps=steps, lr=lr, transform=transform, record=record, seed=seed,
                  progress=progress, space=space,
                  desc=f"{target}[{channels[0]}]" if single else f"{target} ({len(channels)} units)")


for _fn in (class_model, channel_model):
    if _fn.__doc__:  # None under ``python -OO``, which strips docstrings
        _fn.__doc__ = _fn.__doc__.replace("{regularisers}", _DOC_REGULARISERS.rstrip("\n"))

del _fn

"""Class model and unit visualisation: gradient ascent on the input image.

Class model visualisation (Simonyan et al. 2014) looks for the image that a
network scores highest for a class,

    I* = argmax_I  S_c(I) - l2 * ||I||^2,

where ``S_c`` is the pre-softmax score (logit) of class ``c``. Plain ascent
gives noisy, high-frequency images; Yosinski et al. (2015) make them legible
with four operators applied between steps (L2 decay, Gaussian blur every few
steps, zeroing pixels of small norm, zeroing pixels of small contribution) and
random jitter. Each can be switched off on its own.

The parts are small and composable, in the manner of Lucid/Lucent:

- an :class:`Objective` (a callable of a lookup ``T``) that supports ``+``,
  ``-`` and multiplication by numbers: :func:`class_score`, :func:`channel`,
  :func:`squared_norm`;
- transforms applied before each forward pass (:func:`jitter`, :func:`compose`);
- regularisers applied after each step (:func:`blur_every`,
  :func:`norm_clipping`, :func:`contribution_clipping`);
- one loop, :func:`render`, that :func:`class_model` and :func:`channel_model`
  call. The image is parameterised directly by its pixels in the model's input
  space.

Example:
    >>> result = class_model(model, target=3, init="noise", steps=20, progress=False)
    >>> result.image.shape, round(float(result.history["prob"][-1]), 2)    # the class-3 probability
    (torch.Size([1, 3, 64, 64]), 1.0)
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .hooks import check_model, first_conv, get_module, model_device, run_forward, running
from .hooks import record as record_layers

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


# ----------------------------------------------------------------------------- objectives
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


# ----------------------------------------------------------------------------- transforms
def jitter(n: int) -> Callable:
    """A transform that shifts the image by a random (dy, dx) in [-n, n] (wrapping round).

    Shifting before the forward pass and differentiating through the shift is the
    same as shifting the image, stepping and shifting back (Yosinski et al. 2015).
    Transforms are called as ``t(image, generator)``.
    """
    n = _check_index(n, "jitter")

    def t(image, gen):
        if n == 0:
            return image
        dy, dx = (torch.randint(-n, n + 1, (2,), generator=gen)).tolist()
        return torch.roll(image, shifts=(dy, dx), dims=(-2, -1))

    return t


def compose(*transforms: Callable) -> Callable:
    """Apply transforms left to right: ``compose(jitter(4), jitter(2))``."""
    def t(image, gen):
        for tr in transforms:
            image = tr(image, gen)
        return image

    return t


# ----------------------------------------------------------------------------- regularisers
def _check_image4(image, arg="image") -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor; got {type(image).__name__}")
    if image.ndim != 4:
        raise ValueError(f"{arg} must have shape (N, C, H, W); got {tuple(image.shape)}")


def _check_fraction(value, arg: str):
    if value is None:
        return None
    if not _is_number(value) or not 0 <= value < 1:
        raise ValueError(f"{arg} must be None or a fraction in [0, 1); got {value!r}")
    return float(value) if value > 0 else None


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of ``image`` (N, C, H, W) with a Gaussian of std ``sigma`` pixels.

    Separable kernel of radius ``round(3 * sigma)`` (at least 1), normalised to sum 1,
    with mirror padding at the borders (``d c b | a b c d``). Returns a new tensor.
    """
    _check_image4(image)
    if not _is_number(sigma) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number; got {sigma!r}")
    radius = max(1, int(3 * sigma + 0.5))
    radius = min(radius, image.shape[-1] - 1, image.shape[-2] - 1)
    x = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    c = image.shape[1]
    out = F.pad(image, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(out, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _zero_lowest(image: torch.Tensor, score: torch.Tensor, fraction: float) -> torch.Tensor:
    """Zero the pixels (all channels) whose ``score`` (N, H, W) is among the lowest ``fraction``."""
    n = image.shape[0]
    flat = score.reshape(n, -1)
    k = int(fraction * flat.shape[1])
    if k == 0:
        return image.clone()
    idx = flat.argsort(dim=1, stable=True)[:, :k]
    keep = torch.ones_like(flat, dtype=torch.bool).scatter_(1, idx, False)
    return image * keep.view(n, 1, *image.shape[-2:]).to(image.dtype)


def clip_small_norm(image: torch.Tensor, fraction: float) -> torch.Tensor:
    """Zero the ``fraction`` of pixels with the smallest norm over channels (Yosinski et al.).

    Args:
        image: (N, C, H, W).
        fraction: in [0, 1); 0.2 zeroes the 20% weakest pixels of each image.
    """
    _check_image4(image)
    fraction = _check_fraction(fraction, "fraction")
    if fraction is None:
        return image.clone()
    return _zero_lowest(image, image.pow(2).sum(1), fraction)  # same order as the norm


def clip_small_contribution(image: torch.Tensor, grad: torch.Tensor, fraction: float) -> torch.Tensor:
    """Zero the ``fraction`` of pixels whose contribution ``|sum_c I * dS/dI|`` is smallest.

    The contribution is the first-order estimate of how much the objective would
    change if the pixel were set to zero (Yosinski et al. 2015).

    Args:
        image: (N, C, H, W); grad: the objective's gradient, same shape.
        fraction: in [0, 1).
    """
    _check_image4(image)
    if not isinstance(grad, torch.Tensor) or grad.shape != image.shape:
        raise ValueError(f"grad must be a tensor of the image's shape {tuple(image.shape)}")
    fraction = _check_fraction(fraction, "fraction")
    if fraction is None:
        return image.clone()
    return _zero_lowest(image, (image * grad).sum(1).abs(), fraction)


def blur_every(every: int, sigma: float) -> Callable:
    """A regulariser ``r(image, grad, step)`` that blurs after every ``every``-th step."""
    def r(image, grad, step):
        return gaussian_blur(image, sigma) if (step + 1) % every == 0 else image

    return r


def norm_clipping(fraction: float) -> Callable:
    """A regulariser ``r(image, grad, step)`` applying :func:`clip_small_norm` every step."""
    return lambda image, grad, step: clip_small_norm(image, fraction)


def contribution_clipping(fraction: float) -> Callable:
    """A regulariser ``r(image, grad, step)`` applying :func:`clip_small_contribution` every step."""
    return lambda image, grad, step: clip_small_contribution(image, grad, fraction)


# ----------------------------------------------------------------------------- the loop
def _check_positive_int(value, arg):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{arg} must be an int; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{arg} must be a positive int; got {value}")
    return int(value)


def _check_lr(lr):
    if not _is_number(lr) or not math.isfinite(lr) or lr <= 0:
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


# ----------------------------------------------------------------------------- front ends
def _first_conv_channels(model: nn.Module) -> int:
    found = first_conv(model, required=False)
    return found[1].in_channels if found else 3


def _start_image(model, init, image_size, seed):
    from .models import CourseNet, IMAGENET_SIZE
    from .data import IMAGE_SIZE

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


def channel_model(model: nn.Module, layer: str, channel: int, *, steps: int = 100, lr: float = 200.0,
                  l2: float = 1e-3, blur_every: int | None = 4, blur_sigma: float = 0.6,
                  norm_clip: float | None = None, contrib_clip: float | None = None, jitter: int = 2,
                  image_size: int | None = None, init="noise", seed: int = 0,
                  progress: bool = True) -> Synthesis:
    """Unit visualisation: the image that maximises a channel's mean activation in ``layer``.

    The objective is ``mean_{x,y} A_{layer}[channel](I) - l2 * ||I||^2``
    (Erhan et al.'s activation maximisation, as in Olah et al. 2017), with the
    same regularisers as :func:`class_model`.

    Args:
        model: the network.
        layer: a layer name from ``model.named_modules()`` (for the course
            network ``"features.relu2"``, ...).
        channel: channel index in that layer's output.{regularisers}
    Returns:
        :class:`Synthesis` ``(image, history)`` with ``history["activation"]``.

    Example:
        >>> image, hist = channel_model(model, "features.conv2", 0, steps=20, progress=False)
        >>> image.shape, bool(hist["activation"][-1] > hist["activation"][0])
        (torch.Size([1, 3, 64, 64]), True)
    """
    check_model(model)
    get_module(model, layer)
    obj = _channel_objective(layer, channel)
    l2, regs, tr = _regularisers(l2, blur_every, blur_sigma, norm_clip, contrib_clip, jitter)
    _check_decay(_check_lr(lr), l2)
    start = _start_image(model, init, image_size, _check_index(seed, "seed"))
    objective = obj - l2 * squared_norm() if l2 > 0 else obj
    return render(model, objective, start, steps=steps, lr=lr, transform=tr, regularisers=regs,
                  record=lambda T: {"activation": obj(T).item()}, seed=seed, progress=progress,
                  desc=f"{layer}[{channel}]")


# ----------------------------------------------------------------------------- measures
def _as_batch(image, arg="image"):
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor; got {type(image).__name__}")
    if image.ndim == 3:
        return image[None], True
    if image.ndim != 4:
        raise ValueError(f"{arg} must have shape (C, H, W) or (N, C, H, W); got {tuple(image.shape)}")
    return image, False


def high_frequency_energy(image: torch.Tensor, cutoff: float = 0.25):
    """Fraction of an image's spectral energy above ``cutoff`` cycles per pixel.

    The mean of each channel is removed, the power spectrum ``|FFT|^2`` is summed
    over channels, and the energy at radial frequencies ``sqrt(fx^2 + fy^2) > cutoff``
    (Nyquist is 0.5) is divided by the total. 0 for a constant image.

    Args:
        image: (C, H, W) or (N, C, H, W).
        cutoff: in (0, 0.5*sqrt(2)).

    Returns:
        a float for one (C, H, W) image, else an (N,) tensor.
    """
    x, single = _as_batch(image)
    if not _is_number(cutoff) or not 0 < cutoff < 0.5 * math.sqrt(2):
        raise ValueError(f"cutoff must be in (0, 0.707) cycles per pixel; got {cutoff!r}")
    x = x.detach().double()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).sum(1)
    fy = torch.fft.fftfreq(x.shape[-2], dtype=torch.float64, device=x.device)
    fx = torch.fft.fftfreq(x.shape[-1], dtype=torch.float64, device=x.device)
    high = (fy[:, None] ** 2 + fx[None, :] ** 2).sqrt() > cutoff
    total = power.sum((-2, -1))
    frac = torch.where(total > 0, (power * high).sum((-2, -1)) / total.clamp_min(1e-300), torch.zeros_like(total))
    frac = frac.float().cpu()
    return float(frac[0]) if single else frac


def region_energy_fraction(image: torch.Tensor, region) -> torch.Tensor:
    """Fraction of the image's energy ``sum_c I^2`` inside ``region`` = (row0, row1, col0, col1).

    For an image in input space, 0 is the mean colour, so this is where the image
    departs from grey. A uniform spread gives the region's share of the area.

    Args:
        image: (C, H, W) or (N, C, H, W).

    Returns:
        a float for one image, else an (N,) tensor.
    """
    x, single = _as_batch(image)
    if len(region) != 4:
        raise ValueError(f"region must be (row0, row1, col0, col1); got {region!r}")
    r0, r1, c0, c1 = (int(v) for v in region)
    h, w = x.shape[-2:]
    if not (0 <= r0 < r1 <= h and 0 <= c0 < c1 <= w):
        raise ValueError(f"region must lie inside the {h}x{w} image with row0 < row1, col0 < col1; got {region!r}")
    energy = x.detach().double().pow(2).sum(1)
    total = energy.sum((-2, -1))
    inside = energy[:, r0:r1, c0:c1].sum((-2, -1))
    frac = (inside / total.clamp_min(1e-300)).float().cpu()
    return float(frac[0]) if single else frac


def correlations(image: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between one image (C, H, W) and each of ``images`` (N, C, H, W).

    Each image is flattened and centred; returns an (N,) tensor in [-1, 1].
    Used to ask which training image a class image resembles most (model inversion).
    """
    if not isinstance(image, torch.Tensor) or image.ndim not in (3, 4):
        raise ValueError("image must be a (C, H, W) or (1, C, H, W) tensor")
    a = image.detach().reshape(-1).double()
    b, _ = _as_batch(images, "images")
    b = b.detach().reshape(b.shape[0], -1).double().to(a.device)
    if b.shape[1] != a.numel():
        raise ValueError(f"images must have the image's shape {tuple(image.shape[-3:])}; got {tuple(images.shape)}")
    a = a - a.mean()
    b = b - b.mean(1, keepdim=True)
    den = a.norm() * b.norm(dim=1)
    return ((b @ a) / den.clamp_min(1e-300)).float().cpu()


def to_display(image: torch.Tensor, percentile: float = 99.0) -> torch.Tensor:
    """Map images in input space to [0, 1] for display: 0 -> grey 0.5, symmetric scaling.

    Each image is divided by the ``percentile`` of its absolute values (so a few
    extreme pixels do not wash it out), then clipped.

    Args:
        image: (C, H, W) or (N, C, H, W). Returns the same shape, on the CPU.
    """
    x, single = _as_batch(image)
    if not _is_number(percentile) or not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100]; got {percentile!r}")
    x = x.detach().float().cpu()
    scale = torch.quantile(x.abs().reshape(x.shape[0], -1), percentile / 100, dim=1).clamp_min(1e-12)
    out = (0.5 + 0.5 * x / scale.view(-1, 1, 1, 1)).clamp(0, 1)
    return out[0] if single else out


for _fn in (class_model, channel_model):
    if _fn.__doc__:  # None under ``python -OO``, which strips docstrings
        _fn.__doc__ = _fn.__doc__.replace("{regularisers}", _DOC_REGULARISERS.rstrip("\n"))
del _fn

"""Self-checks of the class-model chapter: one gradient-ascent step, and the regularised loop."""
from __future__ import annotations

import torch

from ._common import _fail, compare, small_cnn

__all__ = ["check_class_model_step", "check_class_model_loop"]


def _class_model_step_cases():
    """A small seeded CNN (built without touching the global RNG) and fixed (image, target, lr, l2) cases."""
    from collections import OrderedDict

    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(3, 4, 3, padding=1), relu=nn.ReLU(), pool=nn.MaxPool2d(2),
            flat=nn.Flatten(), fc=nn.Linear(4 * 4 * 4, 5))).eval()
    gen = torch.Generator().manual_seed(7)
    cases = []
    for target, lr, l2 in ((0, 0.5, 0.0), (3, 0.1, 0.05), (4, 1.0, 0.3), (1, 2.0, 0.01)):
        image = torch.randn(1, 3, 8, 8, generator=gen)
        cases.append((image, target, lr, l2))
    return model, cases


def _class_model_step_variants(model, image, target, lr, l2):
    """The reference update and the updates that common mistakes produce, name -> tensor."""
    x = image.clone().requires_grad_(True)
    logits = model(x)
    (g_score,) = torch.autograd.grad(logits[0, target], x)
    (g_prob,) = torch.autograd.grad(model(x).softmax(1)[0, target], x)
    x = x.detach()
    return {
        "reference": x + lr * (g_score - 2 * l2 * x),
        "the -2 * l2 * I term of the L2 penalty is missing": x + lr * g_score,
        "the gradient of l2 * ||I||^2 is 2 * l2 * I, not l2 * I": x + lr * (g_score - l2 * x),
        "that is gradient descent: ascent adds lr * gradient to the image": x - lr * (g_score - 2 * l2 * x),
        "use the pre-softmax score (logit) S_c, not the softmax probability": x + lr * (g_prob - 2 * l2 * x),
        "multiply the gradient by the step size lr": x + (g_score - 2 * l2 * x),
    }


def check_class_model_step(fn) -> float:
    """Check one class-model update step (Simonyan et al. 2014).

    ``fn(model, image, target, lr, l2)`` gets a model in eval mode, an image
    (1, C, H, W) in its input space, a class index, the step size and the L2
    weight, and must return the new image (1, C, H, W) after one step of gradient
    ascent on ``S_target(I) - l2 * ||I||^2``:
    ``I + lr * (dS_target/dI - 2 * l2 * I)``, where ``S`` is the pre-softmax score.

    Example:
        >>> def my_step(model, image, target, lr, l2):
        ...     image = image.clone().requires_grad_(True)
        ...     (grad,) = torch.autograd.grad(model(image)[0, target], image)
        ...     return (image + lr * (grad - 2 * l2 * image)).detach()
        >>> err = vizlib.checks.check_class_model_step(my_step)
        PASS check_class_model_step: max |error| 0 over 4 cases
    """
    name = "check_class_model_step"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, image, target, lr, l2); got {type(fn).__name__}")
    model, cases = _class_model_step_cases()
    pairs, hint = [], ""
    for i, (image, target, lr, l2) in enumerate(cases):
        variants = _class_model_step_variants(model, image, target, lr, l2)
        got = fn(model, image.clone(), target, lr, l2)
        if not isinstance(got, torch.Tensor):
            msg = (f"FAIL {name}: case {i}: fn returned {type(got).__name__}, expected the new image "
                   "as a tensor (1, C, H, W); return it (do not only change the image in place).")
            print(msg)
            raise AssertionError(msg)
        got = got.detach()
        expected = variants.pop("reference")
        if not hint and got.shape == expected.shape and not torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
            hint = next((why for why, wrong in variants.items() if torch.allclose(got, wrong, atol=1e-5, rtol=1e-4)),
                        "compute the gradient of S_target(I) - l2 * ||I||^2 with respect to the image "
                        "and add lr times it to the image.")
            hint = "Hint: " + hint
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)


# ----------------------------------------------------------------------------- the regularised loop
#: (target, steps, lr, l2, blur_every, blur_sigma, norm_clip, jitter, seed) of check_class_model_loop.
_LOOP_CASES = (
    (0, 8, 2.0, 0.05, 3, 0.8, 0.2, 2, 0),
    (3, 9, 1.0, 0.02, 4, 0.6, 0.3, 3, 1),
    (4, 6, 3.0, 0.1, 2, 1.0, 0.1, 1, 2),
)


def _loop_check_model():
    """A small fixed CNN for 16x16 images with 5 classes (the same weights on every call)."""
    return small_cnn(11, weight_scale=0.5, bias_scale=0.1, head="max", frozen=True)

def _clip(image, score, fraction):
    """Zero (on all channels) the int(fraction * H * W) pixels of lowest ``score`` (1, H, W)."""
    k = int(fraction * score[0].numel())
    idx = score.reshape(-1).argsort(stable=True)[:k]
    keep = torch.ones(score.numel(), dtype=image.dtype)
    keep[idx] = 0
    return image * keep.view(1, 1, *image.shape[-2:])


def _norm_clip(image, fraction, mistake=None):
    """Zero (on all channels) the ``int(fraction * H * W)`` pixels of smallest L2 norm over
    channels, or clip by a wrong measure (``mistake``)."""
    if mistake == "per_channel":
        return torch.cat([_clip(image[:, c:c + 1], image[:, c].pow(2), fraction)
                          for c in range(image.shape[1])], 1)
    if mistake == "l1":
        return _clip(image, image.abs().sum(1), fraction)
    if mistake == "signed_sum":
        return _clip(image, image.sum(1).abs(), fraction)
    return _clip(image, image.pow(2).sum(1), fraction)


def _loop_variant(model, target, image, steps, lr, l2, blur_every, blur_sigma, norm_clip, jitter,
                  seed, mistake=None):
    """The regularised class-model loop, or the loop with one typical ``mistake`` (a key of
    ``_LOOP_MISTAKES``). Written independently of ``vizlib.synthesis.render``."""
    from ..synthesis import gaussian_blur

    def regularise(img, step):
        blur_now = {"blur_every_step": True, "blur_off_by_one": step % blur_every == 0}.get(
            mistake, (step + 1) % blur_every == 0)
        if mistake == "clip_before_blur":
            img = _norm_clip(img, norm_clip)
        if blur_now:
            img = gaussian_blur(img, blur_sigma)
        if mistake != "clip_before_blur":
            img = _norm_clip(img, norm_clip, mistake)
        return img

    gen = torch.Generator().manual_seed(seed)
    img = image.detach().clone()
    for step in range(steps):
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
        if mistake == "swapped":
            dy, dx = dx, dy
        x = img.clone().requires_grad_(True)
        logits = model(torch.roll(x, (dy, dx), (-2, -1)))
        score = logits.softmax(1)[0, target] if mistake == "prob" else logits[0, target]
        (g,) = torch.autograd.grad(score, x)
        g = g - {"no_l2": 0.0, "l2_no_2": l2}.get(mistake, 2 * l2) * img
        if mistake == "clip_first":  # the regularisers before the step
            img = regularise(img, step)
        img = img - lr * g if mistake == "descent" else img + lr * g
        if mistake == "not_undone":  # the shifted image is kept
            img = torch.roll(img, (dy, dx), (-2, -1))
        if mistake != "clip_first":
            img = regularise(img, step)
    return img


#: mistake -> what the check says when the student's result matches it.
_LOOP_MISTAKES = {
    "prob": "you ascend the softmax probability; use the pre-softmax score (logit) S_c",
    "descent": "that is gradient descent: add lr * gradient to the image",
    "no_l2": "the L2 decay is missing: the gradient of -l2 * ||I||^2 is -2 * l2 * I",
    "l2_no_2": "the gradient of -l2 * ||I||^2 is -2 * l2 * I, not -l2 * I",
    "not_undone": "the jitter is not undone: shift a copy for the forward pass (or differentiate "
                  "through torch.roll) and update the unshifted image",
    "swapped": "the jitter offsets are swapped: dy, dx = torch.randint(...).tolist() shifts rows by "
               "dy and columns by dx (shifts=(dy, dx), dims=(-2, -1))",
    "blur_every_step": "you blur after every step; blur only after every blur_every-th step",
    "blur_off_by_one": "you blur after steps 0, k, 2k, ...; blur after steps k, 2k, ... "
                       "(when (step + 1) % blur_every == 0)",
    "clip_first": "the regularisers run before the gradient step; step first, then blur, then clip",
    "clip_before_blur": "the regularisers are in the wrong order: blur first, then clip small norms",
    "l1": "you clip by the L1 norm (sum of |I| over colour channels); use the L2 norm over channels",
    "signed_sum": "you clip by |sum of I over colour channels|; use the L2 norm over channels",
    "per_channel": "you clip each colour channel on its own; zero whole pixels (all channels) "
                   "whose L2 norm over channels is small",
}


def check_class_model_loop(fn) -> float:
    """Check ``fn``, the regularised class-model loop (Simonyan et al. 2014; Yosinski et al. 2015).

    ``fn(model, target, image, *, steps, lr, l2, blur_every, blur_sigma, norm_clip, jitter, seed)``
    gets a model in eval mode, a class index and a starting image (1, C, H, W), and returns the
    image after ``steps`` steps in the order of ``vizlib.synthesis.class_model``: with
    ``gen = torch.Generator().manual_seed(seed)``, each step draws
    ``dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()``, runs the model
    on the image rolled by ``(dy, dx)``, takes the gradient of ``S_target - l2 * ||I||^2`` with
    respect to the unrolled image, adds ``lr`` times it, blurs with
    ``vizlib.synthesis.gaussian_blur(image, blur_sigma)`` when ``(step + 1) % blur_every == 0``,
    and zeroes the ``int(norm_clip * H * W)`` pixels of smallest L2 norm over channels. The
    reference is ``class_model(model, target, init=image, ...)`` on a small fixed CNN, three
    cases. Prints PASS/FAIL and raises ``AssertionError`` naming the mistake when it finds one.

    Example:
        >>> def my_loop(model, target, image, **kw):
        ...     return vizlib.synthesis.class_model(model, target, init=image, progress=False,
        ...                                         **kw).image
        >>> err = vizlib.checks.check_class_model_loop(my_loop)
        PASS check_class_model_loop: max |error| 0 over 3 cases
    """
    from ..synthesis import class_model

    name = "check_class_model_loop"
    if not callable(fn):
        raise TypeError("fn must be a function fn(model, target, image, *, steps, lr, l2, blur_every, "
                        f"blur_sigma, norm_clip, jitter, seed); got {type(fn).__name__}")
    model = _loop_check_model()
    pairs, hint = [], ""
    for i, (target, steps, lr, l2, every, sigma, clip, jit, seed) in enumerate(_LOOP_CASES):
        kw = dict(steps=steps, lr=lr, l2=l2, blur_every=every, blur_sigma=sigma, norm_clip=clip,
                  jitter=jit, seed=seed)
        image = 0.5 * torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(20 + i))
        original = image.clone()
        got = fn(model, target, image, **kw)
        if not torch.equal(image, original):
            _fail(name, f"case {i}: your function changed the starting image in place; work on a copy "
                        "(image.detach().clone()) and return the new image.")
        if not isinstance(got, torch.Tensor):
            _fail(name, f"case {i}: fn returned {type(got).__name__}; return the final image as a tensor "
                        "(1, C, H, W).")
        got = got.detach().cpu()
        expected = class_model(model, target, init=original, contrib_clip=None, progress=False, **kw).image
        close = lambda a, b: a.shape == b.shape and torch.allclose(a, b, atol=1e-5, rtol=1e-4)  # noqa: E731
        if not hint and not close(got, expected):
            hint = next((why for m, why in _LOOP_MISTAKES.items()
                         if close(got, _loop_variant(model, target, original, mistake=m, **kw))),
                        "run one step at a time against vizlib.synthesis.class_model(..., steps=1) "
                        "with the same settings to find where they part.")
            hint = "Hint: " + hint
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)

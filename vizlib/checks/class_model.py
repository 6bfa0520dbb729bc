"""Self-checks of the class-model chapter: one gradient-ascent step."""
from __future__ import annotations

import torch

from ._common import compare

__all__ = ["check_class_model_step"]


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

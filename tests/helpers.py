"""Shared test helpers (issue 17): one snapshot of a model and its input, one "unchanged" check,
one table of every public method that runs a model, and one way to measure memory growth.
Used by test_side_effects_zoo, test_hooks_running, test_attribution_zoo and test_memory.

    from tests.helpers import CALLS, snapshot, assert_unchanged
"""
from __future__ import annotations

import gc
import os

import torch
import torchvision
from torch import nn

import vizlib
from vizlib import activations, attribution, filters, hooks, metrics, style, synthesis

MODELS = ["course", "alexnet", "vgg11", "resnet18", "densenet121", "squeezenet1_1", "googlenet", "mobilenet_v2"]
SIZE = 64
_CACHE = {}


def get_model(name):
    if name not in _CACHE:
        torch.manual_seed(0)
        if name == "course":
            model = vizlib.load_model("course", device="cpu")
        else:
            model = torchvision.models.get_model(name, weights=None, **({"init_weights": False} if name == "googlenet" else {}))
        _CACHE[name] = model.eval()
    return _CACHE[name]


def convs(model):
    """Convolutions on the inference path (GoogLeNet's auxiliary classifiers run only in training)."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and "aux" not in n]


def image01(n=2):
    return torch.rand(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


def x_norm(n=2):
    return vizlib.normalize(image01(n), "course")


def _capture(model, x, t):
    with activations.capture(model, [convs(model)[0], convs(model)[-1]]) as acts:
        with hooks.preserved(model):  # the caller's own forward pass, in eval mode, flags restored
            model(x)
    return acts


CALLS = {
    "gradient": lambda m, x, t: attribution.gradient(m, x, t),
    "saliency": lambda m, x, t: attribution.saliency(m, x, t),
    "gradient_x_input": lambda m, x, t: attribution.gradient_x_input(m, x, t),
    "deconvnet": lambda m, x, t: attribution.deconvnet(m, x, t),
    "guided_backprop": lambda m, x, t: attribution.guided_backprop(m, x, t),
    "occlusion": lambda m, x, t: attribution.occlusion(m, x, t, window=32, stride=32, progress=False),
    "occlusion_grid": lambda m, x, t: attribution.occlusion_grid(m, x, t, window=32, stride=32, progress=False),
    "smoothgrad": lambda m, x, t: attribution.smoothgrad(m, x, t, n_samples=2),
    "integrated_gradients": lambda m, x, t: attribution.integrated_gradients(m, x, t, steps=2),
    "grad_cam": lambda m, x, t: attribution.grad_cam(m, x, t),
    "guided_grad_cam": lambda m, x, t: attribution.guided_grad_cam(m, x, t),
    "project_unit": lambda m, x, t: attribution.project_unit(m, x, convs(m)[1], 0),
    "capture": _capture,
    "get_activations": lambda m, x, t: activations.get_activations(m, x, convs(m)[-1]),
    "top_activations": lambda m, x, t: activations.top_activations(m, x, convs(m)[1], k=1, channels=[0]),
    "receptive_field": lambda m, x, t: activations.receptive_field(m, convs(m)[1], SIZE),
    "first_layer_filters": lambda m, x, t: filters.first_layer_filters(m),
    "class_model": lambda m, x, t: synthesis.class_model(m, 1, steps=2, image_size=SIZE, progress=False),
    "channel_model": lambda m, x, t: synthesis.channel_model(m, convs(m)[-1], 0, steps=2, image_size=SIZE, progress=False),
    "reconstruct": lambda m, x, t: style.reconstruct(m, convs(m)[1], image01(1), steps=2, progress=False),
    "texture": lambda m, x, t: style.texture(m, image01(1), style_layers=convs(m)[:2], steps=2, progress=False),
    "transfer": lambda m, x, t: style.transfer(m, image01(1), image01(1), content_layer=convs(m)[1],
                                               style_layers=convs(m)[:2], steps=2, progress=False),
    "deletion_curve": lambda m, x, t: metrics.deletion_curve(m, x, t, torch.rand(len(x), SIZE, SIZE), n_steps=2),
    "insertion_curve": lambda m, x, t: metrics.insertion_curve(m, x, t, torch.rand(len(x), SIZE, SIZE), n_steps=2),
    "randomize_layers": lambda m, x, t: metrics.randomize_layers(m, metrics.randomization_order(m)[0]),
}


# --------------------------------------------------------------------------- before and after
def snapshot(model: nn.Module, x: torch.Tensor | None = None) -> dict:
    """Everything a helper must leave as it found: parameters and buffers (bitwise), every module's
    training flag, every parameter's requires_grad, and the input."""
    return dict(
        state={k: v.detach().clone() for k, v in model.state_dict().items()},
        training=[m.training for m in model.modules()],
        flags=[p.requires_grad for p in model.parameters()],
        x=None if x is None else x.detach().clone(),
    )


def assert_unchanged(model: nn.Module, before: dict, x: torch.Tensor | None = None) -> None:
    """No hook left, the state, the flags and the input as in ``before``, no gradient kept, and no
    torch function or dispatch mode left active."""
    assert hooks.hook_count(model) == 0, "a hook was left on the model"
    after = model.state_dict()
    assert before["state"].keys() == after.keys()
    for k, v in before["state"].items():
        assert torch.equal(v, after[k]), f"{k} changed"
    assert [m.training for m in model.modules()] == before["training"], "training flags changed"
    assert [p.requires_grad for p in model.parameters()] == before["flags"], "requires_grad flags changed"
    assert all(p.grad is None for p in model.parameters()), "a parameter kept a gradient"
    assert torch._C._len_torch_function_stack() == 0 and torch._C._len_torch_dispatch_stack() == 0
    if x is not None:
        assert torch.equal(x, before["x"]) and x.grad is None, "the input changed or got a gradient"


# --------------------------------------------------------------------------- memory
#: Tolerance on resident-memory growth over 100 calls: a retained autograd graph of the course
#: model at 1x3x64x64 is about 0.5 MB per call (50 MB over 100); allocator noise is a few MB.
RSS_TOLERANCE_MB = 20.0


def live_tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))


def rss_mb() -> float:
    import psutil  # installed with the test requirements (jupyter's dependencies); never skipped

    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def assert_no_growth(call, *, warmup: int = 5, calls: int = 100) -> None:
    """``call()`` repeated ``calls`` times keeps no tensor alive and grows resident memory by less
    than RSS_TOLERANCE_MB."""
    for _ in range(warmup):  # warm up caches and the allocator
        call()
    tensors, rss = live_tensors(), rss_mb()
    for _ in range(calls):
        call()
    assert live_tensors() - tensors <= 0, "tensors survive the calls"
    assert rss_mb() - rss < RSS_TOLERANCE_MB

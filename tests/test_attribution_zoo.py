"""vizlib.attribution across real architectures (torchvision, random weights, small inputs).

- Deconvnet and guided backprop against a second implementation written differently:
  a deep copy of the model in which every ``nn.ReLU`` module is replaced by a module
  that rectifies with ``torch.where`` and rewrites the incoming gradient with a tensor
  hook (and, for DenseNet, whose last ReLU is the functional ``F.relu`` inside
  ``DenseNet.forward``, the forward written out by hand).
- Side effects of every method on every architecture, also when the forward raises.
- Memory: 100 calls in a row do not grow the number of live tensors nor resident memory.
"""
from __future__ import annotations

import copy
import functools

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import vizlib
from vizlib import attribution as A
from tests.helpers import assert_no_growth, assert_unchanged, snapshot

SIZES = {"alexnet": 64, "vgg11": 32, "resnet18": 32, "densenet121": 32, "squeezenet1_1": 64, "googlenet": 64,
         "mobilenet_v2": 32, "course": 64}


@functools.lru_cache(maxsize=None)
def zoo(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "course":
        return vizlib.load_model("course", weights=None, device="cpu")
    kwargs = {"init_weights": False} if name == "googlenet" else {}
    if name == "googlenet":
        kwargs["aux_logits"] = False
    return torchvision.models.get_model(name, weights=None, **kwargs).eval()


def inputs(name: str, n: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    s = SIZES[name]
    return torch.randn(n, 3, s, s, generator=g)


# --------------------------------------------------------------------------- the reference


class RefRectifier(nn.Module):
    """ReLU (or ReLU6 with ``upper``) whose backward follows ``rule``, built from a tensor hook."""

    def __init__(self, rule: str, upper: float | None = None):
        super().__init__()
        self.rule, self.upper = rule, upper

    def forward(self, x):
        active = x > 0
        if self.upper is not None:
            active = active & (x < self.upper)
        value = torch.where(x > 0, x, torch.zeros_like(x))
        if self.upper is not None:
            value = torch.where(x < self.upper, value, torch.full_like(x, self.upper))
        if self.rule == "guided":
            y = torch.where(active, x, value.detach())  # gradient flows only where the unit was active
        else:  # deconvnet: the forward pass does not gate the backward signal
            y = x + (value - x).detach()
        if y.requires_grad:
            y.register_hook(lambda g: torch.where(g > 0, g, torch.zeros_like(g)))
        return y


def reference_model(model: nn.Module, rule: str) -> nn.Module:
    ref = copy.deepcopy(model)
    for name, module in list(ref.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.ReLU6):
                setattr(module, child_name, RefRectifier(rule, 6.0))
            elif isinstance(child, nn.ReLU):
                setattr(module, child_name, RefRectifier(rule))
    if isinstance(ref, torchvision.models.DenseNet):
        last = RefRectifier(rule)

        def forward(x):  # DenseNet.forward with its functional F.relu replaced
            out = last(ref.features(x))
            return ref.classifier(torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1))

        ref.forward = forward
    return ref


def reference_attribution(model, x, target, rule):
    ref = reference_model(model, rule)
    assert not any(isinstance(m, nn.ReLU) for m in ref.modules())
    xr = x.clone().requires_grad_()
    logits = ref(xr)
    torch.testing.assert_close(logits, model(x))  # the copy computes the same function
    logits.gather(1, target[:, None]).sum().backward()
    return xr.grad


@pytest.mark.parametrize("rule", ["guided", "deconvnet"])
@pytest.mark.parametrize("name", ["alexnet", "vgg11", "resnet18", "densenet121", "mobilenet_v2", "course"])
def test_rules_match_independent_reference(name, rule):
    model = zoo(name)
    x = inputs(name)
    target = torch.tensor([3, 7])
    method = A.guided_backprop if rule == "guided" else A.deconvnet
    got = method(model, x, target)
    expected = reference_attribution(model, x, target, rule)
    scale = expected.abs().max()
    assert scale > 0
    torch.testing.assert_close(got, expected, atol=1e-5 * float(scale), rtol=1e-4)
    plain = A.gradient(model, x, target)
    assert (got - plain).abs().max() > 1e-3 * scale, "the rule changed nothing: ReLUs were not overridden"


# --------------------------------------------------------------------------- side effects

CALLS = {
    "gradient": lambda m, x, t: A.gradient(m, x, t),
    "saliency": lambda m, x, t: A.saliency(m, x, t),
    "gradient_x_input": lambda m, x, t: A.gradient_x_input(m, x, t),
    "deconvnet": lambda m, x, t: A.deconvnet(m, x, t),
    "guided_backprop": lambda m, x, t: A.guided_backprop(m, x, t),
    "smoothgrad": lambda m, x, t: A.smoothgrad(m, x, t, n_samples=2),
    "integrated_gradients": lambda m, x, t: A.integrated_gradients(m, x, t, steps=2),
    "occlusion": lambda m, x, t: A.occlusion(m, x, t, window=x.shape[-1] // 2, stride=x.shape[-1] // 2,
                                             progress=False),
    "occlusion_grid": lambda m, x, t: A.occlusion_grid(m, x, t, window=x.shape[-1] // 2,
                                                       stride=x.shape[-1] // 2, progress=False),
    "grad_cam": lambda m, x, t: A.grad_cam(m, x, t),
    "guided_grad_cam": lambda m, x, t: A.guided_grad_cam(m, x, t),
    "project_unit": lambda m, x, t: A.project_unit(m, x, A.default_cam_layer(m, x), 0),
}
ZOO = ["course", "alexnet", "vgg11", "resnet18", "densenet121", "squeezenet1_1", "googlenet", "mobilenet_v2"]


def middle_module(model):
    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    return leaves[len(leaves) // 2]


@pytest.mark.parametrize("name", ZOO)
def test_every_method_leaves_the_model_and_input_unchanged(name):
    model = zoo(name)
    x = inputs(name, 1)
    before = snapshot(model, x)
    model.train()  # in training mode: evaluated in eval mode, flag restored
    before_train = snapshot(model, x)
    try:
        for method, call in CALLS.items():
            out = call(model, x, 3)
            assert_unchanged(model, before_train, x)
            first = out[0] if isinstance(out, tuple) else out
            assert torch.isfinite(first).all(), method
            # an exception inside the call: a hook of the caller's raises halfway through the forward
            def boom(module, inputs, output):
                raise RuntimeError("boom")

            handle = middle_module(model).register_forward_hook(boom)
            try:
                with pytest.raises(RuntimeError, match="boom"):
                    call(model, x, 3)
            finally:
                handle.remove()
            assert_unchanged(model, before_train, x)
    finally:
        model.eval()
    assert_unchanged(model, before, x)


@pytest.mark.parametrize("name", ["alexnet", "resnet18"])
def test_target_out_of_range_detected_after_forward_restores_state(name):
    model = zoo(name)
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"\[0, 999\]"):
        A.guided_backprop(model, inputs(name, 1), 1000)
    assert_unchanged(model, before)


# --------------------------------------------------------------------------- memory


@pytest.mark.parametrize("method", list(CALLS))
def test_hundred_calls_do_not_grow_memory(method):
    model = zoo("course")
    x = inputs("course", 1)
    assert_no_growth(lambda: CALLS[method](model, x, 2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", list(CALLS))
def test_hundred_calls_do_not_grow_cuda_memory(method):
    model = copy.deepcopy(zoo("course")).cuda()
    x = inputs("course", 1).cuda()
    for _ in range(3):
        CALLS[method](model, x, 2)
    torch.cuda.synchronize()
    start = torch.cuda.memory_allocated()
    for _ in range(100):
        CALLS[method](model, x, 2)
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() - start <= 0

"""check_guided_backprop passes guided backpropagation written with a custom autograd.Function
and names the typical mistakes. The reference solutions here are written out independently of
vizlib.attribution (a custom Function swapped into a copy; a hand-written backward pass)."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from vizlib import checks
from vizlib.checks.deconvnet import _guided_check_model


def make_relu_function(rule):
    class Rule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            if rule == "guided":
                return g.clamp(min=0) * (x > 0)
            if rule == "deconvnet":
                return g.clamp(min=0)
            return g * (x > 0)

    class Module(nn.Module):
        def forward(self, x):
            return Rule.apply(x)

    return Module


def make_guided(*, rule="guided", copy_model=True, nested=True, output="logit", sign=1.0,
                eval_caller=False, touch_x=False, leave_hook=False, predicted=False):
    module_cls = make_relu_function(rule)

    def fn(model, x, target):
        if eval_caller:
            model.eval()
        if leave_hook:
            model.register_forward_hook(lambda m, i, o: None)
        net = copy.deepcopy(model) if copy_model else model
        parents = list(net.modules()) if nested else [net]
        for parent in parents:
            for name, child in parent.named_children():
                if isinstance(child, nn.ReLU):
                    setattr(parent, name, module_cls())
        xi = x.requires_grad_() if touch_x else x.detach().clone().requires_grad_()
        out = net(xi)
        if output == "softmax":
            out = out.softmax(1)
        t = out.argmax(1) if predicted else target
        score = out.gather(1, t[:, None]).sum()
        (g,) = torch.autograd.grad(score, xi)
        if touch_x:
            xi.grad = g.clone()
        return sign * g

    return fn


def manual_guided(model, x, target):
    """Guided backprop on the check's net by hand: forward with recorded masks, backward by hand."""
    (conv1, _, pool), (conv2, _), _, fc = model
    a1 = conv1(x)
    r1 = a1.clamp(min=0)
    p1, idx = nn.functional.max_pool2d(r1, 2, return_indices=True)
    a2 = conv2(p1)
    r2 = a2.clamp(min=0)
    g = torch.zeros(len(x), fc.out_features)
    g[torch.arange(len(x)), target] = 1.0
    g = (g @ fc.weight).reshape(r2.shape)
    g = g.clamp(min=0) * (a2 > 0)
    g = nn.functional.conv_transpose2d(g, conv2.weight, padding=1)
    g = nn.functional.max_unpool2d(g, idx, 2, output_size=r1.shape[-2:])
    g = g.clamp(min=0) * (a1 > 0)
    return nn.functional.conv_transpose2d(g, conv1.weight, padding=1)


def test_manual_backward_matches_the_function_solution():
    model = _guided_check_model()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    target = torch.tensor([2, 4])
    with torch.no_grad():
        expected = manual_guided(model, x, target)
    got = make_guided()(model, x, target)
    assert torch.allclose(got, expected, atol=1e-5)
    # the three rules differ on this net, so the check can tell them apart
    plain = make_guided(rule="backprop")(model, x, target)
    deconv = make_guided(rule="deconvnet")(model, x, target)
    assert (got - plain).abs().max() > 1e-2 and (got - deconv).abs().max() > 1e-2


def test_check_guided_backprop_passes_the_reference(capsys):
    assert checks.check_guided_backprop(make_guided()) < 1e-5
    assert "PASS check_guided_backprop" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs,fragment", [
    ({"rule": "deconvnet"}, "deconvnet"),
    ({"rule": "backprop"}, "plain gradient"),
    ({"nested": False}, "plain gradient"),
    ({"copy_model": False}, "replaced modules of the caller's model"),
    ({"leave_hook": True}, "hook"),
    ({"eval_caller": True}, "training or requires_grad flags"),
    ({"touch_x": True}, "changed x"),
    ({"output": "softmax"}, "softmax probability"),
    ({"sign": -1.0}, "opposite sign"),
    ({"predicted": True}, "predicted class"),
], ids=lambda v: str(v))
def test_check_guided_backprop_names_the_mistake(kwargs, fragment, capsys):
    with pytest.raises(AssertionError, match=fragment):
        checks.check_guided_backprop(make_guided(**kwargs))
    assert "FAIL check_guided_backprop" in capsys.readouterr().out


def test_check_guided_backprop_leaves_no_hook_after_a_leaky_function():
    from vizlib.hooks import hook_count

    before = hook_count(_guided_check_model())
    with pytest.raises(AssertionError):
        checks.check_guided_backprop(make_guided(leave_hook=True))
    assert hook_count(_guided_check_model()) == before == 0


def test_check_guided_backprop_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_guided_backprop("guided")

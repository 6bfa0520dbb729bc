"""The attribution chapters' self-checks pass on reference solutions and fail on typical mistakes.

The reference solutions here are written out independently (loops and masks), not taken
from vizlib.attribution.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vizlib import checks

# --------------------------------------------------------------------------- check_guided_relu_backward


def relu_backward_reference(x, g, rule):
    if rule == "backprop":
        return torch.where(x > 0, g, torch.zeros_like(g))
    if rule == "deconvnet":
        return torch.where(g > 0, g, torch.zeros_like(g))
    return torch.where((x > 0) & (g > 0), g, torch.zeros_like(g))


def relu_backward_numpy(x, g, rule):
    x, g = x.numpy(), g.numpy()
    gate_x = (x > 0).astype(g.dtype)
    gate_g = (g > 0).astype(g.dtype)
    return {"backprop": g * gate_x, "deconvnet": g * gate_g, "guided": g * gate_x * gate_g}[rule]


def guided_without_forward_gate(x, g, rule):
    return relu_backward_reference(x, g, "deconvnet" if rule == "guided" else rule)


def guided_gate_includes_zero(x, g, rule):
    if rule == "guided":
        return torch.where((x >= 0) & (g > 0), g, torch.zeros_like(g))
    return relu_backward_reference(x, g, rule)


def deconvnet_gated_by_forward(x, g, rule):
    return relu_backward_reference(x, g, "guided" if rule == "deconvnet" else rule)


def backprop_without_gate(x, g, rule):
    return g.clone() if rule == "backprop" else relu_backward_reference(x, g, rule)


def guided_gates_on_abs(x, g, rule):
    if rule == "guided":
        return torch.where(x > 0, g.abs(), torch.zeros_like(g))
    return relu_backward_reference(x, g, rule)


def modifies_in_place(x, g, rule):
    return g.clamp_(min=0) * (x > 0) if rule == "guided" else relu_backward_reference(x, g, rule)


def wrong_shape(x, g, rule):
    return relu_backward_reference(x, g, rule).flatten()


@pytest.mark.parametrize("fn", [relu_backward_reference, relu_backward_numpy])
def test_relu_backward_check_passes_reference(fn, capsys):
    assert checks.check_guided_relu_backward(fn) < 1e-6
    assert "PASS check_guided_relu_backward" in capsys.readouterr().out


@pytest.mark.parametrize("fn,fragment", [
    (guided_without_forward_gate, "rule 'guided'"),
    (guided_gate_includes_zero, "rule 'guided'"),
    (deconvnet_gated_by_forward, "rule 'deconvnet'"),
    (backprop_without_gate, "rule 'backprop'"),
    (guided_gates_on_abs, "rule 'guided'"),
    (modifies_in_place, "in place"),
    (wrong_shape, "shape"),
])
def test_relu_backward_check_fails_wrong_rules(fn, fragment, capsys):
    with pytest.raises(AssertionError):
        checks.check_guided_relu_backward(fn)
    out = capsys.readouterr().out
    assert "FAIL check_guided_relu_backward" in out and fragment in out


def test_relu_backward_check_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_guided_relu_backward("guided")


# --------------------------------------------------------------------------- check_occlusion_loop


def make_occlusion(*, baseline=0.0, use_logits=False, transpose=False, window_delta=0, drop=False,
                   cumulative=False, in_place=False, last_missing=False, step=None, batch_softmax=False,
                   one_channel=False, shift=0):
    def occ(model, image, target, window, stride):
        c, h, w = image.shape
        s_ = stride if step is None else step(window, stride)
        end = h - window + (0 if last_missing else 1)
        rows = range(0, end, s_)
        cols = range(0, w - window + (0 if last_missing else 1), s_)
        out = np.zeros((len(rows), len(cols)))
        work = image if in_place else image.clone()
        clean = torch.softmax(model(image[None]), 1)[0, target]
        for i, r in enumerate(rows):
            for j, q in enumerate(cols):
                xo = work if (cumulative or in_place) else image.clone()
                region = (slice(0, 1) if one_channel else slice(None),
                          slice(r + shift, r + shift + window + window_delta),
                          slice(q + shift, q + shift + window + window_delta))
                xo[region] = baseline
                scores = model(xo[None])
                if use_logits:
                    p = scores[0, target]
                else:  # batch_softmax: the mistake of a softmax over the batch of one
                    p = torch.softmax(scores, 0 if batch_softmax else 1)[0, target]
                out[i, j] = float(clean - p) if drop else float(p)
        return out.T if transpose else out

    return occ


def test_occlusion_check_passes_reference(capsys):
    assert checks.check_occlusion_loop(make_occlusion()) < 1e-4
    assert "PASS check_occlusion_loop" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs,fragment", [
    ({"baseline": 0.5}, "mean colour is 0"),
    ({"use_logits": True}, "logit"),
    ({"transpose": True}, "rows and columns are swapped"),
    ({"window_delta": -1}, "one pixel too small"),
    ({"window_delta": 1}, "one pixel too large"),
    ({"shift": 1}, "one pixel too far"),
    ({"drop": True}, "drop"),
    ({"cumulative": True}, "fresh copy"),
    ({"last_missing": True}, "left out the last position"),
    ({"step": lambda window, stride: 1}, "by 1 pixel"),
    ({"step": lambda window, stride: window}, "by window pixels"),
    ({"batch_softmax": True}, "over the batch"),
    ({"one_channel": True}, "only the first channel"),
], ids=lambda k: str(k) if isinstance(k, str) else next(iter(k)) + "=" + str(next(iter(k.values())))[:10])
def test_occlusion_check_names_the_mistake(kwargs, fragment, capsys):
    with pytest.raises(AssertionError, match=fragment):
        checks.check_occlusion_loop(make_occlusion(**kwargs))
    assert "FAIL check_occlusion_loop" in capsys.readouterr().out


def test_occlusion_check_fails_when_the_image_is_modified(capsys):
    with pytest.raises(AssertionError):
        checks.check_occlusion_loop(make_occlusion(in_place=True))
    assert "modified the image in place" in capsys.readouterr().out


def test_occlusion_check_leaves_the_model_inputs_alone():
    from vizlib.checks.occlusion import _occlusion_check_model

    seen = []

    def spy(model, image, target, window, stride):
        seen.append(image.clone())
        return make_occlusion()(model, image, target, window, stride)

    checks.check_occlusion_loop(spy)
    again = [torch.randn(3, 16, 16, generator=torch.Generator().manual_seed(s)) for s in (1, 2, 3, 4, 5)]
    assert all(torch.equal(a, b) for a, b in zip(seen, again))
    assert isinstance(_occlusion_check_model(), torch.nn.Module)

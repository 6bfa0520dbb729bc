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
                   cumulative=False, in_place=False):
    def occ(model, image, target, window, stride):
        c, h, w = image.shape
        rows = range(0, h - window + 1, stride)
        cols = range(0, w - window + 1, stride)
        out = np.zeros((len(rows), len(cols)))
        work = image if in_place else image.clone()
        clean = torch.softmax(model(image[None]), 1)[0, target]
        for i, r in enumerate(rows):
            for j, q in enumerate(cols):
                xo = work if (cumulative or in_place) else image.clone()
                xo[:, r:r + window + window_delta, q:q + window + window_delta] = baseline
                scores = model(xo[None])[0]
                p = scores[target] if use_logits else torch.softmax(scores, 0)[target]
                out[i, j] = float(clean - p) if drop else float(p)
        return out.T if transpose else out

    return occ


def test_occlusion_check_passes_reference(capsys):
    assert checks.check_occlusion_loop(make_occlusion()) < 1e-4
    assert "PASS check_occlusion_loop" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs", [
    {"baseline": 0.5}, {"use_logits": True}, {"transpose": True}, {"window_delta": -1}, {"drop": True},
    {"cumulative": True},
], ids=lambda k: next(iter(k)))
def test_occlusion_check_fails_wrong_loops(kwargs, capsys):
    with pytest.raises(AssertionError):
        checks.check_occlusion_loop(make_occlusion(**kwargs))
    assert "FAIL check_occlusion_loop" in capsys.readouterr().out


def test_occlusion_check_fails_when_the_image_is_modified(capsys):
    with pytest.raises(AssertionError):
        checks.check_occlusion_loop(make_occlusion(in_place=True))
    assert "modified the image in place" in capsys.readouterr().out

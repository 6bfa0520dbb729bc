"""The style chapter's self-check passes on the reference and fails on typical mistakes."""
from __future__ import annotations

import pytest
import torch

from vizlib import checks
from vizlib.style import gram_matrix


def _no_normalisation(f):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2)


def _divide_by_chw(f):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def _positions_gram(f):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat.transpose(1, 2) @ flat / (h * w)      # (N, HW, HW): the wrong product


def _batch_mixed(f):
    n, c, h, w = f.shape
    flat = f.reshape(c, n * h * w)                    # mixes the images of the batch
    return (flat @ flat.T / (h * w)).expand(n, c, c)


def _first_image_only(f):
    n, c, h, w = f.shape
    flat = f[0].reshape(c, h * w)
    return (flat @ flat.T / (h * w))[None].expand(n, c, c)


def _student_reference(f):
    n, c, h, w = f.shape
    return torch.einsum("nchw,ndhw->ncd", f, f) / (h * w)


def test_check_gram_matrix_passes_reference_and_einsum_version(capsys):
    assert checks.check_gram_matrix(gram_matrix) < 1e-6
    assert checks.check_gram_matrix(_student_reference) < 1e-5
    assert "PASS check_gram_matrix" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [_no_normalisation, _divide_by_chw, _positions_gram, _batch_mixed,
                                   _first_image_only])
def test_check_gram_matrix_fails_on_wrong_implementations(wrong, capsys):
    with pytest.raises(AssertionError):
        checks.check_gram_matrix(wrong)
    out = capsys.readouterr().out
    assert out.startswith("FAIL check_gram_matrix") and "H*W" in out


# --------------------------------------------------------------------------- check_style_transfer
import numpy as np  # noqa: E402

from vizlib.activations import get_activations  # noqa: E402
from vizlib.checks.style import (_STYLE_CASE, _style_check_model, _style_check_preprocess,  # noqa: E402
                                 _transfer_variant)
from vizlib.style import transfer  # noqa: E402


def make_transfer(*, gram_norm=True, content_from_style=False, preprocess_image=True, clamp=True,
                  equal_weights=False, weight_on_content=False, fresh_optimiser=False, zero_grad=True,
                  init="content", optimise_network=False, in_place=False):
    """A student's loop, written as the chapter's solution is (get_activations with grad=True)."""

    def gram(f):
        n, c, h, w = f.shape
        flat = f.reshape(n, c, h * w)
        g = flat @ flat.transpose(1, 2)
        return g / (h * w) if gram_norm else g

    def fn(model, content, style, *, content_layer, style_layers, style_weight, steps, lr, preprocess):
        pre = preprocess if preprocess_image else (lambda x: x)
        layers = list(dict.fromkeys([content_layer, *style_layers]))
        weights = {k: 1 / len(style_layers) for k in style_layers} if equal_weights else style_layers
        source = style if content_from_style else content
        target = get_activations(model, pre(source), content_layer)[content_layer]
        grams = {k: gram(v) for k, v in get_activations(model, pre(style), list(style_layers)).items()}
        if init == "content":
            image = content.requires_grad_() if in_place else content.clone().requires_grad_()
        else:
            image = torch.rand(content.shape, generator=torch.Generator().manual_seed(9)).requires_grad_()
        params = list(model.parameters()) if optimise_network else [image]
        if optimise_network:
            for p in params:
                p.requires_grad_(True)
        optimiser = torch.optim.Adam(params, lr=lr)
        losses = []
        for _ in range(steps):
            if fresh_optimiser:
                optimiser = torch.optim.Adam(params, lr=lr)
            if zero_grad:
                optimiser.zero_grad()
            if optimise_network:
                h, feats = pre(image), {}
                for name, module in model.named_children():
                    h = module(h)
                    feats[name] = h
            else:
                feats = get_activations(model, pre(image), layers, grad=True)
            c = (feats[content_layer] - target).pow(2).mean() / target.pow(2).mean()
            s = sum(w * (gram(feats[k]) - grams[k]).pow(2).mean() / grams[k].pow(2).mean()
                    for k, w in weights.items())
            total = style_weight * c + s if weight_on_content else c + style_weight * s
            total.backward()
            optimiser.step()
            if clamp:
                with torch.no_grad():
                    image.clamp_(0, 1)
            losses.append(total.item())
        return image.detach(), losses

    return fn


def _images():
    content = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    style = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(2))
    return content, style


def test_check_style_transfer_passes_the_reference(capsys):
    assert checks.check_style_transfer(make_transfer()) < 1e-4
    assert "PASS check_style_transfer" in capsys.readouterr().out


def test_the_checks_loop_matches_vizlib_and_a_hand_computed_first_loss():
    model, (content, style) = _style_check_model(), _images()
    image, hist = _transfer_variant(model, content, style, **_STYLE_CASE)
    ref_image, ref = transfer(model, content, style, preprocess=_style_check_preprocess, tv_weight=0.0,
                              progress=False, **_STYLE_CASE)
    assert np.allclose(hist, ref["total"], atol=1e-5) and torch.allclose(image, ref_image, atol=1e-5)
    # the first loss by hand (numpy): the content term is 0, the style term is the weighted
    # relative error of the Gram matrices F F^T / (H W) of the content and the style image
    feats = {}
    for img, key in ((content, "c"), (style, "s")):
        h = _style_check_preprocess(img)
        for name, module in model.named_children():
            h = module(h)
            feats[key, name] = h.detach().numpy()[0]
    first = 0.0
    for name, w in _STYLE_CASE["style_layers"].items():
        grams = []
        for key in ("c", "s"):
            f = feats[key, name].reshape(feats[key, name].shape[0], -1)
            grams.append(f @ f.T / f.shape[1])
        first += w * ((grams[0] - grams[1]) ** 2).mean() / (grams[1] ** 2).mean()
    assert np.isclose(hist[0], _STYLE_CASE["style_weight"] * first, rtol=1e-4)


@pytest.mark.parametrize("kwargs,fragment", [
    ({"gram_norm": False}, "not divided by the number of positions"),
    ({"content_from_style": True}, "did you take the content target from\\s+the style image"),
    ({"preprocess_image": False}, "apply preprocess"),
    ({"clamp": False}, "outside \\[0, 1\\]"),
    ({"equal_weights": True}, "layer weights"),
    ({"weight_on_content": True}, "style_weight multiplies the content loss"),
    ({"fresh_optimiser": True}, "new optimiser at every step"),
    ({"zero_grad": False}, "zero_grad"),
    ({"init": "noise"}, "start from a\\s+copy of the content image"),
    ({"optimise_network": True}, "optimise the image, not the network"),
    ({"in_place": True}, "changed the content or the style image in place"),
], ids=lambda v: str(v))
def test_check_style_transfer_names_the_mistake(kwargs, fragment, capsys):
    with pytest.raises(AssertionError, match=fragment):
        checks.check_style_transfer(make_transfer(**kwargs))
    assert "FAIL check_style_transfer" in capsys.readouterr().out


def test_check_style_transfer_rejects_non_callable_and_bad_returns():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_style_transfer(None)
    with pytest.raises(AssertionError, match="return \\(image, losses\\)"):
        checks.check_style_transfer(lambda model, content, style, **kw: content.clone() + 0.1)

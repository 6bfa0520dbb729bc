"""Tests for vizlib.style: Gram matrices, losses, and the three optimisations.

Gram matrices and losses are checked against NumPy loops written separately;
the optimisations against their own loss histories (they must fall) and for
side effects on the caller's model and tensors.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import vizlib
from vizlib import style as S
from vizlib.activations import get_activations
from vizlib.hooks import hook_count

LAYERS = ["features.relu1", "features.relu2", "features.relu3"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return vizlib.load_model("course", weights=None, device="cpu")


@pytest.fixture(scope="module")
def images():
    gen = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, 32, 32, generator=gen)


def test_gram_matrix_matches_numpy_loops():
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    arr = f.numpy()
    expected = np.zeros((2, 3, 3))
    for n in range(2):
        for i in range(3):
            for j in range(3):
                expected[n, i, j] = sum(arr[n, i, y, x] * arr[n, j, y, x] for y in range(4) for x in range(5)) / 20
    np.testing.assert_allclose(S.gram_matrix(f).numpy(), expected, rtol=1e-12)


def test_gram_matrix_of_constant_maps_is_literal():
    f = torch.ones(1, 2, 3, 3)
    f[0, 1] = 2.0
    torch.testing.assert_close(S.gram_matrix(f), torch.tensor([[[1.0, 2.0], [2.0, 4.0]]]))


@pytest.mark.parametrize("features, error, fragment", [
    (torch.ones(2, 3, 3), ValueError, "\\(N, C, H, W\\)"),
    (torch.ones(1, 2, 3, 3, dtype=torch.int64), ValueError, "floating point"),
    (np.ones((1, 2, 3, 3)), TypeError, "torch.Tensor"),
    (torch.ones(0, 2, 3, 3), ValueError, "at least one"),
])
def test_gram_matrix_rejects_bad_input(features, error, fragment):
    with pytest.raises(error, match=fragment):
        S.gram_matrix(features)


def test_style_loss_of_image_against_itself_is_zero(model, images):
    acts = get_activations(model, vizlib.normalize(images), LAYERS)
    assert S.style_loss(acts, acts).item() == 0.0
    assert S.content_loss(acts[LAYERS[0]], acts[LAYERS[0]]).item() == 0.0


def test_style_loss_matches_independent_formula():
    gen = torch.Generator().manual_seed(2)
    feats = {"a": torch.randn(1, 2, 3, 3, generator=gen, dtype=torch.float64),
             "b": torch.randn(1, 4, 2, 2, generator=gen, dtype=torch.float64)}
    targets = {"a": torch.randn(1, 2, 5, 5, generator=gen, dtype=torch.float64),
               "b": torch.randn(1, 4, 3, 1, generator=gen, dtype=torch.float64)}

    def gram(t):
        m = t[0].reshape(t.shape[1], -1).numpy()
        return np.einsum("ik,jk->ij", m, m) / m.shape[1]

    expected = 0.0
    for name, w in (("a", 0.3), ("b", 0.7)):
        g, a = gram(feats[name]), gram(targets[name])
        expected += w * np.sum((g - a) ** 2) / np.sum(a ** 2)
    got = S.style_loss(feats, targets, {"a": 0.3, "b": 0.7}).item()
    assert got == pytest.approx(expected, rel=1e-10)


def test_style_loss_is_blind_to_spatial_permutation():
    gen = torch.Generator().manual_seed(4)
    f = torch.randn(1, 3, 4, 4, generator=gen, dtype=torch.float64)
    shuffled = f.flatten(2)[:, :, torch.randperm(16, generator=gen)].reshape(1, 3, 4, 4)
    assert S.style_loss({"x": shuffled}, {"x": f}).item() < 1e-20
    assert S.content_loss(shuffled, f).item() > 0.1


def _falls(history, n=10):
    return history[n] < 0.9 * history[0]


def test_reconstruct_loss_falls_and_model_untouched(model, images):
    model.train()
    params = [p.detach().clone() for p in model.parameters()]
    target = images[:1].clone()
    res = S.reconstruct(model, "features.relu2", target, steps=12, progress=False)
    assert res.image.shape == (1, 3, 32, 32) and 0 <= res.image.min() and res.image.max() <= 1
    assert len(res.history["content"]) == 12 and _falls(res.history["content"])
    assert model.training and all(p.requires_grad for p in model.parameters())
    assert all(torch.equal(p, q) for p, q in zip(params, model.parameters()))
    assert torch.equal(target, images[:1]) and hook_count(model) == 0
    model.eval()


def test_transfer_and_texture_losses_fall(model, images):
    content, style = images[:1], images[1:]
    res = S.transfer(model, content, style, content_layer="features.relu3", style_layers=LAYERS,
                     steps=12, style_weight=10.0, init="noise", progress=False)
    assert _falls(res.history["total"]) and _falls(res.history["style"])
    np.testing.assert_allclose(res.history["total"], res.history["content"] + 10.0 * res.history["style"],
                               rtol=1e-5)
    tex = S.texture(model, style, style_layers={"features.relu1": 1.0, "features.relu2": 2.0}, size=(24, 40),
                    steps=12, progress=False)
    assert tex.image.shape == (1, 3, 24, 40) and _falls(tex.history["style"])


def test_transfer_restores_model_when_preprocess_raises(model, images):
    calls = []

    def broken(x):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("boom")
        return x

    flags = [p.requires_grad for p in model.parameters()]
    with pytest.raises(RuntimeError, match="boom"):
        S.transfer(model, images[:1], images[1:], content_layer="features.relu2", style_layers=LAYERS,
                   steps=5, preprocess=broken, progress=False)
    assert hook_count(model) == 0 and not model.training
    assert [p.requires_grad for p in model.parameters()] == flags


@pytest.mark.parametrize("kwargs, error, fragment", [
    (dict(steps=0), ValueError, "steps"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(init="zeros"), ValueError, "init"),
    (dict(preprocess=3), TypeError, "preprocess"),
    (dict(preprocess="resnet7"), ValueError, "name must be one of"),
])
def test_reconstruct_rejects_bad_options(model, images, kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        S.reconstruct(model, "features.relu1", images[:1], progress=False, **kwargs)


@pytest.mark.parametrize("image, fragment", [
    (torch.rand(3, 32, 32), "batch dimension"),
    (torch.rand(1, 1, 32, 32), "\\(N, 3, H, W\\)"),
    (torch.rand(1, 4, 32, 32), "\\(N, 3, H, W\\)"),
    (torch.randint(0, 255, (1, 3, 32, 32), dtype=torch.uint8), "floating point"),
    (torch.rand(1, 3, 32, 32) * 255, "\\[0, 1\\]"),
    (torch.full((1, 3, 32, 32), float("inf")), "finite"),
    (torch.zeros(0, 3, 32, 32), "empty"),
])
def test_transfer_rejects_bad_images(model, images, image, fragment):
    error = ValueError if image.is_floating_point() else TypeError  # a wrong dtype is a wrong type
    with pytest.raises(error, match=fragment):
        S.transfer(model, image, images[:1], content_layer="features.relu2", style_layers=LAYERS,
                   steps=1, progress=False)


def test_transfer_rejects_unknown_layers(model, images):
    with pytest.raises(ValueError, match="does not exist"):
        S.transfer(model, images[:1], images[1:], content_layer="features.relu9", style_layers=LAYERS, steps=1)
    with pytest.raises(ValueError, match="weights must be"):
        S.transfer(model, images[:1], images[1:], content_layer="features.relu2",
                   style_layers={"features.relu1": -1.0}, steps=1)


def test_brushstrokes_is_deterministic_and_in_range():
    a, b = S.brushstrokes(32, seed=5), S.brushstrokes(32, seed=5)
    assert a.shape == (3, 32, 32) and torch.equal(a, b)
    assert 0 <= a.min() and a.max() <= 1 and not torch.equal(a, S.brushstrokes(32, seed=6))

"""One rule for bad arguments (issue 17): a wrong type is a TypeError, a wrong value or shape a
ValueError, and the message names the argument, what was expected and what came. The same bad
input gets the same error from every module; before ``vizlib._validate`` a uint8 image was a
TypeError in attribution but a ValueError in activations and models, batch_size=2.5 a TypeError in
occlusion but a ValueError in deletion_curve, and target=[1, 2] was accepted by attribution but
rejected by metrics."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import vizlib
import vizlib.plotting
from vizlib import _validate, activations, attribution, metrics, style

MODEL = vizlib.load_model("course", device="cpu")
X01 = vizlib.toy_world(2, seed=3)[0]
X = vizlib.normalize(X01, "course")
U8 = (X01 * 255).to(torch.uint8)
MAPS = torch.rand(2, 64, 64, generator=torch.Generator().manual_seed(0))


# --------------------------------------------------------------------------- the helpers
@pytest.mark.parametrize("value, exc, fragment", [
    (2.5, TypeError, r"n must be an int >= 1; got 2\.5"),
    (True, TypeError, "n must be an int >= 1; got True"),
    ("3", TypeError, "n must be an int >= 1; got '3'"),
    (0, ValueError, "n must be >= 1; got 0"),
])
def test_integer_rejects(value, exc, fragment):
    with pytest.raises(exc, match=fragment):
        _validate.integer(value, "n", minimum=1)


def test_integer_accepts_numpy_ints_and_returns_python_ints():
    got = _validate.integer(np.int64(4), "n", minimum=1)
    assert got == 4 and type(got) is int


@pytest.mark.parametrize("value, exc", [(float("nan"), ValueError), (-1.0, ValueError), ("a", TypeError),
                                        (None, TypeError), (False, TypeError)])
def test_real_rejects(value, exc):
    with pytest.raises(exc, match="sigma must be"):
        _validate.real(value, "sigma", positive=True)


@pytest.mark.parametrize("target, n, expected", [
    (3, 2, [3, 3]),
    ([1, 2], 2, [1, 2]),
    ((0, 5), 2, [0, 5]),
    (torch.tensor(4), 3, [4, 4, 4]),
    (torch.tensor([1, 0], dtype=torch.int32), 2, [1, 0]),
    (np.int16(2), 1, [2]),
])
def test_targets_accepts_every_documented_form(target, n, expected):
    got = _validate.targets(target, n)
    assert got.dtype == torch.int64 and got.tolist() == expected


@pytest.mark.parametrize("target, exc, fragment", [
    ("cat", TypeError, "target must be an int or an"),
    (True, TypeError, "target must be"),
    ([1, 2.0], TypeError, r"target must be .*\['float'\]"),
    (torch.tensor([1.0, 2.0]), TypeError, "integer class indices"),
    (torch.tensor([1, 2, 3]), ValueError, r"shape \(2,\)"),
    ([1, 2, 3], ValueError, r"shape \(2,\)"),
])
def test_targets_rejects(target, exc, fragment):
    with pytest.raises(exc, match=fragment):
        _validate.targets(target, 2)


def test_image_batch_reports_what_came():
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor of shape \(N, C, H, W\); got ndarray"):
        _validate.image_batch(np.zeros((1, 3, 4, 4)), "x")
    with pytest.raises(ValueError, match=r"got \(3, 4, 4\) \(a single image\?"):
        _validate.image_batch(torch.zeros(3, 4, 4), "x")
    with pytest.raises(ValueError, match="3 channels like the model's first convolution"):
        _validate.image_batch(torch.zeros(1, 1, 64, 64), "x", model=MODEL)


# --------------------------------------------------------------------------- one rule everywhere
UINT8_CALLS = {
    "normalize": lambda: vizlib.normalize(U8, "course"),
    "attribution.gradient": lambda: attribution.gradient(MODEL, U8, 1),
    "attribution.occlusion": lambda: attribution.occlusion(MODEL, U8, 1, progress=False),
    "activations.get_activations": lambda: activations.get_activations(MODEL, U8, "features.conv1"),
    "activations.top_activations": lambda: activations.top_activations(MODEL, U8, "features.conv1",
                                                                       progress=False),
    "metrics.deletion_curve": lambda: metrics.deletion_curve(MODEL, U8, 1, MAPS, progress=False),
    "style.reconstruct": lambda: style.reconstruct(MODEL, "features.conv1", U8[:1], steps=1, progress=False),
}


@pytest.mark.parametrize("name", UINT8_CALLS)
def test_a_uint8_image_is_a_type_error_everywhere(name):
    with pytest.raises(TypeError, match=r"must be a floating-point tensor .*got dtype torch\.uint8.*divide by 255"):
        UINT8_CALLS[name]()


BATCH_CALLS = {
    "attribution.occlusion": lambda b: attribution.occlusion(MODEL, X, 1, batch_size=b, progress=False),
    "metrics.deletion_curve": lambda b: metrics.deletion_curve(MODEL, X, 1, MAPS, batch_size=b, progress=False),
    "metrics.insertion_curve": lambda b: metrics.insertion_curve(MODEL, X, 1, MAPS, batch_size=b, progress=False),
    "activations.top_activations": lambda b: activations.top_activations(MODEL, X, "features.conv1",
                                                                         batch_size=b, progress=False),
}


@pytest.mark.parametrize("name", BATCH_CALLS)
def test_a_fractional_batch_size_is_a_type_error_and_zero_a_value_error_everywhere(name):
    with pytest.raises(TypeError, match=r"batch_size must be .*int.*; got 2\.5"):
        BATCH_CALLS[name](2.5)
    with pytest.raises(ValueError, match="batch_size must be .*; got 0"):
        BATCH_CALLS[name](0)


def test_a_list_of_targets_means_the_same_as_a_tensor_everywhere():
    as_list, as_tensor = [1, 6], torch.tensor([1, 6])
    torch.testing.assert_close(attribution.gradient(MODEL, X, as_list), attribution.gradient(MODEL, X, as_tensor))
    a, area_a = metrics.deletion_curve(MODEL, X, as_list, MAPS, n_steps=4, progress=False)
    b, area_b = metrics.deletion_curve(MODEL, X, as_tensor, MAPS, n_steps=4, progress=False)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(area_a, area_b)
    # and the probabilities are those of the listed classes: the first point is the unchanged image
    with torch.no_grad():
        p = MODEL(X).softmax(1)
    torch.testing.assert_close(a[:, 0].float(), p[[0, 1], [1, 6]].float())


def test_a_string_target_is_a_type_error_everywhere():
    for call in (lambda: attribution.saliency(MODEL, X, "cat"),
                 lambda: metrics.deletion_curve(MODEL, X, "cat", MAPS, progress=False)):
        with pytest.raises(TypeError, match="target must be an int or an"):
            call()


NUMBER_CALLS = {
    "synthesis.class_model lr": lambda v: vizlib.synthesis.class_model(MODEL, 1, steps=1, lr=v, progress=False),
    "style.reconstruct lr": lambda v: style.reconstruct(MODEL, "features.conv1", X01[:1], steps=1, lr=v,
                                                        progress=False),
    "synthesis.class_model norm_clip": lambda v: vizlib.synthesis.class_model(
        MODEL, 1, steps=1, norm_clip=v, progress=False),
    # these were ValueErrors for a wrong type, or private checks with their own wording, before
    # their modules' checks moved into vizlib._validate
    "filters.gabor_kernel sigma": lambda v: vizlib.filters.gabor_kernel(7, sigma=v, theta=0, wavelength=4),
    "vision.SimpleCell theta": lambda v: vizlib.vision.SimpleCell(16, theta=v),
    "segmentation.graph_cut resolution": lambda v: vizlib.segmentation.graph_cut(
        np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 1)), np.zeros((0, 2)), resolution=v),
    "segmentation.threshold_segmentation quantile": lambda v: vizlib.segmentation.threshold_segmentation(
        MAPS[0].numpy(), v),
    "style.transfer layer weight": lambda v: style.transfer(
        MODEL, X01[:1], X01[1:], content_layer="features.relu2", style_layers={"features.relu1": v}, steps=1,
        progress=False),
    "plotting.show_map vmax": lambda v: vizlib.plotting.show_map(MAPS[0], vmax=v),
}


@pytest.mark.parametrize("name", NUMBER_CALLS)
def test_a_string_number_is_a_type_error_and_nan_a_value_error_everywhere(name):
    with pytest.raises(TypeError, match="must be"):
        NUMBER_CALLS[name]("0.1")
    with pytest.raises(ValueError, match="must be"):
        NUMBER_CALLS[name](float("nan"))


def test_wrong_dtypes_in_segmentation_are_type_errors():
    from vizlib import segmentation

    image = X01[0].numpy()
    with pytest.raises(TypeError, match="saliency_map must hold real numbers"):
        segmentation.saliency_segmentation(np.zeros((64, 64), dtype=object), image)
    with pytest.raises(TypeError, match="image must be floating point"):
        segmentation.saliency_segmentation(MAPS[0].numpy(), (image * 255).astype(np.uint8))


@pytest.mark.parametrize("name, make", [
    ("vision.SimpleCell stimuli", lambda: vizlib.vision.SimpleCell(16)(np.zeros((16, 16)))),
    ("filters.fit_filters n_surrogates", lambda: vizlib.filters.fit_filters(
        torch.zeros(1, 3, 5, 5), n_surrogates=2.5)),
    ("data.toy_world n", lambda: vizlib.toy_world(2.0)),
    ("segmentation.seed_masks map", lambda: vizlib.segmentation.seed_masks([[0.0, 1.0]])),
])
def test_a_wrong_type_is_a_type_error_in_every_module(name, make):
    with pytest.raises(TypeError, match="must be"):
        make()


@pytest.mark.parametrize("call, fragment", [
    (lambda: vizlib.toy_world(2, seed=-1), "seed must be >= 0; got -1"),
    (lambda: vizlib.filters.fit_filters(torch.zeros(1, 3, 5, 5), n_surrogates=-1), "n_surrogates must be >= 0"),
    (lambda: vizlib.segmentation.threshold_segmentation(MAPS[0].numpy(), 1.5),
     "quantile must be strictly between 0 and 1; got 1.5"),
])
def test_a_bad_value_names_the_argument_and_the_bound(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()

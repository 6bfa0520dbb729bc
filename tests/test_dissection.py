"""Tests of vizlib.dissection: concepts derived exactly, dissection against hand-built detectors,
a brute-force implementation and the trained-versus-random control, bad input, side effects.

Every expected value is computed here without the code under test: hand-drawn masks, closed
forms, or a brute-force dissection (``F.interpolate`` on float64 maps, a sort for the threshold,
dense masks for the IoU).
"""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vizlib
from tests.helpers import assert_unchanged, snapshot
from vizlib import dissection as D
from vizlib.models import CourseNet

LAYERS = [f"features.relu{i}" for i in range(1, 5)]


@pytest.fixture(scope="module")
def world():
    images, labels, masks = vizlib.toy_world(16, seed=4)
    return images, labels, masks, D.concepts(images, labels, masks)


@pytest.fixture(scope="module")
def course():
    return vizlib.load_model("course", device="cpu")


class Detector(nn.Module):
    """1x1 identity convolution, ReLU, 2x2 max-pool: unit k copies input channel k."""

    def __init__(self, channels=3):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(channels)[:, :, None, None])
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.relu(self.conv(x)))


def frame_mask(h, w, width=4):
    m = torch.ones(h, w, dtype=torch.bool)
    m[width:h - width, width:w - width] = False
    return m


# ----------------------------------------------------------------------------- concepts
def synthetic():
    """Three 16x16 images: grey 0.5 on the left, 0.1 on the right (an edge between columns 7
    and 8), a 6x6 square object at rows/cols 5..10 in pure red, dark blue and yellow."""
    images = torch.full((3, 3, 16, 16), 0.5)
    images[:, :, :, 8:] = 0.1
    masks = torch.zeros(3, 16, 16, dtype=torch.bool)
    masks[:, 5:11, 5:11] = True
    for i, rgb in enumerate([(1.0, 0.0, 0.0), (0.0, 0.0, 0.2), (1.0, 1.0, 0.0)]):
        images[i][:, masks[i]] = torch.tensor(rgb)[:, None]
    return images, torch.tensor([0, 1, 2]), masks


def test_concepts_of_toy_world_are_at_least_31_with_unique_names(world):
    *_, c = world
    assert len(c.names) >= 31 and len(set(c.names)) == len(c.names)
    assert len(c.kinds) == len(c.names)
    assert sum(k == "shape" for k in c.kinds) == 8 and sum(k == "shape boundary" for k in c.kinds) == 8
    assert {"object", "background", "boundary", "object inside", "frame", "dark object"} <= set(c.names)


def test_concepts_store_few_base_masks_as_bits(world):
    images, *_, c = world
    assert c.packed.dtype == torch.int16 and c.packed.shape == (16, 64, 64)
    assert c.selector.shape == (16, len(c.names))
    assert c.packed.element_size() * c.packed.numel() < 0.1 * len(c.names) * c.packed.numel()


def test_concepts_object_shape_and_frame_match_the_annotations(world):
    images, labels, masks, c = world
    assert torch.equal(c.mask("object"), masks)
    assert torch.equal(c.mask("background"), ~masks)
    for i, name in enumerate(vizlib.TOY_CLASSES):
        assert torch.equal(c.mask(name), masks & (labels == i)[:, None, None])
    assert torch.equal(c.mask("frame"), frame_mask(64, 64).expand(16, 64, 64))
    assert torch.equal(c.sizes, torch.stack([c.mask(k).sum() for k in range(len(c.names))]))


def test_concepts_of_hand_drawn_images_match_hand_drawn_masks():
    images, labels, masks = synthetic()
    c = D.concepts(images, labels, masks)
    band = torch.zeros(16, 16, dtype=torch.bool)
    band[4:12, 4:12] = True
    band[7:9, 7:9] = False                         # the outline ring dilated by one pixel
    inside = torch.zeros(16, 16, dtype=torch.bool)
    inside[7:9, 7:9] = True
    edges = torch.zeros(16, 16, dtype=torch.bool)
    edges[:, 7:9] = True
    edges[4:12] = False                            # the background's edge, outside the band
    centre = torch.zeros(16, 16, dtype=torch.bool)
    centre[6:10, 6:10] = True
    for i in range(3):
        assert torch.equal(c.mask("boundary")[i], band)
        assert torch.equal(c.mask("object inside")[i], inside)
        assert torch.equal(c.mask("leaf edges")[i], edges)
        assert torch.equal(c.mask("centre")[i], centre)
        assert torch.equal(c.mask("frame")[i], frame_mask(16, 16))
        dark = (~masks[i] & (torch.arange(16) >= 8)) | (masks[i] & (i == 1))  # dark blue: 0.023
        assert torch.equal(c.mask("dark region")[i], dark)
    present = lambda name: c.mask(name).flatten(1).any(1).tolist()  # noqa: E731
    assert present("red object") == [True, False, False]
    assert present("dark object") == [False, True, False]     # dark blue: not "blue object"
    assert present("yellow object") == [False, False, True]
    assert present("blue object") == [False, False, False]
    assert present("circle") == [True, False, False] and present("square boundary") == [False, True, False]
    assert torch.equal(c.mask("light region")[2], masks[2])    # yellow: luminance 0.886
    assert not c.mask("light region")[:2].any()


def test_concepts_permuted_reorders_images(world):
    *_, c = world
    order = torch.arange(16).roll(5)
    p = c.permuted(order)
    assert torch.equal(p.mask("circle"), c.mask("circle")[order])
    with pytest.raises(ValueError, match="order"):
        c.permuted(torch.zeros(16, dtype=torch.long))


# ----------------------------------------------------------------------------- hand-built units
def test_unit_that_copies_a_concept_gets_iou_one_for_it(world):
    images, labels, masks, c = world
    assert (labels == 2).any()
    x = torch.stack([masks.float(), (masks & (labels == 2)[:, None, None]).float(),
                     frame_mask(64, 64).float().expand(16, 64, 64)], 1)
    model = Detector()
    # quantile 0.3 > the share of nonzero values of each unit, so T = 0 and the mask is x > 0
    d = D.dissect(model, "relu", x, c, quantile=0.3)
    assert d.label == ("object", "triangle", "frame")
    assert d.best_iou.tolist() == [1.0, 1.0, 1.0]
    assert d.thresholds.tolist() == [0.0, 0.0, 0.0]
    assert d[1].ious["object"] == pytest.approx((masks & (labels == 2)[:, None, None]).sum().item()
                                                / masks.sum().item())


def test_pooled_block_detector_gets_the_hand_computed_iou():
    """A 16x16 block at rows/cols 16..31 pooled to cells 8..15 of 32 and upsampled bilinearly
    back: nonzero on rows/cols 15..32 (one pixel more on each side), so the IoU with the block
    is 16^2 / 18^2."""
    images = torch.full((4, 3, 64, 64), 0.5)
    masks = torch.zeros(4, 64, 64, dtype=torch.bool)
    masks[:, 16:32, 16:32] = True
    images[:, 0][masks] = 1.0
    c = D.concepts(images, torch.zeros(4, dtype=torch.long), masks)
    x = torch.cat([masks[:, None].float(), torch.zeros(4, 2, 64, 64)], 1)
    d = D.dissect(Detector(), "pool", x, c, quantile=0.2)
    assert d.iou[0, c.index("object")].item() == pytest.approx(16**2 / 18**2, abs=1e-12)
    assert d[0].label == "object" and d.iou[1:].abs().max() == 0


def test_null_scores_each_image_against_another_images_concepts(world):
    images, labels, masks, c = world
    x = torch.stack([masks.float(), torch.zeros_like(masks, dtype=torch.float),
                     torch.zeros_like(masks, dtype=torch.float)], 1)
    d = D.dissect(Detector(), "relu", x, c, quantile=0.3, null=True, seed=4)
    order = d.null_order
    assert sorted(order.tolist()) == list(range(16)) and (order != torch.arange(16)).all()
    other = masks[order]
    expected = (masks & other).sum().item() / (masks | other).sum().item()
    assert d.null_iou[0, c.index("object")].item() == pytest.approx(expected, abs=1e-12)
    assert d.iou[0, c.index("object")] == 1.0 and expected < 0.9
    cuts = D.null_cuts(d)
    assert cuts == {"relu": pytest.approx(d.null_iou.amax().item())}


# ----------------------------------------------------------------------------- brute force
def brute_force(model, layer, x, c, quantile, order=None):
    """(U, K) IoU: threshold from a sort, F.interpolate in float64, dense masks."""
    acts = vizlib.activations.get_activations(model, x, layer)[layer].double()
    n, u, h, w = acts.shape
    k = math.ceil(quantile * n * h * w)
    t = acts.transpose(0, 1).reshape(u, -1).sort(1, descending=True).values[:, k - 1]
    up = F.interpolate(acts, size=c.shape[1:], mode="bilinear", align_corners=False)
    # F.interpolate rounds (1 - l) v + l v to v + 1 ulp where both neighbours are the same raw
    # value (the clamped border); those pixels equal T exactly and are not above it
    m = (up > (t + 1e-9 * t.abs())[None, :, None, None]).double()
    concepts = torch.stack([c.mask(i) for i in range(len(c.names))]).double()
    if order is not None:
        concepts = concepts[:, order]
    inter = torch.einsum("nuhw,knhw->uk", m, concepts)
    union = m.sum((0, 2, 3))[:, None] + concepts.sum((1, 2, 3))[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter)), t


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_dissect_matches_brute_force_on_every_course_layer(world, course, dtype):
    images, labels, masks, c = world
    model = copy.deepcopy(course).to(dtype)
    x = vizlib.normalize(images).to(dtype)
    d = D.dissect(model, LAYERS, x, c, quantile=0.01, batch_size=16, null=True)
    for layer in LAYERS:
        part = d.select(layer)
        ref, t = brute_force(model, layer, x, c, 0.01)
        ref_null, _ = brute_force(model, layer, x, c, 0.01, order=d.null_order)
        assert torch.equal(part.thresholds, t)
        assert torch.allclose(part.iou, ref, rtol=0, atol=1e-12), layer
        assert torch.allclose(part.null_iou, ref_null, rtol=0, atol=1e-12), layer
    assert (d.best_iou > 0).sum() > 100


class Counted(nn.Module):
    """Wraps a model and counts the images it is run on."""

    def __init__(self, model):
        super().__init__()
        self.model, self.images = model, 0

    def forward(self, x):
        self.images += len(x)
        return self.model(x)


def test_batch_size_and_cache_do_not_change_the_result(world, course):
    images, labels, masks, c = world
    model = Counted(copy.deepcopy(course).double())
    x = vizlib.normalize(images).double()
    layers = [f"model.{name}" for name in LAYERS]
    ref = D.dissect(model, layers, x, c, quantile=0.01)
    assert model.images == 16                       # everything cached: one pass
    runs = {}
    for cache_mb in (256, 3, 0):
        model.images = 0
        d = D.dissect(model, layers, x, c, quantile=0.01, batch_size=5, cache_mb=cache_mb)
        runs[cache_mb] = model.images
        assert torch.allclose(d.iou, ref.iou, rtol=0, atol=1e-12), cache_mb
        assert torch.equal(d.thresholds, ref.thresholds)
    assert runs[256] == 16 and 16 < runs[3] < 32 and runs[0] == 32, runs


# ----------------------------------------------------------------------------- trained vs random
def test_trained_course_model_has_many_more_shape_units_than_random_init():
    images, labels, masks = vizlib.toy_world(200, seed=7)
    c, x = D.concepts(images, labels, masks), vizlib.normalize(images)
    torch.manual_seed(0)
    random_init = CourseNet(conv1_kernel=11).eval()
    counts = []
    for model in (vizlib.load_model("course", device="cpu"), random_init):
        d = D.dissect(model, "features.relu3", x, c)
        counts.append(sum(i > D.CUT and k in D.SHAPE_KINDS for i, k in zip(d.best_iou.tolist(), d.label_kind)))
    trained, random = counts
    assert trained >= 30 and random <= 3, counts


# ----------------------------------------------------------------------------- records and summaries
def test_records_and_summary_agree_with_the_iou_table(world, course):
    images, labels, masks, c = world
    d = D.dissect(course, ["features.relu3", "features.relu4"], vizlib.normalize(images), c)
    assert len(d) == 256 and d.layers[0] == "features.relu3" and d.layers[-1] == "features.relu4"
    unit = d[130]
    order = d.iou[130].argsort(descending=True, stable=True).tolist()
    assert (unit.layer, unit.channel) == ("features.relu4", 2)
    assert unit.label == c.names[order[0]] and unit.runner_up == c.names[order[1]]
    assert unit.iou == d.iou[130].max().item() and unit.runner_up_iou == d.iou[130, order[1]].item()
    assert unit.ious == dict(zip(c.names, d.iou[130].tolist()))
    assert len(list(d)) == len(d.rows()) == 256
    for s in D.summarise(d, cut=0.02):
        part = d.iou[[i for i, name in enumerate(d.layers) if name == s.layer]]
        hit = part.amax(1) > 0.02
        labels_hit = {c.names[k] for k in part.argmax(1)[hit].tolist()}
        assert (s.units, s.interpretable, s.distinct) == (128, int(hit.sum()), len(labels_hit))
        assert sum(s.counts.values()) == sum(s.kinds.values()) == s.interpretable
    assert [s.cut for s in D.summarise(d, cut={"features.relu3": 0.1, "features.relu4": 0.2})] == [0.1, 0.2]


# ----------------------------------------------------------------------------- side effects
def test_model_comes_back_unchanged_and_result_same_under_no_grad(world, course):
    images, labels, masks, c = world
    model = copy.deepcopy(course).train()
    model.features.conv2.weight.requires_grad_(False)
    x = vizlib.normalize(images)
    before = snapshot(model, x)
    d = D.dissect(model, LAYERS, x, c, batch_size=10)
    assert_unchanged(model, before, x)
    with torch.no_grad():
        d2 = D.dissect(model, LAYERS, x, c, batch_size=10)
    with torch.inference_mode():
        d3 = D.dissect(model, LAYERS, x, c, batch_size=10)
    assert torch.equal(d.iou, d2.iou) and torch.equal(d.iou, d3.iou)
    assert_unchanged(model, before, x)


def test_model_comes_back_unchanged_when_dissect_raises(world, course):
    images, labels, masks, c = world
    model = copy.deepcopy(course).train()
    x = vizlib.normalize(images)
    before = snapshot(model, x)
    with pytest.raises(ValueError, match="classifier.fc"):
        D.dissect(model, ["features.relu2", "classifier.fc"], x, c)   # (N, 8): no feature maps
    assert_unchanged(model, before, x)


# ----------------------------------------------------------------------------- bad input
def test_concepts_bad_input_raises_naming_the_argument(world):
    images, labels, masks, _ = world
    with pytest.raises(TypeError, match="masks"):
        D.concepts(images, labels, masks.float())
    with pytest.raises(ValueError, match="masks"):
        D.concepts(images, labels, masks[:, :32])
    with pytest.raises(ValueError, match="masks"):
        D.concepts(images, labels, masks[:10])
    with pytest.raises(ValueError, match="labels"):
        D.concepts(images, labels[:10], masks)
    with pytest.raises(ValueError, match="labels"):
        D.concepts(images, labels + 8, masks)
    with pytest.raises(TypeError, match="labels"):
        D.concepts(images, labels.float(), masks)
    with pytest.raises(ValueError, match=r"images must be in \[0, 1\]"):
        D.concepts(vizlib.normalize(images), labels, masks)
    with pytest.raises(ValueError, match="images"):
        D.concepts(images[0], labels, masks)


def test_dissect_bad_input_raises_naming_the_argument(world, course):
    images, labels, masks, c = world
    x = vizlib.normalize(images)
    with pytest.raises(ValueError, match="layer 'features.nope'"):
        D.dissect(course, "features.nope", x, c)
    for q in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="quantile"):
            D.dissect(course, "features.relu1", x, c, quantile=q)
    with pytest.raises(TypeError, match="quantile"):
        D.dissect(course, "features.relu1", x, c, quantile="0.005")
    with pytest.raises(ValueError, match="images and concepts"):
        D.dissect(course, "features.relu1", x[:10], c)
    with pytest.raises(ValueError, match="images"):
        D.dissect(course, "features.relu1", F.interpolate(x, size=32), c)
    with pytest.raises(TypeError, match="model"):
        D.dissect(lambda t: t, "features.relu1", x, c)
    with pytest.raises(TypeError, match="concepts"):
        D.dissect(course, "features.relu1", x, masks)
    with pytest.raises(TypeError, match="images"):
        D.dissect(course, "features.relu1", (x * 255).to(torch.uint8), c)
    with pytest.raises(TypeError, match="batch_size"):
        D.dissect(course, "features.relu1", x, c, batch_size=2.5)
    with pytest.raises(ValueError, match="null_iou"):
        D.null_cuts(D.dissect(course, "features.relu4", x, c))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_dissect_runs_on_the_models_gpu_and_matches_the_cpu(world, course):
    images, labels, masks, c = world
    model = copy.deepcopy(course).double()
    x = vizlib.normalize(images).double()
    cpu = D.dissect(model, LAYERS, x, c, quantile=0.01, null=True)
    gpu = D.dissect(model.cuda(), LAYERS, x, c, quantile=0.01, null=True)     # x stays on the CPU
    assert gpu.iou.device.type == "cpu"
    assert torch.allclose(gpu.iou, cpu.iou, rtol=0, atol=1e-9)
    assert torch.allclose(gpu.null_iou, cpu.null_iou, rtol=0, atol=1e-9)

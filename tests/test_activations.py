"""Tests for vizlib.activations: capture, get_activations, receptive fields, top patches.

Expected values come from hand-weighted nets, literals from the literature
(AlexNet, VGG16, ResNet-18 receptive fields) or a second computation (the
support of an input gradient through an all-linear net).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import vizlib
from vizlib import activations as A
from vizlib.hooks import hook_count


@pytest.fixture(scope="module")
def course():
    torch.manual_seed(0)
    return vizlib.load_model("course", weights=None, device="cpu")


@pytest.fixture(scope="module")
def zoo(course):
    torch.manual_seed(0)
    return {
        "course": (course, ["features.conv1", "features.relu2", "features.pool4"], 64),
        "resnet18": (torchvision.models.resnet18(weights=None).eval(), ["layer1.0.conv1", "layer2", "fc"], 64),
        "vgg11": (torchvision.models.vgg11(weights=None).eval(), ["features.0", "features.1", "classifier.0"], 32),
    }


# ----------------------------------------------------------------------------- capture
def test_capture_conv_before_inplace_relu_keeps_negative_values():
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[0.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 0.0]]]]))
    net = nn.Sequential(conv, nn.ReLU(inplace=True))
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    with A.capture(net, ["0", "1"]) as acts:
        out = net(x)
    assert torch.equal(acts["0"], -x)                 # the in-place ReLU did not zero the stored copy
    assert torch.equal(acts["1"], torch.zeros_like(x))
    assert torch.equal(out, torch.zeros_like(x))


def test_capture_accepts_modules_and_names_them(course):
    x = torch.rand(2, 3, 64, 64)
    with A.capture(course, [course.features.conv1, "features.relu1"]) as acts:
        course(x)
    assert list(acts) == ["features.conv1", "features.relu1"]
    expected = F.conv2d(x, course.features.conv1.weight, course.features.conv1.bias, stride=2, padding=5)  # conv1: 11x11, padding 5
    torch.testing.assert_close(acts["features.conv1"], expected)
    torch.testing.assert_close(acts["features.relu1"], expected.clamp_min(0))


def test_capture_overwrites_on_each_forward(course):
    a, b = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    with A.capture(course, "features.conv1") as acts:
        course(a)
        course(b)
    w, bias = course.features.conv1.weight, course.features.conv1.bias
    torch.testing.assert_close(acts["features.conv1"], F.conv2d(b, w, bias, stride=2, padding=5))


def test_capture_shared_module_keeps_first_call(zoo):
    model = zoo["resnet18"][0]
    x = torch.rand(1, 3, 64, 64)
    with A.capture(model, "layer1.0.relu") as acts, torch.no_grad():
        model(x)
    with torch.no_grad():
        stem = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        first = torch.relu(model.layer1[0].bn1(model.layer1[0].conv1(stem)))
    torch.testing.assert_close(acts["layer1.0.relu"], first)


@pytest.mark.parametrize("name", ["course", "resnet18", "vgg11"])
def test_capture_leaves_no_hooks_after_normal_use(zoo, name):
    model, layers, size = zoo[name]
    before = hook_count(model)
    with A.capture(model, layers) as acts, torch.no_grad():
        assert hook_count(model) > before
        model(torch.rand(1, 3, size, size))
    assert hook_count(model) == before == 0
    assert set(acts) == set(layers)


@pytest.mark.parametrize("name", ["course", "resnet18", "vgg11"])
def test_capture_leaves_no_hooks_after_exception(zoo, name):
    model, layers, size = zoo[name]
    with pytest.raises(RuntimeError):
        with A.capture(model, layers), torch.no_grad():
            model(torch.rand(1, 5, size, size))        # wrong channel count: raises inside forward
    assert hook_count(model) == 0
    with pytest.raises(KeyError):
        with A.capture(model, layers):
            raise KeyError("in the body")
    assert hook_count(model) == 0


@pytest.mark.parametrize("layers, error, fragment", [
    ("features.conv9", ValueError, "does not exist"),
    ([], ValueError, "at least one"),
    (3, TypeError, "layers must be"),
])
def test_capture_rejects_bad_layers(course, layers, error, fragment):
    with pytest.raises(error, match=fragment):
        with A.capture(course, layers):
            pass
    assert hook_count(course) == 0


def test_layer_names_lists_convs_of_course_model(course):
    assert A.layer_names(course, nn.Conv2d) == [f"features.conv{i}" for i in range(1, 5)]
    assert A.layer_names(course)[:3] == ["features.conv1", "features.relu1", "features.pool1"]
    with pytest.raises(TypeError, match="kind"):
        A.layer_names(course, "conv")


# ----------------------------------------------------------------------------- get_activations
class _Boom(nn.Module):
    def forward(self, x):
        raise AssertionError("a layer after the requested one was run")


def test_get_activations_stops_after_deepest_layer_and_restores_mode():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.Dropout(0.9), _Boom())
    net.train()
    x = torch.rand(1, 1, 3, 3)
    acts = A.get_activations(net, x, ["1"])
    torch.testing.assert_close(acts["1"], net[0](x).detach())   # eval mode: dropout is the identity
    assert net.training and net[1].training
    assert hook_count(net) == 0


@pytest.mark.parametrize("x, error, fragment", [
    (torch.rand(3, 64, 64), ValueError, "batch dimension"),
    (torch.zeros(0, 3, 64, 64), ValueError, "empty"),
    (torch.full((1, 3, 64, 64), float("nan")), ValueError, "finite"),
    (torch.zeros(1, 3, 64, 64, dtype=torch.uint8), TypeError, "floating point"),
    ("image", TypeError, "torch.Tensor"),
])
def test_get_activations_rejects_bad_input(course, x, error, fragment):
    with pytest.raises(error, match=fragment):
        A.get_activations(course, x, "features.conv1")


def test_get_activations_rejects_missing_layer(course):
    with pytest.raises(ValueError, match="does not exist"):
        A.get_activations(course, torch.rand(1, 3, 64, 64), "features.nope")


# ----------------------------------------------------------------------------- receptive fields
def test_receptive_field_course_model_by_hand(course):
    # conv1 11x11/2 p5: rf 11, jump 2, start -5; pool 2/2: rf 11+1*2=13, jump 4;
    # each 3x3 p1 conv adds 2 jumps and moves the start back by one jump, each pool adds one jump
    expected = {
        "features.conv1": (11, 2, -5, 32), "features.pool1": (13, 4, -5, 16),
        "features.conv2": (21, 4, -9, 16), "features.conv3": (41, 8, -17, 8),
        "features.conv4": (81, 16, -33, 4), "features.pool4": (97, 32, -33, 2),
        "features": (97, 32, -33, 2), "classifier.fc": (64, 64, 0, 1),
    }
    for layer, rf in expected.items():
        assert tuple(A.receptive_field(course, layer, 64)) == rf, layer


@functools.lru_cache(maxsize=None)
def _torchvision_model(name):
    return torchvision.models.get_model(name, weights=None)


@pytest.mark.parametrize("name, layer, size", [
    ("alexnet", "features.10", 163),   # conv5
    ("alexnet", "features.12", 195),   # pool5
    ("vgg16", "features.28", 196),     # conv5_3
    ("vgg16", "features.30", 212),     # pool5
    ("resnet18", "layer4", 435),
])
def test_receptive_field_matches_published_values(name, layer, size):
    model = _torchvision_model(name)
    assert A.receptive_field(model, layer, 224).size == size


class _Residual(nn.Module):
    """conv3x3 -> (conv3x3 stride 2 dilated  +  1x1 stride-2 shortcut) -> avgpool 3/2 p1: all linear."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 1, 3, padding=1, bias=False)
        self.b = nn.Conv2d(1, 1, 3, stride=2, padding=2, dilation=2, bias=False)
        self.short = nn.Conv2d(1, 1, 1, stride=2, bias=False)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1)
        for conv in (self.a, self.b, self.short):
            nn.init.constant_(conv.weight, 1.0)

    def forward(self, x):
        y = self.a(x)
        return self.pool(self.b(y) + self.short(y))


@pytest.mark.parametrize("layer", ["a", "b", "short", "pool"])
def test_receptive_field_equals_gradient_support(layer):
    model = _Residual()
    size = 41
    rf = A.receptive_field(model, layer, size)
    x = torch.ones(1, 1, size, size, requires_grad=True)
    with A.capture(model, layer, detach=False) as acts:
        model(x)
    out = acts[layer]
    assert out.shape[-1] == rf.feature_size
    i = out.shape[-1] // 2
    out[0, 0, i, i].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    assert rows.min().item() == rf.offset + i * rf.jump
    assert rows.max().item() - rows.min().item() + 1 == rf.size


def test_receptive_field_of_stack_matches_module_walk(course):
    stack = [(11, 2, 5), (2, 2), (3, 1, 1), (2, 2), (3, 1, 1)]
    assert A.receptive_field_of_stack(stack, 64) == A.receptive_field(course, "features.conv3", 64)
    assert A.receptive_field_of_stack([(3, 1, 1), (3, 1, 1), (2, 2)]).size == 6
    assert A.receptive_field_of_stack([(3, 1, 2, 2)]).size == 5
    with pytest.raises(ValueError, match="layers\\[0\\]"):
        A.receptive_field_of_stack([(3,)])


# ----------------------------------------------------------------------------- top activations
def _identity_net(channels=2):
    conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        for c in range(channels):
            conv.weight[c, c, 1, 1] = 1.0
    return nn.Sequential(conv)


def test_top_activations_match_brute_force():
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(7, 2, 5, 6, generator=gen)
    top = A.top_activations(_identity_net(), x, "0", k=3, batch_size=3)
    arr = x.numpy()
    for c in range(2):
        per_image = arr[:, c].reshape(7, -1)
        best = np.argsort(-per_image.max(1), kind="stable")[:3]
        assert top.indices[c].tolist() == best.tolist()
        for j, n in enumerate(best):
            r, col = np.unravel_index(per_image[n].argmax(), (5, 6))
            assert (top.rows[c, j].item(), top.cols[c, j].item()) == (r, col)
            assert top.values[c, j].item() == pytest.approx(per_image[n].max())


def test_top_patches_cut_receptive_field_around_maximum():
    x = torch.zeros(4, 1, 8, 8)
    x[2, 0, 5, 3] = 1.0          # strongest unit of channel 0 in image 2 at (5, 3)
    x[1, 0, 0, 0] = 0.5          # second: a corner, half of its field lies in the padding
    top = A.top_patches(_identity_net(1), x, "0", k=2, fill=-1.0)
    assert top.field == (3, 1, -1, 8)
    assert top.indices[0].tolist() == [2, 1]
    assert top.boxes[0, 0].tolist() == [4, 2, 7, 5]
    torch.testing.assert_close(top.patches[0, 0, 0], x[2, 0, 4:7, 2:5])
    expected_corner = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 0.5, 0.0], [-1.0, 0.0, 0.0]])
    torch.testing.assert_close(top.patches[0, 1, 0], expected_corner)


def test_top_activations_rejects_bad_arguments(course):
    x = torch.rand(4, 3, 64, 64)
    with pytest.raises(ValueError, match="k must be at most"):
        A.top_activations(course, x, "features.conv1", k=5)
    with pytest.raises(ValueError, match="channels"):
        A.top_activations(course, x, "features.conv1", k=2, channels=[32])
    with pytest.raises(ValueError, match="k must be"):
        A.top_activations(course, x, "features.conv1", k=0)

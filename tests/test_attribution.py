"""Tests for vizlib.attribution on tiny hand-weighted nets (expected values written by hand).

The cross-architecture tests (torchvision AlexNet, VGG-11, ResNet-18, DenseNet-121, ...)
and the memory tests live in tests/test_attribution_zoo.py.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vizlib import attribution as A
from vizlib.hooks import hook_count

# --------------------------------------------------------------------------- hand nets


def dense_net(inplace: bool = False) -> nn.Module:
    """x (1, 1, 2, 2) -> flatten -> W1 (3x4) -> ReLU -> W2 (2x3); no biases.

    With x = [1, 2, -1, 0.5]: h = W1 x = [1, 1, -0.5].
    """
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False), nn.ReLU(inplace=inplace), nn.Linear(3, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]))
        net[3].weight.copy_(torch.tensor([[2.0, -3, 4], [-1, 1, 1]]))
    return net.eval()


X_DENSE = torch.tensor([1.0, 2.0, -1.0, 0.5]).view(1, 1, 2, 2)


class PoolNet(nn.Module):
    """x (1, 2, 4, 4) -> 1x1 conv (weights [2, -3], bias -1) -> ReLU -> 2x2 max pool -> Linear(4, 3)."""

    def __init__(self, inplace: bool = False, functional: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 1)
        self.relu = nn.ReLU(inplace=inplace)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4, 3, bias=False)
        self.functional = functional
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([2.0, -3.0]).view(1, 2, 1, 1))
            self.conv.bias.fill_(-1.0)
            self.fc.weight.copy_(torch.tensor([[1.0, -2, 3, -1], [-1, 1, 1, 1], [-1, -1, -1, -1]]))

    def forward(self, x):
        y = self.conv(x)
        y = F.relu(y) if self.functional else self.relu(y)
        return self.fc(self.pool(y).flatten(1))


# channel 0; channel 1 is zero, so the conv output is y = 2 x0 - 1:
# y = [[-1, 1, .8, -.8], [0, -.4, -.2, -1], [-.8, -.6, -1, -.4], [.2, .8, -.6, .6]]
# pooled maxima at (0,1)=1, (0,2)=.8, (3,1)=.8, (3,3)=.6.
X0_POOL = torch.tensor([[0.0, 1.0, 0.9, 0.1], [0.5, 0.3, 0.4, 0.0], [0.1, 0.2, 0.0, 0.3], [0.6, 0.9, 0.2, 0.8]])
X_POOL = torch.stack([X0_POOL, torch.zeros(4, 4)])[None]


def at(entries) -> torch.Tensor:
    """A 4x4 map that is zero except at the given {(row, col): value} entries."""
    m = torch.zeros(4, 4)
    for (r, c), v in entries.items():
        m[r, c] = v
    return m


class RaisingNet(nn.Module):
    """Conv, ReLU, then an error halfway through the forward pass."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        self.relu(self.conv(x))  # some layers run (and the ReLU rule is active) ...
        raise RuntimeError("boom in forward")  # ... then the forward fails before the classifier


def small_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Dropout(0.5),
        nn.Conv2d(6, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5),
    ).eval()


# --------------------------------------------------------------------------- literal values


def test_relu_backward_three_rules_literal():
    x = torch.tensor([-1.0, 2.0, 3.0, -0.5])
    g = torch.tensor([5.0, -4.0, 1.0, -2.0])
    assert torch.equal(A.relu_backward(x, g, "backprop"), torch.tensor([0.0, -4.0, 1.0, 0.0]))
    assert torch.equal(A.relu_backward(x, g, "deconvnet"), torch.tensor([5.0, 0.0, 1.0, 0.0]))
    assert torch.equal(A.relu_backward(x, g, "guided"), torch.tensor([0.0, 0.0, 1.0, 0.0]))
    # ReLU6: the forward gate closes above 6 as well
    x6 = torch.tensor([7.0, 2.0])
    assert torch.equal(A.relu_backward(x6, torch.tensor([1.0, 1.0]), "guided", upper=6.0), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("inplace", [False, True])
def test_dense_net_three_rules_match_hand_computed(inplace):
    net = dense_net(inplace)
    cases = {  # (method, target): expected d/dx, flattened
        (A.gradient, 0): [2.0, -3.0, -3.0, 0.0],
        (A.deconvnet, 0): [2.0, 0.0, 4.0, 4.0],
        (A.guided_backprop, 0): [2.0, 0.0, 0.0, 0.0],
        (A.gradient, 1): [-1.0, 1.0, 1.0, 0.0],
        (A.deconvnet, 1): [0.0, 1.0, 2.0, 1.0],
        (A.guided_backprop, 1): [0.0, 1.0, 1.0, 0.0],
    }
    for (method, target), expected in cases.items():
        got = method(net, X_DENSE, target)
        assert got.shape == (1, 1, 2, 2)
        torch.testing.assert_close(got.flatten(), torch.tensor(expected), msg=f"{method.__name__} target {target}")


def test_dense_net_saliency_and_gradient_x_input():
    net = dense_net()
    torch.testing.assert_close(A.saliency(net, X_DENSE, 0), torch.tensor([[[2.0, 3.0], [3.0, 0.0]]]))
    torch.testing.assert_close(A.gradient_x_input(net, X_DENSE, 0).flatten(), torch.tensor([2.0, -6.0, 3.0, 0.0]))


@pytest.mark.parametrize("inplace,functional", [(False, False), (True, False), (False, True)])
def test_pool_net_gradients_route_through_switches(inplace, functional):
    net = PoolNet(inplace, functional).eval()
    # class 0: fc row [1, -2, 3, -1] lands on the four pooling switches
    grad0 = A.gradient(net, X_POOL, 0)[0]
    torch.testing.assert_close(grad0[0], at({(0, 1): 2.0, (0, 2): -4.0, (3, 1): 6.0, (3, 3): -2.0}))
    torch.testing.assert_close(grad0[1], at({(0, 1): -3.0, (0, 2): 6.0, (3, 1): -9.0, (3, 3): 3.0}))
    deconv0 = A.deconvnet(net, X_POOL, 0)[0]
    torch.testing.assert_close(deconv0[0], at({(0, 1): 2.0, (3, 1): 6.0}))
    torch.testing.assert_close(deconv0[1], at({(0, 1): -3.0, (3, 1): -9.0}))
    torch.testing.assert_close(A.guided_backprop(net, X_POOL, 0)[0], deconv0)
    # class 1: fc row [-1, 1, 1, 1]
    deconv1 = A.deconvnet(net, X_POOL, 1)[0]
    torch.testing.assert_close(deconv1[0], at({(0, 2): 2.0, (3, 1): 2.0, (3, 3): 2.0}))
    # saliency: max over channels of |grad| = 3 |g|
    torch.testing.assert_close(A.saliency(net, X_POOL, 0)[0], at({(0, 1): 3.0, (0, 2): 6.0, (3, 1): 9.0, (3, 3): 3.0}))


def test_guided_backprop_differs_from_deconvnet_where_forward_input_was_negative():
    # a positive gradient reaches unit c (h_c = -0.5 < 0): deconvnet passes it, guided does not
    net = dense_net()
    assert A.deconvnet(net, X_DENSE, 0).flatten()[3] == 4.0
    assert A.guided_backprop(net, X_DENSE, 0).flatten()[3] == 0.0


def test_relu6_rule_closes_the_gate_above_six():
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False), nn.ReLU6(), nn.Linear(2, 1, bias=False)).eval()
    with torch.no_grad():
        net[1].weight.copy_(torch.eye(2))
        net[3].weight.copy_(torch.tensor([[1.0, 1.0]]))
    x = torch.tensor([7.0, 2.0]).view(1, 1, 1, 2)
    torch.testing.assert_close(A.guided_backprop(net, x, 0).flatten(), torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(A.deconvnet(net, x, 0).flatten(), torch.tensor([1.0, 1.0]))


@pytest.mark.parametrize("default_layer", [True, False])
def test_grad_cam_pool_net_literal(default_layer):
    net = PoolNet().eval()
    layer = None if default_layer else "conv"
    y = torch.tensor([[-1.0, 1.0, 0.8, -0.8], [0.0, -0.4, -0.2, -1.0], [-0.8, -0.6, -1.0, -0.4], [0.2, 0.8, -0.6, 0.6]])
    relu_y = y.clamp(min=0)
    # alpha = mean over the 16 positions of d logit / d y: (1 - 2 + 3 - 1) / 16 for class 0
    torch.testing.assert_close(A.grad_cam(net, X_POOL, 0, layer=layer)[0], relu_y / 16)
    torch.testing.assert_close(A.grad_cam(net, X_POOL, 1, layer=layer)[0], relu_y / 8)
    expected2 = torch.tensor([[0.25, 0, 0, 0.2], [0, 0.1, 0.05, 0.25], [0.2, 0.15, 0.25, 0.1], [0, 0, 0.15, 0]])
    torch.testing.assert_close(A.grad_cam(net, X_POOL, 2, layer=layer)[0], expected2)  # alpha = -1/4


def test_grad_cam_default_layer_is_last_executed_conv_and_upsamples():
    net = small_cnn()
    x = torch.randn(2, 3, 8, 8)
    assert A.default_cam_layer(net, x) == "4"
    cam = A.grad_cam(net, x, 1)
    assert cam.shape == (2, 8, 8) and (cam >= 0).all()
    torch.testing.assert_close(cam, A.grad_cam(net, x, 1, layer="4"))


def test_guided_grad_cam_is_product():
    net = PoolNet().eval()
    expected = A.guided_backprop(net, X_POOL, 1) * A.grad_cam(net, X_POOL, 1)[:, None]
    torch.testing.assert_close(A.guided_grad_cam(net, X_POOL, 1), expected)


def test_project_unit_pool_net_literal():
    net = PoolNet().eval()
    # the strongest unit of the ReLU's map is (0, 1) with activation 1 -> conv weights [2, -3]
    rec = A.project_unit(net, X_POOL, "relu", 0, rule="backprop")[0]
    torch.testing.assert_close(rec, torch.stack([at({(0, 1): 2.0}), at({(0, 1): -3.0})]))
    rec = A.project_unit(net, X_POOL, "relu", 0, position=(3, 3))[0]  # activation 0.6
    torch.testing.assert_close(rec, torch.stack([at({(3, 3): 1.2}), at({(3, 3): -1.8})]))
    # a pooled unit projects through the switch
    rec = A.project_unit(net, X_POOL, "pool", 0, position=(1, 0), rule="guided")[0]  # max 0.8 at (3, 1)
    torch.testing.assert_close(rec, torch.stack([at({(3, 1): 1.6}), at({(3, 1): -2.4})]))


def linear_net(weights) -> nn.Module:
    w = torch.as_tensor(weights, dtype=torch.float32)
    net = nn.Sequential(nn.Flatten(), nn.Linear(w.shape[1], w.shape[0], bias=False)).eval()
    with torch.no_grad():
        net[1].weight.copy_(w)
    return net


def test_integrated_gradients_linear_model_closed_form():
    net = linear_net([[1.0, -2.0, 3.0, 0.5]])
    x = torch.tensor([2.0, 1.0, -1.0, 4.0]).view(1, 1, 1, 4)
    ig = A.integrated_gradients(net, x, 0, baseline=1.0, steps=4)
    torch.testing.assert_close(ig.flatten(), torch.tensor([1.0, 0.0, -6.0, 1.5]))  # (x - 1) * w


def test_smoothgrad_linear_model_is_the_weights_and_leaves_global_rng_alone():
    net = linear_net([[1.0, -2.0, 3.0, 0.5]])
    x = torch.tensor([2.0, 1.0, -1.0, 4.0]).view(1, 1, 1, 4)
    state = torch.get_rng_state()
    sg = A.smoothgrad(net, x, 0, n_samples=5, noise_level=0.5)
    assert torch.equal(state, torch.get_rng_state())
    torch.testing.assert_close(sg.flatten(), torch.tensor([1.0, -2.0, 3.0, 0.5]))


def test_smoothgrad_is_seeded_and_averages_gradients_of_noisy_copies():
    net = small_cnn()
    x = torch.randn(2, 3, 8, 8)
    a = A.smoothgrad(net, x, 2, n_samples=6, batch_size=4, seed=3)
    b = A.smoothgrad(net, x, 2, n_samples=6, batch_size=64, seed=3)  # other chunking, same noise
    torch.testing.assert_close(a, b)
    # independent reference: the same noise drawn here, gradients one copy at a time
    gen = torch.Generator().manual_seed(3)
    spread = (x.amax((1, 2, 3)) - x.amin((1, 2, 3))).view(2, 1, 1, 1) * 0.15
    ref = torch.zeros_like(x)
    for _ in range(6):
        noisy = (x + torch.randn(x.shape, generator=gen) * spread).requires_grad_()
        net(noisy)[:, 2].sum().backward()
        ref += noisy.grad
    torch.testing.assert_close(a, ref / 6, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(a, A.smoothgrad(net, x, 2, n_samples=6, seed=4))


# --------------------------------------------------------------------------- occlusion


def row_net() -> nn.Module:
    """x (1, 1, 1, 5) -> logits [sum(x), 0.5]."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(5, 2)).eval()
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0] * 5, [0.0] * 5]))
        net[1].bias.copy_(torch.tensor([0.0, 0.5]))
    return net


X_ROW = torch.tensor([1.0, 0.0, 2.0, 0.0, -1.0]).view(1, 1, 1, 5)


def test_occlusion_positions_cover_the_last_pixel():
    assert A.occlusion_positions(10, 4, 4) == [0, 4, 6]
    assert A.occlusion_positions(8, 4, 4) == [0, 4]
    assert A.occlusion_positions(5, 5, 3) == [0]


def test_occlusion_grid_row_net_literal():
    # windows over columns [0,1], [2,3], [3,4] (last one flush with the edge); sum(x) = 2
    g = A.occlusion_grid(row_net(), X_ROW, 0, window=(1, 2), stride=(1, 2), progress=False)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    assert g.rows.tolist() == [0] and g.cols.tolist() == [0, 2, 3] and g.window == (1, 2) and g.image_size == (1, 5)
    torch.testing.assert_close(g.clean_prob, torch.tensor([sig(1.5)]))
    torch.testing.assert_close(g.target_prob, torch.tensor([[[0.6224593312018546, 0.3775406687981454, 0.9241418199787566]]]))
    assert g.top_class.tolist() == [[[0, 1, 0]]]
    torch.testing.assert_close(g.top_prob, torch.tensor([[[0.6224593312018546, 0.6224593312018546, 0.9241418199787566]]]))


def test_occlusion_row_net_averages_overlapping_windows():
    occ = A.occlusion(row_net(), X_ROW, 0, window=(1, 2), stride=(1, 2), progress=False)
    d1, d2, d3 = 0.19511514499178906, 0.44003380739549824, -0.1065673437851129
    torch.testing.assert_close(occ, torch.tensor([[[d1, d1, d2, (d2 + d3) / 2, d3]]]))


def test_occlusion_per_channel_baseline():
    net = linear_net([[1.0] * 8, [0.0] * 8])  # 2 channels of 1x4
    x = torch.zeros(1, 2, 1, 4)
    g = A.occlusion_grid(net, x, 0, window=(1, 4), stride=1, baseline=torch.tensor([1.0, -0.5]), progress=False)
    torch.testing.assert_close(g.target_prob, torch.tensor([[[1 / (1 + math.exp(-2.0))]]]))  # logit 4 - 2 = 2


def naive_occlusion(model, x, target, window, stride, baseline=0.0):
    """One occluded image at a time, positions by hand; returns (grid of probs, map of drops)."""
    n, c, h, w = x.shape
    rows = list(range(0, h - window + 1, stride))
    cols = list(range(0, w - window + 1, stride))
    if rows[-1] + window < h:
        rows.append(h - window)
    if cols[-1] + window < w:
        cols.append(w - window)
    probs = torch.zeros(n, len(rows), len(cols))
    total, count = torch.zeros(n, h, w), torch.zeros(n, h, w)
    with torch.no_grad():
        for i in range(n):
            clean = torch.softmax(model(x[i : i + 1]), 1)[0, target[i]]
            for a, r in enumerate(rows):
                for b, q in enumerate(cols):
                    xo = x[i : i + 1].clone()
                    xo[..., r : r + window, q : q + window] = baseline
                    p = torch.softmax(model(xo), 1)[0, target[i]]
                    probs[i, a, b] = p
                    total[i, r : r + window, q : q + window] += clean - p
                    count[i, r : r + window, q : q + window] += 1
    return probs, torch.nan_to_num(total / count, nan=0.0)  # pixels between windows (stride > window): 0


class ViewFlattenNet(nn.Module):
    """Flattens its features with .view(), which fails on a channels-last tensor."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.conv, self.fc = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return self.fc(y.view(y.shape[0], -1))


def test_occlusion_works_with_a_model_that_views_its_features():
    net = ViewFlattenNet().eval()
    with pytest.raises(RuntimeError):  # the case the fallback exists for
        net(torch.randn(2, 3, 8, 8).contiguous(memory_format=torch.channels_last))
    torch.manual_seed(3)
    x = torch.randn(2, 3, 8, 8)
    target = torch.tensor([0, 3])
    probs, drops = naive_occlusion(net, x, target, 4, 2)
    g = A.occlusion_grid(net, x, target, window=4, stride=2, batch_size=5, progress=False)
    torch.testing.assert_close(g.target_prob, probs, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(A.occlusion(net, x, target, window=4, stride=2, progress=False), drops,
                               atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("window,stride,batch_size", [(4, 2, 7), (3, 4, 64), (8, 8, 1)])
def test_occlusion_matches_naive_loop(window, stride, batch_size):
    net = small_cnn(1)
    torch.manual_seed(1)
    x = torch.randn(2, 3, 8, 8)
    target = torch.tensor([1, 4])
    probs, drops = naive_occlusion(net, x, target, window, stride, baseline=0.25)
    g = A.occlusion_grid(net, x, target, window=window, stride=stride, baseline=0.25, batch_size=batch_size,
                         progress=False)
    torch.testing.assert_close(g.target_prob, probs, atol=1e-6, rtol=1e-5)
    occ = A.occlusion(net, x, target, window=window, stride=stride, baseline=0.25, batch_size=batch_size,
                      progress=False)
    torch.testing.assert_close(occ, drops, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(g.pixel_map(), drops, atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------------------- unsupported activations


@pytest.mark.parametrize("act,name", [
    (nn.SiLU(), "SiLU"), (nn.GELU(), "GELU"), (nn.Hardswish(), "Hardswish"), (nn.LeakyReLU(), "LeakyReLU"),
    (nn.ELU(), "ELU"), (nn.Hardtanh(), "Hardtanh"), (nn.Mish(), "Mish"), (nn.Softplus(), "Softplus"),
])
@pytest.mark.parametrize("method", [A.deconvnet, A.guided_backprop])
def test_unsupported_activation_raises_naming_it(act, name, method):
    net = nn.Sequential(nn.Conv2d(3, 2, 3), act, nn.Flatten(), nn.Linear(2 * 6 * 6, 3)).eval()
    with pytest.raises(A.UnsupportedActivationError, match=name):
        method(net, torch.randn(1, 3, 8, 8), 0)
    assert hook_count(net) == 0 and torch._C._len_torch_function_stack() == 0


class AtenRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 2, 3), nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(torch.ops.aten.relu.default(self.conv(x)).flatten(1))


def test_relu_that_escapes_interception_raises():
    with pytest.raises(A.UnsupportedActivationError, match="relu"):
        A.guided_backprop(AtenRelu().eval(), torch.randn(1, 3, 8, 8), 0)


class ManyRelus(nn.Module):
    """Every way of applying a ReLU: module (in-place, reused), functional, method, in-place method."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.c = nn.ModuleList([nn.Conv2d(3 if i == 0 else 6, 6, 3, padding=1) for i in range(8)])
        for conv in self.c:
            nn.init.normal_(conv.weight, 0.0, 0.35)
            nn.init.normal_(conv.bias, 0.05, 0.05)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(6 * 6 * 6, 4)

    def acts(self):
        return [self.relu, F.relu, torch.relu, lambda t: t.relu(), lambda t: t.relu_(),
                lambda t: F.relu(t, inplace=True), lambda t: F.threshold(t, 0.0, 0.0), self.relu]

    def forward(self, x):
        for conv, act in zip(self.c, self.acts()):
            h = conv(x)
            out = act(h)
            x = h if out is h else out  # in-place variants: use the modified tensor itself
        return self.fc(x.flatten(1))


class ManyRelusReference(ManyRelus):
    """The same weights; each ReLU written out with an explicit mask and a tensor hook."""

    rule = "guided"

    def forward(self, x):
        for conv in self.c:
            h = conv(x)
            mask = (h > 0).to(h.dtype)
            if self.rule == "guided":
                y = h * mask                       # backward multiplies by the mask
            else:
                y = h + (h * mask - h).detach()    # value ReLU(h), backward identity
            y.register_hook(lambda g: torch.where(g > 0, g, torch.zeros_like(g)))
            x = y
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("rule", ["guided", "deconvnet"])
def test_every_form_of_relu_is_overridden(rule):
    net = ManyRelus().eval()
    ref = ManyRelusReference().eval()
    ref.load_state_dict(net.state_dict())
    ref.rule = rule
    x = torch.randn(2, 3, 6, 6)
    method = A.guided_backprop if rule == "guided" else A.deconvnet
    got = method(net, x, torch.tensor([0, 3]))
    xr = x.clone().requires_grad_()
    ref(xr)[[0, 1], [0, 3]].sum().backward()
    assert xr.grad.abs().sum() > 0
    torch.testing.assert_close(got, xr.grad, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(got, A.gradient(net, x, torch.tensor([0, 3])), atol=1e-4)
    torch.testing.assert_close(net(x), ref(x))  # in-place semantics kept: same logits


# --------------------------------------------------------------------------- side effects

METHODS = {
    "gradient": lambda m, x, t: A.gradient(m, x, t),
    "saliency": lambda m, x, t: A.saliency(m, x, t),
    "gradient_x_input": lambda m, x, t: A.gradient_x_input(m, x, t),
    "deconvnet": lambda m, x, t: A.deconvnet(m, x, t),
    "guided_backprop": lambda m, x, t: A.guided_backprop(m, x, t),
    "smoothgrad": lambda m, x, t: A.smoothgrad(m, x, t, n_samples=3),
    "integrated_gradients": lambda m, x, t: A.integrated_gradients(m, x, t, steps=3),
    "occlusion": lambda m, x, t: A.occlusion(m, x, t, window=4, stride=4, progress=False),
    "occlusion_grid": lambda m, x, t: A.occlusion_grid(m, x, t, window=4, stride=4, progress=False),
    "grad_cam": lambda m, x, t: A.grad_cam(m, x, t),
    "guided_grad_cam": lambda m, x, t: A.guided_grad_cam(m, x, t),
    "project_unit": lambda m, x, t: A.project_unit(m, x, "1", 0),
}


def snapshot(model):
    return (
        {k: v.detach().clone() for k, v in model.state_dict().items()},
        [m.training for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
    )


def assert_unchanged(model, before, x, x_before, grad_before):
    state, modes, flags = snapshot(model)
    assert hook_count(model) == 0
    assert all(torch.equal(state[k], v) for k, v in before[0].items()), "parameters or buffers changed"
    assert modes == before[1], "training flags changed"
    assert flags == before[2], "requires_grad flags changed"
    assert torch.equal(x.detach(), x_before), "input changed"
    assert torch.equal(x.grad, grad_before), "input .grad touched"
    assert torch._C._len_torch_function_stack() == 0 and torch._C._len_torch_dispatch_stack() == 0
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("name", list(METHODS))
def test_no_side_effects_on_a_model_in_training_mode(name):
    net = small_cnn()
    net.train()
    net[0].weight.requires_grad_(False)
    before = snapshot(net)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    x.grad = torch.full_like(x, 7.0)
    x_before, grad_before = x.detach().clone(), x.grad.clone()
    out = METHODS[name](net, x, torch.tensor([1, 2]))
    assert_unchanged(net, before, x, x_before, grad_before)
    # evaluated in eval mode: the same as on a copy in eval mode
    net.eval()
    torch.testing.assert_close(METHODS[name](net, x, torch.tensor([1, 2])), out)


@pytest.mark.parametrize("name", list(METHODS))
def test_no_side_effects_when_the_forward_raises(name):
    net = RaisingNet().train()
    before = snapshot(net)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    x.grad = torch.zeros_like(x)
    x_before, grad_before = x.detach().clone(), x.grad.clone()
    layer = "relu"
    call = METHODS[name] if name != "project_unit" else (lambda m, x, t: A.project_unit(m, x, "fc", 0))
    if name in ("grad_cam", "guided_grad_cam"):
        call = lambda m, x, t: getattr(A, name)(m, x, t, layer=layer)  # noqa: E731
    with pytest.raises(RuntimeError, match="boom"):
        call(net, x, torch.tensor([1, 2]))
    assert_unchanged(net, before, x, x_before, grad_before)


def test_default_cam_layer_when_the_forward_raises_leaves_no_hook():
    net = RaisingNet()
    with pytest.raises(RuntimeError, match="boom"):
        A.grad_cam(net, torch.randn(1, 3, 8, 8), 0)
    assert hook_count(net) == 0


@pytest.mark.parametrize("name", ["gradient", "guided_backprop", "grad_cam", "occlusion"])
def test_works_inside_no_grad(name):
    net = small_cnn()
    x = torch.randn(2, 3, 8, 8)
    expected = METHODS[name](net, x, 1)
    with torch.no_grad():
        got = METHODS[name](net, x, 1)
        assert not torch.is_grad_enabled()  # the outer block's mode is restored after the call
    torch.testing.assert_close(got, expected)
    assert torch.is_grad_enabled()


def test_works_inside_inference_mode():
    net = small_cnn()
    x = torch.randn(1, 3, 8, 8)
    expected = A.guided_backprop(net, x, 1)
    with torch.inference_mode():
        xi = x.clone()
        got = A.guided_backprop(net, xi, 1)
    torch.testing.assert_close(got, expected)


def test_batch_results_equal_single_image_results():
    net = small_cnn()
    x = torch.randn(3, 3, 8, 8)
    t = torch.tensor([0, 4, 2])
    for f in (A.gradient, A.deconvnet, A.guided_backprop, A.grad_cam):
        batch = f(net, x, t)
        single = torch.cat([f(net, x[i : i + 1], int(t[i])) for i in range(3)])
        torch.testing.assert_close(batch, single, atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------------------- bad input

BAD = [
    # (description, call, exception, message fragment)
    ("single image", lambda m: A.gradient(m, torch.randn(3, 8, 8), 0), ValueError, "add the batch dimension"),
    ("grayscale", lambda m: A.saliency(m, torch.randn(1, 1, 8, 8), 0), ValueError, "3 channels"),
    ("RGBA", lambda m: A.guided_backprop(m, torch.randn(1, 4, 8, 8), 0), ValueError, "3 channels"),
    ("uint8", lambda m: A.gradient(m, torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 0), TypeError, "floating-point"),
    ("float64", lambda m: A.gradient(m, torch.zeros(1, 3, 8, 8, dtype=torch.float64), 0), TypeError, "dtype"),
    ("NaN", lambda m: A.deconvnet(m, torch.full((1, 3, 8, 8), float("nan")), 0), ValueError, "finite"),
    ("inf", lambda m: A.occlusion(m, torch.full((1, 3, 8, 8), float("inf")), 0, window=2, stride=2), ValueError,
     "finite"),
    ("empty batch", lambda m: A.gradient(m, torch.zeros(0, 3, 8, 8), 0), ValueError, "empty batch"),
    ("not a tensor", lambda m: A.gradient(m, [[0.0]], 0), TypeError, "torch.Tensor"),
    ("not a model", lambda m: A.gradient("alexnet", torch.zeros(1, 3, 8, 8), 0), TypeError, "nn.Module"),
    ("target too big", lambda m: A.gradient(m, torch.zeros(2, 3, 8, 8), 5), ValueError, r"\[0, 4\]"),
    ("target negative", lambda m: A.grad_cam(m, torch.zeros(2, 3, 8, 8), -1), ValueError, r"\[0, 4\]"),
    ("target wrong length", lambda m: A.gradient(m, torch.zeros(2, 3, 8, 8), torch.tensor([1, 2, 3])), ValueError,
     r"shape \(2,\)"),
    ("target float", lambda m: A.gradient(m, torch.zeros(1, 3, 8, 8), 1.0), TypeError, "target"),
    ("target float tensor", lambda m: A.gradient(m, torch.zeros(1, 3, 8, 8), torch.tensor([1.0])), TypeError,
     "integer"),
    ("target bool", lambda m: A.gradient(m, torch.zeros(1, 3, 8, 8), True), TypeError, "target"),
    ("occlusion target out of range", lambda m: A.occlusion(m, torch.zeros(1, 3, 8, 8), 9, window=2, stride=2),
     ValueError, "target"),
    ("window too big", lambda m: A.occlusion(m, torch.zeros(1, 3, 8, 8), 0, window=9, stride=2), ValueError,
     "window"),
    ("window zero", lambda m: A.occlusion(m, torch.zeros(1, 3, 8, 8), 0, window=0, stride=2), ValueError, "window"),
    ("stride zero", lambda m: A.occlusion_grid(m, torch.zeros(1, 3, 8, 8), 0, window=2, stride=0), ValueError,
     "stride"),
    ("stride negative", lambda m: A.occlusion(m, torch.zeros(1, 3, 8, 8), 0, window=2, stride=-1), ValueError,
     "stride"),
    ("stride float", lambda m: A.occlusion(m, torch.zeros(1, 3, 8, 8), 0, window=2, stride=1.5), TypeError,
     "stride"),
    ("batch_size zero", lambda m: A.occlusion(m, torch.zeros(1, 3, 8, 8), 0, window=2, stride=2, batch_size=0),
     ValueError, "batch_size"),
    ("baseline shape", lambda m: A.occlusion(m, torch.zeros(1, 3, 8, 8), 0, window=2, stride=2,
                                             baseline=torch.zeros(2)), ValueError, "baseline"),
    ("steps zero", lambda m: A.integrated_gradients(m, torch.zeros(1, 3, 8, 8), 0, steps=0), ValueError, "steps"),
    ("n_samples zero", lambda m: A.smoothgrad(m, torch.zeros(1, 3, 8, 8), 0, n_samples=0), ValueError, "n_samples"),
    ("noise negative", lambda m: A.smoothgrad(m, torch.zeros(1, 3, 8, 8), 0, noise_level=-1), ValueError,
     "noise_level"),
    ("smoothgrad method", lambda m: A.smoothgrad(m, torch.zeros(1, 3, 8, 8), 0, method="lrp"), ValueError,
     "method"),
    ("unknown layer", lambda m: A.grad_cam(m, torch.zeros(1, 3, 8, 8), 0, layer="features.conv9"), ValueError,
     "does not exist"),
    ("layer not a feature map", lambda m: A.grad_cam(m, torch.zeros(1, 3, 8, 8), 0, layer="8"), ValueError,
     "feature map"),
    ("channel out of range", lambda m: A.project_unit(m, torch.zeros(1, 3, 8, 8), "1", 6), ValueError, "channel"),
    ("position outside", lambda m: A.project_unit(m, torch.zeros(1, 3, 8, 8), "1", 0, position=(8, 0)), ValueError,
     "position"),
    ("unknown rule", lambda m: A.project_unit(m, torch.zeros(1, 3, 8, 8), "1", 0, rule="lrp"), ValueError, "rule"),
]


@pytest.mark.parametrize("description,call,exc,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_clear_error(description, call, exc, fragment):
    net = small_cnn()
    with pytest.raises(exc, match=fragment):
        call(net)
    assert hook_count(net) == 0 and not net.training


class NotLogits(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)

    def forward(self, x):
        return self.conv(x)  # (N, 2, h, w), not (N, classes)


@pytest.mark.parametrize("name", ["gradient", "guided_backprop", "occlusion", "grad_cam", "smoothgrad"])
def test_model_not_returning_logits_raises(name):
    call = METHODS[name] if name != "grad_cam" else (lambda m, x, t: A.grad_cam(m, x, t, layer="conv"))
    with pytest.raises(ValueError, match=r"logits of shape \(N, classes\)"):
        call(NotLogits(), torch.zeros(1, 3, 8, 8), 0)


def test_input_on_another_device_than_the_model_raises():
    net = small_cnn()
    x = torch.zeros(1, 3, 8, 8, device="meta")
    with pytest.raises(ValueError, match="but the model is on cpu"):
        A.gradient(net, x, 0)

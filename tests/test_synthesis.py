"""Tests for vizlib.synthesis: class model and unit visualisation.

Expected values come from closed forms (a linear model's gradient is its weight
row), finite differences, scipy's Gaussian filter, NumPy FFTs and hand-built
inputs, never from the code under test.
"""
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
from scipy import ndimage
from torch import nn

import vizlib
from vizlib import synthesis as S
from vizlib.hooks import hook_count
from vizlib.models import CourseNet

OFF = dict(S.NO_REGULARISATION)


def linear_model(n_classes=4, side=8, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 3, 1, bias=False), nn.Flatten(), nn.Linear(3 * side * side, n_classes)).eval()


def identity_linear(n_classes=4, side=8, seed=0):
    """Linear model whose 1x1 conv is the identity, so d logit_c / d I = W[c] exactly."""
    model = linear_model(n_classes, side, seed)
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(3).view(3, 3, 1, 1))
    return model


def small_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(3, 4, 3, padding=1), relu=nn.ReLU(), pool=nn.AdaptiveAvgPool2d(2),
        flat=nn.Flatten(), fc=nn.Linear(16, 3))).eval()


def numpy_high_freq(img, cutoff=0.25):
    """Independent high-frequency fraction: NumPy FFT of each channel, mean removed."""
    img = np.asarray(img, float)
    img = img - img.mean(axis=(-2, -1), keepdims=True)
    power = sum(np.abs(np.fft.fft2(ch)) ** 2 for ch in img)
    fy, fx = np.meshgrid(np.fft.fftfreq(img.shape[-2]), np.fft.fftfreq(img.shape[-1]), indexing="ij")
    return power[np.hypot(fy, fx) > cutoff].sum() / power.sum()


# ----------------------------------------------------------------------------- the update rule
def test_class_model_one_step_without_regularisers_equals_weight_row():
    model = identity_linear()
    lr = 0.3
    out = S.class_model(model, 2, steps=1, lr=lr, image_size=8, progress=False, **OFF)
    expected = lr * model[2].weight[2].detach().view(1, 3, 8, 8)
    torch.testing.assert_close(out.image, expected, rtol=1e-6, atol=1e-7)


def test_class_model_one_step_with_l2_adds_minus_two_l2_image():
    model = identity_linear()
    start = torch.linspace(-1, 1, 3 * 64).view(1, 3, 8, 8)
    lr, l2 = 0.5, 0.1
    off = {**OFF, "l2": l2}
    out = S.class_model(model, 1, steps=1, lr=lr, image_size=8, init=start, progress=False, **off)
    w = model[2].weight[1].detach().view(1, 3, 8, 8)
    torch.testing.assert_close(out.image, start + lr * (w - 2 * l2 * start), rtol=1e-6, atol=1e-6)


def test_class_model_one_step_matches_finite_difference_gradient():
    model = small_cnn().double()
    gen = torch.Generator().manual_seed(1)
    start = torch.randn(1, 3, 6, 6, generator=gen, dtype=torch.float64)
    lr = 0.7
    out = S.class_model(model, 0, steps=1, lr=lr, image_size=6, init=start, progress=False, **OFF)
    eps = 1e-6
    grad = torch.zeros_like(start)
    with torch.no_grad():
        for idx in np.ndindex(*start.shape):
            plus, minus = start.clone(), start.clone()
            plus[idx] += eps
            minus[idx] -= eps
            grad[idx] = (model(plus)[0, 0] - model(minus)[0, 0]) / (2 * eps)
    torch.testing.assert_close(out.image, start + lr * grad, rtol=1e-5, atol=1e-7)


def test_class_model_blur_step_matches_scipy_gaussian_filter():
    model = identity_linear()
    lr, sigma = 1.0, 0.8
    off = {**OFF, "blur_every": 1, "blur_sigma": sigma}
    out = S.class_model(model, 3, steps=1, lr=lr, image_size=8, progress=False, **off)
    raw = (lr * model[2].weight[3].detach().view(3, 8, 8)).numpy().astype(float)
    expected = np.stack([ndimage.gaussian_filter(ch, sigma, mode="mirror", truncate=3.0) for ch in raw])
    np.testing.assert_allclose(out.image[0].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_class_score_rises_over_the_first_steps():
    torch.manual_seed(0)
    model = CourseNet().eval()
    out = S.class_model(model, 5, steps=8, lr=0.5, init="noise", progress=False, l2=1e-3,
                        blur_every=None, norm_clip=None, contrib_clip=None, jitter=0)
    score = out.history["score"]
    assert len(score) == 9
    assert np.all(np.diff(score) > 0)
    assert out.history["prob"][-1] > out.history["prob"][0]


def test_channel_model_raises_the_channel_mean_activation():
    torch.manual_seed(0)
    model = CourseNet().eval()
    out = S.channel_model(model, "features.relu2", 7, steps=6, lr=0.5, pre_relu=False, progress=False, **OFF)
    act = out.history["activation"]
    assert np.all(np.diff(act) > 0)
    with torch.no_grad():
        feats = model.features[:5](out.image)  # conv1, relu1, pool1, conv2, relu2
    assert abs(feats[0, 7].mean().item() - act[-1]) < 1e-5


def test_channel_model_on_a_relu_raises_the_pre_relu_mean_by_default():
    torch.manual_seed(0)
    model = CourseNet().eval()
    with pytest.warns(UserWarning, match=r"optimising that ReLU's input \('features.relu2:input'\)"):
        out = S.channel_model(model, "features.relu2", 7, steps=6, lr=0.5, progress=False, **OFF)
    act = out.history["activation"]
    assert np.all(np.diff(act) > 0)
    with torch.no_grad():
        pre = model.features[:4](out.image)  # conv1, relu1, pool1, conv2: the input of relu2
    assert abs(pre[0, 7].mean().item() - act[-1]) < 1e-5


def test_history_records_softmax_probability_of_target():
    model = identity_linear()
    out = S.class_model(model, 0, steps=3, lr=0.1, image_size=8, progress=False, **OFF)
    with torch.no_grad():
        logits = model(out.image)
    assert out.history["score"][-1] == pytest.approx(logits[0, 0].item(), rel=1e-5)
    assert out.history["prob"][-1] == pytest.approx(torch.softmax(logits, 1)[0, 0].item(), rel=1e-5)
    assert out.history["score"][0] == pytest.approx(model[2].bias[0].item(), rel=1e-5)  # zero image


# ----------------------------------------------------------------------------- regularisers
def test_gaussian_blur_matches_scipy_and_reduces_high_frequency_energy():
    yy, xx = np.mgrid[0:32, 0:32]
    checker = ((yy + xx) % 2).astype(float)
    smooth = np.sin(2 * np.pi * xx / 32)
    img = np.stack([checker + smooth, smooth, checker])
    before = numpy_high_freq(img)
    blurred = S.gaussian_blur(torch.tensor(img)[None], 1.0)[0].numpy()
    expected = np.stack([ndimage.gaussian_filter(ch, 1.0, mode="mirror", truncate=3.0) for ch in img])
    np.testing.assert_allclose(blurred, expected, atol=1e-10)
    after = numpy_high_freq(blurred)
    assert before > 0.3 and after < 0.05 * before


def test_gaussian_blur_keeps_a_constant_image():
    img = torch.full((2, 3, 9, 9), 0.7, dtype=torch.float64)
    torch.testing.assert_close(S.gaussian_blur(img, 2.0), img)


def test_clip_small_norm_zeroes_exactly_the_smallest_norm_pixels():
    # pixel (r, c) has norm r * 4 + c + 1 in channel 0 only, sign alternating
    norms = torch.arange(1, 17, dtype=torch.float32).view(4, 4)
    img = torch.zeros(1, 3, 4, 4)
    img[0, 0] = norms * torch.tensor([1.0, -1.0]).repeat(8).view(4, 4)
    img[0, 2] = 0.0
    out = S.clip_small_norm(img, 0.25)
    assert torch.all(out[0, :, 0, :] == 0)  # the 4 smallest norms: 1, 2, 3, 4 (first row)
    torch.testing.assert_close(out[0, :, 1:, :], img[0, :, 1:, :])


def test_clip_small_norm_uses_norm_over_channels():
    img = torch.zeros(1, 2, 1, 4)
    img[0, 0] = torch.tensor([3.0, 0.0, 1.0, 2.0])
    img[0, 1] = torch.tensor([4.0, 2.5, 1.0, 0.0])  # norms 5, 2.5, 1.41, 2
    out = S.clip_small_norm(img, 0.5)
    expected = img.clone()
    expected[..., 2] = 0
    expected[..., 3] = 0
    torch.testing.assert_close(out, expected)


def test_clip_small_contribution_uses_image_times_gradient():
    img = torch.ones(1, 3, 1, 4)
    grad = torch.zeros(1, 3, 1, 4)
    grad[0, :, 0, :] = torch.tensor([[5.0, -1.0, 0.2, -3.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0]])
    # contributions |sum_c I * g|: 5, 0.5, 0.2, 3 -> the 2 smallest are pixels 2 and 1
    out = S.clip_small_contribution(img, grad, 0.5)
    expected = img.clone()
    expected[..., 1:3] = 0
    torch.testing.assert_close(out, expected)


def test_jitter_is_a_wrapped_shift_of_at_most_n_pixels():
    img = torch.arange(2 * 7 * 7, dtype=torch.float32).view(1, 2, 7, 7)
    gen = torch.Generator().manual_seed(3)
    t = S.compose(S.jitter(2))
    seen = set()
    for _ in range(30):
        out = t(img, gen)
        match = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(out, torch.roll(img, (dy, dx), (-2, -1)))]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) > 5


# ----------------------------------------------------------------------------- measures
def test_high_frequency_energy_of_pure_sinusoids():
    xx = torch.arange(32, dtype=torch.float64)
    low = torch.sin(2 * torch.pi * xx * 2 / 32).expand(3, 32, 32)  # 1/16 cycle per px
    high = torch.sin(2 * torch.pi * xx * 12 / 32).expand(3, 32, 32)  # 0.375 cycle per px
    assert S.high_frequency_energy(low) == pytest.approx(0.0, abs=1e-9)
    assert S.high_frequency_energy(high) == pytest.approx(1.0, abs=1e-9)
    assert S.high_frequency_energy(torch.ones(3, 8, 8)) == 0.0
    both = S.high_frequency_energy(torch.stack([low, high]))
    assert both.shape == (2,)


def test_high_frequency_energy_matches_numpy_on_noise():
    img = torch.randn(3, 16, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert S.high_frequency_energy(img, cutoff=0.3) == pytest.approx(numpy_high_freq(img.numpy(), 0.3), rel=1e-5)


def test_region_energy_fraction():
    img = torch.zeros(3, 8, 8)
    img[1, :4, :4] = 2.0
    img[0, 6, 6] = 2.0  # 1 of 17 equal-energy pixels outside
    assert S.region_energy_fraction(img, (0, 4, 0, 4)) == pytest.approx(16 / 17)
    assert S.region_energy_fraction(torch.ones(2, 3, 8, 8), (0, 4, 0, 4)).tolist() == pytest.approx([0.25, 0.25])


def test_correlations_match_numpy_corrcoef():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(3, 5, 5, generator=gen)
    b = torch.randn(4, 3, 5, 5, generator=gen)
    b[2] = 2 * a + 1
    got = S.correlations(a, b)
    expected = [np.corrcoef(a.flatten().numpy(), bi.flatten().numpy())[0, 1] for bi in b]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert got[2] == pytest.approx(1.0, abs=1e-6)


def test_to_display_maps_zero_to_grey_and_stays_in_unit_range():
    img = torch.zeros(1, 3, 4, 4)
    img[0, 0, 0, 0] = 10.0
    img[0, 1, 1, 1] = -10.0
    out = S.to_display(img, percentile=100)
    assert out.min() == 0.0 and out.max() == 1.0 and out[0, 2, 3, 3] == 0.5


def test_objectives_add_subtract_and_scale():
    x = torch.tensor([[[[1.0, 2.0]]]])
    logits = torch.tensor([[0.5, -1.5, 3.0]])
    T = lambda name: {"input": x, "logits": logits}[name]  # noqa: E731
    obj = S.class_score(2) - 0.5 * S.squared_norm() + 1
    assert obj(T).item() == pytest.approx(3.0 - 0.5 * 5.0 + 1)
    assert (2 * S.class_score(1))(T).item() == pytest.approx(-3.0)


# ----------------------------------------------------------------------------- side effects and errors
def _snapshot(model):
    return ([p.detach().clone() for p in model.parameters()], [p.requires_grad for p in model.parameters()],
            [m.training for m in model.modules()])


def _assert_same(model, snap):
    params, flags, modes = snap
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), params))
    assert [p.requires_grad for p in model.parameters()] == flags
    assert [m.training for m in model.modules()] == modes
    assert hook_count(model) == 0


def _caller_model():
    model = CourseNet()
    model.train()
    model.features.conv1.weight.requires_grad_(False)
    model.classifier.eval()
    return model


def test_caller_model_unchanged_after_synthesis():
    model = _caller_model()
    snap = _snapshot(model)
    S.class_model(model, 1, steps=2, progress=False)
    S.channel_model(model, "features.relu3", 4, steps=2, pre_relu=True, progress=False)
    _assert_same(model, snap)
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("call, message", [
    (lambda m: S.class_model(m, 8, steps=2, progress=False), "target must be a class index in [0, 7]"),
    (lambda m: S.channel_model(m, "features.relu2", 64, steps=2, pre_relu=True, progress=False),
     "channel must be in [0, 63]"),
])
def test_caller_model_unchanged_when_the_call_raises(call, message):
    model = _caller_model()
    snap = _snapshot(model)
    with pytest.raises(ValueError) as err:
        call(model)
    assert message in str(err.value)
    _assert_same(model, snap)


def test_caller_init_tensor_and_global_rng_unchanged():
    model = CourseNet().eval()
    start = torch.full((1, 3, 64, 64), 0.1)
    keep = start.clone()
    state = torch.get_rng_state()
    a = S.class_model(model, 0, steps=2, init=start, progress=False)
    b = S.class_model(model, 0, steps=2, init=start, progress=False)
    assert torch.equal(start, keep)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.image, b.image)


def test_zero_image_with_all_first_layer_relus_off_warns_and_noise_moves():
    model = small_cnn()
    with torch.no_grad():
        model.conv.bias.fill_(-0.05)
    with pytest.warns(RuntimeWarning, match="init='noise'"):
        out = S.class_model(model, 0, steps=3, image_size=6, progress=False, **OFF)
    assert torch.all(out.image == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moved = S.class_model(model, 0, steps=3, image_size=6, init="noise", progress=False, **OFF)
    assert moved.history["score"][-1] > moved.history["score"][0]


@pytest.mark.parametrize("kwargs, exc, fragment", [
    (dict(target=-1), ValueError, "target must be >= 0"),
    (dict(target=2.5), TypeError, "target must be an int"),
    (dict(target=True), TypeError, "target must be an int"),
    (dict(target=8), ValueError, "target must be a class index"),
    (dict(target=0, steps=0), ValueError, "steps must be a positive int"),
    (dict(target=0, steps=-3), ValueError, "steps must be a positive int"),
    (dict(target=0, steps=2.0), TypeError, "steps must be an int"),
    (dict(target=0, lr=0.0), ValueError, "lr must be a positive"),
    (dict(target=0, lr=float("nan")), ValueError, "lr must be a positive"),
    (dict(target=0, l2=-1.0), ValueError, "l2 must be a number >= 0"),
    (dict(target=0, lr=100.0, l2=0.01), ValueError, "lr * l2 must be below 0.5"),
    (dict(target=0, blur_every=-2), ValueError, "blur_every must be a positive int"),
    (dict(target=0, blur_sigma=0.0), ValueError, "blur_sigma must be a positive"),
    (dict(target=0, norm_clip=1.0), ValueError, "norm_clip must be None or a fraction"),
    (dict(target=0, contrib_clip=-0.1), ValueError, "contrib_clip must be None or a fraction"),
    (dict(target=0, jitter=-1), ValueError, "jitter must be >= 0"),
    (dict(target=0, init="ones"), ValueError, "init must be 'zeros', 'noise'"),
    (dict(target=0, init=torch.zeros(3, 64, 64)), ValueError, "init must be"),
    (dict(target=0, init=torch.zeros(1, 1, 64, 64)), ValueError, "init must be"),
    (dict(target=0, init=torch.full((1, 3, 64, 64), float("nan"))), ValueError, "finite"),
    (dict(target=0, init=torch.zeros(1, 3, 64, 64), image_size=32), ValueError, "leave image_size=None"),
    (dict(target=0, image_size=0), ValueError, "image_size must be a positive int"),
])
def test_class_model_bad_arguments(kwargs, exc, fragment):
    model = CourseNet().eval()
    kwargs = {"steps": 2, "progress": False, **kwargs}
    with pytest.raises(exc) as err:
        S.class_model(model, **kwargs)
    assert fragment in str(err.value)
    assert hook_count(model) == 0


@pytest.mark.parametrize("layer, channel, exc, fragment", [
    ("features.nope", 0, ValueError, "does not exist"),
    (3, 0, TypeError, "layer must be a layer name"),
    ("features.relu1", -1, ValueError, "channel must be >= 0"),
])
def test_channel_model_bad_arguments(layer, channel, exc, fragment):
    with pytest.raises(exc) as err:
        S.channel_model(CourseNet().eval(), layer, channel, steps=2, pre_relu=True, progress=False)
    assert fragment in str(err.value)


def test_model_argument_must_be_a_module():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        S.class_model(lambda x: x, 0, steps=1, progress=False)


class SharedReLU(nn.Module):
    """One ReLU module called twice per forward pass (as in torchvision's ResNet blocks)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1, self.conv2, self.relu = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        h = self.relu(self.conv2(self.relu(self.conv1(x))))
        return self.fc(h.mean((2, 3)))


@pytest.mark.parametrize("make, layer, size", [(lambda: CourseNet().eval(), "features.relu2", 64),
                                               (SharedReLU, "relu", 16)])
def test_channel_model_stopping_early_matches_a_full_forward_pass(make, layer, size):
    torch.manual_seed(0)
    model = make().eval()
    out = S.channel_model(model, layer, 1, steps=4, lr=0.5, image_size=size, pre_relu=True, progress=False,
                          jitter=1)
    # the same objective flagged as reading the logits forces full forward passes; the
    # defaults: the ReLU's input, no L2, blur every 4 steps, the valid range of input space
    obj = S.channel(layer + ":input", 1)
    full = S.Objective(obj.fn, "full", obj.layers, uses_logits=True)
    mean, std = ((0.5,) * 3, (0.25,) * 3) if isinstance(model, CourseNet) else \
        ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    low = ((0 - torch.tensor(mean)) / torch.tensor(std)).view(1, 3, 1, 1)
    high = ((1 - torch.tensor(mean)) / torch.tensor(std)).view(1, 3, 1, 1)
    start = S._start_image(model, "noise", size, 0).clamp(low, high)
    clip = lambda image, grad, step: image.clamp(low, high)  # noqa: E731
    ref = S.render(model, full, start, steps=4, lr=0.5, transform=S.jitter(1),
                   regularisers=[S.blur_every(4, 0.6), clip], seed=0, progress=False)
    torch.testing.assert_close(out.image, ref.image)
    if layer == "relu":
        # the first call counts, as in activations.get_activations (before issue 17 channel_model
        # maximised the last call's output, a different tensor than get_activations returned);
        # its input is conv1's output
        with torch.no_grad():
            first = model.conv1(out.image)
        assert out.history["activation"][-1] == pytest.approx(first[0, 1].mean().item(), rel=1e-5)


def test_diverging_ascent_raises_instead_of_returning_nan():
    model = identity_linear()
    with pytest.raises(FloatingPointError, match="lower lr"):
        S.class_model(model, 0, steps=3, lr=1e40, image_size=8, progress=False, **OFF)
    assert hook_count(model) == 0


def test_init_tensor_sets_the_image_size():
    out = S.class_model(small_cnn(), 0, steps=1, init=torch.zeros(1, 3, 10, 12), progress=False)
    assert out.image.shape == (1, 3, 10, 12)


def test_render_rejects_a_non_objective_and_bad_images():
    model = small_cnn()
    with pytest.raises(TypeError, match="objective must be"):
        S.render(model, lambda T: 0, torch.zeros(1, 3, 6, 6), steps=1, lr=1.0, progress=False)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        S.render(model, S.class_score(0), torch.zeros(3, 6, 6), steps=1, lr=1.0, progress=False)
    with pytest.raises(ValueError, match="finite"):
        S.render(model, S.class_score(0), torch.full((1, 3, 6, 6), float("inf")), steps=1, lr=1.0, progress=False)

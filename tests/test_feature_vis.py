"""Tests for feature visualisation in vizlib.synthesis (issue 16): parameterisations, decorrelated
colour, transforms, the neuron and diversity objectives, render with ``param=``, the measures,
and the fix of channel_model (pre-ReLU objective, clipped image).

Expected values come from NumPy FFTs, NumPy covariances, ``torch.rot90``, closed forms for a
linear ramp, hand-built feature maps and plain autograd on the model, never from the code
under test.
"""
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import vizlib
from vizlib import synthesis as S
from vizlib.hooks import hook_count
from vizlib.models import CourseNet

from tests.helpers import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def course():
    return vizlib.load_model("course", device="cpu")


def numpy_scale(h, w, decay):
    """The 1/f^decay amplitude of each rfft2 frequency, floored at 1/max(h, w), unit RMS."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.maximum(np.hypot(fy, fx), 1.0 / max(h, w))
    s = f ** -decay
    return s / np.sqrt((s ** 2).mean())


def set_param(param, value):
    with torch.no_grad():
        param.params[0].copy_(torch.as_tensor(value, dtype=torch.float32))


# ----------------------------------------------------------------------------- Fourier parameterisation
@pytest.mark.parametrize("h, w", [(16, 16), (12, 10), (9, 7)])
def test_fourier_image_gives_back_an_image_whose_spectrum_it_was_given(h, w):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 3, h, w))
    spectrum = np.fft.rfft2(z, norm="ortho") / numpy_scale(h, w, 1.0)
    p = S.fourier_image((2, 3, h, w), decay=1.0, decorrelate=False, squash=None)
    set_param(p, np.stack([spectrum.real, spectrum.imag], -1))
    np.testing.assert_allclose(p.image_fn().detach().numpy() - 0.5, z, atol=1e-5)


def test_fourier_image_reanalysed_with_numpy_fft_gives_the_scaled_spectrum():
    h, w = 16, 16
    p = S.fourier_image((1, 3, h, w), decay=1.0, decorrelate=False, squash=None, sd=1.0, seed=3)
    s = p.params[0].detach().numpy()
    given = (s[..., 0] + 1j * s[..., 1]) * numpy_scale(h, w, 1.0)
    back = np.fft.rfft2(p.image_fn().detach().numpy() - 0.5, norm="ortho")
    # the columns 1 .. w/2 - 1 are free; the real frequencies (columns 0 and w/2) keep the
    # Hermitian part of what was given
    np.testing.assert_allclose(back[..., 1:w // 2], given[..., 1:w // 2], rtol=1e-4, atol=1e-5)
    assert abs(back[..., 0, 0].imag).max() < 1e-6


@pytest.mark.parametrize("decay", [0.0, 1.0, 2.0])
def test_fourier_image_amplitude_falls_as_one_over_f_to_the_decay(decay):
    h = w = 64
    phase = np.random.default_rng(1).uniform(0, 2 * np.pi, (1, 3, h, w // 2 + 1))
    p = S.fourier_image((1, 3, h, w), decay=decay, decorrelate=False, squash=None)
    set_param(p, np.stack([np.cos(phase), np.sin(phase)], -1))
    amp = np.abs(np.fft.rfft2(p.image_fn().detach().numpy()[0] - 0.5, norm="ortho")).mean(0)
    f = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :])
    band = (f > 2 / 64) & (f < 0.4) & (np.arange(w // 2 + 1)[None, :] > 0) & (np.arange(w // 2 + 1)[None, :] < w // 2)
    slope = np.polyfit(np.log(f[band]), np.log(amp[band]), 1)[0]
    assert slope == pytest.approx(-decay, abs=0.02)


def test_spectrum_scale_matches_numpy():
    np.testing.assert_allclose(S.spectrum_scale(12, 10, 1.5).numpy(), numpy_scale(12, 10, 1.5), rtol=1e-5)


def test_fourier_image_starts_mid_grey_with_the_documented_spread():
    p = S.fourier_image((4, 3, 64, 64), decorrelate=False, squash=None, sd=0.01, seed=0)
    z = p.image_fn().detach() - 0.5
    assert abs(z.mean()) < 1e-3 and z.std().item() == pytest.approx(0.01 * np.sqrt(2), rel=0.1)


def test_pixel_image_is_sigmoid_of_its_parameters_or_offset_pixels():
    p = S.pixel_image((1, 3, 4, 4), sd=1.0, seed=2)
    z = p.params[0].detach()
    torch.testing.assert_close(p.image_fn(), 1 / (1 + torch.exp(-z)))
    q = S.pixel_image((1, 3, 4, 4), sd=1.0, seed=2, squash=None)
    torch.testing.assert_close(q.image_fn(), z + 0.5)


# ----------------------------------------------------------------------------- decorrelated colour
def numpy_toy_covariance(n, seed):
    images, _, _ = vizlib.toy_world(n, seed=seed)
    pixels = images.numpy().transpose(1, 0, 2, 3).reshape(3, -1).astype(float)
    return np.cov(pixels)


def test_toy_colour_matrix_whitens_the_toy_worlds_colours():
    m = S.toy_colour_matrix().double().numpy()
    inv = np.linalg.inv(m)
    same = numpy_toy_covariance(256, 0)  # the sample it is computed from
    np.testing.assert_allclose(inv @ same @ inv.T, np.eye(3), atol=1e-4)
    other = numpy_toy_covariance(300, 11)  # a fresh sample: whitened to within a few per cent
    np.testing.assert_allclose(inv @ other @ inv.T, np.eye(3), atol=0.1)
    np.testing.assert_allclose(m, m.T, atol=1e-7)
    assert np.all(np.linalg.eigvalsh(m) > 0)


def test_toy_colour_matrix_is_a_copy():
    m = S.toy_colour_matrix()
    m.zero_()
    assert S.toy_colour_matrix().abs().sum() > 0


def test_decorrelated_fourier_image_applies_the_normalised_colour_matrix():
    plain = S.fourier_image((1, 3, 8, 8), decorrelate=False, squash=None, sd=1.0, seed=5)
    mixed = S.fourier_image((1, 3, 8, 8), decorrelate=True, squash=None, sd=1.0, seed=5)
    m = S.toy_colour_matrix().double().numpy()
    m = m / np.linalg.norm(m, axis=0).max()
    z = plain.image_fn().detach().double().numpy()[0] - 0.5
    expected = np.einsum("ij,jhw->ihw", m, z)
    np.testing.assert_allclose(mixed.image_fn().detach().numpy()[0] - 0.5, expected, atol=1e-6)


# ----------------------------------------------------------------------------- transforms
@pytest.mark.parametrize("side", [5, 6])
@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2)])
def test_rotate_by_quarter_turns_equals_rot90(side, angle, k):
    image = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = S.rotate((angle, angle))(image, torch.Generator())
    torch.testing.assert_close(out, torch.rot90(image, k, dims=(-2, -1)), atol=1e-12, rtol=0)


@pytest.mark.parametrize("factor, cols", [(2.0, range(8)), (0.5, range(2, 6))])
def test_scale_of_a_ramp_matches_the_closed_form(factor, cols):
    w = 8
    ramp = torch.arange(w, dtype=torch.float64).expand(1, 1, w, w)
    out = S.scale((factor, factor))(ramp, torch.Generator())
    centre = (w - 1) / 2
    expected = [centre + (x - centre) / factor for x in cols]  # bilinear is exact on a ramp
    np.testing.assert_allclose(out[0, 0, :, list(cols)].numpy(), np.tile(expected, (w, 1)), atol=1e-12)


def test_random_transforms_are_seeded_switchable_and_differentiable():
    image = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    t = S.robust_transforms(jitter=2, scale=0.1, rotate=10)
    a = t(image, torch.Generator().manual_seed(4))
    b = t(image, torch.Generator().manual_seed(4))
    gen = torch.Generator().manual_seed(4)
    c, d = t(image, gen), t(image, gen)
    assert torch.equal(a, b) and torch.equal(a, c) and not torch.equal(c, d)
    for off in (S.robust_transforms(jitter=0, scale=0, rotate=0), S.scale(0), S.rotate(0)):
        assert off(image, torch.Generator()) is image
    x = image.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(t(x, torch.Generator()).sum(), x)
    assert g.abs().sum() > 0


def test_robust_transforms_resample_scale_and_rotation_once():
    image = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    both = S.robust_transforms(jitter=0, scale=(2, 2), rotate=(90, 90))(image, torch.Generator())
    zoomed = S.scale((2, 2))(image, torch.Generator())
    torch.testing.assert_close(both, torch.rot90(zoomed, 1, dims=(-2, -1)), atol=1e-12, rtol=0)


def test_rotate_draws_angles_within_its_range():
    # a ramp along x rotated by a small angle a has slope cos(a) along x in the centre
    w = 33
    ramp = torch.arange(w, dtype=torch.float64).expand(1, 1, w, w)
    gen = torch.Generator().manual_seed(0)
    t = S.rotate(10)
    cosines = []
    for _ in range(20):
        out = t(ramp, gen)[0, 0]
        cosines.append(float(out[w // 2, w // 2 + 1] - out[w // 2, w // 2]))
    assert min(cosines) >= np.cos(np.radians(10)) - 1e-9 and max(cosines) <= 1 + 1e-9
    assert len({round(c, 9) for c in cosines}) > 10


# ----------------------------------------------------------------------------- objectives
def test_neuron_equals_the_hand_indexed_activation(course):
    x = vizlib.normalize(vizlib.toy_world(3, seed=1)[0])
    with torch.no_grad():
        conv3 = course.features[:7](x)  # conv1 .. conv3: the input of relu3
        relu3 = course.features[:8](x)
    got = S.evaluate(course, S.neuron("features.conv3", 5), x)
    torch.testing.assert_close(got, conv3[:, 5, 4, 4])  # the centre of the 8 x 8 map
    got = S.evaluate(course, S.neuron("features.relu3:input", 5, y=1, x=6), x)
    torch.testing.assert_close(got, conv3[:, 5, 1, 6])
    got = S.evaluate(course, S.neuron("features.relu3", 7, y=0, x=0), x)
    torch.testing.assert_close(got, relu3[:, 7, 0, 0])


def test_neuron_sums_over_the_batch_and_checks_the_position():
    acts = torch.arange(2 * 3 * 5 * 4, dtype=torch.float32).view(2, 3, 5, 4)
    T = lambda name: acts  # noqa: E731
    assert S.neuron("l", 2)(T).item() == acts[0, 2, 2, 2].item() + acts[1, 2, 2, 2].item()
    with pytest.raises(ValueError, match=r"\(y, x\) must lie in layer 'l'"):
        S.neuron("l", 0, y=5, x=0)(T)
    with pytest.raises(ValueError, match=r"channel must be in \[0, 2\]"):
        S.neuron("l", 3)(T)


def test_diversity_on_hand_built_feature_maps():
    one = torch.zeros(1, 2, 3, 3)
    one[0, 0] = 1.0  # only channel 0: G = [[1, 0], [0, 0]]
    both = torch.ones(1, 2, 3, 3)  # G = [[1, 1], [1, 1]]: cosine with the first 1 / 2
    other = torch.zeros(1, 2, 3, 3)
    other[0, 1] = 2.0  # G = [[0, 0], [0, 4]]: orthogonal to the first
    D = lambda acts: S.diversity("l")(lambda name: acts).item()  # noqa: E731
    assert D(torch.cat([one, one, one])) == pytest.approx(0.0, abs=1e-6)
    assert D(torch.cat([one, both])) == pytest.approx(0.5, abs=1e-6)
    assert D(torch.cat([one, other])) == pytest.approx(1.0, abs=1e-6)
    # three images: pairs (one, both) 1/2, (one, other) 0, (both, other) 1/2 -> mean cos 1/3
    assert D(torch.cat([one, both, other])) == pytest.approx(1 - 1 / 3, abs=1e-6)
    assert D(one) == 0.0


def test_objectives_with_input_layers_name_them():
    assert S.channel("features.relu3:input", 2).layers == ("features.relu3:input",)
    assert S.relu_of(CourseNet(), "features.relu2") == "features.relu2"
    ends_in_relu = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    assert S.relu_of(ends_in_relu, "0") == "0.1" and S.relu_of(ends_in_relu, "0.0") is None


# ----------------------------------------------------------------------------- render with a parameterisation
def test_render_with_fourier_param_raises_the_objective_and_returns_a_valid_image(course):
    obj = S.neuron("features.relu3:input", 9)
    out = S.render(course, obj, param=S.fourier_image((2, 3, 64, 64)), steps=12, lr=0.05,
                   transform=S.robust_transforms(), progress=False)
    hist = out.history["objective"]
    assert len(hist) == 13 and hist[-1] > hist[0] + 1
    assert out.image.shape == (2, 3, 64, 64)
    assert S.out_of_range(out.image).max() == 0
    assert hist[-1] == pytest.approx(S.evaluate(course, obj, out.image).sum().item(), rel=1e-4)


def test_render_with_param_scores_the_clipped_image():
    model = nn.Sequential(nn.Conv2d(3, 1, 1, bias=False)).eval()
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    p = S.pixel_image((1, 3, 4, 4), squash=None, sd=0.0)
    out = S.render(model, S.channel("0", 0), param=p, steps=30, lr=0.1, space="course", progress=False)
    # raw pixels rise past 1; the image returned, and its score, are clipped to [0, 1] = [-2, 2]
    assert p.image_fn().min() > 1.5
    assert torch.equal(out.image, torch.full((1, 3, 4, 4), 2.0))
    assert out.history["objective"][-1] == pytest.approx(6.0)


def test_render_param_stops_early_like_a_full_forward_pass(course):
    obj = S.neuron("features.relu2:input", 3)
    full = S.Objective(obj.fn, "full", obj.layers, uses_logits=True)
    a = S.render(course, obj, param=S.fourier_image((1, 3, 64, 64), seed=1), steps=3, lr=0.05,
                 transform=S.jitter(2), progress=False)
    b = S.render(course, full, param=S.fourier_image((1, 3, 64, 64), seed=1), steps=3, lr=0.05,
                 transform=S.jitter(2), progress=False)
    torch.testing.assert_close(a.image, b.image)


def test_input_of_an_inplace_relu_is_the_pre_relu_value():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(2, 2, 1)).eval()
    x = torch.randn(1, 3, 6, 6)
    with torch.no_grad():
        pre = model[0](x)
    got = S.evaluate(model, S.channel("1:input", 1), x)
    assert got.item() == pytest.approx(pre[0, 1].mean().item(), rel=1e-6)
    assert pre[0, 1].min() < 0  # so the ReLU's output would differ
    # and the gradient through it is that of the convolution alone
    out = S.render(model, S.channel("1:input", 1), x, steps=1, lr=1.0, progress=False)
    xx = x.clone().requires_grad_(True)
    conv = nn.functional.conv2d(xx, model[0].weight.detach(), model[0].bias.detach(), padding=1)
    (g,) = torch.autograd.grad(conv[0, 1].mean(), xx)
    torch.testing.assert_close(out.image, x + g)


def test_feature_vis_several_units_and_diversity(course):
    out = S.feature_vis(course, "features.relu3", [3, 8], n=2, steps=8, diversity=2.0, pre_relu=True,
                        progress=False)
    assert out.image.shape == (4, 3, 64, 64)
    act = out.history["activation"]
    assert act[-1] > act[0] and "diversity" in out.history
    # image i maximises unit [3, 3, 8, 8][i]: each image's own unit, evaluated independently
    values = [S.evaluate(course, S.neuron("features.relu3:input", u), out.image[i:i + 1]).item()
              for i, u in enumerate([3, 3, 8, 8])]
    assert np.mean(values) == pytest.approx(act[-1], rel=1e-4)
    # the diversity is that of relu3's output (recorded here by a plain forward pass) per unit
    with torch.no_grad():
        relu3 = course.features[:8](out.image)
    per_unit = sum(S.diversity("l")(lambda name, g=g: relu3[2 * g:2 * g + 2]).item() for g in range(2))
    assert out.history["diversity"][-1] == pytest.approx(per_unit, rel=1e-4, abs=1e-6)


def test_feature_vis_pixel_without_transforms_matches_render_with_neuron(course):
    a = S.feature_vis(course, "features.conv2", 4, steps=5, param="pixel", decorrelate=False, transforms=False,
                      progress=False)
    b = S.render(course, S.neuron("features.conv2", 4), param=S.pixel_image((1, 3, 64, 64)), steps=5,
                 lr=0.05, progress=False)
    torch.testing.assert_close(a.image, b.image)


# ----------------------------------------------------------------------------- measures
def test_evaluate_averages_over_the_same_transforms():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU()).eval()
    x = torch.randn(2, 3, 8, 8)
    t = S.robust_transforms(jitter=1, scale=0.1, rotate=10)
    got = S.evaluate(model, S.neuron("1", 1), x, transform=t, samples=3, seed=7)
    gen = torch.Generator().manual_seed(7)
    expected = torch.zeros(2)
    with torch.no_grad():
        for _ in range(3):
            expected += model(t(x, gen))[:, 1, 3, 3] / 3
    torch.testing.assert_close(got, expected)


def test_out_of_range_and_clip_valid_for_imagenet_statistics():
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    low, high = -mean / std, (1 - mean) / std
    image = torch.stack([low - 0.1, high, torch.zeros(3)], -1)[:, None, :]  # (3, 1, 3)
    assert S.out_of_range(image, "alexnet") == pytest.approx(1 / 3)
    torch.testing.assert_close(S.clip_valid(image, "alexnet")[:, 0, 0], low)


# ----------------------------------------------------------------------------- the channel_model fix
def test_channel_model_start_has_a_nonzero_gradient_for_every_relu3_unit(course):
    start = 0.1 * torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))  # init="noise", seed 0
    # plain autograd, all 128 units at once: copy c of the image gets the gradient of unit c
    copies = start.repeat(128, 1, 1, 1).requires_grad_(True)
    conv3 = course.features[:7](copies)
    units = torch.arange(128)
    (g_pre,) = torch.autograd.grad(conv3[units, units].mean((1, 2)).sum(), copies, retain_graph=True)
    (g_post,) = torch.autograd.grad(torch.relu(conv3)[units, units].mean((1, 2)).sum(), copies)
    stuck_pre = int((g_pre.flatten(1).abs().amax(1) == 0).sum())
    stuck_post = int((g_post.flatten(1).abs().amax(1) == 0).sum())
    assert stuck_post > 100 and stuck_pre == 0  # the fault (115 of 128) and the fix
    x = start.clone().requires_grad_(True)
    conv3 = course.features[:7](x)
    # channel_model's first step is a step along the pre-ReLU gradient, also for stuck units
    for c in (5, 40, 77):
        (g,) = torch.autograd.grad(conv3[0, c].mean(), x, retain_graph=True)
        out = S.channel_model(course, "features.relu3", c, steps=1, lr=10.0, pre_relu=True, progress=False,
                              **S.NO_REGULARISATION)
        torch.testing.assert_close(out.image, (start + 10.0 * g).clamp(-2, 2), rtol=1e-5, atol=1e-6)


def test_channel_model_post_relu_on_a_stuck_unit_warns_and_pre_relu_moves(course):
    with pytest.warns(RuntimeWarning, match="exactly zero"):
        stuck = S.channel_model(course, "features.relu3", 5, steps=3, pre_relu=False, progress=False)
    assert stuck.history["activation"][-1] == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moved = S.channel_model(course, "features.relu3", 5, steps=20, pre_relu=True, progress=False)
    act = moved.history["activation"]
    assert act[-1] > act[0] and act[-1] > 0


def test_channel_model_scores_the_clipped_image(course):
    out = S.channel_model(course, "features.conv3", 12, steps=10, lr=2000.0, pre_relu=True, progress=False)
    assert out.image.min() >= -2 and out.image.max() <= 2 and S.out_of_range(out.image) == 0
    assert (out.image.abs() == 2).any()  # the large step did push pixels to the bounds
    with torch.no_grad():
        value = course.features[:7](out.image)[0, 12].mean().item()
    assert out.history["activation"][-1] == pytest.approx(value, rel=1e-5)
    raw = S.channel_model(course, "features.conv3", 12, steps=10, lr=2000.0, clip=False, progress=False)
    assert S.out_of_range(raw.image) > 0


def test_channel_model_names_the_relu_input_when_not_told():
    model = CourseNet().eval()
    with pytest.warns(UserWarning, match=r"'features.relu4' is a ReLU.*pre_relu=True"):
        S.channel_model(model, "features.relu4", 0, steps=1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        S.channel_model(model, "features.relu4", 0, steps=1, pre_relu=True, progress=False)
        S.channel_model(model, "features.conv4", 0, steps=1, progress=False)


# ----------------------------------------------------------------------------- side effects
def _caller_model():
    model = CourseNet()
    model.train()
    model.features.conv1.weight.requires_grad_(False)
    return model


@pytest.mark.parametrize("call", [
    lambda m: S.feature_vis(m, "features.relu2", 1, n=2, steps=2, diversity=1.0, pre_relu=True, progress=False),
    lambda m: S.render(m, S.neuron("features.relu1:input", 0), param=S.fourier_image((1, 3, 64, 64)), steps=2,
                       lr=0.05, progress=False),
    lambda m: S.evaluate(m, S.neuron("features.relu3:input", 0) + S.channel("features.relu3", 1),
                         torch.zeros(2, 3, 64, 64), transform=S.robust_transforms(), samples=2),
    lambda m: S.feature_vis(m, "features.relu2", 99, steps=2, pre_relu=True, progress=False),  # raises
    lambda m: S.render(m, S.neuron("features.relu1:input", 0, y=40), param=S.fourier_image((1, 3, 64, 64)),
                       steps=2, lr=0.05, progress=False),  # raises in the first forward pass
])
def test_model_and_rng_unchanged_and_no_hooks_left(call):
    model = _caller_model()
    before = snapshot(model)
    state = torch.get_rng_state()
    try:
        call(model)
    except ValueError:
        pass
    assert_unchanged(model, before)
    assert hook_count(model) == 0
    assert torch.equal(torch.get_rng_state(), state)


def test_render_param_clears_the_parameters_gradients(course):
    p = S.fourier_image((1, 3, 64, 64))
    S.render(course, S.neuron("features.conv1", 0), param=p, steps=2, lr=0.05, progress=False)
    assert p.params[0].grad is None


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, fragment", [
    (lambda m: S.feature_vis(m, "features.conv9", 0, steps=1, progress=False), ValueError, "does not exist"),
    (lambda m: S.feature_vis(m, "features.conv2", 64, steps=1, progress=False), ValueError, r"channel must be in \[0, 63\]"),
    (lambda m: S.feature_vis(m, "features.conv2", -1, steps=1, progress=False), ValueError, "channel must be >= 0"),
    (lambda m: S.feature_vis(m, "features.conv2", [], steps=1, progress=False), ValueError, "non-empty list"),
    (lambda m: S.feature_vis(m, "features.conv2", 0, param="fft", steps=1, progress=False), ValueError, "param must be one of"),
    (lambda m: S.feature_vis(m, "features.conv2", 0, objective="max", steps=1, progress=False), ValueError,
     "objective must be one of"),
    (lambda m: S.feature_vis(m, "features.conv2", 0, transforms="yes", steps=1, progress=False), TypeError,
     "transforms must be"),
    (lambda m: S.feature_vis(m, "features.conv2", 0, diversity=-1.0, steps=1, progress=False), ValueError,
     "diversity must be >= 0"),
    (lambda m: S.feature_vis(m, "features.conv2", 0, n=0, steps=1, progress=False), ValueError, "n must be a positive int"),
    (lambda m: S.channel_model(m, "features.relu2", 0, pre_relu="yes", steps=1, progress=False), TypeError,
     "pre_relu must be None, True or False"),
    (lambda m: S.channel_model(m, "features.conv2", 0, clip=1, steps=1, progress=False), TypeError, "clip must be a bool"),
    (lambda m: S.render(m, S.channel("features.conv1", 0), param=(None, None), steps=1, lr=0.1, progress=False),
     TypeError, "param must be a parameterisation"),
    (lambda m: S.render(m, S.channel("features.conv1", 0), param=([torch.zeros(2)], lambda: None), steps=1, lr=0.1,
                        progress=False), ValueError, "requires_grad=True"),
    (lambda m: S.render(m, S.channel("features.conv1", 0), torch.zeros(1, 3, 64, 64),
                        param=S.pixel_image((1, 3, 64, 64)), steps=1, lr=0.1, progress=False), ValueError, "not both"),
    (lambda m: S.render(m, S.channel("features.conv1", 0), param=S.pixel_image((1, 3, 64, 64)), steps=1, lr=0.1,
                        regularisers=[S.blur_every(1, 1.0)], progress=False), ValueError, "regularisers must be empty"),
    (lambda m: S.render(m, S.channel("features.conv1", 0), steps=1, lr=0.1, progress=False), ValueError,
     "or give param="),
    (lambda m: S.render(m, S.channel("features.conv1", 0), param=S.pixel_image((1, 3, 64, 64)), steps=1, lr=0.1,
                        space="imagenet", progress=False), ValueError, "space must be None or a model name"),
    (lambda m: S.render(m, S.channel("features.conv9:input", 0), param=S.pixel_image((1, 3, 64, 64)), steps=1,
                        lr=0.1, progress=False), ValueError, "features.conv9"),
    (lambda m: S.evaluate(m, lambda T: 0, torch.zeros(1, 3, 64, 64)), TypeError, "objective must be"),
    (lambda m: S.evaluate(m, S.channel("features.conv1", 0), torch.zeros(3, 64, 64)), ValueError, r"\(N, C, H, W\)"),
    (lambda m: S.evaluate(m, S.channel("features.conv1", 0), torch.zeros(1, 3, 64, 64), samples=0), ValueError,
     "samples must be a positive int"),
])
def test_bad_arguments_name_the_argument(call, exc, fragment):
    model = CourseNet().eval()
    with pytest.raises(exc, match=fragment):
        call(model)
    assert hook_count(model) == 0


@pytest.mark.parametrize("make, exc, fragment", [
    (lambda: S.fourier_image((1, 1, 8, 8)), ValueError, r"shape must be \(N, 3, H, W\)"),
    (lambda: S.fourier_image((1, 3, 8)), ValueError, r"shape must be \(N, 3, H, W\)"),
    (lambda: S.fourier_image((1, 3, 8, 0)), ValueError, "shape must be a positive int"),
    (lambda: S.fourier_image((1, 3, 8, 8), decay=-1.0), ValueError, "decay must be >= 0"),
    (lambda: S.fourier_image((1, 3, 8, 8), sd="0.1"), TypeError, "sd must be a real number"),
    (lambda: S.fourier_image((1, 3, 8, 8), squash="tanh"), ValueError, "squash must be one of"),
    (lambda: S.fourier_image((1, 3, 8, 8), decorrelate=torch.eye(2)), ValueError, "decorrelate must be"),
    (lambda: S.pixel_image((1, 3, 8, 8), seed=-1), ValueError, "seed must be >= 0"),
    (lambda: S.scale(1.5), ValueError, "scale must give a range"),
    (lambda: S.scale((0.0, 1.0)), ValueError, "scale must give a range"),
    (lambda: S.rotate((10, -10)), ValueError, "rotate must give a range"),
    (lambda: S.rotate("10"), TypeError, "rotate must be a real number"),
    (lambda: S.neuron("features.conv1", 0, y=-1), ValueError, "y must be >= 0"),
    (lambda: S.diversity(3), TypeError, "layer must be a layer name"),
    (lambda: S.colour_matrix(torch.zeros(2, 1, 4, 4)), ValueError, r"\(N, 3, H, W\)"),
    (lambda: S.colour_matrix(torch.full((2, 3, 4, 4), 0.5)), ValueError, "singular covariance"),
])
def test_bad_construction_arguments(make, exc, fragment):
    with pytest.raises(exc, match=fragment):
        make()

"""vizlib.checks.check_class_model_loop passes a correct regularised loop and names typical mistakes.

The loops here are written independently of ``vizlib.synthesis`` and of the check's own variants:
the jitter is undone by rolling the gradient back by hand, the L2 term is a decay factor, and the
clipping uses ``torch.topk`` on the norm (not a squared norm and an argsort).
"""
import pytest
import torch

from vizlib import checks, synthesis


def blur(image, sigma):
    """Separable Gaussian blur with reflect padding, written out (radius round(3 sigma))."""
    radius = max(1, int(3 * sigma + 0.5))
    x = torch.arange(-radius, radius + 1, dtype=image.dtype)
    k = torch.exp(-x ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    padded = torch.nn.functional.pad(image, (radius,) * 4, mode="reflect")
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    for i, a in enumerate(k):          # rows, then columns, by explicit shifted sums
        for j, b in enumerate(k):
            out = out + a * b * padded[..., i:i + h, j:j + w]
    return out


def keep_largest(image, measure, fraction):
    """Zero the pixels outside the largest (1 - fraction) share of ``measure`` (H, W)."""
    h, w = measure.shape
    n_keep = h * w - int(fraction * h * w)
    idx = torch.topk(measure.flatten(), n_keep).indices
    keep = torch.zeros(h * w, dtype=image.dtype)
    keep[idx] = 1.0
    return image * keep.view(h, w)


def loop(model, target, image, *, steps, lr, l2, blur_every, blur_sigma, norm_clip, jitter, seed,
         mistake=None):
    gen = torch.Generator().manual_seed(seed)
    img = image.clone()
    for step in range(steps):
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
        shifted = torch.roll(img, (dy, dx), (2, 3)).requires_grad_(True)
        out = model(shifted)
        value = out.softmax(1)[0, target] if mistake == "prob" else out[0, target]
        (g,) = torch.autograd.grad(value, shifted)
        if mistake == "not_undone":
            img = torch.roll(img, (dy, dx), (2, 3))
        else:
            g = torch.roll(g, (-dy, -dx), (2, 3))        # undo the shift by hand
        decay = 1.0 if mistake == "no_l2" else 1.0 - 2.0 * lr * l2
        img = decay * img + lr * g
        if mistake == "wrong_order":
            img = keep_largest(img, img.norm(dim=1)[0], norm_clip)
        if mistake == "blur_every_step" or (step + 1) % blur_every == 0:
            img = blur(img, blur_sigma)
        if mistake == "l1_norm":
            img = keep_largest(img, img.abs().sum(1)[0], norm_clip)
        elif mistake != "wrong_order":
            img = keep_largest(img, img.norm(dim=1)[0], norm_clip)
    return img


def test_blur_here_matches_vizlib_blur():
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(blur(x, 0.8), synthesis.gaussian_blur(x, 0.8), atol=1e-6)


def test_hand_written_loop_matches_class_model():
    model = checks.class_model._loop_check_model()
    image = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    kw = dict(steps=7, lr=1.5, l2=0.03, blur_every=3, blur_sigma=0.7, norm_clip=0.25, jitter=2, seed=4)
    got = loop(model, 2, image, **kw)
    ref = synthesis.class_model(model, 2, init=image, progress=False, **kw).image
    assert torch.allclose(got, ref, atol=1e-5, rtol=1e-4)


def test_check_passes_correct_loop(capsys):
    assert checks.check_class_model_loop(loop) < 1e-4
    assert "PASS check_class_model_loop" in capsys.readouterr().out


MISTAKES = {
    "prob": "softmax probability",
    "not_undone": "jitter is not undone",
    "no_l2": "L2 decay is missing",
    "wrong_order": "wrong order",
    "blur_every_step": "blur after every step",
    "l1_norm": "L1 norm",
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_check_names_the_mistake(mistake, capsys):
    def wrong(model, target, image, **kw):
        return loop(model, target, image, mistake=mistake, **kw)

    with pytest.raises(AssertionError, match=MISTAKES[mistake]):
        checks.check_class_model_loop(wrong)
    assert "FAIL check_class_model_loop" in capsys.readouterr().out


def test_check_fails_when_the_image_is_changed_in_place(capsys):
    def in_place(model, target, image, **kw):
        result = loop(model, target, image, **kw)
        image.copy_(result)
        return result

    with pytest.raises(AssertionError, match="in place"):
        checks.check_class_model_loop(in_place)


def test_check_fails_when_nothing_is_returned():
    with pytest.raises(AssertionError, match="return the final image"):
        checks.check_class_model_loop(lambda model, target, image, **kw: None)


def test_check_gives_a_general_hint_for_an_unknown_mistake():
    def noisy(model, target, image, **kw):
        return loop(model, target, image, **kw) + 0.01

    with pytest.raises(AssertionError, match="steps=1"):
        checks.check_class_model_loop(noisy)


def test_check_leaves_global_rng_alone():
    state = torch.get_rng_state()
    checks.check_class_model_loop(loop)
    assert torch.equal(torch.get_rng_state(), state)


def test_check_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_class_model_loop("loop")

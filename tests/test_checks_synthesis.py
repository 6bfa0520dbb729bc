"""vizlib.checks.check_class_model_step passes a correct update and fails wrong ones."""
import pytest
import torch

from vizlib import checks


def step_backward(model, image, target, lr, l2):
    """Reference written with .backward() and .grad."""
    image = image.clone().requires_grad_(True)
    objective = model(image)[0, target] - l2 * (image ** 2).sum()
    objective.backward()
    return (image + lr * image.grad).detach()


def step_func(model, image, target, lr, l2):
    """Reference written with torch.func and an explicit decay factor."""
    score_grad = torch.func.grad(lambda x: model(x)[0, target])(image)
    return image * (1 - 2 * lr * l2) + lr * score_grad


def test_check_passes_correct_implementations(capsys):
    assert checks.check_class_model_step(step_backward) < 1e-5
    assert checks.check_class_model_step(step_func) < 1e-5
    assert "PASS check_class_model_step" in capsys.readouterr().out


def _grad(model, image, target, fn=lambda logits, t: logits[0, t]):
    x = image.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(model(x), target), x)
    return g


WRONG = {
    "descent": (lambda m, x, t, lr, l2: x - lr * (_grad(m, x, t) - 2 * l2 * x), "gradient descent"),
    "no_l2": (lambda m, x, t, lr, l2: x + lr * _grad(m, x, t), "-2 * l2 * I term"),
    "l2_without_2": (lambda m, x, t, lr, l2: x + lr * (_grad(m, x, t) - l2 * x), "not l2 * I"),
    "softmax": (lambda m, x, t, lr, l2: x + lr * (_grad(m, x, t, lambda z, c: z.softmax(1)[0, c]) - 2 * l2 * x),
                "not the softmax probability"),
    "no_lr": (lambda m, x, t, lr, l2: x + _grad(m, x, t) - 2 * l2 * x, "step size lr"),
    "log_softmax": (lambda m, x, t, lr, l2: x + lr * (_grad(m, x, t, lambda z, c: z.log_softmax(1)[0, c]) - 2 * l2 * x),
                    "add lr times it"),
    "wrong_target": (lambda m, x, t, lr, l2: x + lr * (_grad(m, x, (t + 1) % 5) - 2 * l2 * x), "add lr times it"),
    "gradient_only": (lambda m, x, t, lr, l2: lr * _grad(m, x, t), "Hint"),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_check_fails_wrong_implementations_with_a_hint(name, capsys):
    fn, hint = WRONG[name]
    with pytest.raises(AssertionError):
        checks.check_class_model_step(fn)
    out = capsys.readouterr().out
    assert "FAIL check_class_model_step" in out and "max |error|" in out and hint in out


def test_check_fails_when_nothing_is_returned(capsys):
    def in_place(model, image, target, lr, l2):
        image += lr * _grad(model, image, target)

    with pytest.raises(AssertionError):
        checks.check_class_model_step(in_place)
    assert "return it" in capsys.readouterr().out


def test_check_fails_on_wrong_shape(capsys):
    with pytest.raises(AssertionError):
        checks.check_class_model_step(lambda m, x, t, lr, l2: step_backward(m, x, t, lr, l2)[0])
    assert "shape" in capsys.readouterr().out


def test_check_leaves_global_rng_alone():
    state = torch.get_rng_state()
    checks.check_class_model_step(step_backward)
    assert torch.equal(torch.get_rng_state(), state)


def test_check_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_class_model_step(3)

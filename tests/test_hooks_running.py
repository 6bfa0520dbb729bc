"""Running the model in one place (``vizlib.hooks.running``): every helper that runs a model
works inside the caller's ``torch.no_grad()`` and gives the same result as outside it, and the
context manager itself restores the model's flags and the caller's gradient mode.

The reference for each helper is the same call made outside ``no_grad``, where the helpers
have always worked; the calls are the shared method table (tests/helpers.py, also used by tests/test_side_effects_zoo.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import vizlib
from tests import helpers as zoo
from vizlib import hooks, metrics, train

CALLS = dict(zoo.CALLS)
CALLS["score_maps"] = lambda m, x, t: metrics.score_maps(
    m, x, t, torch.rand(len(x), zoo.SIZE, zoo.SIZE, generator=torch.Generator().manual_seed(3)),
    torch.rand(len(x), zoo.SIZE, zoo.SIZE, generator=torch.Generator().manual_seed(4)) > 0.5, n_steps=2)
CALLS["accuracy"] = lambda m, x, t: train.accuracy(m, x, torch.as_tensor(t))


def values(result):
    """The tensors of a result, in a fixed order (tensors, tuples, dicts, named tuples)."""
    if isinstance(result, torch.Tensor):
        return [result.detach()]
    if isinstance(result, nn.Module):
        return [p.detach() for p in result.parameters()]
    if isinstance(result, dict):
        return [v for k in sorted(result, key=str) for v in values(result[k])]
    if isinstance(result, (tuple, list)):
        return [v for item in result for v in values(item)]
    if isinstance(result, (int, float, np.ndarray, np.number)):
        return [torch.as_tensor(np.asarray(result, dtype=float))]
    raise TypeError(f"no rule for a result of type {type(result).__name__}")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_model_helper_works_inside_no_grad_and_agrees(name):
    model = zoo.get_model("course")
    x, target = zoo.x_norm(2), torch.tensor([1, 3])
    torch.manual_seed(0)
    outside = CALLS[name](model, x, target)
    with torch.no_grad():
        torch.manual_seed(0)
        inside = CALLS[name](model, x, target)
        assert not torch.is_grad_enabled(), f"{name} left gradients switched on"
    a, b = values(outside), values(inside)
    assert len(a) == len(b) and a, name
    for u, v in zip(a, b):
        assert torch.equal(torch.as_tensor(u), torch.as_tensor(v)), f"{name} differs inside no_grad"


def test_running_sets_eval_mode_frozen_parameters_and_grad_mode_then_restores():
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
    model.train()
    model[0].weight.requires_grad_(False)            # a caller's own mix of flags
    before = [p.requires_grad for p in model.parameters()]
    x = torch.rand(1, 3, 5, 5, requires_grad=True)
    with torch.no_grad():
        with hooks.running(model) as m:
            assert m is model and torch.is_grad_enabled()
            assert not any(mod.training for mod in model.modules())
            assert not any(p.requires_grad for p in model.parameters())
            out = model(x)
            assert out.requires_grad                   # the graph reaches the input only
        assert not torch.is_grad_enabled()
    assert all(mod.training for mod in model.modules())
    assert [p.requires_grad for p in model.parameters()] == before
    with hooks.running(model, grad=False):
        assert not torch.is_grad_enabled() and not model(x).requires_grad
    assert torch.is_grad_enabled()


def test_running_restores_the_model_when_the_body_raises():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    model.train()
    with pytest.raises(RuntimeError, match="boom"):
        with hooks.running(model):
            raise RuntimeError("boom")
    assert model.training and model[1].training
    assert all(p.requires_grad for p in model.parameters())


def test_accuracy_runs_a_model_in_training_mode_as_in_eval_mode():
    """train.accuracy runs the model in eval mode (dropout off) and leaves its mode alone."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.Dropout(0.9))
    x, y = torch.randn(50, 3, 2, 2), torch.randint(0, 4, (50,))
    expected = (model.eval()(x).argmax(1) == y).float().mean().item()   # computed here, in eval mode
    model.train()
    assert train.accuracy(model, x, y) == pytest.approx(expected)
    assert model.training


def test_no_vizlib_module_hand_rolls_the_model_session():
    """The eval/no-grad pattern is written once, in vizlib.hooks."""
    root = Path(vizlib.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if p.name != "hooks.py"
                 and ("preserved(model" in p.read_text() or "def _session" in p.read_text())]
    assert not offenders, f"modules that run the model without hooks.running: {offenders}"
    assert len(list(root.rglob("*.py"))) > 40  # the subpackages are searched too


def test_no_vizlib_module_registers_its_own_forward_hooks():
    """Layers are recorded in one place, vizlib.hooks.record (the self-checks excepted: they
    build small models of their own)."""
    root = Path(vizlib.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "hooks.py" and p.parent.name != "checks"
                 and any(s in p.read_text() for s in ("register_forward_hook", "register_forward_pre_hook",
                                                      "class _Stop"))]
    assert not offenders, f"modules with their own forward hooks: {offenders}"

"""Hardening (issue 10): 100 calls in a row of each activation helper do not grow memory
(the attribution helpers are covered in test_attribution_zoo.py)."""

import pytest
import torch

import vizlib
from tests.helpers import assert_no_growth
from vizlib import activations



def _capture(model, x):
    with activations.capture(model, ["features.conv2", "features.relu4"]) as acts:
        with torch.no_grad():
            model(x)
    return acts


CALLS = {
    "capture": _capture,
    "get_activations": lambda m, x: activations.get_activations(m, x, ["features.conv2", "features.relu4"]),
    "get_activations_grad": lambda m, x: activations.get_activations(m, x, "features.conv3", grad=True),
    "top_activations": lambda m, x: activations.top_activations(m, x, "features.conv2", k=2, channels=[0, 1]),
}


@pytest.fixture(scope="module")
def model_and_x():
    model = vizlib.load_model("course", device="cpu")
    x = vizlib.normalize(vizlib.toy_world(8, seed=0)[0], "course")
    return model, x


@pytest.mark.parametrize("method", list(CALLS))
def test_hundred_calls_do_not_grow_memory(method, model_and_x):
    model, x = model_and_x
    assert_no_growth(lambda: CALLS[method](model, x))
    assert vizlib.hooks.hook_count(model) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="measures CUDA memory; runs on the GPU workflow")
@pytest.mark.parametrize("method", list(CALLS))
def test_hundred_calls_do_not_grow_cuda_memory(method, model_and_x):
    model = vizlib.load_model("course", device="cuda")
    x = model_and_x[1].cuda()
    for _ in range(3):
        CALLS[method](model, x)
    torch.cuda.synchronize()
    start = torch.cuda.memory_allocated()
    for _ in range(100):
        CALLS[method](model, x)
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() - start <= 0

"""Hardening (issue 10): 100 calls in a row of each activation helper do not grow memory
(the attribution helpers are covered in test_attribution_zoo.py)."""
import gc
import os

import psutil
import pytest
import torch

import vizlib
from vizlib import activations

RSS_TOLERANCE_MB = 20.0  # 100 leaked (8, 64, 16, 16) float maps would be 50 MB


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


def live_tensors():
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))


def rss_mb():
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


@pytest.fixture(scope="module")
def model_and_x():
    model = vizlib.load_model("course", device="cpu")
    x = vizlib.normalize(vizlib.toy_world(8, seed=0)[0], "course")
    return model, x


@pytest.mark.parametrize("method", list(CALLS))
def test_hundred_calls_do_not_grow_memory(method, model_and_x):
    model, x = model_and_x
    for _ in range(5):
        CALLS[method](model, x)
    tensors, rss = live_tensors(), rss_mb()
    for _ in range(100):
        CALLS[method](model, x)
    assert live_tensors() - tensors <= 0, "tensors survive the calls"
    assert rss_mb() - rss < RSS_TOLERANCE_MB
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

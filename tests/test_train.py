"""vizlib.train: the training script's data, determinism, reported accuracy and saved files.

A tiny recipe (256 images, one epoch) keeps it fast; every expected value is computed here
independently (a plain evaluation loop, hashlib, torch.load with weights_only=True).
"""
from __future__ import annotations

import hashlib
import json

import pytest
import torch

from vizlib import models, train
from vizlib.data import toy_world

TINY = dict(n_train=256, epochs=1, batch_size=64)


@pytest.fixture(scope="module")
def tiny_runs():
    return [train.train("course", progress=False, device="cpu", **TINY) for _ in range(2)]


def test_make_dataset_is_toy_world_in_chunks_of_consecutive_seeds():
    x, y, m = train.make_dataset(2_500, first_seed=5, workers=2)
    parts = [toy_world(2_000, seed=5), toy_world(500, seed=6)]
    for got, want in zip((x, y, m), zip(*parts)):
        assert torch.equal(got, torch.cat(want))


def test_training_is_deterministic_and_uses_the_recipe(tiny_runs):
    (a, rec_a), (b, rec_b) = tiny_runs
    for (k, v), (k2, w) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2 and torch.equal(v, w), k
    assert rec_a["test_accuracy"] == rec_b["test_accuracy"]
    assert rec_a["config"] == {**train.CONFIGS["course"], **TINY}
    assert a.features.conv1.kernel_size == (train.CONFIGS["course"]["conv1_kernel"],) * 2
    assert not a.training


def test_reported_accuracy_is_the_models_accuracy_on_the_fixed_test_set(tiny_runs):
    model, record = tiny_runs[0]
    xt, yt, _ = toy_world(train.N_TEST, seed=train.TEST_SEED)
    hits = 0
    with torch.no_grad():
        for i in range(0, len(yt), 250):
            logits = model(models.normalize(xt[i:i + 250], "course"))
            hits += int((logits.argmax(1) == yt[i:i + 250]).sum())
    assert record["test_accuracy"] == round(hits / len(yt), 4)
    assert record["n_test"] == train.N_TEST and record["test_seed"] == train.TEST_SEED


def test_save_writes_weights_and_a_manifest_entry_with_their_sha256(tiny_runs, tmp_path):
    model, record = tiny_runs[0]
    entry = train.save("course", model, record, out_dir=tmp_path)
    path = tmp_path / "course.pt"
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["course"]["sha256"] == entry["sha256"] and manifest["course"]["file"] == "course.pt"
    state = torch.load(path, weights_only=True)
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())

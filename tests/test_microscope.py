"""The microscope page (vizlib/microscope.py, chapters/microscope.md and chapters/microscope/).

The build does not regenerate the page; these tests check the stored one instead: it was made
from the current ``course`` weights (hashed here with hashlib), it lists exactly the conv units
of the model (counted here from its modules), a few units regenerated with the module give the
stored labels and IoUs exactly and the stored images closely, and its links and assets resolve.
"""
from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import vizlib
from vizlib import microscope as M

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
PAGE = CHAPTERS / "microscope.md"
ASSETS = CHAPTERS / "microscope"
# three units of different layers, at places 0, 1 and 2 of their feature_vis call (32 a call),
# so regenerating each needs a call of 1, 2 and 3 images
REGENERATED = [("features.relu1", 0), ("features.relu2", 33), ("features.relu3", 66)]
# 8-bit pixel values of a regenerated visualisation against the stored sprite. On the machine that
# made the page they are identical (measured: 0 levels apart, with 1 or 2 threads, calls of 1-4
# images against the stored calls of 32). Another CPU, BLAS or torch build rounds the convolutions
# differently in the last bits and 256 Adam steps carry that on, so the test allows a mean of 1
# level and no pixel more than 16 levels apart: far below what another unit's image differs by.
MEAN_TOLERANCE, MAX_TOLERANCE = 1.0, 16


@pytest.fixture(scope="module")
def catalogue():
    return json.loads((ASSETS / "catalogue.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model():
    return vizlib.load_model("course", device="cpu")


def conv_units(model: nn.Module) -> set:
    """(ReLU name, channel) of every conv unit: each Conv2d of ``model.features`` and the ReLU
    that follows it, read from the modules in order."""
    units, channels = set(), None
    for name, module in model.features.named_children():
        if isinstance(module, nn.Conv2d):
            channels = module.out_channels
        elif isinstance(module, nn.ReLU) and channels is not None:
            units |= {(f"features.{name}", c) for c in range(channels)}
            channels = None
    return units


def test_catalogue_names_the_sha256_of_the_current_course_weights(catalogue):
    manifest = json.loads((ROOT / "vizlib" / "weights" / "manifest.json").read_text())
    data = (ROOT / "vizlib" / "weights" / manifest["course"]["file"]).read_bytes()
    assert catalogue["weights"]["name"] == "course"
    assert catalogue["weights"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_catalogue_lists_exactly_the_conv_units_of_the_model(catalogue, model):
    expected = conv_units(model)
    listed = [(u["layer"], u["channel"]) for u in catalogue["units"]]
    assert len(expected) == 32 + 64 + 128 + 128
    assert len(listed) == len(set(listed)) == len(expected)
    assert set(listed) == expected
    assert {layer: f["units"] for layer, f in catalogue["layers"].items()} == \
        {layer: sum(1 for l_, _ in expected if l_ == layer) for layer in {l_ for l_, _ in expected}}


def test_catalogue_records_the_recipe_of_the_page(catalogue):
    assert catalogue["feature_vis"]["steps"] == 256
    assert catalogue["dissection"]["quantile"] == 0.005
    assert catalogue["data"]["n"] == 2000


def test_page_is_the_page_of_the_stored_catalogue(catalogue):
    assert PAGE.read_text(encoding="utf-8") == M.page(catalogue)


def _tiles(catalogue, layer, channel):
    files = catalogue["layers"][layer]
    vis = M.read_sprite(ASSETS / files["vis"])
    pat = M.read_sprite(ASSETS / files["patches"])
    px, k = catalogue["patches"]["px"], catalogue["patches"]["k"]
    rows = -(-k // catalogue["patches"]["per_row"])
    cols = catalogue["sprite_columns"]
    return M.tile(vis, channel, 64, 64, cols), M.tile(pat, channel, rows * px, 3 * px, cols)


def test_regenerated_units_give_the_stored_labels_and_ious_exactly(catalogue, model):
    units, sheets = M.records(model, progress=False)
    stored = {(u["layer"], u["channel"]): u for u in catalogue["units"]}
    for layer, channel in REGENERATED:
        new = next(u for u in units if (u["layer"], u["channel"]) == (layer, channel))
        old = stored[layer, channel]
        for key in ("label", "iou", "runner_up", "runner_up_iou", "top_class", "top_class_count",
                    "top_images"):
            assert new[key] == old[key], (layer, channel, key)
        # the patches are cut and resized deterministically: the stored sprite's block exactly
        _, block = _tiles(catalogue, layer, channel)
        again = M._grid(M._patch_blocks(sheets[layer][channel:channel + 1]), 1)
        np.testing.assert_array_equal(again, block)
    # and every unit's record, which costs nothing more
    assert [(u["label"], u["iou"]) for u in units] == [(u["label"], u["iou"]) for u in catalogue["units"]]


@pytest.mark.parametrize("layer, channel", REGENERATED)
def test_regenerated_unit_gives_the_stored_image_closely(catalogue, model, layer, channel):
    stored, _ = _tiles(catalogue, layer, channel)
    image = M.regenerate(model, layer, channel)
    again = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    diff = np.abs(again.astype(int) - stored.astype(int))
    assert diff.mean() <= MEAN_TOLERANCE and diff.max() <= MAX_TOLERANCE, (diff.mean(), diff.max())
    # not a blank tile that anything would match: the unit's image has structure
    assert stored.std() > 10


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.cards, self.rows = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            assert a["id"] not in self.ids, f"duplicate id {a['id']}"
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "article" and "mic-card" in a.get("class", ""):
            self.cards.append(a)
        if tag == "tr" and "mic-row" in a.get("class", ""):
            self.rows.append(a)


def test_page_links_resolve_and_every_card_has_its_row(catalogue):
    text = PAGE.read_text(encoding="utf-8")
    parser = _Anchors()
    parser.feed(text)
    n = len(catalogue["units"])
    assert len(parser.cards) == len(parser.rows) == n
    local = [h for h in parser.hrefs if h.startswith("#")]
    assert len(local) == 2 * n                                   # card -> row and row -> card
    missing = [h for h in local if h[1:] not in parser.ids]
    assert not missing, missing[:5]
    for u in catalogue["units"]:
        short = u["layer"].rsplit(".", 1)[-1]
        assert f'id="card-{short}-{u["channel"]}"' in text
        assert f'<a href="#unit-{short}-{u["channel"]}">' in text
        assert f'<tr id="unit-{short}-{u["channel"]}"' in text
    # every card and row carries what the filters read
    labels = {u["label"] for u in catalogue["units"]}
    for a in parser.cards + parser.rows:
        assert a["data-layer"] in {"relu1", "relu2", "relu3", "relu4"}
        assert a["data-label"] in labels
        float(a["data-iou"])


def test_page_assets_exist_and_are_copied_by_sphinx(catalogue):
    """The cards' CSS reads ``../_images/<name>``, where Sphinx copies the images that the page
    references with markdown image syntax; so each must be referenced that way and exist."""
    text = PAGE.read_text(encoding="utf-8")
    css = set(re.findall(r"url\(\.\./_images/([^)]+)\)", text))
    markdown = re.findall(r"!\[[^\]]+\]\(microscope/([^)]+)\)", text)
    assert css == set(markdown) and len(css) == 8
    for layer, files in catalogue["layers"].items():
        assert {files["vis"], files["patches"]} <= css
        cols = catalogue["sprite_columns"]
        rows = -(-files["units"] // cols)
        vis = M.read_sprite(ASSETS / files["vis"])
        assert vis.shape == (rows * 64, cols * 64, 3)
    # the names are the book's only images of those names (Sphinx would rename a second one)
    others = [p for p in ROOT.glob("chapters/**/*") if p.name in css and p.parent != ASSETS]
    assert not others
    # no network: the page names no other host
    assert "http://" not in text.split("<style>", 1)[1] and "https://" not in text.split("<style>", 1)[1]


def test_page_weight_stays_reasonable():
    total = sum(p.stat().st_size for p in ASSETS.iterdir()) + PAGE.stat().st_size
    assert total < 8 * 2**20, f"the microscope grew to {total / 2**20:.1f} MiB"


def test_visualise_restores_the_model_and_leaves_no_hook(model):
    model.train()
    flags = [p.requires_grad for p in model.parameters()]
    images = M.visualise(model, "features.relu2", [3, 1], steps=2, progress=False)
    assert images.shape == (2, 3, 64, 64) and images.min() >= 0 and images.max() <= 1
    assert model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    model.eval()


@pytest.mark.parametrize("call, error, words", [
    (lambda m: M.visualise(m, "features.conv1", [0]), ValueError, "layer must be one of"),
    (lambda m: M.visualise(m, 3, [0]), TypeError, "layer must be one of"),
    (lambda m: M.visualise(m, "features.relu1", [32]), ValueError, "channels must be in [0, 32)"),
    (lambda m: M.visualise(m, "features.relu1", []), ValueError, "channels must hold"),
    (lambda m: M.visualise(m, "features.relu1", 5), TypeError, "channels must be a list"),
    (lambda m: M.visualise(m, "features.relu1", [0], batch_size=0), ValueError, "batch_size"),
    (lambda m: M.regenerate(m, "features.relu4", 128), ValueError, "channels must be in [0, 128)"),
    (lambda m: M.build("/nonexistent/folder"), ValueError, "out must be an existing folder"),
    (lambda m: M.build(ROOT / "chapters", steps=0), ValueError, "steps"),
    (lambda m: M.build(3), TypeError, "out must be a folder path"),
    (lambda m: M.write_page(ROOT / "tests"), ValueError, "out must hold microscope/catalogue.json"),
    (lambda m: M.sprite_names("relu1"), ValueError, "layer must be one of"),
])
def test_bad_arguments_raise_clear_errors(model, call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call(model)


def test_command_rejects_a_missing_folder(capsys):
    with pytest.raises(SystemExit) as info:
        M.main(["--out", "/nonexistent/folder"])
    assert info.value.code == 2
    assert "--out must be an existing folder" in capsys.readouterr().err

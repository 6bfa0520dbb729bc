"""The live panels of the website (issue 15): the course model in the reader's browser.

The export (no build needed): ``scripts/export_tfjs.py`` writes exactly the shipped weights.
The built site (``_build/html``, as ``tests/test_site.py`` finds it: fail if it is missing), in
Debian's Chromium with every non-local request blocked: each page with a panel loads and its panel
starts, ``cnnviz.ready`` resolves on the WebAssembly backend, the model agrees with what ``vizlib``
computes here in Python on ``toy_world(16, seed=4242)`` (logits, the five gradient maps,
occlusion, activations, the class model's steps and its final image for all eight classes),
the page's own toy world (``cnnviz.toyWorld``) draws exactly the labels, pixels and masks that
``vizlib.data.toy_world`` draws for the same seeds, dragging the grey square
with the pointer, a finger or the arrow keys changes the displayed probabilities (to the values
PyTorch gives for the occluded image), bad arguments reject with errors that name the argument,
the page also works opened from disk and without WebAssembly (slower, with a notice), and if the
weights do not load, or do not match the page's sha256, the panel says so and the static figures
stay. Speed is measured in ``benchmarks/tfjs.py``, not here.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import torch

import vizlib
from scripts import cnnviz_sphinx, export_tfjs
from scripts.toc import toc_docnames
from tests.test_site import (  # noqa: F401  (browser and site are fixtures)
    HTML,
    KNOWN_JS_ERRORS,
    ROOT,
    TIMEOUT_MS,
    broken_images,
    browser,
    site,
)

EXPECTED_PANELS = {"chapters/occlusion": "occlusion", "chapters/saliency": "gradients",
                   "chapters/deconvnet": "gradients", "chapters/activations": "activations",
                   "chapters/class_model": "class-model"}
PANEL_RE = re.compile(r'<div class="cnnviz-panel" data-panel="([\w-]+)"')
MAX_PAGE_BYTES = 3_000_000
GRADIENT_METHODS = {"gradient": "gradient", "saliency": "saliency", "gradientXInput": "gradient_x_input",
                    "deconvnet": "deconvnet", "guidedBackprop": "guided_backprop"}


def source_panels() -> dict:
    """docname -> panel kind, from the chapters' markdown cells."""
    import nbformat

    found = {}
    for docname in toc_docnames():
        path = ROOT / f"{docname}.ipynb"
        if path.is_file():
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "markdown" and (m := PANEL_RE.search(cell.source)):
                    found[docname] = m[1]
    return found


PANEL_PAGES = sorted(source_panels())


@pytest.fixture(scope="module")
def model():
    return vizlib.load_model("course", device="cpu")


@pytest.fixture(scope="module")
def toys():
    images, labels, _ = vizlib.data.toy_world(16, seed=4242)
    return images, labels


class Page:
    """One page in a fresh context, every request outside the site blocked and recorded."""

    def __init__(self, browser, url: str, *, init_script: str | None = None, has_touch: bool = False,
                 routes: dict | None = None, wait: bool = True):
        self.context = browser.new_context(service_workers="block", has_touch=has_touch)
        self.external, self.failed, self.js_errors = [], [], []
        self.routes = routes or {}
        self.context.route("**/*", self._route)
        if init_script:
            self.context.add_init_script(init_script)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("pageerror", lambda e: None if any(k in str(e) for k in KNOWN_JS_ERRORS) else self.js_errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} (HTTP {r.status})"))
        self.page.goto(url, wait_until="load")
        if wait:
            self.page.wait_for_function(
                "() => [...document.querySelectorAll('.cnnviz-panel')].every(p => ['ready', 'failed'].includes(p.dataset.state))")

    def _route(self, route):
        url = urlsplit(route.request.url)
        for pattern, handler in self.routes.items():
            if re.search(pattern, route.request.url):
                return handler(route)
        if url.scheme in ("data", "blob", "about", "file") or url.hostname in ("127.0.0.1", "localhost"):
            return route.continue_()
        self.external.append(route.request.url)
        return route.abort("internetdisconnected")

    def evaluate(self, script, arg=None):
        return self.page.evaluate(script, arg)

    def close(self):
        self.context.close()


@pytest.fixture
def live(browser, site):
    pages = []

    def open_page(docname: str, **kwargs) -> Page:
        p = Page(browser, f"{site}/{docname}.html", **kwargs)
        pages.append(p)
        return p

    yield open_page
    for p in pages:
        p.close()


def _require_build():
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML.relative_to(ROOT)}/index.html is missing: run the build command first (README.md)")


def cosines(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of each row of a and b, in float64."""
    return torch.nn.functional.cosine_similarity(a.double().flatten(1), b.double().flatten(1), dim=1)


RUN_ALL = """async ([method, images, targets]) => {
    const out = [];
    for (let i = 0; i < images.length; i++) {
        const args = [new Float32Array(images[i])].concat(targets === null ? [] : targets[i]);
        out.push(Array.from(await cnnviz[method](...args)));
    }
    return out;
}"""


def run_all(p: Page, method: str, images: torch.Tensor, *per_image) -> torch.Tensor:
    """``cnnviz[method](image_i, a_i, b_i, ...)`` for every image i, as an (N, ...) tensor; each of
    ``per_image`` holds one argument per image (a tensor or a list)."""
    args = [[int(a[i]) for a in per_image] for i in range(len(images))] if per_image else None
    data = p.evaluate(RUN_ALL, [method, images.reshape(len(images), -1).tolist(), args])
    return torch.tensor(data, dtype=torch.float32)


# ---------------------------------------------------------------------------- the export


def test_exported_weight_file_matches_the_shipped_weights(tmp_path):
    result = export_tfjs.export(tmp_path)
    script = result["paths"]["weights"].read_text(encoding="ascii")
    blob = export_tfjs.decode_script(script, "cnnvizWeights")
    digest = hashlib.sha256(blob).hexdigest()
    assert result["paths"]["sha256"].read_text().split()[0] == digest == result["sha256"]
    manifest = json.loads((ROOT / "vizlib" / "weights" / "manifest.json").read_text())["course"]
    shipped = hashlib.sha256((ROOT / "vizlib" / "weights" / manifest["file"]).read_bytes()).hexdigest()
    header, arrays = export_tfjs.read_blob(blob)
    assert header["source_sha256"] == manifest["sha256"] == shipped
    state = torch.load(ROOT / "vizlib" / "weights" / manifest["file"], map_location="cpu", weights_only=True)
    assert sorted(arrays) == sorted(state)
    for name, value in state.items():
        assert np.array_equal(arrays[name], value.float().numpy()), name
    model = vizlib.load_model("course", device="cpu")
    assert [spec["name"] for spec in header["layers"]] == vizlib.hooks.layer_names(model)
    conv1 = model.features.conv1
    assert header["layers"][0] == {"name": "features.conv1", "type": "Conv2d", "stride": conv1.stride[0],
                                   "padding": conv1.padding[0]}
    assert header["classes"] == vizlib.class_names("course")


def test_exported_examples_and_wasm_are_what_they_say(tmp_path):
    from PIL import Image

    paths = export_tfjs.export(tmp_path)["paths"]
    wasm = paths["wasm"].read_text(encoding="ascii")
    assert wasm.count('"') == 2 and 'window.cnnvizWasm = "data:application/wasm;base64,' in wasm
    payload = wasm.split("base64,", 1)[1].rsplit('"', 1)[0]
    assert base64.b64decode(payload) == (ROOT / "_assets" / "tfjs" / "tfjs-backend-wasm-simd.wasm").read_bytes()
    text = paths["examples"].read_text(encoding="ascii")
    examples = json.loads(text[text.index("{"):text.rindex("}") + 1])
    images, labels, _ = vizlib.images.examples("course", 8)
    assert [e["label"] for e in examples["images"][:8]] == labels.tolist()
    assert sorted({e["label"] for e in examples["images"]}) == list(range(8))
    first = Image.open(io.BytesIO(base64.b64decode(examples["images"][0]["src"].split(",", 1)[1])))
    pixels = torch.from_numpy(np.asarray(first.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
    assert (pixels - images[0]).abs().max() <= 0.5 / 255 + 1e-6  # 8-bit PNG of the chapter's image


def test_pages_with_a_panel_are_the_five_chapters():
    assert source_panels() == EXPECTED_PANELS


def test_the_extension_lists_every_script_of_the_module_once():
    on_disk = {f"cnnviz/{p.name}" for p in (ROOT / "_assets" / "cnnviz").glob("*.js")}
    listed = set(cnnviz_sphinx.MODULE_FILES + cnnviz_sphinx.PANEL_FILES)
    assert listed == on_disk and len(cnnviz_sphinx.JS_FILES) == len(set(cnnviz_sphinx.JS_FILES))


# ---------------------------------------------------------------------------- the built site


def test_built_pages_load_the_panel_scripts_only_where_there_is_a_panel():
    _require_build()
    fresh = export_tfjs.weights_blob()[0]
    digest = hashlib.sha256(fresh).hexdigest()
    built = (HTML / "_static" / "cnnviz" / "course-weights.js").read_text(encoding="ascii")
    assert export_tfjs.decode_script(built, "cnnvizWeights") == fresh, "the build did not export the shipped weights"
    for docname in toc_docnames():
        html = (HTML / f"{docname}.html").read_text(encoding="utf-8")
        scripts = re.findall(r'<script ([^>]*)src="[./]*_static/(cnnviz/[\w.-]+\.js|tfjs/[\w.-]+\.js)\?v=\w+"', html)
        if docname in EXPECTED_PANELS:
            assert PANEL_RE.search(html)[1] == EXPECTED_PANELS[docname]
            assert [path for _, path in scripts] == cnnviz_sphinx.JS_FILES, docname
            api = next(attrs for attrs, path in scripts if path == cnnviz_sphinx.API_FILE)
            assert f'data-weights-sha256="{digest}"' in api, docname
            assert "cnnviz/cnnviz.css" in html
        else:
            assert not scripts and "cnnviz" not in html, f"{docname} loads the panel scripts without a panel"


def test_a_page_with_a_panel_loads_at_most_three_megabytes_more():
    _require_build()
    files = cnnviz_sphinx.JS_FILES + cnnviz_sphinx.CSS_FILES
    total = sum((HTML / "_static" / f).stat().st_size for f in files)
    assert total <= MAX_PAGE_BYTES, f"the panels add {total:,} bytes to a page"


@pytest.mark.parametrize("docname", PANEL_PAGES)
def test_panel_page_loads_offline_and_its_panel_starts(live, docname):
    p = live(docname)
    info = p.evaluate("cnnviz.ready")
    assert info["backend"] == "wasm" and info["notice"] is None
    panel = p.page.locator(".cnnviz-panel")
    assert panel.count() == 1 and panel.get_attribute("data-state") == "ready"
    kind = panel.get_attribute("data-panel")
    if kind != "class-model":
        _settle(p)
        assert sum(_probabilities(p)) == pytest.approx(100, abs=0.5)
    if kind == "class-model":
        assert p.page.locator(".cnnviz-panel").get_attribute("data-runs") is None  # waits until seen
        panel.scroll_into_view_if_needed()
        p.page.wait_for_function("Number(document.querySelector('.cnnviz-panel').dataset.runs) >= 1", timeout=120_000)
        assert "probability" in p.page.locator(".cnnviz-ascent").inner_text()
    elif kind == "gradients":
        p.page.wait_for_function("document.querySelector('.cnnviz-panel').dataset.target !== undefined")
        assert p.page.locator(".cnnviz-panel canvas.cnnviz-map").count() == 5
    elif kind == "activations":
        p.page.wait_for_function("document.querySelector('.cnnviz-grid').dataset.layer === 'features.relu1'")
        assert p.page.locator(".cnnviz-grid canvas").count() == 32
    assert p.page.locator(".cnnviz-fallback").count() == 0
    assert broken_images(p.page) == []
    assert p.external == [] and p.failed == [] and p.js_errors == []


# ---------------------------------------------------------------------------- agreement with PyTorch


def test_model_agrees_with_pytorch_on_sixteen_toy_images(live, model, toys):
    images, labels = toys
    x = vizlib.normalize(images, "course")
    p = live("chapters/occlusion")
    with torch.no_grad():
        logits = model(x)
    got = run_all(p, "predict", images)
    assert (got - logits).abs().max() / logits.abs().max() <= 1e-4
    for js_name, py_name in GRADIENT_METHODS.items():
        expected = getattr(vizlib.attribution, py_name)(model, x, labels)
        got = run_all(p, js_name, images, labels).reshape(expected.shape)
        worst = cosines(got, expected).min().item()
        assert worst >= 0.9999, f"{js_name}: cosine {worst:.6f} on the worst image"
    expected = vizlib.attribution.occlusion(model, x, labels, window=8, stride=4, progress=False)
    got = run_all(p, "occlusion", images, labels, [8] * 16, [4] * 16).reshape(expected.shape)
    assert (got - expected).abs().max() <= 1e-4
    layers = vizlib.hooks.layer_names(model)
    acts = vizlib.activations.get_activations(model, x[:1], layers)
    for layer in layers:
        out = p.evaluate("async ([im, layer]) => { const a = await cnnviz.activations(new Float32Array(im), layer); "
                         "return {shape: a.shape, data: Array.from(a.data)}; }", [images[0].flatten().tolist(), layer])
        assert out["shape"] == list(acts[layer].shape), layer
        ref = acts[layer].flatten()
        err = (torch.tensor(out["data"]) - ref).abs().max() / ref.abs().max().clamp(min=1e-12)
        assert err <= 1e-4, f"{layer}: relative error {err:.2e}"
    assert p.js_errors == [] and p.external == []


#: Classes whose default ascent crosses a kink where float32 rounding picks the branch, so that the
#: page's final image and PyTorch's go separate ways although every step agrees. The circle: at
#: step 67 (0-based) a features.relu2 pre-activation, unit (62, 12, 6), is +1.8e-7 on the page's
#: image and -1.5e-7 on PyTorch's (the two images differ by 1.1e-6 after 67 steps of float32
#: rounding; float64 gives -4.9e-7 on both), and from step 68 the ascents differ (cosine 0.88 at
#: step 100). One PyTorch step from each of the page's 100 images gives the page's next image to
#: 2.4e-6, so the page computes each step as PyTorch does; the split is rounding, not a rule.
KINKED_CLASS_MODELS = {vizlib.class_names("course").index("circle")}

CLASS_MODEL_RUN = """async (t) => {
    const steps = [];
    const r = await cnnviz.classModel(t, {onStep: (s) => { if (s.step % 10 === 0) steps.push(
        {step: s.step, image: Array.from(s.image), gradient: Array.from(s.gradient), shift: s.shift}); }});
    return {image: Array.from(r.image), score: r.history.score, prob: r.history.prob, shifts: r.shifts, steps};
}"""


@pytest.fixture(scope="module")
def class_model_page(browser, site):
    """One class-model page for the eight ascents (each takes a few seconds)."""
    p = Page(browser, f"{site}/chapters/class_model.html")
    yield p
    p.close()


@pytest.mark.parametrize("target", range(len(vizlib.class_names("course"))),
                         ids=list(vizlib.class_names("course")))
def test_class_model_steps_and_image_agree_with_vizlib(class_model_page, model, target):
    from vizlib.synthesis import class_model, class_score, squared_norm

    p = class_model_page
    res = p.evaluate(CLASS_MODEL_RUN, target)
    reference = class_model(model, target, progress=False)  # the defaults: 100 steps, every regulariser
    defaults = p.evaluate("cnnviz.ready.then(i => i.classModelDefaults)")
    gen = torch.Generator().manual_seed(defaults["seed"])
    n = defaults["jitter"]
    assert res["shifts"] == [torch.randint(-n, n + 1, (2,), generator=gen).tolist() for _ in range(defaults["steps"])]
    assert len(res["score"]) == len(res["prob"]) == defaults["steps"] + 1
    objective = class_score(target) - defaults["l2"] * squared_norm()
    for step in res["steps"]:
        image = torch.tensor(step["image"], dtype=torch.float32).reshape(1, 3, 64, 64).requires_grad_(True)
        logits = model(torch.roll(image, shifts=tuple(step["shift"]), dims=(-2, -1)))
        (grad,) = torch.autograd.grad(objective(lambda name: image if name == "input" else logits), image)
        cos = cosines(grad, torch.tensor(step["gradient"]).reshape(grad.shape)).item()
        assert cos >= 0.9999, f"step {step['step']}: gradient cosine {cos:.6f}"
    final = cosines(torch.tensor(res["image"]).reshape(1, -1), reference.image).item()
    if target in KINKED_CLASS_MODELS and final < 0.99:
        pytest.xfail(f"final image cosine {final:.4f}: the ascent crosses a float32 kink (KINKED_CLASS_MODELS)")
    assert final >= 0.99, f"final image cosine {final:.4f}"
    assert res["prob"][-1] == pytest.approx(reference.history["prob"][-1], abs=0.05)
    assert p.js_errors == [] and p.external == []


TOY_SEEDS = list(range(16)) + [4242, 2**32 - 1, 2**32 + 7, 2**53 - 1]  # 20 seeds, one- and two-word

TOY_WORLD_RUN = """async ([n, seeds]) => {
    const out = [];
    for (const seed of seeds) {
        const r = await cnnviz.toyWorld(n, seed);
        out.push({images: Array.from(r.images), labels: Array.from(r.labels), masks: Array.from(r.masks)});
    }
    return out;
}"""


def test_toy_world_in_the_page_draws_what_vizlib_draws(live):
    """The page's port of toy_world (numpy's SeedSequence and PCG64, the drawing code) against numpy.

    Exact: the same doubles in the same order, rounded to float32 at the one place numpy stores
    them. (Math.hypot, atan2, cos, sin and pow may differ from numpy's in the last bit, which
    would move an object's edge only for a pixel centre within about 1e-16 of it: not for these
    seeds.)"""
    p = live("chapters/occlusion")
    for n, seeds in [(1, TOY_SEEDS), (5, [7])]:  # n = 5: labels from 32-bit halves, one left over
        for seed, got in zip(seeds, p.evaluate(TOY_WORLD_RUN, [n, seeds])):
            images, labels, masks = vizlib.data.toy_world(n, seed=seed)
            assert got["labels"] == labels.tolist(), seed
            pixels = torch.tensor(got["images"], dtype=torch.float32).reshape(images.shape)
            assert (pixels - images).abs().max().item() == 0, f"seed {seed}"
            assert torch.equal(torch.tensor(got["masks"]).reshape(masks.shape).bool(), masks), f"seed {seed}"
    assert p.js_errors == [] and p.external == []


# ---------------------------------------------------------------------------- the occlusion panel


def _probabilities(p: Page) -> list[float]:
    texts = p.page.locator(".cnnviz-panel .cnnviz-probs .cnnviz-prob-value").all_inner_texts()
    return [float(t.replace("%", "").strip()) for t in texts]


def _updates(p: Page) -> int:
    return int(p.page.locator(".cnnviz-panel .cnnviz-probs").get_attribute("data-updates"))


def _occluded_probabilities(model, p: Page, pixels: torch.Tensor) -> list[float]:
    """What PyTorch gives for the panel's image with the grey square where the page shows it."""
    row, col = map(int, p.page.locator(".cnnviz-panel canvas.cnnviz-image").get_attribute("data-occluder").split(","))
    window = int(p.page.locator(".cnnviz-panel select[data-control=window]").input_value())
    occluded = pixels.clone()
    occluded[:, row:row + window, col:col + window] = 0.5  # the mean colour: 0 in normalised space
    with torch.no_grad():
        return (100 * model(vizlib.normalize(occluded[None], "course")).softmax(1)[0]).tolist()


def _first_example() -> torch.Tensor:
    from PIL import Image

    text = (HTML / "_static" / "cnnviz" / "course-examples.js").read_text(encoding="ascii")
    src = json.loads(text[text.index("{"):text.rindex("}") + 1])["images"][0]["src"]
    image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1).contiguous()


def _settle(p: Page, after: int = 0):
    """Wait until the probabilities were updated more than ``after`` times and then stayed put
    for 300 ms (a burst of moves ends on its last position)."""
    p.page.wait_for_function(f"Number(document.querySelector('.cnnviz-panel .cnnviz-probs').dataset.updates) > {after}")
    while True:
        n = _updates(p)
        p.page.wait_for_timeout(300)
        if _updates(p) == n:
            return


def test_dragging_the_grey_square_changes_the_displayed_probabilities(live, model):
    p = live("chapters/occlusion")
    canvas = p.page.locator(".cnnviz-panel canvas.cnnviz-image")
    _settle(p)
    pixels = _first_example()
    before, where = _probabilities(p), canvas.get_attribute("data-occluder")
    assert before == pytest.approx(_occluded_probabilities(model, p, pixels), abs=0.051)

    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    n = _updates(p)
    p.page.mouse.move(box["x"] + 0.75 * box["width"], box["y"] + 0.25 * box["height"])
    p.page.mouse.down()
    p.page.mouse.move(box["x"] + 0.55 * box["width"], box["y"] + 0.6 * box["height"], steps=8)
    p.page.mouse.up()
    _settle(p, n)
    dragged = _probabilities(p)
    assert canvas.get_attribute("data-occluder") != where and dragged != before
    assert dragged == pytest.approx(_occluded_probabilities(model, p, pixels), abs=0.051)

    n, row_col = _updates(p), canvas.get_attribute("data-occluder")
    canvas.focus()
    for key in ["ArrowLeft"] * 6 + ["Shift+ArrowUp"] * 2:
        p.page.keyboard.press(key)
    _settle(p, n)
    row, col = map(int, row_col.split(","))
    assert canvas.get_attribute("data-occluder") == f"{max(0, row - 8)},{max(0, col - 6)}"
    keyed = _probabilities(p)
    assert keyed != dragged
    assert keyed == pytest.approx(_occluded_probabilities(model, p, pixels), abs=0.051)
    assert p.js_errors == [] and p.external == []


def test_a_finger_moves_the_grey_square(live):
    p = live("chapters/occlusion", has_touch=True)
    canvas = p.page.locator(".cnnviz-panel canvas.cnnviz-image")
    _settle(p)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    n = _updates(p)
    at = 16.5 / 64  # the middle of image pixel 16
    p.page.touchscreen.tap(box["x"] + at * box["width"], box["y"] + at * box["height"])
    _settle(p, n)
    assert canvas.get_attribute("data-occluder") == "8,8"  # the 16-pixel square centred at (16, 16)
    assert p.js_errors == []


def _source_label(p: Page) -> str:
    return p.page.locator(".cnnviz-panel .cnnviz-source-label").inner_text()


def test_a_seed_draws_a_new_toy_image_with_the_keyboard(live, model):
    p = live("chapters/occlusion")
    canvas = p.page.locator(".cnnviz-panel canvas.cnnviz-image")
    classes = vizlib.class_names("course")
    _settle(p)
    assert _source_label(p) == f"Stored example 1: {classes[int(canvas.get_attribute('data-label'))]}."
    box = p.page.locator(".cnnviz-panel input[data-control=seed]")
    box.scroll_into_view_if_needed()
    n = _updates(p)
    box.focus()
    p.page.keyboard.press("Control+A")
    p.page.keyboard.type("17")
    p.page.keyboard.press("Enter")
    _settle(p, n)
    images, labels, _ = vizlib.data.toy_world(1, seed=17)
    assert canvas.get_attribute("data-seed") == "17" and int(canvas.get_attribute("data-label")) == int(labels[0])
    assert _source_label(p).startswith(f"Seed 17: {classes[labels[0]]} ")
    assert _probabilities(p) == pytest.approx(_occluded_probabilities(model, p, images[0]), abs=0.051)

    n = _updates(p)
    p.page.keyboard.press("Tab")  # on to the "New image" button
    assert p.evaluate("document.activeElement.dataset.control") == "new-image"
    p.page.keyboard.press("Enter")
    _settle(p, n)
    seed = int(box.input_value())
    assert canvas.get_attribute("data-seed") == str(seed)
    images, labels, _ = vizlib.data.toy_world(1, seed=seed)
    assert _source_label(p).startswith(f"Seed {seed}: {classes[labels[0]]} ")
    assert _probabilities(p) == pytest.approx(_occluded_probabilities(model, p, images[0]), abs=0.051)

    n = _updates(p)
    box.fill("-3")
    box.press("Enter")
    assert "whole number" in _source_label(p) and "-3" in _source_label(p)
    p.page.wait_for_timeout(300)
    assert _updates(p) == n and canvas.get_attribute("data-seed") == str(seed)  # the image stays
    assert p.js_errors == [] and p.external == []


@pytest.mark.parametrize("docname", ["chapters/saliency", "chapters/activations"])
def test_the_other_panels_draw_an_image_from_a_seed(live, docname):
    p = live(docname)
    _settle(p)
    n = _updates(p)
    box = p.page.locator(".cnnviz-panel input[data-control=seed]")
    box.fill("4242")
    box.press("Enter")
    _settle(p, n)
    _, labels, _ = vizlib.data.toy_world(1, seed=4242)
    assert _source_label(p).startswith(f"Seed 4242: {vizlib.class_names('course')[labels[0]]} ")
    assert p.js_errors == []


def test_the_full_occlusion_map_button_draws_the_map(live):
    p = live("chapters/occlusion")
    _settle(p)
    p.page.locator(".cnnviz-panel button", has_text="Full occlusion map").click()
    p.page.wait_for_function("document.querySelector('.cnnviz-panel figure.cnnviz-figure').dataset.target !== undefined",
                             timeout=60_000)
    assert "169 positions" in p.page.locator(".cnnviz-panel .cnnviz-caption").inner_text()  # 16 px, stride 4
    assert p.js_errors == []


def test_painting_on_the_image_changes_the_prediction_and_the_maps(live):
    p = live("chapters/saliency")
    p.page.wait_for_function("document.querySelector('.cnnviz-panel').dataset.target !== undefined")
    _settle(p)
    snapshot = "() => [...document.querySelectorAll('.cnnviz-panel canvas.cnnviz-map')].map(c => c.toDataURL())"
    maps, probs, n = p.evaluate(snapshot), _probabilities(p), _updates(p)
    canvas = p.page.locator(".cnnviz-panel canvas.cnnviz-image")
    canvas.scroll_into_view_if_needed()
    p.page.locator(".cnnviz-panel [data-control=colour]").fill("#ff0000")
    p.page.locator(".cnnviz-panel [data-control=brush]").select_option("8")
    box = canvas.bounding_box()
    p.page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.5 * box["height"])
    p.page.mouse.down()
    p.page.mouse.move(box["x"] + 0.7 * box["width"], box["y"] + 0.5 * box["height"], steps=10)
    p.page.mouse.up()
    _settle(p, n)
    p.page.wait_for_timeout(1000)  # the five maps of the last update
    assert _probabilities(p) != probs
    after = p.evaluate(snapshot)
    assert all(a != b for a, b in zip(after, maps)), "a map did not change"
    assert p.js_errors == []


# ---------------------------------------------------------------------------- bad arguments

GOOD = "new Float32Array(12288).fill(0.5)"
BAD_CALLS = [
    ("cnnviz.predict(new Float32Array(100))", "RangeError", ["pixels", "12288", "length 100"]),
    ("cnnviz.predict('an image')", "TypeError", ["pixels", "Float32Array"]),
    ("(() => { const p = new Float32Array(12288).fill(0.5); p[7] = NaN; return cnnviz.predict(p); })()",
     "RangeError", ["pixels", "[0, 1]", "NaN", "index 7"]),
    ("cnnviz.saliency(new Float32Array(12288).fill(2), 0)", "RangeError", ["pixels", "[0, 1]"]),
    (f"cnnviz.gradient({GOOD}, 8)", "RangeError", ["target", "[0, 7]", "got 8"]),
    (f"cnnviz.guidedBackprop({GOOD}, 1.5)", "RangeError", ["target", "integer"]),
    (f"cnnviz.deconvnet({GOOD}, '3')", "TypeError", ["target", "integer"]),
    (f"cnnviz.gradientXInput({GOOD}, -1)", "RangeError", ["target"]),
    (f"cnnviz.occlusion({GOOD}, 0, 65, 4)", "RangeError", ["window", "[1, 64]", "image side", "got 65"]),
    (f"cnnviz.occlusion({GOOD}, 0, 8, 0)", "RangeError", ["stride", ">= 1"]),
    (f"cnnviz.occlusion({GOOD}, 9, 8, 4)", "RangeError", ["target"]),
    (f"cnnviz.activations({GOOD}, 'features.conv9')", "RangeError", ["layer", "features.conv1", "features.conv9"]),
    ("cnnviz.classModel(8)", "RangeError", ["target", "[0, 7]"]),
    ("cnnviz.classModel(0, {steps: 0})", "RangeError", ["options.steps", "got 0"]),
    ("cnnviz.classModel(0, {lr: 300})", "RangeError", ["options.lr * options.l2", "0.5"]),
    ("cnnviz.classModel(0, {speed: 2})", "RangeError", ["options", "speed", "steps"]),
    ("cnnviz.classModel(0, {normClip: 1})", "RangeError", ["options.normClip", "[0, 1)"]),
    ("cnnviz.classModel(0, {blurEvery: 2, blurSigma: 0})", "RangeError", ["options.blurSigma", "positive"]),
    ("cnnviz.classModel(0, {init: new Float32Array(5)})", "RangeError", ["options.init", "12288"]),
    ("cnnviz.toyWorld(1, -1)", "RangeError", ["cnnviz.toyWorld", "seed", "non-negative integer", "got -1"]),
    ("cnnviz.toyWorld(1, 2.5)", "RangeError", ["seed", "non-negative integer", "got 2.5"]),
    ("cnnviz.toyWorld(0, 1)", "RangeError", ["n", "[1, 1000]", "got 0"]),
    ("cnnviz.toyWorld(1, '7')", "TypeError", ["seed", "integer"]),
]


def test_bad_arguments_reject_with_errors_naming_the_argument(live):
    p = live("chapters/saliency")
    p.evaluate("cnnviz.ready")
    for call, kind, words in BAD_CALLS:
        got = p.evaluate("async (call) => { try { await (new Function(`return ${call};`))(); return null; } "
                         "catch (e) { return [e.name, e.message]; } }", call)
        assert got is not None, f"{call} did not reject"
        assert got[0] == kind, f"{call}: {got}"
        for word in words:
            assert word in got[1], f"{call}: {got[1]!r} lacks {word!r}"
    assert p.evaluate(f"cnnviz.predict({GOOD}).then(l => l.length)") == 8  # still working
    assert p.js_errors == []


def test_calls_release_every_tensor(live):
    p = live("chapters/activations")
    p.page.wait_for_function("document.querySelector('.cnnviz-grid').dataset.layer !== undefined")
    p.page.wait_for_timeout(500)
    counts = p.evaluate(f"""async () => {{
        const px = {GOOD}, before = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) {{
            await cnnviz.predict(px); await cnnviz.gradient(px, 1); await cnnviz.saliency(px, 1);
            await cnnviz.deconvnet(px, 2); await cnnviz.guidedBackprop(px, 3); await cnnviz.gradientXInput(px, 4);
            await cnnviz.activations(px, 'features.pool2'); await cnnviz.occlusion(px, 5, 32, 16);
            await cnnviz.classModel(6, {{steps: 3}});
            await cnnviz.predict(new Float32Array(3)).catch(() => null);
        }}
        return [before, tf.memory().numTensors];
    }}""")
    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------- other ways to open a page


def test_a_page_opened_from_disk_runs_the_model(browser, model, toys):
    _require_build()
    images, _ = toys
    url = (HTML / "chapters" / "occlusion.html").resolve().as_uri()
    p = Page(browser, url)
    try:
        assert p.evaluate("cnnviz.ready.then(i => i.backend)") == "wasm"
        assert p.page.locator(".cnnviz-panel").get_attribute("data-state") == "ready"
        got = run_all(p, "predict", images[:2])
        with torch.no_grad():
            expected = model(vizlib.normalize(images[:2], "course"))
        assert (got - expected).abs().max() / expected.abs().max() <= 1e-4
        assert p.external == [] and p.js_errors == []
    finally:
        p.close()


def test_without_webassembly_the_slower_cpu_backend_runs_with_a_notice(live, model, toys):
    images, labels = toys
    p = live("chapters/deconvnet", init_script="delete window.WebAssembly;")
    info = p.evaluate("cnnviz.ready")
    assert info["backend"] == "cpu" and "WebAssembly" in info["notice"]
    assert info["notice"] in p.page.locator(".cnnviz-panel .cnnviz-notice").inner_text()
    assert p.page.locator(".cnnviz-panel").get_attribute("data-state") == "ready"
    x = vizlib.normalize(images[:2], "course")
    with torch.no_grad():
        expected = model(x)
    got = run_all(p, "predict", images[:2])
    assert (got - expected).abs().max() / expected.abs().max() <= 1e-4
    guided = run_all(p, "guidedBackprop", images[:2], labels[:2]).reshape(2, 3, 64, 64)
    assert cosines(guided, vizlib.attribution.guided_backprop(model, x, labels[:2])).min() >= 0.9999
    assert p.external == [] and p.failed == [] and p.js_errors == []


def test_if_the_weights_do_not_load_the_panel_says_so_and_the_figures_stay(live):
    p = live("chapters/occlusion", routes={r"/course-weights\.js": lambda route: route.abort("failed")})
    message = p.evaluate("cnnviz.ready.then(() => null, e => e.message)")
    assert message and "weights did not load" in message
    panel = p.page.locator(".cnnviz-panel")
    assert panel.get_attribute("data-state") == "failed"
    assert "could not start" in panel.inner_text() and "weights did not load" in panel.inner_text()
    figures = p.page.locator(".cell_output img")
    assert figures.count() >= 3 and broken_images(p.page) == []
    assert p.js_errors == [] and p.external == []


def test_weights_that_do_not_match_the_recorded_sha256_are_refused(live):
    original = (HTML / "_static" / "cnnviz" / "course-weights.js").read_text(encoding="ascii")
    middle = len(original) // 2
    swapped = "B" if original[middle] != "B" else "C"
    tampered = original[:middle] + swapped + original[middle + 1:]
    p = live("chapters/occlusion", routes={
        r"/course-weights\.js": lambda route: route.fulfill(status=200, content_type="text/javascript", body=tampered)})
    message = p.evaluate("cnnviz.ready.then(() => null, e => e.message)")
    assert message and "sha256" in message and "rebuild the book" in message
    assert p.page.locator(".cnnviz-panel").get_attribute("data-state") == "failed"
    assert p.js_errors == []


def test_sha256_of_the_page_matches_python(live):
    """The page's own SHA-256 (it checks the weights with it) on inputs of awkward lengths."""
    p = live("chapters/occlusion")
    rng = np.random.default_rng(0)
    for n in (0, 1, 55, 56, 63, 64, 65, 1000):
        data = rng.integers(0, 256, n, dtype=np.uint8)
        got = p.evaluate("(bytes) => cnnvizLib.sha256(new Uint8Array(bytes))", data.tolist())
        assert got == hashlib.sha256(data.tobytes()).hexdigest(), n

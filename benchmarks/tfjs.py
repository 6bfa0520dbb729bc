"""The website's live panels (issue 15): the course model in headless Chromium, against PyTorch.

    flock /tmp/cpu.lock .venv/bin/python benchmarks/tfjs.py [--site _build/html] [--backend wasm|cpu]
                                                            [--repeats 7] [--targets 8]

Serves a page with the panels' scripts on 127.0.0.1 and blocks every other request: with
``--site``, a built book's ``chapters/occlusion.html``; by default a bare page made here in a
temporary folder from a fresh export of the weights (``scripts/export_tfjs.py``: no build needed).
``--backend cpu`` hides WebAssembly from the page, so that it falls back to the CPU backend.

Measures, on ``toy_world(16, seed=4242)`` with the labels as targets:

- agreement with ``vizlib`` in PyTorch (float32, CPU): logits (max abs error / max |logit|;
  target <= 1e-4), the worst per-image cosine of each gradient-family map (>= 0.9999),
  occlusion 8/4 (max abs error, <= 1e-4), and for ``--targets`` classes the class model: the
  worst cosine of a step's gradient given the same image and shift (every 10th step, >= 0.9999)
  and of the image after the default 100 steps (>= 0.99), beside PyTorch's own float64 against
  float32 (an ascent that crosses a ReLU or max-pool kink where rounding picks the branch goes
  its own way from there, in either comparison);
- speed in the page after one warm-up (median, min and max of ``--repeats`` runs; targets: predict
  <= 10 ms, one gradient map <= 30 ms, 225-window occlusion <= 0.5 s, 100 class-model steps
  <= 3 s), the same in PyTorch on one thread for reference, and the occlusion panel's update rate
  while the pointer drags the grey square for 3 s (>= 20 per second);
- the bytes the panels add to a page (scripts, WebAssembly, weights; target <= 3 MB), plain and
  gzipped.

Prints the load average before and after (the machine is shared, so times are upper bounds).
Nothing is asserted: the numbers are for the README, the issue and the notes.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import vizlib  # noqa: E402
from scripts import cnnviz_sphinx, export_tfjs  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
METHODS = {"gradient": "gradient", "saliency": "saliency", "gradientXInput": "gradient_x_input",
           "deconvnet": "deconvnet", "guidedBackprop": "guided_backprop"}


def bare_site(folder: Path) -> Path:
    """A page with an occlusion panel and the scripts, laid out like ``_build/html``."""
    static = folder / "_static"
    result = export_tfjs.export(static)
    for sub in ("tfjs", "cnnviz"):
        for f in (ROOT / "_assets" / sub).iterdir():
            shutil.copy(f, static / sub / f.name)
    (folder / "chapters").mkdir()
    head = cnnviz_sphinx.standalone_head("../_static", result["sha256"])
    (folder / "chapters" / "occlusion.html").write_text(
        f'<!doctype html><html><head><meta charset="utf-8">{head}</head><body>'
        '<div class="cnnviz-panel" data-panel="occlusion"></div></body></html>', encoding="utf-8")
    return folder


def serve(folder: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def cos_rows(a, b) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(torch.as_tensor(a).double().flatten(1),
                                                 torch.as_tensor(b).double().flatten(1), dim=1)


RUN_ALL = """async ([method, images, args]) => {
    const out = [];
    for (let i = 0; i < images.length; i++) out.push(Array.from(await cnnviz[method](new Float32Array(images[i]), ...args[i])));
    return out;
}"""

TIMINGS = """async ([image, repeats]) => {
    const px = new Float32Array(image);
    async function time(f, n) {
        await f();
        const t = [];
        for (let i = 0; i < n; i++) { const t0 = performance.now(); await f(); t.push(performance.now() - t0); }
        t.sort((a, b) => a - b);
        return [t[n >> 1], t[0], t[n - 1]];
    }
    const out = {predict: await time(() => cnnviz.predict(px), 5 * repeats)};
    for (const m of ["gradient", "saliency", "gradientXInput", "deconvnet", "guidedBackprop"]) {
        out[m] = await time(() => cnnviz[m](px, 0), repeats);
    }
    out["occlusion 8/4 (225 windows)"] = await time(() => cnnviz.occlusion(px, 0, 8, 4), repeats);
    out["class model, 100 steps"] = await time(() => cnnviz.classModel(3), Math.max(3, repeats >> 1));
    return out;
}"""

CLASS_MODEL = """async (t) => {
    const steps = [];
    const r = await cnnviz.classModel(t, {onStep: (s) => { if (s.step % 10 === 0) steps.push(
        {image: Array.from(s.image), gradient: Array.from(s.gradient), shift: s.shift}); }});
    return {image: Array.from(r.image), steps};
}"""


def agreement(page, model, images, labels, n_targets: int) -> list[tuple[str, str]]:
    x = vizlib.normalize(images, "course")
    flat = images.reshape(len(images), -1).tolist()
    rows = []
    with torch.no_grad():
        logits = model(x)
    got = torch.tensor(page.evaluate(RUN_ALL, ["predict", flat, [[]] * len(images)]))
    err = (got - logits).abs().max()
    rows.append(("logits, max abs error (relative)", f"{err:.2e} ({err / logits.abs().max():.1e})"))
    args = [[int(t)] for t in labels]
    for js, py in METHODS.items():
        ref = getattr(vizlib.attribution, py)(model, x, labels)
        got = torch.tensor(page.evaluate(RUN_ALL, [js, flat, args]))
        rows.append((f"{js}, worst cosine", f"{cos_rows(got, ref).min().item():.8f}"))
    ref = vizlib.attribution.occlusion(model, x, labels, window=8, stride=4, progress=False)
    got = torch.tensor(page.evaluate(RUN_ALL, ["occlusion", flat, [[int(t), 8, 4] for t in labels]]))
    rows.append(("occlusion 8/4, max abs error", f"{(got - ref.flatten(1)).abs().max():.2e}"))

    from vizlib.synthesis import class_model, class_score, squared_norm

    import copy

    model64 = copy.deepcopy(model).double()
    worst_step, finals, doubles = 1.0, [], []
    for target in range(n_targets):
        res = page.evaluate(CLASS_MODEL, target)
        objective = class_score(target) - 2e-3 * squared_norm()
        for step in res["steps"]:
            image = torch.tensor(step["image"], dtype=torch.float32).reshape(1, 3, 64, 64).requires_grad_(True)
            out = model(torch.roll(image, shifts=tuple(step["shift"]), dims=(-2, -1)))
            (grad,) = torch.autograd.grad(objective(lambda name: image if name == "input" else out), image)
            worst_step = min(worst_step, cos_rows(grad, torch.tensor([step["gradient"]])).item())
        reference = class_model(model, target, progress=False)
        finals.append(cos_rows(reference.image, torch.tensor([res["image"]])).item())
        # how far float32 rounding alone carries the ascent: PyTorch in float64 against float32
        doubles.append(cos_rows(reference.image, class_model(model64, target, progress=False).image).item())
    if n_targets:
        rows.append((f"class model, worst step-gradient cosine ({n_targets} classes)", f"{worst_step:.8f}"))
        rows.append(("class model, image cosine after 100 steps, page vs PyTorch (per class)",
                     ", ".join(f"{c:.4f}" for c in finals)))
        rows.append(("for reference: PyTorch float64 vs float32, the same (per class)",
                     ", ".join(f"{c:.4f}" for c in doubles)))
    return rows


def drag_rate(page, seconds: float = 3.0) -> tuple[float, float, int]:
    """Probability updates and animation frames per second while the pointer drags the square."""
    canvas = page.locator(".cnnviz-panel canvas.cnnviz-image")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.evaluate("() => { window.__frames = 0; const f = () => { window.__frames++; requestAnimationFrame(f); }; f(); }")
    updates = lambda: int(page.locator(".cnnviz-probs").get_attribute("data-updates"))  # noqa: E731
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    n0, f0, t0, moves = updates(), page.evaluate("window.__frames"), time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        a = 2 * math.pi * moves / 90  # round and round, one turn every 90 moves
        page.mouse.move(box["x"] + box["width"] * (0.5 + 0.3 * math.cos(a)),
                        box["y"] + box["height"] * (0.5 + 0.3 * math.sin(a)))
        moves += 1
    elapsed = time.perf_counter() - t0
    rate, frames = (updates() - n0) / elapsed, (page.evaluate("window.__frames") - f0) / elapsed
    page.mouse.up()
    return rate, frames, moves


def pytorch_times(model, images, repeats: int) -> dict:
    torch.set_num_threads(1)
    x = vizlib.normalize(images[:1], "course")
    t = torch.tensor([0])

    def best(fn, n):
        fn()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return 1000 * statistics.median(times)

    with torch.no_grad():
        predict = best(lambda: model(x), 5 * repeats)
    return {
        "predict": predict,
        "gradient": best(lambda: vizlib.attribution.gradient(model, x, t), repeats),
        "guidedBackprop": best(lambda: vizlib.attribution.guided_backprop(model, x, t), repeats),
        "occlusion 8/4 (225 windows)": best(lambda: vizlib.attribution.occlusion(model, x, t, progress=False), repeats),
        "class model, 100 steps": best(lambda: vizlib.synthesis.class_model(model, 3, progress=False), 1),
    }


def page_bytes(static: Path) -> tuple[int, int, list[str]]:
    files = cnnviz_sphinx.JS_FILES + cnnviz_sphinx.CSS_FILES
    sizes = [(f, (static / f).read_bytes()) for f in files]
    plain = sum(len(b) for _, b in sizes)
    zipped = sum(len(gzip.compress(b, 9)) for _, b in sizes)
    big = [f"{f} {len(b) / 1e6:.2f} MB" for f, b in sizes if len(b) > 100_000]
    return plain, zipped, big


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="a built book (_build/html); default: a bare page made here")
    parser.add_argument("--backend", choices=("wasm", "cpu"), default="wasm")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--targets", type=int, default=8, help="classes for the class-model agreement (0-8)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    model = vizlib.load_model("course", device="cpu")
    images, labels, _ = vizlib.data.toy_world(16, seed=4242)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.site.resolve() if args.site else bare_site(Path(tmp))
        server, base = serve(folder)
        external = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(service_workers="block")

                def route(r):
                    url = urlsplit(r.request.url)
                    if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1":
                        return r.continue_()
                    external.append(r.request.url)
                    return r.abort("internetdisconnected")

                context.route("**/*", route)
                if args.backend == "cpu":
                    context.add_init_script("delete window.WebAssembly;")
                page = context.new_page()
                page.set_default_timeout(120_000)
                t0 = time.perf_counter()
                page.goto(f"{base}/chapters/occlusion.html", wait_until="load")
                info = page.evaluate("cnnviz.ready")
                ready_s = time.perf_counter() - t0
                page.wait_for_function("document.querySelector('.cnnviz-panel').dataset.state === 'ready'")
                rows = agreement(page, model, images, labels, args.targets)
                timings = page.evaluate(TIMINGS, [images[0].flatten().tolist(), args.repeats])
                rate, frames, moves = drag_rate(page)
                browser.close()
        finally:
            server.shutdown()
        plain, zipped, big = page_bytes(folder / "_static")
    torch_ms = pytorch_times(model, images, args.repeats)
    load_after = os.getloadavg()

    print(f"# TensorFlow.js {args.backend} backend (page reports: {info['backend']}), Chromium headless, "
          f"{os.cpu_count()} cores; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"page {'of ' + str(args.site) if args.site else '(bare, fresh export)'}: cnnviz.ready after "
          f"{ready_s:.2f} s; requests blocked: {len(external)}")
    print("\n## Agreement with vizlib (PyTorch) on toy_world(16, seed=4242)\n")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print("\n## Speed: median (min to max) after one warm-up, in ms\n")
    print("| | page | PyTorch, 1 thread |")
    for name, (median, lo, hi) in timings.items():
        ref = torch_ms.get(name)
        print(f"| {name} | {median:.1f} ({lo:.1f} to {hi:.1f}) | {'' if ref is None else f'{ref:.1f}'} |")
    print(f"\noccluder drag: {rate:.1f} probability updates per second, {frames:.0f} animation frames per "
          f"second ({moves} pointer moves in 3 s)")
    print(f"\n## Bytes a page with a panel loads: {plain / 1e6:.2f} MB ({zipped / 1e6:.2f} MB gzipped); "
          f"largest: {', '.join(big)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

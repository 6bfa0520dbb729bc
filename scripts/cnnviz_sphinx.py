"""Sphinx extension of the book: the live panels of issue 15 (the course model in the browser).

Wired in ``_config.yml`` (``sphinx.local_extensions``). During an HTML build it

1. runs ``scripts/export_tfjs.py`` when the builder starts: the shipped ``course.pt`` becomes
   ``_static/cnnviz/course-weights.js`` (plus its ``.sha256``, the stored example images and the
   WebAssembly binary as a script), written to ``_build/cnnviz_static/`` and added to
   ``html_static_path``, so the page always carries the shipped weights;
2. adds the scripts and the style sheet only to pages whose body holds a panel
   (``<div class="cnnviz-panel" data-panel="...">``, one markdown cell of a chapter), and records
   the weights' sha256 on the API script (``data-weights-sha256``): the page refuses other weights.

Every script is a classic script (``defer``, in order), not an ES module: Chromium refuses module
scripts, like ``fetch``, on pages opened from disk.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import export_tfjs  # noqa: E402  (this folder is on sys.path: local_extensions, or the line above)

#: The marker of a panel in a page's HTML.
MARKER = 'class="cnnviz-panel'
#: Style sheet of the panels.
CSS_FILES = ["cnnviz/cnnviz.css"]
#: Scripts of a page with a panel, in load order (paths under ``_static/``).
TFJS_FILES = ["tfjs/tf-core.es2017.min.js", "tfjs/tf-backend-wasm.es2017.min.js",
              "tfjs/tfjs-backend-wasm-simd.wasm.js"]
DATA_FILES = ["cnnviz/course-weights.js", "cnnviz/course-examples.js"]
MODULE_FILES = [f"cnnviz/{name}.js" for name in (
    "sha256", "validate", "weights", "model", "rules", "attribution", "occlusion", "random",
    "toyworld", "synthesis", "backend", "api")]
PANEL_FILES = ["cnnviz/draw.js", "cnnviz/panels.js"]
JS_FILES = TFJS_FILES + DATA_FILES + MODULE_FILES + PANEL_FILES
API_FILE = "cnnviz/api.js"
#: Loaded by the page only when WebAssembly is missing (not counted in a page's weight).
FALLBACK_FILES = ["tfjs/tf-backend-cpu.es2017.min.js"]


def script_attributes(path: str, sha256: str) -> dict:
    """HTML attributes of the script tag for ``path``."""
    attrs = {"defer": "defer"}
    if path == API_FILE:
        attrs["data-weights-sha256"] = sha256
    return attrs


def standalone_head(static: str, sha256: str) -> str:
    """The ``<head>`` tags of a page with a panel outside Sphinx (benchmarks, development pages),
    for a folder ``static`` laid out like ``_build/html/_static``."""
    tags = [f'<link rel="stylesheet" href="{static}/{css}">' for css in CSS_FILES]
    for path in JS_FILES:
        attrs = " ".join(f'{k}="{v}"' for k, v in script_attributes(path, sha256).items())
        tags.append(f'<script {attrs} src="{static}/{path}"></script>')
    return "\n".join(tags)


def _export(app) -> None:
    if app.builder.format != "html":
        return
    out = Path(app.outdir).parent / "cnnviz_static"
    result = export_tfjs.export(out)
    app.config.html_static_path.append(str(out))
    app.cnnviz_sha256 = result["sha256"]


def _add_assets(app, pagename, templatename, context, doctree) -> None:
    if MARKER not in context.get("body", "") or not getattr(app, "cnnviz_sha256", None):
        return
    for css in CSS_FILES:
        app.add_css_file(css)
    for path in JS_FILES:
        app.add_js_file(path, **script_attributes(path, app.cnnviz_sha256))


def setup(app):
    app.connect("builder-inited", _export)
    app.connect("html-page-context", _add_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

"""Every chapter as the build executed it: no error output, and the cells marked
``# NBVAL_CHECK_OUTPUT`` print what the stored notebook shows.

The build (README, first command) executes every notebook of the toc in a fresh kernel and fails
on a cell that raises; it keeps each executed notebook, as the kernel left it, in its execution
cache ``_build/.jupyter_cache`` (emptied when the build starts, see ``scripts/i18n_sphinx.py``).
This file reads those notebooks instead of running every chapter a second time (nbval did that until
2026-12-02; it cost about seven minutes of the test command). A cell marked
``# NBVAL_CHECK_OUTPUT`` must print, after the masks in ``.nbval_sanitize.cfg`` (progress-bar
rates, temporary paths, the device name), exactly the text stored in ``chapters/``: its printed
streams and the plain-text form of its results. Images and widgets are not compared.
The executed notebooks must be of the current source: the cache is looked up by the hash of the
stored notebook's code cells, and their sources are compared as well. (The copies in
``_build/jupyter_execute/`` are not used: myst-nb merges the streams of their first output and
keeps the rest, so their text is doubled.)
"""
from __future__ import annotations

import configparser
import re
from pathlib import Path

import nbformat
import pytest

from scripts.toc import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
MARK = "# NBVAL_CHECK_OUTPUT"


def sanitizers() -> list[tuple[re.Pattern, str]]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / ".nbval_sanitize.cfg", encoding="utf-8")
    return [(re.compile(cfg[s]["regex"], re.M), cfg[s]["replace"]) for s in cfg.sections()]


SANITIZERS = sanitizers()


def sanitize(text: str) -> str:
    for pattern, replacement in SANITIZERS:
        text = pattern.sub(replacement, text)
    return text


def printed(cell) -> dict[str, str]:
    """What a code cell printed: stdout and stderr (however the streams were split) and the
    plain-text results, in order, sanitized."""
    out = {"stdout": "", "stderr": "", "results": []}
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out[o.name] += o.text
        elif o.output_type in ("execute_result", "display_data") and "text/plain" in o.get("data", {}):
            if not any(k.startswith("image/") or "widget" in k for k in o.data):
                out["results"].append(sanitize(o.data["text/plain"]))
    out["stdout"], out["stderr"] = sanitize(out["stdout"]), sanitize(out["stderr"])
    return out


NOTEBOOKS = toc_notebooks()


def test_sanitizers_mask_what_varies_between_runs():
    assert sanitize("on cuda:0, 12.5it/s [00:03<00:01] at 0x7f3a /tmp/abc/x.pt") == \
        "on DEVICE, RATE [ELAPSED] at 0xADDRESS TEMP-PATH"
    assert sanitize("cpu") == sanitize("cuda") == "DEVICE"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_as_built_has_no_error_and_reproduces_its_checked_outputs(name):
    from jupyter_cache import get_cache

    if not (CACHE / "global.db").is_file():
        pytest.fail(f"{CACHE.relative_to(ROOT)} is missing: run the build command first (README.md)")
    stored = nbformat.read(ROOT / name, as_version=4)
    cache = get_cache(str(CACHE))
    try:
        record = cache.match_cache_notebook(stored)
    except KeyError:
        pytest.fail(f"the build's cache holds no execution of the current {name}: rebuild the book")
    built = cache.get_cache_bundle(record.pk).nb
    code = lambda nb: [c for c in nb.cells if c.cell_type == "code"]  # noqa: E731
    assert [c.source for c in code(built)] == [c.source for c in code(stored)], \
        f"the cached execution is not of the current {name}: rebuild the book"
    errors = [o.get("ename") for c in code(built) for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{name}: error outputs {errors}"
    checked = [(b, s) for b, s in zip(code(built), code(stored)) if s.source.lstrip().startswith(MARK)]
    for b, s in checked:
        assert printed(b) == printed(s), f"{name}: a {MARK} cell printed other output:\n{s.source[:200]}"


def test_the_build_keeps_every_executed_chapter_and_some_cells_are_checked():
    marked = sum(c.source.lstrip().startswith(MARK) for name in NOTEBOOKS
                 for c in nbformat.read(ROOT / name, as_version=4).cells if c.cell_type == "code")
    assert marked >= len(NOTEBOOKS), f"only {marked} cells are marked {MARK}"

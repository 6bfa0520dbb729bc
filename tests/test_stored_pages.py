"""What a reader of the website sees in the stored notebooks: finished progress bars, code
that fits the page's code column, no equation numbers written by hand, setup folded away.

The website shows each chapter's stored outputs and widget state as they were saved, so these
checks read the ``.ipynb`` files themselves (the parsing here is independent of tqdm and of
the build).
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from scripts.toc import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [ROOT / name for name in toc_notebooks()]
CODE_WIDTH = 88  # characters in the website's code column
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def widget_states(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def unfinished_progress(state: dict) -> list[str]:
    """Describe every stored progress bar short of its end: a progress model whose value is
    below its max, or a label reading ``k%`` with k < 100 or ``n/total`` with n < total."""
    found = []
    for model_id, model in state.items():
        s = model.get("state", {})
        name = model.get("model_name", "")
        if name in ("FloatProgressModel", "IntProgressModel"):
            value, top = s.get("value", 0), s.get("max", 100)
            if value < top:
                found.append(f"{model_id}: progress {value}/{top}")
        elif name == "HTMLModel":
            text = html.unescape(str(s.get("value", ""))).replace("\u2007", " ")
            percent = re.search(r"(\d+)\s*%", text)
            count = re.search(r"(?<![\d.])(\d+)/(\d+)(?![\d.])", text)
            if (percent and int(percent[1]) < 100) or (count and int(count[1]) < int(count[2])):
                found.append(f"{model_id}: label {text.strip()!r}")
    return found


def test_unfinished_progress_detects_a_bar_stopped_early():
    """The checker itself: a bar stored at 84% (as tqdm leaves one with leave=False) is found."""
    stale = {"a": {"model_name": "HTMLModel", "state": {"value": "style:\u2007\u200784%"}},
             "b": {"model_name": "HTMLModel", "state": {"value": "\u2007167/200\u2007[00:00&lt;00:00]"}},
             "c": {"model_name": "FloatProgressModel", "state": {"value": 167, "max": 200}}}
    done = {"a": {"model_name": "HTMLModel", "state": {"value": "style: 100%"}},
            "b": {"model_name": "HTMLModel", "state": {"value": "\u2007200/200\u2007[00:01&lt;00:00, 3.5it/s]"}},
            "c": {"model_name": "FloatProgressModel", "state": {"value": 200, "max": 200}}}
    assert len(unfinished_progress(stale)) == 3
    assert unfinished_progress(done) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_progress_bars_show_their_final_state(path):
    stale = unfinished_progress(widget_states(nbformat.read(path, as_version=4)))
    assert not stale, (f"{path.name}: {len(stale)} stored progress bars short of 100% "
                       f"(a bar closed with leave=False keeps its last refresh): {stale[:5]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_code_column(path):
    nb = nbformat.read(path, as_version=4)
    wide = [(i, len(line), line) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for line in c.source.splitlines() if len(line) > CODE_WIDTH]
    assert not wide, (f"{path.name}: {len(wide)} code lines wider than {CODE_WIDTH} characters, "
                      f"first (cell, length, line): {wide[:3]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_writes_no_equation_number_by_hand(path):
    """Equation numbers are the build's ((3.2) for chapter 3); a figure title names the quantity."""
    nb = nbformat.read(path, as_version=4)
    hand = [(i, m[0]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for m in re.finditer(r"\b[Ee]q(?:uation|n)?\.?\s*\(?\d+(?:\.\d+)?\)?", c.source)]
    assert not hand, f"{path.name}: equation numbers written in code (cell, text): {hand}"


@pytest.mark.parametrize("path", NOTEBOOKS[1:], ids=lambda p: p.name)
def test_repeated_setup_cell_is_folded_on_the_website(path):
    """After the introduction, the setup cell is the same in every chapter: hide its input."""
    nb = nbformat.read(path, as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert "hide-input" in setup.metadata.get("tags", []), \
        f"{path.name}: the setup cell should carry the `hide-input` tag"


def test_the_introduction_shows_its_setup_cell():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert NOTEBOOKS[0].stem == "intro"
    assert not {"hide-input", "remove-input"} & set(setup.metadata.get("tags", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_code_is_removed_from_the_page(path):
    """Code a reader may want is folded (`hide-input`), never removed (`remove-input`)."""
    nb = nbformat.read(path, as_version=4)
    removed = [i for i, c in enumerate(nb.cells) if "remove-input" in c.metadata.get("tags", [])]
    assert not removed, f"{path.name}: cells {removed} carry `remove-input`"


COLUMN_PX = 688    # the website's output column at a 1280-px window (measured in Chromium)
SOLUTION_PX = 666  # the same column inside an exercise's solution (the admonition's padding)


def png_width(data: str) -> int:
    import base64
    import struct

    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", raw[16:20])[0]   # IHDR width


def stored_figures(nb):
    """(where, width, column) of every stored PNG: cell outputs, and the outputs that widget
    snapshots hold (an ``Output`` widget's figure is shown on the website too)."""
    in_solution = False
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown":
            in_solution = ("{solution-start}" in c.source or in_solution) and "{solution-end}" not in c.source
            continue
        for o in c.get("outputs", []):
            if "image/png" in o.get("data", {}):
                yield f"cell {i}", png_width(o["data"]["image/png"]), SOLUTION_PX if in_solution else COLUMN_PX
    for model_id, model in widget_states(nb).items():
        for o in model.get("state", {}).get("outputs", None) or []:
            if "image/png" in o.get("data", {}):
                yield f"widget {model_id[:8]}", png_width(o["data"]["image/png"]), COLUMN_PX


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_figures_fit_the_output_column(path):
    """A wider figure is scaled down on the website, and its 8-pt text with it."""
    wide = [(where, w, column) for where, w, column in stored_figures(nbformat.read(path, as_version=4))
            if w > column]
    assert not wide, f"{path.name}: figures wider than their column (where, px, column px): {wide}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_text_below_eight_points_in_figures(path):
    nb = nbformat.read(path, as_version=4)
    small = [(i, m[0]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
             for m in re.finditer(r"\b(?:fontsize|labelsize)\s*=\s*(\d+(?:\.\d+)?)\b", c.source)
             if float(m[1]) < 8]
    assert not small, f"{path.name}: text set below 8 pt (cell, setting): {small}"

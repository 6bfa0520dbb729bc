"""The book answers the seminar it follows (issue 14): every chapter has one "seminar" box whose
items each carry one verdict and point to a labelled place on the same page, and every chapter
has at least one "implement it" exercise of ten or more lines, checked by ``vizlib.checks``."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts.toc import seminar_notebooks

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [ROOT / name for name in seminar_notebooks()]  # the introduction and the numbered chapters
TITLE = "What the seminar says, and what we measured"
VERDICTS = ("Holds.", "Holds with a caveat.", "Does not hold here.", "Imprecise, corrected.")
BOX = re.compile(r"^(`{3,}|:{3,})\{admonition\}[ \t]*(?P<title>[^\n]*)\n(?P<body>.*?)^\1[ \t]*$", re.M | re.S)
ROLE = re.compile(r"\{(?:ref|numref)\}`(?:[^`<]*<)?(?P<label>[\w:-]+)>?`")
LABEL = re.compile(r"^\((?P<label>[\w:-]+)\)=[ \t]*$", re.M)
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def test_the_seminar_chapters_are_the_introduction_and_the_numbered_parts():
    names = [p.stem for p in CHAPTERS]
    assert names[0] == "intro" and len(names) == 11 and "glossary" not in names


def markdown(nb) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def seminar_boxes(nb) -> list[tuple[str, str]]:
    """(title, body) of every admonition of class ``seminar`` in the notebook's markdown."""
    found = []
    for text in markdown(nb):
        for m in BOX.finditer(text):
            if re.search(r"^:class:[^\n]*\bseminar\b", m["body"], re.M):
                found.append((m["title"].strip(), m["body"]))
    return found


def items(body: str) -> list[str]:
    """The top-level bullet items of a box's body, each with its continuation lines."""
    out = []
    for line in body.splitlines():
        if line.startswith("- "):
            out.append(line[2:])
        elif out and (line.startswith("  ") or not line.strip()):
            out[-1] += "\n" + line
        elif out:
            break
    return [i.strip() for i in out]


def verdicts_of(item: str) -> list[str]:
    return [v for v in VERDICTS if f"**{v}**" in item]


def test_parsers_on_a_made_up_box():
    text = ("(sec-a)=\n## A\n\n```{admonition} " + TITLE + "\n:class: seminar\n\n"
            "- *The seminar:* x is y.\n  **Holds.** We measured 0.9 in {ref}`sec-a`.\n"
            "- *The seminar:* z. **Imprecise, corrected.** See {numref}`Figure {number} <fig-b>`.\n```\n")
    nb = {"cells": [{"cell_type": "markdown", "source": [text]}]}
    [(title, body)] = seminar_boxes(nb)
    got = items(body)
    assert title == TITLE and len(got) == 2
    assert [verdicts_of(i) for i in got] == [["Holds."], ["Imprecise, corrected."]]
    assert [m["label"] for i in got for m in ROLE.finditer(i)] == ["sec-a", "fig-b"]
    assert [m["label"] for m in LABEL.finditer(text)] == ["sec-a"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_one_seminar_box(path):
    nb = json.loads(path.read_text())
    boxes = seminar_boxes(nb)
    assert len(boxes) == 1, f"{path.name}: {len(boxes)} seminar boxes"
    title, body = boxes[0]
    assert title == TITLE
    assert len(items(body)) >= 2, f"{path.name}: the box lists {len(items(body))} claims"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_verdict_points_to_a_place_on_the_page(path):
    nb = json.loads(path.read_text())
    boxes = seminar_boxes(nb)
    assert boxes, f"{path.name} has no seminar box"
    defined = {m["label"] for text in markdown(nb) for m in LABEL.finditer(text)}
    defined |= {m for text in markdown(nb) for m in re.findall(r"^:(?:label|name):\s*([\w:-]+)", text, re.M)}
    for item in items(boxes[0][1]):
        assert len(verdicts_of(item)) == 1, f"{path.name}: not exactly one verdict in: {item[:120]}"
        labels = [m["label"] for m in ROLE.finditer(item)]
        assert labels, f"{path.name}: the verdict points nowhere: {item[:120]}"
        assert set(labels) <= defined, f"{path.name}: {set(labels) - defined} are not on this page"


def logic_lines(code: str) -> int:
    return sum(1 for line in code.splitlines() if line.strip() and not line.strip().startswith("#"))


def test_logic_lines_ignores_comments_and_blanks():
    assert logic_lines("a = 1\n\n# note\n    b = 2  # x\n") == 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_a_ten_line_implement_it_exercise(path):
    nb = json.loads(path.read_text())
    cells = ["".join(c["source"]) for c in nb["cells"]]
    best = 0
    for i, src in enumerate(cells):
        for body in SOLUTION.findall(src):
            checked = any(re.search(r"vizlib\.checks\.check_\w+\(|checks\.check_\w+\(", later)
                          for later in cells[i + 1 : i + 4])
            if checked:
                best = max(best, logic_lines(body))
    assert best >= 10, f"{path.name}: the longest checked solution has {best} lines of logic"

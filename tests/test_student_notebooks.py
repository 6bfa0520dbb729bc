"""Course material (issue 9): every chapter has exercises with solutions, and each student
notebook runs until its first exercise and fails there."""
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from scripts.toc import seminar_notebooks
from vizlib import student

ROOT = Path(__file__).resolve().parents[1]


CHAPTERS = [f.removesuffix(".ipynb") for f in seminar_notebooks() if f != "chapters/intro.ipynb"]  # numbered chapters


def _sources(nb, kind):
    return ["".join(c.source) for c in nb.cells if c.cell_type == kind]


def test_toc_lists_every_exercise_chapter():
    assert len(CHAPTERS) >= 9, CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_three_exercises_with_dropdown_solutions_and_a_check(chapter):
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    md = "\n".join(_sources(nb, "markdown"))
    code = "\n".join(_sources(nb, "code"))
    exercises = re.findall(r"```\{exercise(?:-start)?\}", md)
    solutions = re.findall(r"```\{solution(?:-start)?\}[^\n]*\n:class: dropdown", md)
    assert len(exercises) >= 3, f"{chapter}: {len(exercises)} exercises"
    assert len(solutions) >= len(exercises), f"{chapter}: {len(solutions)} dropdown solutions"
    assert code.count(student.BEGIN) >= 1 and code.count(student.BEGIN) == code.count(student.END)
    assert re.search(r"vizlib\.checks\.check_\w+\(", code), f"{chapter}: no self-check"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_runs_until_its_first_exercise_and_fails_there(chapter, tmp_path):
    nb = student.student_notebook(nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4))
    first_solution = next(i for i, c in enumerate(nb.cells) if "raise NotImplementedError" in "".join(c.source)
                          and c.cell_type == "code" and student.is_solution_cell(
                              nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4).cells[i]))
    first_check = next((i for i, c in enumerate(nb.cells) if i >= first_solution and student.is_check_cell(c)),
                       first_solution)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    failed_at, ename = None, None
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, i)
            except CellExecutionError as err:
                failed_at, ename = i, err.ename
                break
    assert ename == "NotImplementedError", f"{chapter}: failed at cell {failed_at} with {ename}"
    assert first_solution <= failed_at <= first_check, (chapter, failed_at, first_solution, first_check)

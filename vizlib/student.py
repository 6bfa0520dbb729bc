"""Write student versions of the chapter notebooks: ``python -m vizlib.student chapters/ student/``.

In every code cell, the lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` (nbgrader's markers) become ``raise NotImplementedError``
at the same indentation, and the outputs of exercise cells (cells with a
solution, and the self-check cells that call ``vizlib.checks``) are cleared.
Everything else is kept as it is, outputs included. Instructors who use
nbgrader can use the instructor notebooks as they are.
"""
from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "raise NotImplementedError"
_CHECK = re.compile(r"\bchecks\.check_\w+\(")


def strip_solutions(source: str) -> str:
    """Replace every marked solution block in ``source`` by a NotImplementedError stub.

    Example:
        >>> strip_solutions("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION\\n")
        'def f():\\n    raise NotImplementedError\\n'
    """
    out, inside = [], False
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"nested {BEGIN!r} in:\n{source}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{STUB}\n")
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END!r} without {BEGIN!r} in:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r} in:\n{source}")
    return "".join(out)


def is_solution_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and any(l.strip() == BEGIN for l in _source(cell).splitlines())


def is_check_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(_CHECK.search(_source(cell)))


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def student_notebook(nb):
    """Return a student copy of a notebook (an ``nbformat`` node or a plain dict)."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        solution, check = is_solution_cell(cell), is_check_cell(cell)
        if solution:
            cell["source"] = strip_solutions(_source(cell))
        if solution or check:
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def main(argv=None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="folder of instructor notebooks (e.g. chapters/)")
    parser.add_argument("dest", type=Path, help="folder for the student notebooks (e.g. student/)")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"source must be a folder of notebooks; got {args.source}")
    args.dest.mkdir(parents=True, exist_ok=True)
    paths = sorted(args.source.glob("*.ipynb"))
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(student_notebook(nb), args.dest / path.name)
    print(f"wrote {len(paths)} student notebooks to {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

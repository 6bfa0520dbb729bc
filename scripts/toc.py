"""The book's reading order, read from ``_toc.yml``: one reader for the tests and benchmarks.

    from scripts.toc import toc_docnames, toc_notebooks
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_docnames(root: Path = ROOT) -> list[str]:
    """Every document of ``_toc.yml`` in reading order, without suffix (``chapters/intro``, ...)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                names.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc.get("parts", toc.get("chapters", [])))
    return [re.sub(r"\.(ipynb|md)$", "", n) for n in names]


def toc_notebooks(root: Path = ROOT) -> list[str]:
    """The documents of ``_toc.yml`` that are notebooks, as ``chapters/name.ipynb``, in reading order."""
    return [f"{n}.ipynb" for n in toc_docnames(root) if (root / f"{n}.ipynb").is_file()]


def seminar_notebooks(root: Path = ROOT) -> list[str]:
    """The notebooks that follow the seminar: the root (introduction) and every numbered part's
    chapters, in reading order (appendices excluded)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]
    for part in toc.get("parts", []):
        if part.get("numbered"):
            names += [c["file"] for c in part.get("chapters", [])]
    names = [re.sub(r"\.(ipynb|md)$", "", n) for n in names]
    return [f"{n}.ipynb" for n in names if (root / f"{n}.ipynb").is_file()]

"""Self-checks for the "implement it" exercises.

Each ``check_*`` function runs the student's function against the reference
implementation on fixed inputs, prints a one-line verdict with the size of the
error (and a hint when it fails), and raises ``AssertionError`` on a wrong
answer so that a graded notebook cell fails visibly.

One module per chapter (``vizlib/checks/<chapter>.py``); each lists its checks in its
``__all__``, and every check is importable from here.

Example:
    >>> err = vizlib.checks.check_saliency_reduction(lambda g: g.abs().amax(dim=1))
    PASS check_saliency_reduction: max |error| 0 over 3 cases
    >>> err = vizlib.checks.check_saliency_reduction(lambda g: g.abs().mean(dim=1))
    Traceback (most recent call last):
    AssertionError: FAIL check_saliency_reduction: case 0: ...
"""
from __future__ import annotations

import importlib

from ._common import compare

#: The chapters that have a module of checks here (intro, vision, ... in book order).
CHAPTERS = ("intro", "vision", "filters", "activations", "style", "occlusion", "deconvnet",
            "saliency", "evaluating", "class_model", "units")

__all__ = ["compare"]
for _chapter in CHAPTERS:
    try:
        _module = importlib.import_module(f".{_chapter}", __name__)
    except ModuleNotFoundError as err:  # a chapter without checks yet
        if err.name != f"{__name__}.{_chapter}":
            raise
        continue
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)
    __all__ += list(_module.__all__)
del _chapter, _module, _name

"""Self-checks for the "implement it" exercises.

Each ``check_*`` function runs the student's function against the reference
implementation on fixed inputs, prints a one-line verdict with the size of the
error (and a hint when it fails), and raises ``AssertionError`` on a wrong
answer so that a graded notebook cell fails visibly.

Example:
    >>> err = vizlib.checks.check_saliency_reduction(lambda g: g.abs().amax(dim=1))
    PASS check_saliency_reduction: max |error| 0 over 3 cases
    >>> err = vizlib.checks.check_saliency_reduction(lambda g: g.abs().mean(dim=1))
    Traceback (most recent call last):
    AssertionError: FAIL check_saliency_reduction: case 0: ...

One module per chapter; every check is importable from here.
"""
from __future__ import annotations

from ._common import compare
from .evaluating import check_pointing_game
from .saliency import check_saliency_reduction
from .class_model import check_class_model_step
from .activations import check_receptive_field
from .style import check_gram_matrix
from .filters import check_gabor, check_frequency_response
from .vision import check_simple_cell, check_complex_cell
from .deconvnet import check_guided_relu_backward
from .occlusion import check_occlusion_loop

__all__ = [
    "compare",
    "check_pointing_game",
    "check_saliency_reduction",
    "check_class_model_step",
    "check_receptive_field",
    "check_gram_matrix",
    "check_gabor",
    "check_frequency_response",
    "check_simple_cell",
    "check_complex_cell",
    "check_guided_relu_backward",
    "check_occlusion_loop",
]

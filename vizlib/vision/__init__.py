"""A simulated Hubel-Wiesel experiment and a minimal Neocognitron.

Stimuli are bars and gratings on a (size, size) field with the coordinates of
:mod:`vizlib.filters` (x along columns, y along rows, from the centre). A model simple
cell is a Gabor receptive field followed by half-wave rectification; a model complex cell
takes the maximum of simple cells of the same orientation whose receptive fields sit at
nearby positions (Hubel and Wiesel 1962). The Neocognitron (Fukushima 1980) stacks
S-layers (template matching: convolution and a threshold) and C-layers (pooling) twice.

Example:
    >>> cell, cx = SimpleCell(32, theta=0.0, wavelength=8.0), ComplexCell(32, theta=0.0, wavelength=8.0)
    >>> stim = bars(32, thetas=[0.0], positions=[-4.0, 0.0, 4.0], length=16, width=2)[0]   # (3, 32, 32)
    >>> (cell(stim) > 0).tolist(), (cx(stim) > 0).tolist()   # which of the three bars make each cell fire
    ([False, True, False], [True, True, True])

The package has one module per part: ``cells``, ``neocognitron`` and ``place``.
"""
from __future__ import annotations

from .cells import (
    ComplexCell,
    SimpleCell,
    bar,
    bars,
    complex_cell_response,
    orientation_map,
    shifted_gabor,
    simple_cell_response,
)
from .neocognitron import Neocognitron, PATTERNS, draw_pattern, line_templates
from .place import move_object, shift_equivariance, shifted_map_correlation


__all__ = [
    "ComplexCell",
    "Neocognitron",
    "PATTERNS",
    "SimpleCell",
    "bar",
    "bars",
    "complex_cell_response",
    "draw_pattern",
    "line_templates",
    "move_object",
    "orientation_map",
    "shift_equivariance",
    "shifted_gabor",
    "shifted_map_correlation",
    "simple_cell_response",
]

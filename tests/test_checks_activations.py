"""The activations chapter's self-check passes on the reference and fails on typical mistakes."""
from __future__ import annotations

import pytest

from vizlib import checks


def _reference(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    return size, jump


def _ignores_jump(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        size += d * (k - 1)
        jump *= s
    return size, jump


def _ignores_dilation(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        size += (k - 1) * jump
        jump *= s
    return size, jump


def _stride_first(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        jump *= s
        size += d * (k - 1) * jump
    return size, jump


def _adds_padding(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        size += (d * (k - 1) + 2 * p) * jump
        jump *= s
    return size, jump


def _returns_size_only(layers):
    return _reference(layers)[0]


def test_check_receptive_field_passes_reference(capsys):
    assert checks.check_receptive_field(_reference) == 0
    assert "PASS check_receptive_field" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [_ignores_jump, _ignores_dilation, _stride_first, _adds_padding,
                                   _returns_size_only])
def test_check_receptive_field_fails_on_wrong_implementations(wrong, capsys):
    with pytest.raises(AssertionError):
        checks.check_receptive_field(wrong)
    assert capsys.readouterr().out.startswith("FAIL check_receptive_field")

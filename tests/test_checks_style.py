"""The style chapter's self-check passes on the reference and fails on typical mistakes."""
from __future__ import annotations

import pytest
import torch

from vizlib import checks
from vizlib.style import gram_matrix


def _no_normalisation(f):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2)


def _divide_by_chw(f):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def _positions_gram(f):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat.transpose(1, 2) @ flat / (h * w)      # (N, HW, HW): the wrong product


def _batch_mixed(f):
    n, c, h, w = f.shape
    flat = f.reshape(c, n * h * w)                    # mixes the images of the batch
    return (flat @ flat.T / (h * w)).expand(n, c, c)


def _first_image_only(f):
    n, c, h, w = f.shape
    flat = f[0].reshape(c, h * w)
    return (flat @ flat.T / (h * w))[None].expand(n, c, c)


def _student_reference(f):
    n, c, h, w = f.shape
    return torch.einsum("nchw,ndhw->ncd", f, f) / (h * w)


def test_check_gram_matrix_passes_reference_and_einsum_version(capsys):
    assert checks.check_gram_matrix(gram_matrix) < 1e-6
    assert checks.check_gram_matrix(_student_reference) < 1e-5
    assert "PASS check_gram_matrix" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [_no_normalisation, _divide_by_chw, _positions_gram, _batch_mixed,
                                   _first_image_only])
def test_check_gram_matrix_fails_on_wrong_implementations(wrong, capsys):
    with pytest.raises(AssertionError):
        checks.check_gram_matrix(wrong)
    out = capsys.readouterr().out
    assert out.startswith("FAIL check_gram_matrix") and "H*W" in out

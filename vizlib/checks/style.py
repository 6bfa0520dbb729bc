"""Self-checks of the style chapter: the Gram matrix."""
from __future__ import annotations

import torch

from ._common import compare

__all__ = ["check_gram_matrix"]


def check_gram_matrix(fn) -> float:
    """Check ``fn(features) -> (N, C, C)`` against :func:`vizlib.style.gram_matrix` on fixed inputs."""
    from ..style import gram_matrix

    gen = torch.Generator().manual_seed(0)
    cases = []
    for shape in [(1, 3, 4, 4), (2, 5, 3, 7), (3, 1, 2, 2), (2, 4, 1, 9)]:
        features = torch.randn(shape, generator=gen)
        cases.append((fn(features.clone()), gram_matrix(features)))
    return compare("check_gram_matrix", cases, atol=1e-5, rtol=1e-4,
                   hint="For each image reshape F to (C, H*W), compute F @ F.T and divide by H*W; "
                        "keep the batch dimension: the result is (N, C, C).")

"""Self-checks of the activations chapter: receptive fields."""
from __future__ import annotations


from ._common import compare

__all__ = ["check_receptive_field"]


def _receptive_field_cases():
    return [
        [(3, 1, 1, 1)],
        [(7, 2, 3, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)],
        [(11, 4, 2, 1), (3, 2, 0, 1), (5, 1, 2, 1), (3, 2, 0, 1), (3, 1, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1),
         (3, 2, 0, 1)],
        [(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4), (3, 1, 8, 8)],
        [(4, 2, 1, 1), (4, 2, 1, 1), (4, 2, 1, 1)],
    ]


def check_receptive_field(fn) -> float:
    """Check ``fn(layers) -> (size, jump)`` for chains of (kernel, stride, padding, dilation) layers.

    Cases: one 3x3 convolution, the course model up to conv4, AlexNet up to
    pool5, a stack of dilated convolutions and a stack of strided ones; the
    reference is :func:`vizlib.activations.receptive_field_of_stack`.
    """
    from ..activations import receptive_field_of_stack

    cases = []
    for layers in _receptive_field_cases():
        rf = receptive_field_of_stack(layers)
        cases.append((fn([tuple(spec) for spec in layers]), (rf.size, rf.jump)))
    return compare("check_receptive_field", cases, atol=0, rtol=0,
                   hint="Start from size 1, jump 1; per layer the effective kernel is d*(k-1)+1, "
                        "size grows by (effective kernel - 1) * jump (the jump *before* this layer), "
                        "then jump is multiplied by the stride. Padding shifts the field, not its size.")

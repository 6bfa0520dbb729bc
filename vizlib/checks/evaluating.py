"""Self-checks of the evaluating chapter: the pointing game."""
from __future__ import annotations

import torch

from ._common import compare

__all__ = ["check_pointing_game"]


def _pointing_cases():
    """Fixed inputs for check_pointing_game: (maps, masks) pairs with non-square maps, no ties."""
    gen = torch.Generator().manual_seed(8)
    cases = []
    # random maps with random rectangles as masks, H != W so that row/column mix-ups show
    maps = torch.rand(12, 8, 11, generator=gen)
    masks = torch.zeros(12, 8, 11, dtype=torch.bool)
    for i in range(12):
        r, c = torch.randint(0, 5, (2,), generator=gen).tolist()
        masks[i, r : r + 4, c : c + 6] = True
    cases.append((maps, masks))
    # hand-made: maximum at (1, 7); the mask holds it in image 0, its transposed-looking twin in image 1
    maps = torch.rand(2, 8, 11, generator=gen) * 0.5
    maps[:, 1, 7] = 1.0
    masks = torch.zeros(2, 8, 11, dtype=torch.bool)
    masks[0, 1, 7] = True
    masks[1, 7, 1] = True
    masks[1, 0:2, 0:3] = True
    cases.append((maps, masks))
    # one image whose minimum, not maximum, lies on the object; one whose maximum is negative
    maps = torch.rand(2, 6, 9, generator=gen) + 1.0
    maps[0, 2, 3], maps[0, 4, 8] = 0.0, 5.0
    maps[1] = -maps[1]
    masks = torch.zeros(2, 6, 9, dtype=torch.bool)
    masks[0, 2, 3] = True
    masks[1].view(-1)[maps[1].flatten().argmax()] = True
    cases.append((maps, masks))
    return cases


def check_pointing_game(fn) -> float:
    """Check ``fn(maps, masks)``, a pointing game, against :func:`vizlib.metrics.pointing_game`.

    ``fn`` takes maps (N, H, W) float and masks (N, H, W) bool and must return one
    hit per image, (N,) bool (or 0/1): True where the map's maximum lies inside
    the mask. Three fixed cases with non-square maps; prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

    Example:
        >>> def my_pointing_game(maps, masks):
        ...     peak = maps.flatten(1).argmax(1)                  # (N,) index of each map's maximum
        ...     return masks.flatten(1)[torch.arange(len(peak)), peak]
        >>> err = vizlib.checks.check_pointing_game(my_pointing_game)
        PASS check_pointing_game: max |error| 0 over 3 cases
    """
    from ..metrics import pointing_game

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(maps, masks); got {type(fn).__name__}")
    pairs = []
    for maps, masks in _pointing_cases():
        got = fn(maps.clone(), masks.clone())
        if isinstance(got, torch.Tensor):
            got = got.detach().cpu().float()
        pairs.append((got, pointing_game(maps, masks).float()))
    hint = ("Return one True/False per image (shape (N,)), not the mean. Take the argmax of each "
            "flattened map (the maximum, not the minimum, not |map|), turn it into "
            "row = index // W and column = index % W, and look that pixel up in the mask.")
    return compare("check_pointing_game", pairs, atol=0, rtol=0, hint=hint)

"""A small Neocognitron (Fukushima 1980)."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from .. import _validate

# --------------------------------------------------------------------------- stimuli


#: Patterns as strokes between (row, col) points on a 9x9 grid.
PATTERNS = {
    "T": [((0, 0), (0, 8)), ((0, 4), (8, 4))],
    "L": [((0, 0), (8, 0)), ((8, 0), (8, 8))],
    "X": [((0, 0), (8, 8)), ((0, 8), (8, 0))],
    "+": [((4, 0), (4, 8)), ((0, 4), (8, 4))],
    "Z": [((0, 0), (0, 8)), ((0, 8), (8, 0)), ((8, 0), (8, 8))],
}


def draw_pattern(name: str, *, size: int = 24, shift=(0, 0), jitter: int = 0, seed: int = 0) -> torch.Tensor:
    """Draw one of :data:`PATTERNS` as a binary (size, size) image.

    Args:
        name: a key of :data:`PATTERNS`.
        size: image side (at least 11).
        shift: (rows, cols) displacement of the 9x9 pattern from the centre.
        jitter: each stroke end moves by a random integer in [-jitter, jitter] per axis
            (a deformed pattern); 0 draws the prototype.
        seed: random seed of the jitter.

    Example:
        >>> draw_pattern("T", shift=(3, -2)).shape
        torch.Size([24, 24])
    """
    if name not in PATTERNS:
        raise ValueError(f"name must be one of {', '.join(PATTERNS)}; got {name!r}")
    _validate.positive_int(size, "size")
    if size < 11:
        raise ValueError(f"size must be at least 11; got {size}")
    if isinstance(jitter, bool) or not isinstance(jitter, int) or jitter < 0:
        raise ValueError(f"jitter must be a non-negative int; got {jitter!r}")
    dr, dc = (int(v) for v in shift)
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    top = (size - 9) // 2
    for a, b in PATTERNS[name]:
        a = np.array(a) + rng.integers(-jitter, jitter + 1, 2) if jitter else np.array(a)
        b = np.array(b) + rng.integers(-jitter, jitter + 1, 2) if jitter else np.array(b)
        n = int(np.abs(b - a).max()) + 1
        pts = np.rint(np.linspace(a, b, n)).astype(int) + [top + dr, top + dc]
        keep = (pts >= 0).all(1) & (pts < size).all(1)
        img[pts[keep, 0], pts[keep, 1]] = 1.0
    return torch.from_numpy(img)


def line_templates() -> torch.Tensor:
    """The S1 templates: 3x3 line detectors at 0, 45, 90 and 135 degrees, zero mean.

    Returns:
        Tensor (4, 1, 3, 3): line pixels 1, the others -0.5, in the order vertical,
        diagonal (top-left to bottom-right), horizontal, anti-diagonal.
    """
    vertical, horizontal = np.zeros((3, 3)), np.zeros((3, 3))
    vertical[:, 1], horizontal[1, :] = 1, 1
    lines = [vertical, np.eye(3), horizontal, np.eye(3)[:, ::-1]]
    t = np.stack([np.where(m > 0, 1.0, -0.5) for m in lines])[:, None]
    return torch.from_numpy(t).float()


class Neocognitron(nn.Module):
    """A minimal two-stage Neocognitron (Fukushima 1980) written with CNN modules.

    ``s1`` (template matching with :func:`line_templates`, threshold as a negative bias)
    -> ``s1_relu`` -> ``c1`` (max-pool) -> ``s2`` (matching C1 maps against each
    prototype's own C1 map) -> ``s2_relu`` -> ``c2`` (max over all positions) -> one score
    per prototype. S-layers are convolution + ReLU, C-layers are pooling: the same
    modules a CNN uses, with templates set by hand (S1) or copied from one example per
    class (S2) instead of learned by backpropagation.

    Args:
        prototypes: Tensor (K, H, W), one binary example per class (e.g. :func:`draw_pattern`).
        pool: C1 pooling size (1: no C1 pooling).
        s1_threshold: S1 threshold (a full 3-pixel line scores 3).
        s2_threshold: S2 threshold, as a fraction of each template's own peak score.
        s2_size: side of the S2 templates on the C1 map.

    Example:
        >>> protos = torch.stack([draw_pattern(n) for n in PATTERNS])
        >>> net = Neocognitron(protos)
        >>> net(draw_pattern("T", shift=(4, -5))[None, None]).argmax(1)   # 0: "T", though shifted
        tensor([0])
    """

    def __init__(self, prototypes: torch.Tensor, *, pool: int = 2, s1_threshold: float = 1.0,
                 s2_threshold: float = 0.3, s2_size: int | None = None):
        super().__init__()
        if not isinstance(prototypes, torch.Tensor) or prototypes.ndim != 3:
            raise ValueError("prototypes must be a tensor of shape (K, H, W)")
        _validate.positive_int(pool, "pool")
        k, h, w = prototypes.shape
        s2_size = s2_size if s2_size is not None else (9 + pool - 1) // pool + 1
        _validate.positive_int(s2_size, "s2_size")
        s1 = nn.Conv2d(1, 4, 3, padding=1)
        s2 = nn.Conv2d(4, k, s2_size, padding=s2_size // 2)
        self.features = nn.Sequential(OrderedDict(
            s1=s1, s1_relu=nn.ReLU(), c1=nn.MaxPool2d(pool),
            s2=s2, s2_relu=nn.ReLU(), c2=nn.AdaptiveMaxPool2d(1),
        ))
        self.flatten = nn.Flatten()
        with torch.no_grad():
            s1.weight.copy_(line_templates())
            s1.bias.fill_(-float(s1_threshold))
            c1 = self.features[:3](prototypes[:, None].float())  # (K, 4, h', w')
            hh, ww = c1.shape[-2:]
            top, left = (hh - s2_size) // 2, (ww - s2_size) // 2
            t = c1[:, :, top:top + s2_size, left:left + s2_size]
            t = t - t.mean((1, 2, 3), keepdim=True)
            t = t / t.flatten(1).norm(dim=1).clamp_min(1e-8)[:, None, None, None]
            s2.weight.copy_(t)
            peak = (t * c1[:, :, top:top + s2_size, left:left + s2_size]).sum((1, 2, 3))
            s2.bias.copy_(-float(s2_threshold) * peak)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores (N, K) for images x (N, 1, H, W)."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"x must have shape (N, 1, H, W); got {tuple(x.shape)}")
        return self.flatten(self.features(x.float()))

    def maps(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        """Every layer's output for x (N, 1, H, W): ``{"s1": ..., "c1": ..., "s2": ..., "c2": ...}``."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"x must have shape (N, 1, H, W); got {tuple(x.shape)}")
        out = OrderedDict()
        h = x.float()
        with torch.no_grad():
            for name, module in self.features.named_children():
                h = module(h)
                if name in ("s1_relu", "c1", "s2_relu", "c2"):
                    out[{"s1_relu": "s1", "s2_relu": "s2"}.get(name, name)] = h
        return out

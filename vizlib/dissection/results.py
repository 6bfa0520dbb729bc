"""The result of a dissection, its per-unit records, and per-layer summaries."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

import torch

from .. import _validate

#: The IoU above which Bau et al. (2017) call a unit interpretable.
CUT = 0.04
#: Concept kinds whose labels need the object's shape (not only its colour or place).
SHAPE_KINDS = ("shape", "shape boundary")


class Unit(NamedTuple):
    """One unit's record: its best concept (``label``, ``iou``), the runner-up, and the IoU
    against every concept (``ious``: {name: IoU})."""

    layer: str
    channel: int
    label: str
    iou: float
    runner_up: str
    runner_up_iou: float
    ious: dict


class LayerSummary(NamedTuple):
    """Per layer: ``units``; ``interpretable``, the units whose best IoU exceeds ``cut``;
    ``distinct``, the number of different labels among them; ``counts`` {label: units} and
    ``kinds`` {concept kind: units} over the interpretable units."""

    layer: str
    units: int
    cut: float
    interpretable: int
    distinct: int
    counts: dict
    kinds: dict


@dataclass(frozen=True, eq=False)
class Dissection:
    """IoU of every unit against every concept, one row per unit.

    Attributes:
        layers: (U,) the layer of each unit.
        channels: (U,) int64, the unit's channel in its layer.
        names: (K,) concept names; ``kinds``: (K,) their kinds (see :class:`Concepts`).
        iou: (U, K) float64, IoU of each unit's masks with each concept over the data set.
        thresholds: (U,) each unit's activation threshold ``T_u``.
        null_iou: (U, K) float64, the IoU against another image's concepts (``null=True``),
            else None; ``null_order``: (N,) int64, image ``n`` was scored against the concepts of
            image ``null_order[n]`` (a permutation without fixed points), else None.
        quantile: the top quantile used; ``n_images``: how many images were scored.

    ``len(d)`` is U; ``d[i]`` is unit i's :class:`Unit` record; iterating gives every record.

    Example:
        >>> d = dissect(model, "features.relu3", x, concepts(images, labels, masks))
        >>> d.label[:2] == (d[0].label, d[1].label), d.best_iou.shape
        (True, torch.Size([128]))
        >>> d.select("features.relu3").channels.equal(d.channels)
        True
    """

    layers: tuple
    channels: torch.Tensor
    names: tuple
    kinds: tuple
    iou: torch.Tensor
    thresholds: torch.Tensor
    null_iou: torch.Tensor | None
    null_order: torch.Tensor | None
    quantile: float
    n_images: int

    @classmethod
    def from_sums(cls, layers, thresholds, inter, mass, concepts, null, null_order,
                  quantile) -> "Dissection":
        """Build from per-layer sums: ``inter[layer]`` (U, K) of |M & C|, ``mass[layer]`` (U,)
        of |M| (and ``null[layer]`` of the null's |M & C|, or None)."""
        size = concepts.sizes.double()

        def iou(i, m):
            i, m = i.cpu(), m.cpu()
            union = m[:, None] + size[None, :] - i
            return torch.where(union > 0, i / union.clamp_min(1), torch.zeros_like(i))

        return cls(
            layers=tuple(name for name in layers for _ in range(len(thresholds[name]))),
            channels=torch.cat([torch.arange(len(thresholds[name])) for name in layers]),
            names=concepts.names, kinds=concepts.kinds,
            iou=torch.cat([iou(inter[name], mass[name]) for name in layers]),
            thresholds=torch.cat([thresholds[name].double().cpu() for name in layers]),
            null_iou=None if null is None else torch.cat([iou(null[n], mass[n]) for n in layers]),
            null_order=None if null_order is None else null_order.cpu(),
            quantile=quantile, n_images=concepts.n_images,
        )

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Unit:
        i = _validate.integer(i, "i")
        if not -len(self) <= i < len(self):
            raise IndexError(f"i must be in [{-len(self)}, {len(self)}); got {i}")
        i %= len(self)
        order = self.iou[i].argsort(descending=True, stable=True).tolist()
        first, second = order[0], order[min(1, len(order) - 1)]
        return Unit(self.layers[i], int(self.channels[i]), self.names[first],
                    float(self.iou[i, first]), self.names[second], float(self.iou[i, second]),
                    dict(zip(self.names, self.iou[i].tolist())))

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def _order(self) -> torch.Tensor:
        return self.iou.argsort(dim=1, descending=True, stable=True)

    @property
    def best(self) -> torch.Tensor:
        """(U,) int64: index of each unit's best concept (the first on ties)."""
        return self._order[:, 0]

    @property
    def label(self) -> tuple:
        """(U,) name of each unit's best concept."""
        return tuple(self.names[k] for k in self.best.tolist())

    @property
    def best_iou(self) -> torch.Tensor:
        """(U,) float64: each unit's highest IoU."""
        return self.iou.gather(1, self.best[:, None])[:, 0]

    @property
    def runner_up(self) -> tuple:
        """(U,) name of each unit's second-best concept."""
        order = self._order
        return tuple(self.names[k] for k in order[:, min(1, order.shape[1] - 1)].tolist())

    @property
    def runner_up_iou(self) -> torch.Tensor:
        """(U,) float64: each unit's second-highest IoU."""
        order = self._order
        return self.iou.gather(1, order[:, min(1, order.shape[1] - 1), None])[:, 0]

    @property
    def label_kind(self) -> tuple:
        """(U,) the kind of each unit's best concept (``"shape"``, ``"colour"``, ...)."""
        return tuple(self.kinds[k] for k in self.best.tolist())

    def select(self, layer: str) -> "Dissection":
        """The units of one layer."""
        if layer not in self.layers:
            raise ValueError(f"layer must be one of {tuple(dict.fromkeys(self.layers))}; got {layer!r}")
        keep = torch.tensor([name == layer for name in self.layers])
        return Dissection(tuple(n for n in self.layers if n == layer), self.channels[keep], self.names,
                          self.kinds, self.iou[keep], self.thresholds[keep],
                          None if self.null_iou is None else self.null_iou[keep], self.null_order,
                          self.quantile, self.n_images)

    def rows(self) -> list:
        """One dict per unit (layer, channel, label, iou, runner_up, runner_up_iou), for a table
        (``pandas.DataFrame(d.rows())``)."""
        return [{k: v for k, v in unit._asdict().items() if k != "ious"} for unit in self]


def summarise(result: Dissection, cut=CUT) -> list:
    """Per layer: how many units are interpretable (best IoU > ``cut``), with which labels.

    Args:
        result: a :class:`Dissection`.
        cut: the IoU cut, a number (Bau et al.: 0.04) or {layer: cut}, e.g. from
            :func:`null_cuts`.

    Returns:
        list of :class:`LayerSummary`, one per layer in the order of ``result``.

    Example:
        >>> d = dissect(model, ["features.relu3", "features.relu4"], x, concepts(images, labels, masks))
        >>> [(s.layer, s.units) for s in summarise(d)]
        [('features.relu3', 128), ('features.relu4', 128)]
    """
    if not isinstance(result, Dissection):
        raise TypeError(f"result must be a Dissection; got {_validate.describe(result)}")
    out = []
    for layer in dict.fromkeys(result.layers):
        part = result.select(layer)
        c = cut.get(layer) if isinstance(cut, dict) else cut
        if c is None:
            raise ValueError(f"cut must give a cut for every layer; got none for {layer!r}")
        c = _validate.real(c, "cut")
        hit = (part.best_iou > c).tolist()
        labels = [name for name, h in zip(part.label, hit) if h]
        kinds = [kind for kind, h in zip(part.label_kind, hit) if h]
        out.append(LayerSummary(layer, len(part), c, len(labels), len(set(labels)),
                                dict(Counter(labels).most_common()), dict(Counter(kinds).most_common())))
    return out


def null_cuts(result: Dissection, q: float = 1.0) -> dict:
    """A stricter cut per layer from the permutation null (``dissect(..., null=True)``): the
    ``q``-quantile over the layer's units of each unit's best null IoU (``q=1``: the largest,
    so that no unit of the null would pass).

    Returns:
        {layer: cut}, for :func:`summarise`.

    Example:
        >>> d = dissect(model, "features.relu4", x, concepts(images, labels, masks), null=True)
        >>> cuts = null_cuts(d)
        >>> list(cuts), 0 <= cuts["features.relu4"] < 1
        (['features.relu4'], True)
    """
    if not isinstance(result, Dissection):
        raise TypeError(f"result must be a Dissection; got {_validate.describe(result)}")
    if result.null_iou is None:
        raise ValueError("result must come from dissect(..., null=True); got one without null_iou")
    q = _validate.real(q, "q")
    if not 0 <= q <= 1:
        raise ValueError(f"q must be in [0, 1]; got {q!r}")
    out = {}
    for layer in dict.fromkeys(result.layers):
        best = result.select(layer).null_iou.amax(1)
        out[layer] = float(torch.quantile(best, q))
    return out

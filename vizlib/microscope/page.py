"""The microscope's page (``chapters/microscope.md``): cards, the full table, the filter script."""
from __future__ import annotations

import html
import json
import math
from collections import Counter
from pathlib import Path

from .. import _validate
from . import ASSETS, CATALOGUE, CUTS, K, PAGE, PATCH_CSS, QUANTILE, SPRITE_COLUMNS, VIS_CSS, _short, sprite_names  # noqa: F401


def unit_id(layer: str, channel: int) -> str:
    """The id of a unit's table row (``unit-relu3-17``); its card is ``card-relu3-17``."""
    return f"unit-{_short(layer)}-{channel}"


def _marks(iou: float) -> tuple[str, str]:
    """(css class, text) of a unit's IoU against :data:`CUTS`."""
    if iou > CUTS[1]:
        return "mic-strict", f"IoU &gt; {CUTS[1]:g}"
    if iou > CUTS[0]:
        return "mic-cut", f"IoU &gt; {CUTS[0]:g}"
    return "mic-none", f"IoU &le; {CUTS[0]:g}"


def _card(u: dict, index: int, columns: int) -> str:
    short = _short(u["layer"])
    r, c = divmod(index, columns)
    rows = math.ceil(K / 3)
    pw, ph = 3 * PATCH_CSS, rows * PATCH_CSS
    cls, mark = _marks(u["iou"])
    label = html.escape(u["label"])
    return (
        f'<article class="mic-card {cls}" id="card-{short}-{u["channel"]}" data-layer="{short}" '
        f'data-label="{label}" data-iou="{u["iou"]:.4f}">'
        f'<div class="mic-imgs">'
        f'<div class="mic-vis mic-vis-{short}" style="background-position:-{c * VIS_CSS}px -{r * VIS_CSS}px" '
        f'role="img" aria-label="feature visualisation of {short} unit {u["channel"]}"></div>'
        f'<div class="mic-pat mic-pat-{short}" style="background-position:-{c * pw}px -{r * ph}px" '
        f'role="img" aria-label="top {K} dataset patches of {short} unit {u["channel"]}"></div>'
        f'</div>'
        f'<p class="mic-name"><a href="#{unit_id(u["layer"], u["channel"])}">{short} · {u["channel"]}</a> '
        f'<b>{label}</b> {u["iou"]:.3f} <span class="mic-mark">{mark}</span></p>'
        f'<p class="mic-more">runner-up {html.escape(u["runner_up"])} {u["runner_up_iou"]:.3f}; '
        f'top images: {html.escape(u["top_class"])} ({u["top_class_count"]}/{K})</p>'
        f'</article>'
    )


def _row(u: dict) -> str:
    short = _short(u["layer"])
    cls, mark = _marks(u["iou"])
    return (
        f'<tr id="{unit_id(u["layer"], u["channel"])}" class="mic-row {cls}" data-layer="{short}" '
        f'data-label="{html.escape(u["label"])}" data-iou="{u["iou"]:.4f}">'
        f'<td>{short}</td><td><a href="#card-{short}-{u["channel"]}">{u["channel"]}</a></td>'
        f'<td>{html.escape(u["label"])}</td><td>{u["iou"]:.3f}</td><td class="mic-mark">{mark}</td>'
        f'<td>{html.escape(u["runner_up"])} ({u["runner_up_iou"]:.3f})</td>'
        f'<td>{html.escape(u["top_class"])} ({u["top_class_count"]}/{K})</td></tr>'
    )


_SCRIPT = """<script>
(function () {
  // The microscope's filters: show the cards and table rows of one layer and/or one label.
  var box = document.getElementById("mic-filters");
  if (!box) { return; }
  var layer = document.getElementById("mic-layer"), label = document.getElementById("mic-label");
  var cut = document.getElementById("mic-cut"), count = document.getElementById("mic-count");
  var items = document.querySelectorAll(".mic-card, .mic-row");
  var cards = document.querySelectorAll(".mic-card").length;
  function apply() {
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var el = items[i];
      var ok = (!layer.value || el.getAttribute("data-layer") === layer.value) &&
               (!label.value || el.getAttribute("data-label") === label.value) &&
               (parseFloat(el.getAttribute("data-iou")) > parseFloat(cut.value));
      el.hidden = !ok;
      if (ok && el.classList.contains("mic-card")) { shown++; }
    }
    count.textContent = shown + " of " + cards + " units shown";
    // a layer's heading only while one of its cards is shown
    var titles = document.querySelectorAll(".mic-layer-title");
    for (var t = 0; t < titles.length; t++) {
      titles[t].hidden = !titles[t].nextElementSibling.querySelector(".mic-card:not([hidden])");
    }
  }
  layer.addEventListener("change", apply);
  label.addEventListener("change", apply);
  cut.addEventListener("change", apply);
  box.hidden = false;
  apply();
})();
</script>"""


def _style(catalogue: dict) -> str:
    cols = catalogue["sprite_columns"]
    rows_p = math.ceil(K / 3)
    lines = [
        "<style>",
        ".mic-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.6rem;margin:1rem 0}",
        ".mic-card{border:1px solid #ccc;border-radius:4px;padding:.4rem;font-size:.85rem;line-height:1.3}",
        ".mic-card[hidden],.mic-row[hidden]{display:none}",
        ".mic-card.mic-cut{border-color:#6a9fd8}.mic-card.mic-strict{border:2px solid #1f5fa8}",
        ".mic-imgs{display:flex;gap:.4rem;flex-wrap:wrap}",
        f".mic-vis{{width:{VIS_CSS}px;height:{VIS_CSS}px;image-rendering:pixelated}}",
        f".mic-pat{{width:{3 * PATCH_CSS}px;height:{rows_p * PATCH_CSS}px}}",
        ".mic-card p{margin:.3rem 0 0}.mic-more{color:#555}.mic-mark{white-space:nowrap;color:#1f5fa8}",
        ".mic-none .mic-mark{color:#777}",
        ".mic-table{overflow-x:auto}.mic-table table{font-size:.85rem}",
        ".mic-table td,.mic-table th{padding:.1rem .5rem}",
        "#mic-filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.5rem 0}",
        "#mic-filters[hidden],.mic-layer-title[hidden]{display:none}",
    ]
    for layer, f in catalogue["layers"].items():
        short, rows = _short(layer), math.ceil(f["units"] / cols)
        lines.append(f".mic-vis-{short}{{background:url(../_images/{f['vis']}) no-repeat;"
                     f"background-size:{cols * VIS_CSS}px {rows * VIS_CSS}px}}")
        lines.append(f".mic-pat-{short}{{background:url(../_images/{f['patches']}) no-repeat;"
                     f"background-size:{cols * 3 * PATCH_CSS}px {rows * rows_p * PATCH_CSS}px}}")
    lines.append("</style>")
    return "\n".join(lines)


def page(catalogue: dict) -> str:
    """The markdown of the page (MyST), from a catalogue."""
    from ..dissection.results import CUT

    units = catalogue["units"]
    cols = catalogue["sprite_columns"]
    by_layer = {layer: [u for u in units if u["layer"] == layer] for layer in catalogue["layers"]}
    labels = Counter(u["label"] for u in units)
    sha = catalogue["weights"]["sha256"]
    total = len(units)
    assert CUT == CUTS[0]
    out = [
        "<!-- Generated by `python -m vizlib.microscope`; do not edit by hand. -->",
        "",
        "(microscope)=",
        "# The microscope: every unit of the course model",
        "",
        f"This page shows all {total} units of the course model's four convolutional layers "
        f"({', '.join(f'{len(v)} in `{_short(k)}`' for k, v in by_layer.items())}), one card each. "
        "A card holds the unit's **feature visualisation** (left: the image that the optimiser "
        "found for the unit's centre neuron, before the ReLU, with a Fourier parameterisation, "
        f"decorrelated colour and random jitter, scale and rotation, {catalogue['feature_vis']['steps']} "
        f"Adam steps), its **top {K} dataset patches** (right: the receptive field of the unit's "
        f"strongest position in each of the {K} images of the held-out set that drive it hardest, "
        "best first, row by row), its **network-dissection label** with the IoU and the runner-up "
        f"concept (quantile {QUANTILE:g} over the same images), and the class that most of its top "
        "images belong to. The link on a card leads to its row in the table at the end of the "
        "page, and back.",
        "",
        f"The held-out set is `toy_world({catalogue['data']['n']}, seed={catalogue['data']['seed']})`. "
        f"The page was generated by `python -m vizlib.microscope` from the shipped weights "
        f"`vizlib/weights/{catalogue['weights']['file']}` (sha256 `{sha[:16]}…`); "
        "`tests/test_microscope.py` checks that the stored catalogue was made from the current "
        "weights and regenerates a few units.",
        "",
        "## Per layer",
        "",
        f"| layer | units | IoU > {CUTS[0]:g} | IoU > {CUTS[1]:g} | distinct labels above {CUTS[0]:g} "
        "| most frequent label above it |",
        "|---|---|---|---|---|---|",
    ]
    for layer, us in by_layer.items():
        above = [u for u in us if u["iou"] > CUTS[0]]
        strict = sum(u["iou"] > CUTS[1] for u in us)
        common = Counter(u["label"] for u in above).most_common(1)
        top = f"{common[0][0]} ({common[0][1]})" if common else "none"
        out.append(f"| `{_short(layer)}` | {len(us)} | {len(above)} | {strict} | "
                   f"{len(set(u['label'] for u in above))} | {top} |")
    out += [
        "",
        f"A card with a blue frame has an IoU above {CUTS[0]:g} (Bau et al.'s cut for an "
        f"interpretable unit), a thick frame above the stricter {CUTS[1]:g}; the same is written "
        f"on the card. An IoU says how well the unit's strongest {QUANTILE:.1%} of activations overlap the "
        "concept over the data set; it does not say that the unit responds to nothing else.",
        "",
        "## The units",
        "",
        _style(catalogue),
        "",
        '<div id="mic-filters" hidden>',
        '<label>layer <select id="mic-layer"><option value="">all</option>'
        + "".join(f'<option value="{_short(k)}">{_short(k)}</option>' for k in by_layer) + "</select></label>",
        '<label>label <select id="mic-label"><option value="">all</option>'
        + "".join(f'<option value="{html.escape(name)}">{html.escape(name)} ({n})</option>'
                  for name, n in sorted(labels.items(), key=lambda kv: (-kv[1], kv[0])))
        + "</select></label>",
        f'<label>IoU <select id="mic-cut"><option value="-1">any</option>'
        f'<option value="{CUTS[0]:g}">&gt; {CUTS[0]:g}</option>'
        f'<option value="{CUTS[1]:g}">&gt; {CUTS[1]:g}</option></select></label>',
        '<span id="mic-count"></span>',
        "</div>",
        "",
    ]
    for layer, us in by_layer.items():
        out.append(f'<h3 class="mic-layer-title">{_short(layer)} ({len(us)} units)</h3>')
        out.append('<div class="mic-grid">' + "".join(_card(u, u["channel"], cols) for u in us) + "</div>")
        out.append("")
    out += [
        "## The full table",
        "",
        '<div class="mic-table"><table>'
        "<thead><tr><th>layer</th><th>unit</th><th>label</th><th>IoU</th><th>cut</th>"
        "<th>runner-up (IoU)</th><th>class of most top images</th></tr></thead><tbody>"
        + "".join(_row(u) for u in units) + "</tbody></table></div>",
        "",
        "## Contact sheets",
        "",
        f"The sprite sheets the cards are cut from: every unit of a layer, {cols} a row, in channel order.",
        "",
    ]
    for layer, f in catalogue["layers"].items():
        short = _short(layer)
        out += [f"![Feature visualisations of every unit of {short}, {cols} a row](microscope/{f['vis']})", "",
                f":::{{admonition}} Top patches of every unit of {short}", ":class: dropdown", "",
                f"![Top {K} patches of every unit of {short}, one block of 3 x 3 a unit]"
                f"(microscope/{f['patches']})", ":::", ""]
    out += [_SCRIPT, ""]
    return "\n".join(out)


def write_page(out) -> Path:
    """Rewrite ``<out>/microscope.md`` from the stored ``<out>/microscope/catalogue.json``
    (after a change of the page's layout; the images and records stay as they are)."""
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out must be a folder path; got {_validate.describe(out)}")
    path = Path(out) / ASSETS / CATALOGUE
    if not path.is_file():
        raise ValueError(f"out must hold {ASSETS}/{CATALOGUE} (run `python -m vizlib.microscope` first); "
                         f"got {str(out)!r}")
    catalogue = json.loads(path.read_text(encoding="utf-8"))
    (Path(out) / PAGE).write_text(page(catalogue), encoding="utf-8")
    return Path(out) / PAGE



// Drawing for the live panels: images, signed and unsigned maps, colour bars, on <canvas>. No
// model code here (that is api.js and the files it uses); nothing here knows the page's layout.
(function (lib) {
  "use strict";

  /** A canvas of `width` x `height` pixels, shown `scale` times larger, pixelated. */
  function canvas(width, height, scale, className) {
    const c = document.createElement("canvas");
    c.width = width;
    c.height = height;
    c.style.width = `${width * scale}px`;
    c.style.height = `${height * scale}px`;
    if (className) c.className = className;
    return c;
  }

  const clamp01 = (v) => (v < 0 ? 0 : v > 1 ? 1 : v);

  /** Draw channel-first RGB data with values in [0, 1] (`rgb(c, h, w)` flattened). */
  function drawRGB(target, data, size) {
    const ctx = target.getContext("2d");
    const img = ctx.createImageData(size, size);
    const hw = size * size;
    for (let p = 0; p < hw; p++) {
      img.data[4 * p] = Math.round(255 * clamp01(data[p]));
      img.data[4 * p + 1] = Math.round(255 * clamp01(data[hw + p]));
      img.data[4 * p + 2] = Math.round(255 * clamp01(data[2 * hw + p]));
      img.data[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  /** The diverging colour of v in [-1, 1]: blue, white at 0, red (like matplotlib's "RdBu_r"). */
  function diverging(v) {
    const t = Math.max(-1, Math.min(1, v));
    return t >= 0 ? [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))]
                  : [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255];
  }

  /** A sequential colour of v in [0, 1]: black, red, yellow, white ("hot"). */
  function hot(v) {
    const t = clamp01(v) * 3;
    return [Math.round(255 * clamp01(t)), Math.round(255 * clamp01(t - 1)), Math.round(255 * clamp01(t - 2))];
  }

  function maxAbs(data) {
    let m = 0;
    for (const v of data) if (Math.abs(v) > m) m = Math.abs(v);
    return m;
  }

  /** Draw a single-channel map (h, w): signed maps with `diverging` on [-limit, limit], others with
   * `hot` on [0, limit]. Returns the limit used. */
  function drawMap(target, data, h, w, { signed = false, limit = null } = {}) {
    const lim = limit || maxAbs(data) || 1;
    const ctx = target.getContext("2d");
    const img = ctx.createImageData(w, h);
    for (let p = 0; p < h * w; p++) {
      const [r, g, b] = signed ? diverging(data[p] / lim) : hot(data[p] / lim);
      img.data.set([r, g, b, 255], 4 * p);
    }
    ctx.putImageData(img, 0, 0);
    return lim;
  }

  /** Draw a channel-first signed RGB map: grey is 0, each channel v -> 0.5 + 0.5 v / limit, with one
   * limit (the largest |v|) for all three channels. Returns the limit. */
  function drawSignedRGB(target, data, size) {
    const lim = maxAbs(data) || 1;
    drawRGB(target, Float32Array.from(data, (v) => 0.5 + 0.5 * v / lim), size);
    return lim;
  }

  /** vizlib.synthesis.to_display: divide by the `percentile` of |x| (linear interpolation, as
   * torch.quantile), map 0 to grey 0.5, clip to [0, 1]. */
  function toDisplay(data, percentile = 99) {
    const sorted = Float64Array.from(data, Math.abs).sort();
    const pos = (percentile / 100) * (sorted.length - 1), lo = Math.floor(pos), hi = Math.min(lo + 1, sorted.length - 1);
    const scale = Math.max(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo), 1e-12);
    return Float32Array.from(data, (v) => clamp01(0.5 + 0.5 * v / scale));
  }

  /** A horizontal colour bar for maps drawn with drawMap, labelled at both ends and in the middle. */
  function colourBar(container, { signed, limit, label }) {
    container.textContent = "";
    const bar = canvas(64, 1, 1, "cnnviz-colourbar");
    bar.style.width = "128px";
    bar.style.height = "10px";
    const ctx = bar.getContext("2d"), img = ctx.createImageData(64, 1);
    for (let i = 0; i < 64; i++) {
      const v = i / 63;
      img.data.set([...(signed ? diverging(2 * v - 1) : hot(v)), 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
    const fmt = (v) => (Math.abs(v) >= 100 || Math.abs(v) < 0.01 ? v.toExponential(1) : v.toPrecision(2));
    const lo = document.createElement("span");
    lo.textContent = signed ? fmt(-limit) : "0";
    const hi = document.createElement("span");
    hi.textContent = fmt(limit);
    const text = document.createElement("span");
    text.className = "cnnviz-colourbar-label";
    text.textContent = label || "";
    container.append(lo, bar, hi, text);
  }

  lib.draw = { canvas, drawRGB, drawMap, drawSignedRGB, toDisplay, colourBar, diverging, hot, maxAbs };
})(window.cnnvizLib = window.cnnvizLib || {});

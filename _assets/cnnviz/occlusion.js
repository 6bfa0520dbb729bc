// Occlusion (Zeiler and Fergus 2014), as vizlib.attribution.occlusion defines it: a window x window
// square, set to the baseline (0 in normalised space: the dataset's mean colour), slides over the
// image with step `stride`, plus a last position flush with the bottom/right edge; each pixel gets
// the drop of the target's softmax probability, averaged over the windows that cover it.
(function (lib) {
  "use strict";

  /** Start indices along one axis: 0, stride, 2*stride, ... and size - window if not reached. */
  function positions(size, window, stride) {
    const starts = [];
    for (let s = 0; s <= size - window; s += stride) starts.push(s);
    if (starts[starts.length - 1] !== size - window) starts.push(size - window);
    return starts;
  }

  /** Copy of one normalised NHWC image with a window x window square at (row, col) set to `baseline`. */
  function occludeInto(out, offset, image, size, channels, row, col, window, baseline) {
    out.set(image, offset);
    for (let r = row; r < row + window; r++) {
      const start = offset + (r * size + col) * channels;
      out.fill(baseline, start, start + window * channels);
    }
  }

  /** Softmax probabilities (N, classes) of the network run from layer `from` on `input`. */
  async function probabilities(tf, model, input, from = 0) {
    const probs = tf.tidy(() => {
      const outputs = model.forward(input, undefined, from);
      return tf.softmax(outputs[outputs.length - 1]);
    });
    try {
      return await probs.data();
    } finally {
      probs.dispose();
    }
  }

  /**
   * The first convolution's output for every occluded copy, computed only where the square can
   * change it: an output reads a k x k patch, so a square changes at most `span` outputs along each
   * axis, and everything else is the clean image's output. This patch is convolved for each copy
   * (a tenth of conv1's work for an 8-pixel square) and pasted into a copy of the clean output.
   * Returns null when the network does not start with a convolution.
   */
  function occludedFirstLayer(tf, model, image, clean, places, window, baseline) {
    const layer = model.layers[0];
    if (layer.type !== "Conv2d") return null;
    const { size, channels } = model;
    const [k, , , cout] = layer.filter.shape, s = layer.stride, p = layer.padding;
    const out = Math.floor((size + 2 * p - k) / s) + 1;
    const span = Math.ceil((window + k - 1) / s), lin = s * (span - 1) + k, side = size + 2 * p;
    if (span >= out) return null;
    const padded = new Float32Array(side * side * channels); // zeros around: the convolution's padding
    for (let y = 0; y < size; y++) padded.set(image.subarray(y * size * channels, (y + 1) * size * channels), ((y + p) * side + p) * channels);
    const n = places.length, patches = new Float32Array(n * lin * lin * channels), starts = [];
    places.forEach(([r, q], b) => {
      const first = (v) => Math.max(0, Math.min(out - span, Math.ceil((v + p - k + 1) / s)));
      const j0 = first(r), i0 = first(q);
      starts.push([j0, i0]);
      for (let y = 0; y < lin; y++) {
        const src = ((s * j0 + y) * side + s * i0) * channels;
        patches.set(padded.subarray(src, src + lin * channels), (b * lin + y) * lin * channels);
      }
      const x0 = Math.max(0, q + p - s * i0), x1 = Math.min(lin, q + window + p - s * i0);
      for (let yy = r; yy < r + window; yy++) {
        const y = yy + p - s * j0;
        if (y < 0 || y >= lin || x1 <= x0) continue;
        patches.fill(baseline, ((b * lin + y) * lin + x0) * channels, ((b * lin + y) * lin + x1) * channels);
      }
    });
    const part = tf.tidy(() => tf.fused.conv2d({ x: tf.tensor4d(patches, [n, lin, lin, channels]), filter: layer.filter,
                                                 strides: s, pad: "valid", bias: layer.bias }));
    const values = part.dataSync();
    part.dispose();
    const per = out * out * cout, full = new Float32Array(n * per);
    starts.forEach(([j0, i0], b) => {
      full.set(clean, b * per);
      for (let y = 0; y < span; y++) {
        const src = ((b * span + y) * span) * cout;
        full.set(values.subarray(src, src + span * cout), b * per + ((j0 + y) * out + i0) * cout);
      }
    });
    return tf.tensor4d(full, [n, out, out, cout]);
  }

  /**
   * The occlusion map of one image.
   * @param image Float32Array, one normalised NHWC image.
   * @returns {{map: Float32Array (H*W), rows, cols, targetProb: Float32Array (positions), clean: number}}
   */
  async function occlusion(tf, model, image, target, window, stride, { baseline = 0, batchSize = 75 } = {}) {
    const { size, channels } = model;
    const k = model.classes.length;
    const rows = positions(size, window, stride), cols = positions(size, window, stride);
    const places = [];
    for (const r of rows) for (const q of cols) places.push([r, q]);
    const x = tf.tensor4d(image, [1, size, size, channels]);
    const first = tf.tidy(() => model.forward(x, model.layers[0].name)[0]);
    const cleanFirst = first.dataSync().slice();
    first.dispose();
    const clean = (await probabilities(tf, model, x))[target];
    x.dispose();
    const targetProb = new Float32Array(places.length);
    const per = size * size * channels;
    for (let start = 0; start < places.length; start += batchSize) {
      const stop = Math.min(start + batchSize, places.length);
      let input = occludedFirstLayer(tf, model, image, cleanFirst, places.slice(start, stop), window, baseline), from = 1;
      if (input === null) { // the whole network on whole occluded copies
        const batch = new Float32Array((stop - start) * per);
        for (let j = start; j < stop; j++) {
          occludeInto(batch, (j - start) * per, image, size, channels, places[j][0], places[j][1], window, baseline);
        }
        input = tf.tensor4d(batch, [stop - start, size, size, channels]);
        from = 0;
      }
      const probs = await probabilities(tf, model, input, from);
      input.dispose();
      for (let j = start; j < stop; j++) targetProb[j] = probs[(j - start) * k + target];
    }
    const total = new Float64Array(size * size), count = new Float64Array(size * size);
    places.forEach(([r, q], j) => {
      const drop = clean - targetProb[j];
      for (let y = r; y < r + window; y++) {
        for (let x = q; x < q + window; x++) { total[y * size + x] += drop; count[y * size + x] += 1; }
      }
    });
    const map = new Float32Array(size * size);
    for (let p = 0; p < map.length; p++) map[p] = count[p] > 0 ? total[p] / count[p] : 0;
    return { map, rows, cols, targetProb, clean };
  }

  lib.occlusion = { positions, occludeInto, occludedFirstLayer, probabilities, occlusion };
})(window.cnnvizLib = window.cnnvizLib || {});

// The toy world of vizlib.data.toy_world (the plain variant), drawn in the page: the same random
// numbers (numpy's default_rng([seed, 0]), random.js) used in the same order by the same drawing
// code, so that toyWorld(n, seed) gives the labels, pixels and masks of toy_world(n, seed=seed).
// Each image: a dead-leaves background (60 discs with power-law radii on a flat colour), then one
// object of a random class, size, position, tilt and mirror image, in a saturated colour.
// Arithmetic in doubles as numpy does it; pixels rounded to float32 once, where numpy stores them.
// Math.hypot, atan2, cos, sin and pow may differ from numpy's in the last bit: that moves a mask's
// edge only for a pixel centre within about 1e-16 of it.
(function (lib) {
  "use strict";

  const SIZE = 64, MAX_TILT = 0.5, N_CLASSES = 8;
  const f32 = Math.fround;

  /** numpy's x % m for a float x and m > 0 (the sign of the divisor, unlike JavaScript's %). */
  function remainder(x, m) {
    const r = x % m;
    return r !== 0 && r < 0 ? r + m : r;
  }

  /** vizlib.data._shape_mask for one point: inside test for class `cls` in object coordinates
   * (unit radius, v points up). */
  function insideShape(cls, u, v) {
    const r = Math.hypot(u, v);
    switch (cls) {
      case 0: // circle
        return r <= 1.0;
      case 1: // square
        return Math.max(Math.abs(u), Math.abs(v)) <= 0.8;
      case 2: { // triangle, pointing up
        let inside = v >= -0.5;
        for (const angle of [Math.PI / 6, (5 * Math.PI) / 6]) {
          inside = inside && u * Math.cos(angle) + v * Math.sin(angle) <= 0.5;
        }
        return inside;
      }
      case 3: { // five-pointed star
        const phi = Math.atan2(u, v);
        const k = Math.abs(remainder((phi * 5) / (2 * Math.PI), 1.0) - 0.5) * 2; // 1 at the points, 0 between
        return r <= 0.45 + 0.55 * (k * k);
      }
      case 4: // cross
        return (Math.abs(u) <= 0.3 && Math.abs(v) <= 1.0) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 1.0);
      case 5: // ring
        return r <= 1.0 && r >= 0.55;
      case 6: { // heart
        const x = u * 1.25, y = v * 1.25 - 0.15;
        return Math.pow(x * x + y * y - 1, 3) - x * x * Math.pow(y, 3) <= 0;
      }
      case 7: // crescent
        return r <= 1.0 && Math.hypot(u - 0.45, v - 0.2) > 0.8;
      default:
        throw new RangeError(`unknown class index ${cls}`);
    }
  }

  /** vizlib.data._leaves: radii (density ~ r^-3 in [rmin, rmax], by inverse CDF), centres (cy, cx)
   * and muted colours of n dead leaves, drawn array by array as numpy draws them. */
  function leaves(rng, n, size, rmin, rmax) {
    const draw = (count, low, high) => Array.from({ length: count }, () => rng.uniform(low, high));
    const q = draw(n, 0, 1);
    const radii = q.map((qi) => 1.0 / Math.sqrt(qi / (rmax * rmax) + (1 - qi) / (rmin * rmin)));
    const centres = draw(2 * n, -10, size + 10);
    const grey = draw(n, 0.15, 0.85);
    const tint = draw(3 * n, -0.15, 0.15);
    const colours = Array.from({ length: n }, (_, i) =>
      [0, 1, 2].map((c) => Math.min(Math.max(grey[i] + tint[3 * i + c], 0), 1)));
    return { radii, centres, colours };
  }

  /** Set the pixels within `rad` of (cy, cx) of the HWC float32 `img` to `colour`, scanning the
   * bounding rows and columns vizlib.data._disc scans. */
  function paintDisc(img, size, cy, cx, rad, colour) {
    const r0 = Math.max(Math.trunc(cy - rad), 0), r1 = Math.min(Math.trunc(cy + rad) + 2, size);
    const c0 = Math.max(Math.trunc(cx - rad), 0), c1 = Math.min(Math.trunc(cx + rad) + 2, size);
    const rad2 = rad * rad;
    for (let y = r0; y < r1; y++) {
      for (let x = c0; x < c1; x++) {
        if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= rad2) img.set(colour, 3 * (y * size + x));
      }
    }
  }

  /** vizlib.data._dead_leaves (no tint): an HWC Float32Array. */
  function deadLeaves(rng, size) {
    const base = [rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)];
    const scale = rng.uniform(0.4, 1.0);
    const img = new Float32Array(size * size * 3);
    for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) img[3 * p + c] = base[c] * scale;
    const { radii, centres, colours } = leaves(rng, 60, size, 2.0, 20.0);
    radii.forEach((rad, i) => paintDisc(img, size, centres[2 * i], centres[2 * i + 1], rad, colours[i]));
    return img;
  }

  /** vizlib.data._object_colour: a saturated colour (a quarter of them dark), float32 RGB. */
  function objectColour(rng) {
    const hue = rng.uniform(0, 1);
    let rgb = [0, 4, 2].map((o) => Math.min(Math.max(Math.abs(remainder(hue * 6 + o, 6) - 3) - 1, 0), 1));
    const value = rng.uniform(0.6, 1.0), sat = rng.uniform(0.6, 1.0);
    rgb = rgb.map((c) => value * (1 - sat + sat * c));
    if (rng.uniform(0, 1) < 0.25) rgb = rgb.map((c) => c * 0.25); // some dark objects
    return rgb.map(f32);
  }

  /**
   * vizlib.data.toy_world(n, seed) of the plain world.
   * @returns {{images: Float32Array (n, 3, 64, 64) in [0, 1], labels: Int32Array (n),
   *            masks: Uint8Array (n, 64, 64), 1 on the object}}
   */
  function toyWorld(n, seed) {
    const size = SIZE, hw = size * size;
    const rng = lib.defaultRng([seed, 0]); // [seed, VARIANTS.index(None)]
    const labels = Int32Array.from({ length: n }, () => rng.integers(0, N_CLASSES));
    const images = new Float32Array(n * 3 * hw), masks = new Uint8Array(n * hw);
    for (let i = 0; i < n; i++) {
      const img = deadLeaves(rng, size);
      const radius = rng.uniform(10, 20);
      const lo = radius + 1, hi = size - radius - 1;
      const cy = rng.uniform(lo, hi), cx = rng.uniform(lo, hi);
      const angle = rng.uniform(-MAX_TILT, MAX_TILT);
      const flip = rng.uniform(0, 1) < 0.5;
      const cos = Math.cos(angle), sin = Math.sin(angle);
      const mask = masks.subarray(i * hw, (i + 1) * hw);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const dx = (x + 0.5 - cx) / radius, dy = (cy - (y + 0.5)) / radius; // dy points up
          const u = dx * cos + dy * sin, v = -dx * sin + dy * cos;
          mask[y * size + x] = insideShape(labels[i], flip ? -u : u, v) ? 1 : 0;
        }
      }
      const colour = objectColour(rng);
      for (let p = 0; p < hw; p++) if (mask[p]) img.set(colour, 3 * p);
      const out = images.subarray(i * 3 * hw, (i + 1) * 3 * hw);
      for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[c * hw + p] = img[3 * p + c];
    }
    return { images, labels, masks };
  }

  lib.toyWorld = { toyWorld, insideShape, SIZE, N_CLASSES };
})(window.cnnvizLib = window.cnnvizLib || {});

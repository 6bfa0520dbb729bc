// Class model visualisation (Simonyan et al. 2014, with the regularisers of Yosinski et al. 2015),
// step for step as vizlib.synthesis.class_model and render do it. Each step, on the image I in
// normalised space:
//   x = jitter(I)                        roll by (dy, dx) in [-jitter, jitter], drawn like torch.randint
//   v = S_target(x) - l2 * ||I||^2,  g = dv/dI
//   I <- I + lr * g
//   then, in this order: blur (after every blurEvery-th step), norm clipping, contribution clipping.
// The history records the score S_target and its softmax probability measured in each step's
// forward pass (on the jittered image, before the update) and once more on the final image.
(function (lib) {
  "use strict";

  /** torch.roll(t, shifts=(dy, dx), dims=(H, W)) for NHWC t: out[i] = in[(i - shift) mod n]. */
  function roll(tf, t, dy, dx) {
    let out = t;
    [[dy, 1], [dx, 2]].forEach(([shift, axis]) => {
      const n = out.shape[axis];
      const s = ((shift % n) + n) % n;
      if (s === 0) return;
      const begin = [0, 0, 0, 0], size = out.shape.slice();
      const head = size.slice(); head[axis] = s;
      const tailBegin = begin.slice(); tailBegin[axis] = n - s;
      const rest = size.slice(); rest[axis] = n - s;
      out = tf.concat([tf.slice(out, tailBegin, head), tf.slice(out, begin, rest)], axis);
    });
    return out;
  }

  /** vizlib's Gaussian: radius round(3 sigma) (at least 1, at most side - 1), normalised to sum 1,
   * computed in float32 as torch does. */
  function gaussianKernel(sigma, side) {
    const radius = Math.min(Math.max(1, Math.trunc(3 * sigma + 0.5)), side - 1);
    const f = Math.fround, s = f(sigma);
    const k = new Float32Array(2 * radius + 1);
    let sum = 0;
    for (let i = 0; i < k.length; i++) {
      const u = f((i - radius) / s);
      k[i] = f(Math.exp(f(-0.5 * f(u * u))));
      sum = f(sum + k[i]);
    }
    for (let i = 0; i < k.length; i++) k[i] = f(k[i] / sum);
    return { radius, weights: k };
  }

  /** Blur each channel of NHWC `image` with the separable kernel, mirror padding (d c b | a b c d):
   * along the width first, then the height, as vizlib's gaussian_blur. */
  function gaussianBlur(tf, image, kernel) {
    const c = image.shape[3], r = kernel.radius, n = kernel.weights.length;
    const taps = new Float32Array(n * c);
    for (let i = 0; i < n; i++) taps.fill(kernel.weights[i], i * c, (i + 1) * c);
    const padded = tf.mirrorPad(image, [[0, 0], [r, r], [r, r], [0, 0]], "reflect");
    const across = tf.depthwiseConv2d(padded, tf.tensor4d(taps, [1, n, c, 1]), 1, "valid");
    return tf.depthwiseConv2d(across, tf.tensor4d(taps, [n, 1, c, 1]), 1, "valid");
  }

  /** Zero (all channels of) the floor(fraction * H * W) pixels with the lowest score, ties broken
   * by position, as vizlib's _zero_lowest (a stable argsort). `score` is a Float32Array (H * W). */
  function zeroLowest(tf, image, score, fraction) {
    const [, h, w] = image.shape;
    const k = Math.floor(fraction * h * w);
    if (k === 0) return image;
    const threshold = Float32Array.from(score).sort()[k - 1]; // the k-th smallest score
    let below = 0;
    for (const v of score) if (v < threshold) below++;
    const keep = new Float32Array(h * w).fill(1);
    let ties = k - below; // of the pixels at the threshold, the first ones by position go
    for (let i = 0; i < score.length; i++) {
      if (score[i] < threshold) keep[i] = 0;
      else if (score[i] === threshold && ties > 0) { keep[i] = 0; ties--; }
    }
    return tf.mul(image, tf.tensor4d(keep, [1, h, w, 1]));
  }

  /** Per-pixel sum over channels of a(...) in float32, channel by channel, for NHWC data. */
  function channelSum(data, c, term) {
    const f = Math.fround, out = new Float32Array(data.length / c);
    for (let p = 0; p < out.length; p++) {
      let s = term(p * c);
      for (let j = 1; j < c; j++) s = f(s + term(p * c + j));
      out[p] = s;
    }
    return out;
  }

  /** Yosinski et al.'s norm clipping: zero the `fraction` of pixels with the smallest norm. */
  function clipSmallNorm(tf, image, fraction) {
    const d = image.dataSync(), f = Math.fround;
    return zeroLowest(tf, image, channelSum(d, image.shape[3], (i) => f(d[i] * d[i])), fraction);
  }

  /** Contribution clipping: zero the `fraction` of pixels with the smallest |sum_c I * grad|. */
  function clipSmallContribution(tf, image, grad, fraction) {
    const d = image.dataSync(), g = grad.dataSync(), f = Math.fround;
    const score = channelSum(d, image.shape[3], (i) => f(d[i] * g[i])).map(Math.abs);
    return zeroLowest(tf, image, score, fraction);
  }

  function softmaxAt(logits, target) {
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    return Math.exp(logits[target] - max) / sum;
  }

  /**
   * Gradient ascent on the image for class `target`.
   * @param o validated options: steps, lr, l2, blurEvery (0: off), blurSigma, normClip, contribClip
   *   (0: off), jitter, seed, init (normalised NHWC Float32Array or null: zeros), onStep (or null).
   *   onStep({step, image, gradient, shift, score, prob}) is awaited after each step's gradient, with
   *   the image before the update and the gradient dv/dI as channel-first Float32Arrays; if it
   *   returns false the ascent stops there.
   * @returns {{image: Float32Array (C, H, W) normalised, history: {score, prob, shifts}}}
   */
  async function classModel(tf, model, target, o) {
    const { size, channels } = model;
    let image = o.init ? tf.tensor4d(o.init, [1, size, size, channels]) : tf.zeros([1, size, size, channels]);
    const rng = o.jitter > 0 ? new lib.MersenneTwister(o.seed) : null;
    const kernel = o.blurEvery > 0 ? gaussianKernel(o.blurSigma, size) : null;
    const history = { score: [], prob: [], shifts: [] };
    const measure = (logits) => {
      const values = logits.dataSync();
      history.score.push(values[target]);
      history.prob.push(softmaxAt(values, target));
    };
    const channelFirst = (t) => {
      const out = tf.tidy(() => model.toChannelFirst(t));
      const data = out.dataSync().slice();
      out.dispose();
      return data;
    };
    try {
      for (let step = 0; step < o.steps; step++) {
        const dy = rng ? rng.randint(-o.jitter, o.jitter + 1) : 0;
        const dx = rng ? rng.randint(-o.jitter, o.jitter + 1) : 0;
        history.shifts.push([dy, dx]);
        const [next, logits, grad] = tf.tidy(() => {
          const x = roll(tf, image, dy, dx);
          const result = lib.rules.inputGradient(tf, model, x, [target], "backprop");
          let g = roll(tf, result.grad, -dy, -dx);
          if (o.l2 > 0) g = tf.add(g, tf.mul(image, -2 * o.l2)); // d(-l2 ||I||^2)/dI
          let out = tf.add(image, tf.mul(g, o.lr));
          if (kernel && (step + 1) % o.blurEvery === 0) out = gaussianBlur(tf, out, kernel);
          if (o.normClip > 0) out = clipSmallNorm(tf, out, o.normClip);
          if (o.contribClip > 0) out = clipSmallContribution(tf, out, g, o.contribClip);
          return [out, result.logits, g];
        });
        try {
          measure(logits);
          if (o.onStep) {
            const info = { step, image: channelFirst(image), gradient: channelFirst(grad), shift: [dy, dx],
                           score: history.score[step], prob: history.prob[step] };
            if ((await o.onStep(info)) === false) {
              next.dispose();
              break;
            }
          }
          if (!next.dataSync().every(Number.isFinite)) {
            next.dispose();
            throw new RangeError(`classModel: the image became NaN or infinite at step ${step + 1}; ` +
              `lower lr (got ${o.lr})`);
          }
          image.dispose();
          image = next;
        } finally {
          logits.dispose();
          grad.dispose();
        }
      }
      const last = tf.tidy(() => { const out = model.forward(image); return out[out.length - 1]; });
      measure(last);
      last.dispose();
      return { image: channelFirst(image), history };
    } finally {
      image.dispose();
    }
  }

  lib.synthesis = { roll, gaussianKernel, gaussianBlur, clipSmallNorm, clipSmallContribution, classModel };
})(window.cnnvizLib = window.cnnvizLib || {});

// The backward pass, layer by layer, with the three ReLU rules of vizlib/attribution/rules.py:
//   backprop   g * [y > 0]            (the chain rule)
//   deconvnet  max(g, 0)              (Zeiler and Fergus 2014: ignores the forward pass)
//   guided     max(g, 0) * [y > 0]    (Springenberg et al. 2015)
// where y is the ReLU's forward output (y > 0 exactly where its input is > 0). Max pooling sends
// the gradient to the FIRST maximum of each window in row-major order, as PyTorch does (the wasm
// backend's own max-pool gradient picks the last one on ties, which toy images have often).
// Convolutions apply their transposed filters; the linear layer its transposed weight.
(function (lib) {
  "use strict";

  const RULES = ["backprop", "deconvnet", "guided"];

  function reluBackward(tf, output, grad, rule) {
    switch (rule) {
      case "backprop":
        return tf.mul(grad, tf.step(output)); // step: 1 where output > 0, else 0
      case "deconvnet":
        return tf.relu(grad);
      case "guided":
        return tf.mul(tf.relu(grad), tf.step(output));
      default:
        throw new RangeError(`rule must be one of ${RULES.join(", ")}; got ${rule}`);
    }
  }

  /** Gradient of a 2x2, stride-2 max pool: `grad` (N, H/2, W/2, C) goes to the first maximum of
   * each window of `input` (N, H, W, C), scanning (0,0), (0,1), (1,0), (1,1) as PyTorch does.
   * A loop over the values: a few tensor ops (strided slices, masks) were 20 times slower. */
  function maxPoolBackward(tf, input, grad) {
    const [n, h, w, c] = input.shape;
    const x = input.dataSync(), g = grad.dataSync();
    const out = new Float32Array(x.length);
    const ho = h >> 1, wo = w >> 1, row = w * c;
    for (let b = 0; b < n; b++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const corner = ((b * h + 2 * oy) * w + 2 * ox) * c, src = ((b * ho + oy) * wo + ox) * c;
          for (let ch = 0; ch < c; ch++) {
            const i00 = corner + ch;
            let best = i00, max = x[i00];
            for (const i of [i00 + c, i00 + row, i00 + row + c]) {
              if (x[i] > max) { max = x[i]; best = i; }
            }
            out[best] = g[src + ch];
          }
        }
      }
    }
    return tf.tensor4d(out, input.shape);
  }

  /**
   * The input gradient of a convolution (stride s, padding p, k x k filter W) as ONE forward
   * convolution, so that it runs on XNNPACK's fast convolution (the wasm backend's own
   * Conv2DBackpropInput is a plain loop, ten times slower). Input pixel i = s * a + r gets
   *   dx[i] = sum over taps kh with kh = r + p - s * d of dy[a + d] * W[kh],
   * so each phase r is a correlation of dy over offsets d in [dmin, dmax] with W's taps in reverse
   * order; the s * s phases (r_y, r_x) become the output channels of one filter
   * (t, t, out, s * s * in), and depth-to-space interleaves them into the image. For stride 1 this
   * is the familiar convolution with the flipped filter, in and out channels swapped.
   */
  function backwardFilter(tf, filter, stride, padding) {
    const [k, , cin, cout] = filter.shape, s = stride, p = padding;
    const w = filter.dataSync();
    let dmin = Infinity, dmax = -Infinity;
    for (let r = 0; r < s; r++) {
      for (let kh = 0; kh < k; kh++) {
        if ((r + p - kh) % s === 0) {
          dmin = Math.min(dmin, (r + p - kh) / s);
          dmax = Math.max(dmax, (r + p - kh) / s);
        }
      }
    }
    const t = dmax - dmin + 1, outc = s * s * cin;
    const f = new Float32Array(t * t * cout * outc);
    for (let ry = 0; ry < s; ry++) {
      for (let rx = 0; rx < s; rx++) {
        for (let uy = 0; uy < t; uy++) {
          const khy = ry + p - s * (dmin + uy);
          if (khy < 0 || khy >= k) continue;
          for (let ux = 0; ux < t; ux++) {
            const khx = rx + p - s * (dmin + ux);
            if (khx < 0 || khx >= k) continue;
            for (let o = 0; o < cout; o++) {
              for (let c = 0; c < cin; c++) {
                f[((uy * t + ux) * cout + o) * outc + (ry * s + rx) * cin + c] = w[((khy * k + khx) * cin + c) * cout + o];
              }
            }
          }
        }
      }
    }
    return { filter: tf.tensor4d(f, [t, t, cout, outc]), dmin, dmax };
  }

  /** d conv(x) / d x applied to `grad` (N, H', W', out), for an input of `inputShape`. */
  function convBackward(tf, layer, grad, inputShape) {
    const s = layer.stride, [, h, w] = inputShape, [, hg, wg] = grad.shape, bk = layer.backward;
    const pads = [[h, hg], [w, wg]].map(([size, gsize]) => [-bk.dmin, size / s - 1 + bk.dmax - (gsize - 1)]);
    if (h % s || w % s || pads.some(([a, b]) => a < 0 || b < 0)) {
      return tf.conv2dTranspose(grad, layer.filter, inputShape, s, layer.padding);
    }
    const g = tf.conv2d(grad, bk.filter, 1, [[0, 0], pads[0], pads[1], [0, 0]]);
    return s > 1 ? tf.depthToSpace(g, s, "NHWC") : g;
  }

  /**
   * d(sum_i gradOutput_i . logits_i) / d x under `rule`, given the forward outputs of every layer.
   * @param model what lib.createModel returns; x (N, H, W, C) normalised; outputs = model.forward(x).
   * @param gradOutput (N, classes): the gradient arriving at the logits.
   */
  function backward(tf, model, x, outputs, gradOutput, rule) {
    let g = gradOutput;
    for (let i = model.layers.length - 1; i >= 0; i--) {
      const layer = model.layers[i];
      const input = i > 0 ? outputs[i - 1] : x;
      switch (layer.type) {
        case "Linear":
          g = tf.matMul(g, layer.weightT);
          break;
        case "Flatten": {
          const [n, h, w, c] = input.shape;
          g = tf.transpose(tf.reshape(g, [n, c, h, w]), [0, 2, 3, 1]);
          break;
        }
        case "MaxPool2d":
          g = maxPoolBackward(tf, input, g);
          break;
        case "ReLU":
          g = reluBackward(tf, outputs[i], g, rule);
          break;
        case "Conv2d":
          g = convBackward(tf, layer, g, input.shape);
          break;
      }
    }
    return g;
  }

  /** The gradient of logit `targets[i]` of image i w.r.t. the normalised input x (N, H, W, C):
   * returns {grad (N, H, W, C), logits (N, classes)}. */
  function inputGradient(tf, model, x, targets, rule = "backprop") {
    const outputs = model.forward(x);
    const logits = outputs[outputs.length - 1];
    const k = logits.shape[1];
    const onehot = new Float32Array(targets.length * k);
    targets.forEach((t, i) => { onehot[i * k + t] = 1; });
    const grad = backward(tf, model, x, outputs, tf.tensor2d(onehot, [targets.length, k]), rule);
    return { grad, logits };
  }

  lib.rules = { RULES, reluBackward, maxPoolBackward, backwardFilter, convBackward, backward, inputGradient };
})(window.cnnvizLib = window.cnnvizLib || {});

// window.cnnviz: the public API of the live panels (issue 15). Tests and other pages rely on it.
//   cnnviz.ready                                  Promise: weights and backend loaded
//   await cnnviz.predict(pixels)                  Float32Array(8) logits
//   await cnnviz.gradient(pixels, target)         Float32Array(3*64*64), d logit / d normalised input
//   await cnnviz.gradientXInput(pixels, target)   the same times the normalised input
//   await cnnviz.deconvnet(pixels, target)        the deconvnet rule at every ReLU
//   await cnnviz.guidedBackprop(pixels, target)   the guided rule at every ReLU
//   await cnnviz.saliency(pixels, target)         Float32Array(64*64): max over RGB of |gradient|
//   await cnnviz.occlusion(pixels, target, window, stride)   Float32Array(64*64)
//   await cnnviz.activations(pixels, layer)       {shape, data} for a layer name of the PyTorch model
//   await cnnviz.classModel(target, options)      {image (normalised, 3*64*64), history: {score, prob}, shifts}
//   await cnnviz.toyWorld(n, seed)                {images (n*3*64*64, in [0, 1]), labels (n), masks (n*64*64)}:
//                                                 vizlib.data.toy_world(n, seed=seed), the plain world
// `pixels`: Float32Array of 3*64*64 values in [0, 1], channel-first (vizlib.data.toy_world's
// layout), not normalised. Arrays come back channel-first too, as vizlib returns them. Bad arguments
// reject with a TypeError or RangeError that names the argument and what was expected.
(function (lib) {
  "use strict";

  const V = lib.validate;
  const script = document.currentScript;
  const weightsSha256 = script ? script.dataset.weightsSha256 : undefined;
  const staticRoot = script ? new URL("../", script.src).href : "";
  const state = {};

  async function load() {
    const tf = window.tf;
    if (!tf || typeof tf.tensor !== "function") throw new Error("TensorFlow.js did not load (_static/tfjs/tf-core.es2017.min.js)");
    if (typeof window.cnnvizWeights !== "string") throw new Error("the weights did not load (_static/cnnviz/course-weights.js)");
    const backend = await lib.startBackend(tf, { wasmUrl: window.cnnvizWasm,
                                                 cpuScript: `${staticRoot}tfjs/tf-backend-cpu.es2017.min.js` });
    const weights = lib.readWeights(lib.decodeBase64(window.cnnvizWeights), weightsSha256);
    const model = lib.createModel(tf, weights);
    tf.tidy(() => model.forward(tf.zeros([1, model.size, model.size, model.channels]))); // first run: allocate
    Object.assign(state, { tf, model, defaults: weights.header.class_model || {} });
    return {
      backend: backend.name, notice: backend.notice, classes: model.classes.slice(),
      layers: model.layerNames.slice(), weightsSha256: weights.sha256, sourceSha256: weights.header.source_sha256,
      imageSize: model.size, channels: model.channels, mean: weights.header.mean.slice(),
      std: weights.header.std.slice(), classModelDefaults: Object.assign({}, weights.header.class_model),
    };
  }

  const ready = load();
  ready.catch(() => {}); // callers see the rejection; no "unhandled rejection" on pages that never ask

  const dims = () => ({ channels: state.model.channels, size: state.model.size });
  const pixelsArg = (fn, pixels) => V.pixels(`cnnviz.${fn}`, pixels, "pixels", dims());

  async function download(tensor) {
    try {
      return await tensor.data();
    } finally {
      tensor.dispose();
    }
  }

  async function predict(pixels) {
    await ready;
    const { tf, model } = state;
    const p = pixelsArg("predict", pixels);
    return download(tf.tidy(() => {
      const out = model.forward(model.toInput(p));
      return out[out.length - 1];
    }));
  }

  function gradientMethod(name) {
    return async function (pixels, target) {
      await ready;
      const { tf, model } = state;
      const p = pixelsArg(name, pixels);
      const t = V.target(`cnnviz.${name}`, target, model.classes);
      return download(tf.tidy(() => model.toChannelFirst(lib.attribution[name](tf, model, model.toInput(p), [t]))));
    };
  }

  async function occlusionScan(fn, pixels, target, window, stride) {
    await ready;
    const { tf, model } = state;
    const p = pixelsArg(fn, pixels);
    const t = V.target(`cnnviz.${fn}`, target, model.classes);
    const w = V.integer(`cnnviz.${fn}`, window, "window", 1, model.size,
      `an integer in [1, ${model.size}] (the occluder's side in pixels, at most the image side)`);
    const s = V.integer(`cnnviz.${fn}`, stride, "stride", 1, Infinity, "an integer >= 1 (pixels between windows)");
    const image = await download(tf.tidy(() => model.toInput(p)));
    return lib.occlusion.occlusion(tf, model, image, t, w, s);
  }

  async function occlusion(pixels, target, window, stride) {
    return (await occlusionScan("occlusion", pixels, target, window, stride)).map;
  }

  async function activations(pixels, layer) {
    await ready;
    const { tf, model } = state;
    const p = pixelsArg("activations", pixels);
    const name = V.oneOf("cnnviz.activations", layer, "layer", model.layerNames);
    const out = tf.tidy(() => {
      const outputs = model.forward(model.toInput(p), name);
      return model.toChannelFirst(outputs[outputs.length - 1]);
    });
    const shape = out.shape.slice();
    return { shape, data: await download(out) };
  }

  const CLASS_MODEL_KEYS = ["steps", "lr", "l2", "blurEvery", "blurSigma", "normClip", "contribClip", "jitter",
                            "seed", "init", "onStep"];

  function classModelOptions(options) {
    const fn = "cnnviz.classModel";
    const given = V.options(fn, options, "options", CLASS_MODEL_KEYS);
    const o = Object.assign({}, state.defaults, given);
    const off = (v) => v === null || v === undefined || v === 0;
    const out = {
      steps: V.integer(fn, o.steps, "options.steps", 1, 100000),
      lr: V.number(fn, o.lr, "options.lr", 0, Infinity, { what: "a positive finite number" }),
      l2: V.number(fn, o.l2, "options.l2", 0, Infinity),
      blurEvery: off(o.blurEvery) ? 0 : V.integer(fn, o.blurEvery, "options.blurEvery", 1, Infinity,
        "null, 0 (off) or an integer >= 1"),
      blurSigma: o.blurSigma,
      normClip: off(o.normClip) ? 0 : V.number(fn, o.normClip, "options.normClip", 0, 1,
        { closed: false, what: "null or a fraction in [0, 1)" }),
      contribClip: off(o.contribClip) ? 0 : V.number(fn, o.contribClip, "options.contribClip", 0, 1,
        { closed: false, what: "null or a fraction in [0, 1)" }),
      jitter: V.integer(fn, o.jitter, "options.jitter", 0, state.model.size - 1),
      seed: V.integer(fn, o.seed, "options.seed", 0, 0xffffffff),
      init: null,
      onStep: null,
    };
    if (!(out.lr > 0)) throw new RangeError(`${fn}: options.lr must be a positive finite number; got ${o.lr}`);
    if (out.blurEvery) {
      out.blurSigma = V.number(fn, o.blurSigma, "options.blurSigma", 0, Infinity,
        { what: "a positive number when blurEvery is set" });
      if (!(out.blurSigma > 0)) {
        throw new RangeError(`${fn}: options.blurSigma must be a positive number when blurEvery is set; got ${o.blurSigma}`);
      }
    }
    if (2 * out.lr * out.l2 >= 1) {
      throw new RangeError(`${fn}: options.lr * options.l2 must be below 0.5; got lr=${out.lr}, l2=${out.l2} ` +
        "(each step multiplies the image by 1 - 2 lr l2, which would overshoot zero)");
    }
    if (o.init !== undefined && o.init !== null) {
      const { channels, size } = dims();
      const chw = V.image(fn, o.init, "options.init", dims());
      const hw = size * size, nhwc = new Float32Array(chw.length);
      for (let c = 0; c < channels; c++) for (let p = 0; p < hw; p++) nhwc[p * channels + c] = chw[c * hw + p];
      out.init = nhwc;
    }
    if (o.onStep !== undefined && o.onStep !== null) {
      if (typeof o.onStep !== "function") {
        throw new TypeError(`${fn}: options.onStep must be a function or null; got ${V.describe(o.onStep)}`);
      }
      out.onStep = o.onStep;
    }
    return out;
  }

  async function classModel(target, options) {
    await ready;
    const { tf, model } = state;
    const t = V.target("cnnviz.classModel", target, model.classes);
    const o = classModelOptions(options);
    const result = await lib.synthesis.classModel(tf, model, t, o);
    return { image: result.image, history: { score: result.history.score, prob: result.history.prob },
             shifts: result.history.shifts };
  }

  /** vizlib.data.toy_world(n, seed=seed) (the plain world): needs no model, so it does not wait for it. */
  async function toyWorld(n, seed) {
    const fn = "cnnviz.toyWorld";
    const count = V.integer(fn, n, "n", 1, 1000);
    const s = V.integer(fn, seed, "seed", 0, Number.MAX_SAFE_INTEGER,
      "a non-negative integer (at most 2^53 - 1)");
    return lib.toyWorld.toyWorld(count, s);
  }

  window.cnnviz = Object.freeze({
    ready,
    predict,
    gradient: gradientMethod("gradient"),
    gradientXInput: gradientMethod("gradientXInput"),
    deconvnet: gradientMethod("deconvnet"),
    guidedBackprop: gradientMethod("guidedBackprop"),
    saliency: gradientMethod("saliency"),
    occlusion,
    activations,
    classModel,
    toyWorld,
    /** Occlusion with its details: {map, rows, cols, targetProb (one per position), clean}. */
    occlusionScan: (pixels, target, window, stride) => occlusionScan("occlusionScan", pixels, target, window, stride),
  });
})(window.cnnvizLib = window.cnnvizLib || {});

// The course network (vizlib.models.CourseNet) in TensorFlow.js, built from the layer list the
// weights' header carries. Tensors are NHWC inside (TensorFlow's layout); the public API converts
// from and to PyTorch's channel-first layout. Functional ops only; callers wrap calls in tf.tidy.
(function (lib) {
  "use strict";

  const SUPPORTED = ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"];

  /**
   * @param tf the TensorFlow.js namespace.
   * @param weights what lib.readWeights returns.
   */
  function createModel(tf, weights) {
    const header = weights.header;
    const param = (name, layout) => {
      const t = weights.tensors[name];
      if (!t || t.layout !== layout) throw new Error(`the weights lack ${name} in layout ${layout}`);
      return tf.tensor(t.data, t.shape, "float32");
    };
    const layers = header.layers.map((spec) => {
      if (!SUPPORTED.includes(spec.type)) throw new Error(`the page cannot run a ${spec.type} layer (${spec.name})`);
      const layer = Object.assign({}, spec);
      if (spec.type === "Conv2d") {
        layer.filter = param(`${spec.name}.weight`, "HWIO"); // (kh, kw, in, out)
        layer.bias = param(`${spec.name}.bias`, "O");
        layer.backward = lib.rules.backwardFilter(tf, layer.filter, spec.stride, spec.padding);
      } else if (spec.type === "Linear") {
        layer.weight = param(`${spec.name}.weight`, "IO"); // (in, out); rows in PyTorch's C, H, W order
        layer.weightT = tf.transpose(layer.weight); // for the backward pass (matMul's transposeB is slow)
        layer.bias = param(`${spec.name}.bias`, "O");
      }
      return layer;
    });
    const channels = layers[0].filter.shape[2];
    const size = header.image_size;

    /**
     * Run the layers on x (N, H, W, C), normalised. Returns every layer's output, in order
     * (outputs[i] of layers[i]); stops after layer `until` if given. With `from`, x is the input
     * of layers[from] and the outputs start there.
     */
    function forward(x, until, from = 0) {
      const outputs = [];
      let h = x;
      for (const layer of layers.slice(from)) {
        switch (layer.type) {
          case "Conv2d": // padding is a number: the same on every side, as in PyTorch
            h = tf.fused.conv2d({ x: h, filter: layer.filter, strides: layer.stride, pad: layer.padding,
                                  bias: layer.bias });
            break;
          case "ReLU":
            h = tf.relu(h);
            break;
          case "MaxPool2d":
            h = tf.maxPool(h, layer.kernel, layer.stride, "valid");
            break;
          case "Flatten": // PyTorch flattens C, H, W
            h = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [h.shape[0], -1]);
            break;
          case "Linear":
            h = tf.add(tf.matMul(h, layer.weight), layer.bias);
            break;
        }
        outputs.push(h);
        if (layer.name === until) break;
      }
      return outputs;
    }

    /** Images in [0, 1], channel-first (n, C, H, W) flattened, to the normalised NHWC input. */
    function toInput(pixels, n = 1) {
      const hw = size * size;
      const out = new Float32Array(n * hw * channels);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < channels; c++) {
          const mean = header.mean[c], std = header.std[c];
          const src = (i * channels + c) * hw;
          for (let p = 0; p < hw; p++) out[(i * hw + p) * channels + c] = (pixels[src + p] - mean) / std;
        }
      }
      return tf.tensor4d(out, [n, size, size, channels]);
    }

    /** (N, H, W, C) -> (N, C, H, W) data, flattened, as PyTorch lays it out. */
    function toChannelFirst(t) {
      return t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
    }

    function dispose() {
      for (const layer of layers) {
        for (const key of ["filter", "bias", "weight", "weightT"]) if (layer[key]) layer[key].dispose();
        if (layer.backward) layer.backward.filter.dispose();
      }
    }

    return {
      header, layers, channels, size,
      classes: header.classes,
      layerNames: layers.map((l) => l.name),
      forward, toInput, toChannelFirst, dispose,
    };
  }

  lib.createModel = createModel;
})(window.cnnvizLib = window.cnnvizLib || {});

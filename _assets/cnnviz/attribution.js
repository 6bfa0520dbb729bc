// Gradient maps, as vizlib.attribution defines them: all with respect to the normalised input.
// Each takes x (N, H, W, C) normalised and one target per image; returns a tensor (call in tf.tidy).
(function (lib) {
  "use strict";

  const grad = (tf, model, x, targets, rule) => lib.rules.inputGradient(tf, model, x, targets, rule).grad;

  lib.attribution = {
    /** d logit_target / d x: (N, H, W, C). */
    gradient: (tf, model, x, targets) => grad(tf, model, x, targets, "backprop"),
    /** Simonyan et al. (2014): max over colour channels of |gradient|: (N, H, W). */
    saliency: (tf, model, x, targets) => tf.max(tf.abs(grad(tf, model, x, targets, "backprop")), 3),
    /** x * gradient: (N, H, W, C). */
    gradientXInput: (tf, model, x, targets) => tf.mul(grad(tf, model, x, targets, "backprop"), x),
    /** Zeiler and Fergus (2014): the deconvnet rule at every ReLU. */
    deconvnet: (tf, model, x, targets) => grad(tf, model, x, targets, "deconvnet"),
    /** Springenberg et al. (2015): the guided rule at every ReLU. */
    guidedBackprop: (tf, model, x, targets) => grad(tf, model, x, targets, "guided"),
  };
})(window.cnnvizLib = window.cnnvizLib || {});

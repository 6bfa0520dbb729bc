// Argument checks of the public API (window.cnnviz). One rule, as in vizlib/_validate.py: a
// value of the wrong type is a TypeError, a value out of range a RangeError; every message names
// the function and the argument, says what was expected and what was given.
(function (lib) {
  "use strict";

  function describe(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return `an Array of length ${value.length}`;
    if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${value.length}`;
    if (typeof value === "number") return String(value);
    if (typeof value === "string") return JSON.stringify(value);
    return typeof value;
  }

  /** An array or typed array of exactly `n` numbers, as a Float32Array copy (type and length
   * checked; the caller checks the values). */
  function values(fn, value, arg, n, what) {
    if (!(Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView)))) {
      throw new TypeError(`${fn}: ${arg} must be ${what}; got ${describe(value)}`);
    }
    if (value.length !== n) {
      throw new RangeError(`${fn}: ${arg} must be ${what}; got length ${value.length}`);
    }
    return Float32Array.from(value);
  }

  /** pixels: a Float32Array (or array of numbers) of `channels * size * size` values in [0, 1],
   * channel-first. Returns a Float32Array copy. */
  function pixels(fn, value, arg, { channels, size }) {
    const n = channels * size * size;
    const what = `a Float32Array of ${channels}·${size}·${size} = ${n} values in [0, 1] ` +
      "(channel-first, not normalised)";
    const out = values(fn, value, arg, n, what);
    for (let i = 0; i < n; i++) {
      const v = out[i];
      if (!(v >= 0 && v <= 1)) { // false for NaN too
        throw new RangeError(`${fn}: ${arg} must be ${what}; got ${out[i]} at index ${i}`);
      }
    }
    return out;
  }

  /** A finite-valued normalised image (channel-first), e.g. the start of a class model. */
  function image(fn, value, arg, { channels, size }) {
    const n = channels * size * size;
    const what = `a Float32Array of ${channels}·${size}·${size} = ${n} finite values ` +
      "(channel-first, in the model's normalised input space)";
    const out = values(fn, value, arg, n, what);
    const bad = out.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new RangeError(`${fn}: ${arg} must be ${what}; got ${out[bad]} at index ${bad}`);
    return out;
  }

  /** An integer in [lo, hi] (hi may be Infinity). */
  function integer(fn, value, arg, lo, hi, what) {
    const expected = what || (hi === Infinity ? `an integer >= ${lo}` : `an integer in [${lo}, ${hi}]`);
    if (typeof value !== "number") throw new TypeError(`${fn}: ${arg} must be ${expected}; got ${describe(value)}`);
    if (!Number.isInteger(value) || value < lo || value > hi) {
      throw new RangeError(`${fn}: ${arg} must be ${expected}; got ${describe(value)}`);
    }
    return value;
  }

  /** A number in [lo, hi) or [lo, hi] (`closed`). */
  function number(fn, value, arg, lo, hi, { closed = true, what } = {}) {
    const bracket = closed ? "]" : ")";
    const expected = what || (hi === Infinity ? `a number >= ${lo}` : `a number in [${lo}, ${hi}${bracket}`);
    if (typeof value !== "number") throw new TypeError(`${fn}: ${arg} must be ${expected}; got ${describe(value)}`);
    const inside = value >= lo && (closed ? value <= hi : value < hi) && Number.isFinite(value);
    if (!inside) throw new RangeError(`${fn}: ${arg} must be ${expected}; got ${describe(value)}`);
    return value;
  }

  function target(fn, value, classes) {
    return integer(fn, value, "target", 0, classes.length - 1,
      `a class index, an integer in [0, ${classes.length - 1}] (${classes.join(", ")})`);
  }

  function oneOf(fn, value, arg, names) {
    if (typeof value !== "string") {
      throw new TypeError(`${fn}: ${arg} must be one of ${names.join(", ")}; got ${describe(value)}`);
    }
    if (!names.includes(value)) {
      throw new RangeError(`${fn}: ${arg} must be one of ${names.join(", ")}; got ${describe(value)}`);
    }
    return value;
  }

  /** A plain options object whose keys are all in `known`. */
  function options(fn, value, arg, known) {
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(`${fn}: ${arg} must be an object with some of the keys ${known.join(", ")}; ` +
        `got ${describe(value)}`);
    }
    const unknown = Object.keys(value).filter((k) => !known.includes(k));
    if (unknown.length) {
      throw new RangeError(`${fn}: ${arg} has unknown key(s) ${unknown.join(", ")}; ` +
        `expected some of ${known.join(", ")}`);
    }
    return value;
  }

  lib.validate = { pixels, image, integer, number, target, oneOf, options, describe };
})(window.cnnvizLib = window.cnnvizLib || {});

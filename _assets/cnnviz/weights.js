// The course model's weights: decode the blob that scripts/export_tfjs.py wrote into
// course-weights.js, check it against the sha256 recorded in the page, read its header.
// Blob layout: uint32 LE header length n, n bytes of JSON header, then float32 LE tensors.
(function (lib) {
  "use strict";

  function decodeBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  /**
   * Parse and check the weights blob.
   * @param {Uint8Array} bytes the decoded blob.
   * @param {string} expectedSha256 hex digest the page records (data-weights-sha256).
   * @returns {{header: object, sha256: string, tensors: Object<string, {shape, layout, data}>}}
   */
  function readWeights(bytes, expectedSha256) {
    if (!/^[0-9a-f]{64}$/.test(expectedSha256 || "")) {
      throw new Error("the page records no sha256 for the weights (data-weights-sha256 on the " +
        "cnnviz/api.js script): rebuild the book");
    }
    const digest = lib.sha256(bytes);
    if (digest !== expectedSha256) {
      throw new Error(`the weights file course-weights.js has sha256 ${digest}, but the page expects ` +
        `${expectedSha256} (truncated, modified or from another build): rebuild the book`);
    }
    const n = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
    const header = JSON.parse(new TextDecoder("utf-8").decode(bytes.subarray(4, 4 + n)));
    if (header.format !== 1) throw new Error(`unknown weights format ${header.format}; expected 1`);
    const start = bytes.byteOffset + 4 + n;
    const count = (bytes.length - 4 - n) / 4;
    // copy: the blob's buffer may not be 4-byte aligned at `start` in every engine
    const data = new Float32Array(bytes.buffer.slice(start, start + 4 * count));
    const tensors = {};
    for (const t of header.tensors) {
      tensors[t.name] = { shape: t.shape, layout: t.layout, data: data.subarray(t.offset, t.offset + t.length) };
    }
    return { header, sha256: digest, tensors };
  }

  lib.decodeBase64 = decodeBase64;
  lib.readWeights = readWeights;
})(window.cnnvizLib = window.cnnvizLib || {});

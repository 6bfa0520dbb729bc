// Start TensorFlow.js: the single-thread SIMD WebAssembly backend, from the binary embedded as a
// data: URL (a page opened from disk may not fetch files); without WebAssembly (or SIMD), the
// slower CPU backend, loaded only then, with a notice saying why.
(function (lib) {
  "use strict";

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const el = document.createElement("script");
      el.src = src;
      el.onload = () => resolve();
      el.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.appendChild(el);
    });
  }

  async function whyNoWasm(tf, wasmUrl) {
    if (typeof WebAssembly !== "object") return "this browser has no WebAssembly";
    if (!tf.wasm) return "the WebAssembly backend script did not load";
    if (typeof wasmUrl !== "string") return "the WebAssembly binary did not load";
    if (!(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))) return "this browser's WebAssembly has no SIMD";
    return null;
  }

  /**
   * @param tf the TensorFlow.js namespace (window.tf).
   * @param wasmUrl the data: URL of tfjs-backend-wasm-simd.wasm (window.cnnvizWasm).
   * @param cpuScript URL of tf-backend-cpu.es2017.min.js.
   * @returns {Promise<{name: string, notice: string|null}>}
   */
  async function startBackend(tf, { wasmUrl, cpuScript }) {
    let reason = await whyNoWasm(tf, wasmUrl);
    if (!reason) {
      try {
        tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // threads need cross-origin isolation and were slower
        tf.wasm.setWasmPaths({
          "tfjs-backend-wasm-simd.wasm": wasmUrl,
          // never chosen (no threads; without SIMD we do not get here), but setWasmPaths wants all three
          "tfjs-backend-wasm.wasm": wasmUrl,
          "tfjs-backend-wasm-threaded-simd.wasm": wasmUrl,
        });
        if (await tf.setBackend("wasm")) {
          await tf.ready();
          return { name: "wasm", notice: null };
        }
        reason = "the WebAssembly backend did not start";
      } catch (err) {
        reason = `the WebAssembly backend did not start (${(err && err.message) || err})`;
      }
    }
    if (!tf.findBackendFactory("cpu")) await loadScript(cpuScript);
    if (!(await tf.setBackend("cpu"))) throw new Error("neither the WebAssembly nor the CPU backend of TensorFlow.js started");
    await tf.ready();
    return { name: "cpu", notice: `The live figures run on TensorFlow.js's slower CPU backend: ${reason}.` };
  }

  lib.loadScript = loadScript;
  lib.startBackend = startBackend;
})(window.cnnvizLib = window.cnnvizLib || {});

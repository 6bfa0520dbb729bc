// The live panels (issue 15): build each <div class="cnnviz-panel" data-panel="..."> of the page
// and handle the reader's input. All computing goes through window.cnnviz (api.js); drawing through
// cnnvizLib.draw (draw.js). Panels: "occlusion", "gradients", "activations", "class-model".
// If the model cannot start, the panel says why and the page's static figures stay as they are.
(function (lib) {
  "use strict";

  const D = lib.draw;
  const SCALE = 4; // screen pixels per image pixel

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function labelled(text, control) {
    return el("label", { className: "cnnviz-control" }, [el("span", { textContent: text }), control]);
  }

  function select(options, value) {
    const node = el("select");
    for (const [v, text] of options) node.append(el("option", { value: String(v), textContent: text }));
    node.value = String(value);
    return node;
  }

  /** Run `fn` for the newest request only: calls that arrive while one runs replace each other. */
  function latest(fn) {
    let running = false, pending = null;
    return function request(...args) {
      pending = args;
      if (running) return;
      running = true;
      (async () => {
        while (pending) {
          const now = pending;
          pending = null;
          try {
            await fn(...now);
          } catch (err) {
            console.error("cnnviz panel:", err);
          }
        }
        running = false;
      })();
    };
  }

  const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 0));

  function softmax(logits) {
    const max = Math.max(...logits);
    const e = Array.from(logits, (v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  }

  const argmax = (values) => Array.from(values).reduce((best, v, i, a) => (v > a[best] ? i : best), 0);

  async function decodeExample(src, size) {
    const image = new Image();
    image.src = src;
    await image.decode();
    const c = el("canvas", { width: size, height: size });
    const ctx = c.getContext("2d");
    ctx.drawImage(image, 0, 0);
    const rgba = ctx.getImageData(0, 0, size, size).data, hw = size * size;
    const out = new Float32Array(3 * hw);
    for (let p = 0; p < hw; p++) for (let ch = 0; ch < 3; ch++) out[ch * hw + p] = rgba[4 * p + ch] / 255;
    return out;
  }

  function hexToRGB(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
  }

  /**
   * The image a panel works on: a stored example, or a new toy-world image drawn from a seed in the
   * page (exactly vizlib.toy_world(1, seed=seed)'s image), or the reader's painting on either,
   * drawn on a canvas, with a brush in a chosen colour. With `occluder`, the canvas also moves a grey
   * square (pointer, touch, arrow keys), and `onMove(row, col)` reports where its centre should go.
   */
  function imageSource(info, examples, { occluder = false, onChange, onMove, onKey }) {
    const size = info.imageSize, hw = size * size;
    const state = { pixels: null, original: null, mode: occluder ? "occluder" : "paint", overlay: null };
    const view = D.canvas(size, size, SCALE, "cnnviz-image");
    view.tabIndex = 0;
    view.setAttribute("role", "img");
    view.setAttribute("aria-label", occluder
      ? "The image the model sees. Drag the grey square, or move it with the arrow keys (Shift: 4 pixels)."
      : "The image the model sees. Paint on it with the brush.");
    const choice = select(examples.images.map((ex, i) => [i, `${i + 1}: ${examples.classes[ex.label]}`]), 0);
    choice.title = "stored examples: the chapters' eight, then one of each class";
    const fromSeed = el("option", { value: "seed", textContent: "from the seed", disabled: true, hidden: true });
    choice.append(fromSeed);
    const seedBox = el("input", { type: "number", min: 0, max: Number.MAX_SAFE_INTEGER, step: 1, value: 0,
                                  className: "cnnviz-seed" });
    seedBox.title = "press Enter to draw the toy-world image of this seed";
    const another = el("button", { type: "button", textContent: "New image" });
    another.title = "draw a new toy-world image from a random seed (shown in the box)";
    const about = el("p", { className: "cnnviz-source-label" });
    about.setAttribute("aria-live", "polite");
    const colour = el("input", { type: "color", value: "#ffffff" });
    const brush = select([[1, "1 px"], [2, "2 px"], [4, "4 px"], [8, "8 px"]], 4);
    const reset = el("button", { type: "button", textContent: "Undo painting" });
    choice.dataset.control = "image";
    seedBox.dataset.control = "seed";
    another.dataset.control = "new-image";
    colour.dataset.control = "colour";
    brush.dataset.control = "brush";
    const controls = [labelled("Image", choice), el("span", { className: "cnnviz-seed-row" },
      [labelled("Seed", seedBox), another]), about, labelled("Brush colour", colour), labelled("Brush size", brush), reset];
    let modeBox = null;
    if (occluder) {
      modeBox = select([["occluder", "move the grey square"], ["paint", "paint"]], "occluder");
      modeBox.addEventListener("change", () => { state.mode = modeBox.value; });
      controls.unshift(labelled("Drag to", modeBox));
    }
    const node = el("div", { className: "cnnviz-source" }, [view, el("div", { className: "cnnviz-controls" }, controls)]);

    function redraw() {
      D.drawRGB(view, state.overlay ? state.overlay(state.pixels) : state.pixels, size);
    }

    function show(pixels, label, text) {
      state.original = pixels;
      state.pixels = pixels.slice();
      view.dataset.label = String(label);
      about.textContent = text;
      redraw();
      onChange();
    }

    async function load(index) {
      const example = examples.images[index];
      choice.value = String(index);
      delete view.dataset.seed;
      show(await decodeExample(example.src, size), example.label,
        `Stored example ${index + 1}: ${info.classes[example.label]}.`);
    }

    /** The toy-world image of `seed`, or a message in the label if the box holds no valid seed. */
    async function generate(seed) {
      if (!Number.isSafeInteger(seed) || seed < 0) {
        about.textContent = `The seed must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}; got ${seedBox.value || "nothing"}.`;
        return;
      }
      const { images, labels } = await window.cnnviz.toyWorld(1, seed);
      choice.value = "seed";
      view.dataset.seed = String(seed);
      show(images, labels[0], `Seed ${seed}: ${info.classes[labels[0]]} (the image of vizlib.toy_world(1, seed=${seed})).`);
    }

    function toImage(event) {
      const r = view.getBoundingClientRect();
      const col = Math.floor(((event.clientX - r.left) / r.width) * size);
      const row = Math.floor(((event.clientY - r.top) / r.height) * size);
      return [Math.max(0, Math.min(size - 1, row)), Math.max(0, Math.min(size - 1, col))];
    }

    function paint(row, col) {
      const rgb = hexToRGB(colour.value), b = Number(brush.value), r0 = row - (b >> 1), c0 = col - (b >> 1);
      for (let y = Math.max(0, r0); y < Math.min(size, r0 + b); y++) {
        for (let x = Math.max(0, c0); x < Math.min(size, c0 + b); x++) {
          for (let ch = 0; ch < 3; ch++) state.pixels[ch * hw + y * size + x] = rgb[ch];
        }
      }
      redraw();
      onChange();
    }

    function act(event) {
      const [row, col] = toImage(event);
      if (state.mode === "occluder") onMove(row, col);
      else paint(row, col);
    }

    view.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      view.focus();
      view.setPointerCapture(event.pointerId);
      act(event);
    });
    view.addEventListener("pointermove", (event) => {
      if (view.hasPointerCapture(event.pointerId)) act(event);
    });
    view.addEventListener("keydown", (event) => {
      if (onKey && onKey(event)) event.preventDefault();
    });
    choice.addEventListener("change", () => load(Number(choice.value)));
    const seedValue = () => (seedBox.value.trim() === "" ? NaN : Number(seedBox.value));
    seedBox.addEventListener("change", () => {
      if (String(seedValue()) !== view.dataset.seed) generate(seedValue()); // Enter drew it already
    });
    seedBox.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        generate(seedValue());
      }
    });
    another.addEventListener("click", () => {
      const seed = Math.floor(Math.random() * 1000000);
      seedBox.value = String(seed);
      generate(seed);
    });
    reset.addEventListener("click", () => {
      state.pixels = state.original.slice();
      redraw();
      onChange();
    });

    return {
      node, view, load, generate, redraw,
      get pixels() { return state.pixels; },
      set overlay(fn) { state.overlay = fn; },
    };
  }

  /** The eight class probabilities, as bars with their value in per cent. */
  function probabilityBars(classes) {
    const list = el("ul", { className: "cnnviz-probs", dataset: { updates: "0" } });
    list.setAttribute("aria-live", "polite");
    const rows = classes.map((name) => {
      const fill = el("span", { className: "cnnviz-prob-fill" });
      const value = el("span", { className: "cnnviz-prob-value", textContent: "" });
      const row = el("li", { dataset: { class: name } },
        [el("span", { className: "cnnviz-prob-name", textContent: name }),
         el("span", { className: "cnnviz-prob-bar" }, [fill]), value]);
      list.append(row);
      return { row, fill, value };
    });
    return {
      node: list,
      update(logits) {
        const p = softmax(logits), top = argmax(p);
        rows.forEach((r, i) => {
          r.fill.style.width = `${(100 * p[i]).toFixed(1)}%`;
          r.value.textContent = `${(100 * p[i]).toFixed(1)} %`;
          r.row.classList.toggle("cnnviz-top", i === top);
        });
        list.dataset.updates = String(Number(list.dataset.updates) + 1);
        return p;
      },
    };
  }

  function mapFigure(title, size, scale) {
    const view = D.canvas(size, size, scale, "cnnviz-map");
    const bar = el("div", { className: "cnnviz-colourbar-row" });
    const node = el("figure", { className: "cnnviz-figure" }, [el("figcaption", { textContent: title }), view, bar]);
    return { node, view, bar };
  }

  function classOptions(classes, first) {
    return select([[-1, first]].concat(classes.map((name, i) => [i, name])), -1);
  }

  // ------------------------------------------------------------------------------------ panels

  function occlusionPanel(panel, info, examples) {
    const size = info.imageSize, hw = size * size;
    const bars = probabilityBars(info.classes);
    const win = select([4, 8, 12, 16, 24, 32].map((w) => [w, `${w} px`]), 16);
    const stride = select([2, 4, 8].map((s) => [s, `${s} px`]), 4);
    const explain = classOptions(info.classes, "the predicted class");
    win.dataset.control = "window";
    stride.dataset.control = "stride";
    explain.dataset.control = "explain";
    const button = el("button", { type: "button", textContent: "Full occlusion map" });
    const map = mapFigure("Occlusion map: drop of the class probability", size, SCALE);
    const caption = el("p", { className: "cnnviz-caption", textContent: "" });
    const pos = { row: 24, col: 24 }; // top-left corner of the grey square

    const occluded = (pixels) => {
      const out = pixels.slice(), w = Number(win.value);
      for (let ch = 0; ch < 3; ch++) { // baseline 0 in normalised space: the dataset's mean colour
        for (let y = pos.row; y < pos.row + w; y++) out.fill(info.mean[ch], ch * hw + y * size + pos.col, ch * hw + y * size + pos.col + w);
      }
      return out;
    };
    const predict = latest(async () => bars.update(await window.cnnviz.predict(occluded(source.pixels))));
    const place = (row, col) => {
      const w = Number(win.value);
      pos.row = Math.max(0, Math.min(size - w, row));
      pos.col = Math.max(0, Math.min(size - w, col));
      source.view.dataset.occluder = `${pos.row},${pos.col}`;
      source.redraw();
      predict();
    };
    const source = imageSource(info, examples, {
      occluder: true,
      onChange: () => predict(),
      onMove: (row, col) => { const w = Number(win.value); place(row - (w >> 1), col - (w >> 1)); },
      onKey: (event) => {
        const step = event.shiftKey ? 4 : 1;
        const moves = { ArrowLeft: [0, -step], ArrowRight: [0, step], ArrowUp: [-step, 0], ArrowDown: [step, 0] };
        if (!moves[event.key]) return false;
        place(pos.row + moves[event.key][0], pos.col + moves[event.key][1]);
        return true;
      },
    });
    source.overlay = occluded;
    win.addEventListener("change", () => place(pos.row, pos.col));
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const pixels = source.pixels;
        const choice = Number(explain.value);
        const target = choice >= 0 ? choice : argmax(await window.cnnviz.predict(pixels));
        const w = Number(win.value), s = Number(stride.value);
        const t0 = performance.now();
        const values = await window.cnnviz.occlusion(pixels, target, w, s);
        const seconds = (performance.now() - t0) / 1000;
        const limit = D.drawMap(map.view, values, size, size, { signed: true });
        D.colourBar(map.bar, { signed: true, limit, label: `drop of p(${info.classes[target]})` });
        const n = (Math.floor((size - w) / s) + 1 + ((size - w) % s ? 1 : 0)) ** 2; // as occlusion_positions
        caption.textContent = `${info.classes[target]}: a ${w}-pixel square at ${n} positions, stride ${s}, ` +
          `in ${seconds.toFixed(2)} s. Red: hiding the pixel lowers the probability; blue: raises it.`;
        map.node.dataset.target = String(target);
        map.node.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    panel.append(el("div", { className: "cnnviz-row" }, [source.node, bars.node]),
      el("div", { className: "cnnviz-controls" }, [labelled("Square", win), labelled("Stride", stride),
        labelled("Explain", explain), button]),
      map.node, caption);
    source.view.dataset.occluder = `${pos.row},${pos.col}`;
    map.node.hidden = true; // until the first map is computed
    return source.load(0);
  }

  const GRADIENT_MAPS = [
    ["gradient", "gradient", "rgb"], ["saliency", "saliency (max over RGB of |gradient|)", "map"],
    ["gradientXInput", "gradient × input", "rgb"], ["deconvnet", "deconvnet", "rgb"],
    ["guidedBackprop", "guided backprop", "rgb"],
  ];

  function gradientsPanel(panel, info, examples) {
    const size = info.imageSize;
    const bars = probabilityBars(info.classes);
    const explain = classOptions(info.classes, "the predicted class");
    const figures = GRADIENT_MAPS.map(([method, title]) => mapFigure(title, size, 2));
    const caption = el("p", { className: "cnnviz-caption", textContent:
      "With respect to the normalised input, for the chosen class's logit. RGB maps: grey is 0, each scaled " +
      "by its largest absolute value (given under it); saliency: black is 0." });
    const update = latest(async () => {
      const pixels = source.pixels;
      const p = bars.update(await window.cnnviz.predict(pixels));
      const choice = Number(explain.value), target = choice >= 0 ? choice : argmax(p);
      for (const [i, [method, , kind]] of GRADIENT_MAPS.entries()) {
        const values = await window.cnnviz[method](pixels, target);
        const limit = kind === "rgb" ? D.drawSignedRGB(figures[i].view, values, size)
                                     : D.drawMap(figures[i].view, values, size, size);
        figures[i].bar.textContent = `largest |value| ${limit.toPrecision(3)}`;
      }
      panel.dataset.target = String(target);
    });
    const source = imageSource(info, examples, { onChange: () => update() });
    explain.addEventListener("change", () => update());
    panel.append(el("div", { className: "cnnviz-row" }, [source.node, bars.node]),
      el("div", { className: "cnnviz-controls" }, [labelled("Explain", explain)]),
      el("div", { className: "cnnviz-maps" }, figures.map((f) => f.node)), caption);
    return source.load(0);
  }

  function activationsPanel(panel, info, examples) {
    const bars = probabilityBars(info.classes);
    const layer = select(info.layers.map((name) => [name, name]), "features.relu1");
    const grid = el("div", { className: "cnnviz-grid" });
    const scaleBar = el("div", { className: "cnnviz-colourbar-row" });
    const caption = el("p", { className: "cnnviz-caption" });
    const update = latest(async () => {
      const pixels = source.pixels;
      bars.update(await window.cnnviz.predict(pixels));
      const { shape, data } = await window.cnnviz.activations(pixels, layer.value);
      grid.textContent = "";
      const signed = data.some((v) => v < 0), limit = D.maxAbs(data) || 1;
      if (shape.length === 4) {
        const [, c, h, w] = shape, scale = Math.max(1, Math.floor(48 / h));
        for (let k = 0; k < c; k++) {
          const tile = D.canvas(w, h, scale, "cnnviz-tile");
          tile.title = `channel ${k}`;
          D.drawMap(tile, data.subarray(k * h * w, (k + 1) * h * w), h, w, { signed, limit });
          grid.append(tile);
        }
        caption.textContent = `${layer.value}: ${c} feature maps of ${h} × ${w}, on one colour scale for the layer.`;
      } else {
        const n = shape[1], cols = Math.min(n, 32), rows = Math.ceil(n / cols);
        const tile = D.canvas(cols, rows, Math.max(4, Math.floor(256 / cols)), "cnnviz-tile");
        const padded = new Float32Array(rows * cols);
        padded.set(data);
        D.drawMap(tile, padded, rows, cols, { signed, limit });
        grid.append(tile);
        caption.textContent = `${layer.value}: ${n} values, ${cols} per row.`;
      }
      D.colourBar(scaleBar, { signed, limit, label: "activation" });
      grid.dataset.layer = layer.value;
    });
    const source = imageSource(info, examples, { onChange: () => update() });
    layer.addEventListener("change", () => update());
    panel.append(el("div", { className: "cnnviz-row" }, [source.node, bars.node]),
      el("div", { className: "cnnviz-controls" }, [labelled("Layer", layer)]), grid, scaleBar, caption);
    return source.load(0);
  }

  function classModelPanel(panel, info) {
    const size = info.imageSize, d = info.classModelDefaults;
    const target = select(info.classes.map((name, i) => [i, name]), Math.max(0, info.classes.indexOf("star")));
    const slider = (min, max, step, value) => el("input", { type: "range", min, max, step, value });
    const controls = {
      l2: slider(0, 0.02, 0.0005, d.l2),
      blurSigma: slider(0, 1.5, 0.1, d.blurEvery ? d.blurSigma : 0),
      normClip: slider(0, 0.8, 0.05, d.normClip || 0),
      jitter: slider(0, 6, 1, d.jitter),
      steps: slider(10, 200, 10, d.steps),
    };
    const shown = {};
    const labels = { l2: "L2", blurSigma: `blur σ (every ${d.blurEvery || 4} steps; 0: off)`, normClip: "norm clipping",
                     jitter: "jitter (px)", steps: "steps" };
    const seed = el("input", { type: "number", min: 0, step: 1, value: d.seed });
    const run = el("button", { type: "button", textContent: "Run again" });
    const view = D.canvas(size, size, SCALE, "cnnviz-image");
    const status = el("p", { className: "cnnviz-caption cnnviz-ascent" });
    let runId = 0;

    const ascend = latest(async () => {
      const id = ++runId;
      const value = (k) => Number(controls[k].value);
      const sigma = value("blurSigma");
      const options = {
        steps: value("steps"), lr: d.lr, l2: value("l2"), blurEvery: sigma > 0 ? (d.blurEvery || 4) : null,
        blurSigma: sigma > 0 ? sigma : d.blurSigma, normClip: value("normClip") || null, jitter: value("jitter"),
        seed: Math.max(0, Math.floor(Number(seed.value) || 0)),
        onStep: async (s) => {
          if (id !== runId) return false;
          if (s.step % 5 === 0) {
            D.drawRGB(view, D.toDisplay(s.image), size);
            status.textContent = `step ${s.step} of ${options.steps}: score ${s.score.toFixed(2)}, probability ${s.prob.toFixed(3)}`;
            await yieldToPage();
          }
          return id === runId;
        },
      };
      const name = info.classes[Number(target.value)];
      const result = await window.cnnviz.classModel(Number(target.value), options);
      if (id !== runId) return;
      const h = result.history, last = h.score.length - 1;
      D.drawRGB(view, D.toDisplay(result.image), size);
      status.textContent = `${name} after ${last} steps: score ${h.score[last].toFixed(2)}, ` +
        `probability ${h.prob[last].toFixed(3)} (display: 0 is grey, scaled by the 99th percentile of |image|)`;
      panel.dataset.runs = String(Number(panel.dataset.runs || 0) + 1);
    });
    const restart = () => { runId++; ascend(); };
    for (const [key, input] of Object.entries(controls)) {
      shown[key] = el("output", { textContent: input.value });
      input.addEventListener("input", () => { shown[key].textContent = input.value; });
      input.addEventListener("change", restart);
    }
    target.addEventListener("change", restart);
    seed.addEventListener("change", restart);
    run.addEventListener("click", restart);
    const rows = Object.keys(controls).map((key) =>
      el("label", { className: "cnnviz-control" }, [el("span", { textContent: labels[key] }), controls[key], shown[key]]));
    panel.append(el("div", { className: "cnnviz-row" }, [view,
      el("div", { className: "cnnviz-controls cnnviz-sliders" }, [labelled("Class", target)].concat(rows,
        [labelled("Seed", seed), run]))]), status);
    status.textContent = "The ascent starts when this panel comes into view.";
    whenVisible(panel, ascend); // a hundred gradient steps: not for a panel nobody looks at
  }

  /** Call `fn` once, when `node` first comes into view (at once where there is no IntersectionObserver). */
  function whenVisible(node, fn) {
    if (typeof IntersectionObserver !== "function") return fn();
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        observer.disconnect();
        fn();
      }
    });
    observer.observe(node);
  }

  const PANELS = { occlusion: occlusionPanel, gradients: gradientsPanel, activations: activationsPanel,
                   "class-model": classModelPanel };
  const TITLES = {
    occlusion: "Live figure: occlusion of the course model",
    gradients: "Live figure: gradient maps of the course model",
    activations: "Live figure: the course model's feature maps",
    "class-model": "Live figure: a class model of the course model",
  };

  function fail(panel, message) {
    panel.dataset.state = "failed";
    panel.querySelectorAll(".cnnviz-status, .cnnviz-fallback").forEach((n) => n.remove());
    panel.append(el("p", { className: "cnnviz-status cnnviz-error",
      textContent: `The live figure could not start: ${message}. The static figures on this page show the method.` }));
  }

  async function start() {
    const panels = Array.from(document.querySelectorAll(".cnnviz-panel"));
    if (!panels.length) return;
    for (const panel of panels) {
      panel.dataset.state = "loading";
      panel.append(el("p", { className: "cnnviz-status", textContent: "Loading the course model…" }));
    }
    let info;
    try {
      if (!window.cnnviz) throw new Error("the script cnnviz/api.js did not load");
      info = await window.cnnviz.ready;
    } catch (err) {
      panels.forEach((panel) => fail(panel, (err && err.message) || String(err)));
      return;
    }
    const examples = window.cnnvizExamples;
    for (const panel of panels) {
      const kind = panel.dataset.panel, build = PANELS[kind];
      panel.querySelectorAll(".cnnviz-status, .cnnviz-fallback").forEach((n) => n.remove());
      if (!build) {
        fail(panel, `unknown panel "${kind}" (expected one of ${Object.keys(PANELS).join(", ")})`);
        continue;
      }
      panel.append(el("p", { className: "cnnviz-title" }, [el("strong", { textContent: TITLES[kind] }),
        " (it runs in your browser, on the same weights and definitions as vizlib)"]));
      if (info.notice) panel.append(el("p", { className: "cnnviz-notice", textContent: info.notice }));
      try {
        await build(panel, info, examples);
        panel.dataset.state = "ready";
      } catch (err) {
        fail(panel, (err && err.message) || String(err));
      }
    }
  }

  lib.panels = { start, PANELS };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(window.cnnvizLib = window.cnnvizLib || {});

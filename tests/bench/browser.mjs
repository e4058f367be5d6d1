// The browser half of `make bench`: the page in Debian's Chromium with N
// workers, timing what a user waits for, through the page's own worker pool.
//
//   node tests/bench/browser.mjs --workers 2 --texts texts.json [--runs 5] [--n-steps 50]
//
// Prints one JSON object like `bertlens bench`, plus the page's cold start
// (model cached) and the time from a click to the first attribution shown.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { idle, launch, open, startServer } from '../e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1' },
    texts: { type: 'string' },
    runs: { type: 'string', default: '5' },
    'n-steps': { type: 'string', default: '50' },
  },
});
const texts = JSON.parse(readFileSync(values.texts, 'utf8'));
const runs = Number(values.runs);
const nSteps = Number(values['n-steps']);

const server = await startServer();
const browser = await launch();
try {
  const url = `${server.url}/?workers=${values.workers}`;
  // First visit: downloads the model into the Cache API.
  const first = await open(browser, url);
  await idle(first.page, 180000);
  await first.page.waitForFunction(() => globalThis.bertlens.state.explanation, null, { timeout: 180000 });
  // Second visit, same browser profile: the model comes from the cache.
  const page = await first.context.newPage();
  await page.goto(url);
  const cold = await page.evaluate(async () => {
    const seen = {};
    const t0 = performance.timeOrigin;
    await new Promise((resolve) => {
      const tick = () => {
        const s = globalThis.bertlens?.state;
        const now = performance.now();
        if (s?.analysis && !seen.prediction) seen.prediction = now;
        if (s?.explanation && !seen.attribution) seen.attribution = now;
        if (s?.explanation && !s.busy) {
          seen.final = now;
          resolve();
        } else setTimeout(tick, 5);
      };
      tick();
    });
    return { ...seen, origin: t0 };
  });
  await first.page.close();
  await idle(page);
  const results = [];
  for (const text of texts) {
    results.push(
      await page.evaluate(
        async ({ text, runs, nSteps }) => {
          const pool = globalThis.bertlens.pool();
          const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
          const time = async (fn) => {
            await fn();
            const out = [];
            for (let i = 0; i < runs; i++) {
              const t = performance.now();
              await fn();
              out.push(performance.now() - t);
            }
            return median(out);
          };
          const p = await pool.call(0, 'predict', { text });
          const target = p.predicted;
          return {
            tokens: p.tokens.length,
            text,
            forward_ms: await time(() => pool.call(0, 'predict', { text })),
            saliency_ms: await time(() => pool.call(0, 'attribute', { text, options: { method: 'saliency', target } })),
            ig_ms: await time(() => pool.integratedGradients({ text, options: { n_steps: nSteps, target } })),
            n_steps: nSteps,
            ig_auto_ms: await time(() => pool.integratedGradients({ text, options: { n_steps: 'auto', target } })),
            auto_steps: (await pool.integratedGradients({ text, options: { n_steps: 'auto', target } })).ig.n_steps,
          };
        },
        { text, runs, nSteps },
      ),
    );
  }
  // What a user waits for: from the click on Explain to the first
  // attributions on screen (saliency, while Integrated Gradients runs).
  const clicks = [];
  for (let i = 0; i <= runs; i++) {
    await page.fill('#text', `${texts[0]}${' .'.repeat(i)}`);
    clicks.push(
      await page.evaluate(
        () =>
          new Promise((resolve) => {
            const t = performance.now();
            document.getElementById('explain').click();
            const poll = () => (document.getElementById('preview-note') ? resolve(performance.now() - t) : requestAnimationFrame(poll));
            poll();
          }),
      ),
    );
    await page.waitForFunction(() => !globalThis.bertlens.state.busy, null, { timeout: 120000 });
  }
  const clickToSaliency = clicks.slice(1).sort((a, b) => a - b)[Math.floor(runs / 2)];
  // A counterfactual search of the first text (any other class, the core's
  // defaults) in worker 0: the first finds the vocabulary's whole words too.
  const counterfactual = await page.evaluate(async (text) => {
    const pool = globalThis.bertlens.pool();
    const time = async () => {
      const t = performance.now();
      const r = await pool.call(0, 'counterfactuals', { text, pair: null, options: {} });
      return { ms: performance.now() - t, verified: r.searched.verified, found: r.counterfactuals.length };
    };
    const first = await time();
    return { first, again: await time() };
  }, texts[0]);
  const memory = await page.evaluate(async () => {
    const pool = globalThis.bertlens.pool();
    const sizes = await Promise.all(Array.from({ length: pool.size }, (_, i) => pool.call(i, 'memory')));
    return { per_worker: sizes, total: sizes.reduce((a, b) => a + b, 0) };
  });
  // Wasm memory right after loading the default model (f32 and the f16
  // download), then after a prediction and a saliency pass: a fresh wasm
  // instance on the page's own thread, so that nothing else has run in it.
  const load = {};
  for (const [variant, weights] of [['f32', 'model.safetensors'], ['f16', 'model.f16.safetensors']]) {
    const fresh = await first.context.newPage();
    await fresh.goto(`${server.url}/pkg/bertlens_wasm.js`);
    load[variant] = await fresh.evaluate(
      async ({ weights, text }) => {
        const pkg = await import('/pkg/bertlens_wasm.js');
        const { memory } = await pkg.default();
        const base = '/models/minilm-intent/';
        const names = ['config.json', 'tokenizer.json', 'model.safetensors', 'head.json', 'head.safetensors'];
        const files = await Promise.all(
          names.map(async (name) => {
            const res = await fetch(base + (name === 'model.safetensors' ? weights : name));
            return { name, bytes: new Uint8Array(await res.arrayBuffer()) };
          }),
        );
        const before = memory.buffer.byteLength;
        const t = performance.now();
        const explainer = new pkg.Explainer(files, 'minilm-intent');
        const loadMs = performance.now() - t;
        const afterLoad = memory.buffer.byteLength;
        // A prediction: the input prepared once (no attentions), then a saliency pass.
        const session = explainer.prepare(text, undefined, {}, false);
        const p = session.prediction({});
        session.free();
        const afterPredict = memory.buffer.byteLength;
        explainer.attribute(text, undefined, { method: 'saliency', target: p.predicted });
        return { before, after_load: afterLoad, after_predict: afterPredict, after_saliency: memory.buffer.byteLength, load_ms: loadMs };
      },
      { weights, text: texts[0] },
    );
    await fresh.close();
  }
  console.log(
    JSON.stringify({
      wasm_memory_after_load_bytes: load,
      engine: `bertlens wasm in Chromium (${values.workers} worker${values.workers === '1' ? '' : 's'})`,
      threads: Number(values.workers),
      runs,
      wasm_memory_bytes: memory,
      cold_start_ms: { prediction: cold.prediction, first_attribution: cold.attribution, final: cold.final },
      click_to_saliency_ms: clickToSaliency,
      counterfactual,
      results,
    }),
  );
} finally {
  await browser.close();
  server.stop();
}

// The module Web Worker that holds one wasm instance and one model. All
// model work happens here, so the page never freezes. Messages follow
// types.js: `{id, type, payload}` in, `{id, result}` or `{id, error}` out.

import init, { Explainer, nearestRows, summarizeFaithfulness } from '../pkg/bertlens_wasm.js';

/** @type {Promise<{memory: WebAssembly.Memory}> | null} */
let ready = null;
/** @type {Explainer | null} */
let explainer = null;

const handlers = {
  /** Instantiates the wasm module (compiled once by the page and shared). */
  async init({ module }) {
    ready ??= init(module ? { module_or_path: module } : undefined);
    await ready;
    return true;
  },

  /**
   * Builds an Explainer; the previous model stays until the new one has
   * loaded. The engine reads the weights from `files` in place, then they
   * are dropped with this message.
   */
  load({ files, source }) {
    const next = new Explainer(files, source);
    explainer?.free();
    explainer = next;
    return explainer.info();
  },

  /** Bytes of this worker's wasm memory (it only grows: the peak). */
  async memory() {
    return (await ready).memory.buffer.byteLength;
  },

  predict({ text, pair, options }) {
    return model().predict(text, pair ?? undefined, options);
  },

  attentions({ text, pair, options }) {
    const a = model().attentions(text, pair ?? undefined, options);
    return withTransfer(a, [a.probabilities.buffer, a.queries.buffer, a.keys.buffer, a.positionScores.buffer, a.rollout.buffer]);
  },

  /** Every step of one layer for one query token (the classroom's step-through). */
  steps({ text, pair, layer, token }) {
    return model().steps(text, pair ?? undefined, layer, token);
  },

  attribute({ text, pair, options }) {
    return model().attribute(text, pair ?? undefined, options);
  },

  igStart({ text, pair, options }) {
    return model().igStart(text, pair ?? undefined, options);
  },

  igGradientSum({ start, end }) {
    const part = model().igGradientSum(start, end);
    return withTransfer(part, [part.buffer]);
  },

  igRound() {
    return model().igRound();
  },

  igIntervalSum({ a, b }) {
    const part = model().igIntervalSum(a, b);
    return withTransfer(part, [part.buffer]);
  },

  igScores({ alphas }) {
    const scores = model().igScores(alphas);
    return withTransfer(scores, [scores.buffer]);
  },

  igSubmit({ sums, scores }) {
    return model().igSubmit(sums, scores);
  },

  igFinish({ total }) {
    return model().igFinish(total);
  },

  /** The Integrated Gradients path point by point (`IgPath`): the classroom's walk. */
  igPath({ text, pair, options }) {
    return model().igPath(text, pair ?? undefined, options);
  },

  // ---- the dataset workbench ----

  /** A block of rows: typed arrays (`BatchPrediction`). */
  predictBatch({ texts, pairs, pooled }) {
    const b = model().predictBatch(texts, pairs ?? undefined, Boolean(pooled));
    return withTransfer(b, [b.predicted.buffer, b.probabilities.buffer, b.vectors.buffer, b.truncated.buffer]);
  },

  /** A block's words and their attributions (`RowWords`). */
  rowWords({ first, texts, pairs, method }) {
    const w = model().rowWords(first, texts, pairs ?? undefined, method ?? undefined);
    return withTransfer(w, [w.scores.buffer, w.counts.buffer]);
  },

  classWords({ predicted, wrong, counts, words, scores, top }) {
    return model().classWords(predicted, wrong, counts, words, scores, top);
  },

  faithfulness({ text, pair, row, options }) {
    return model().faithfulness(text, pair ?? undefined, row, options);
  },

  /** One row of a set: its `RowFaithfulness`, or the reason it has none (the set goes on). */
  faithfulnessOrError(payload) {
    try {
      return { result: handlers.faithfulness(payload) };
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) throw e;
      return { error: e?.message ?? String(e) };
    }
  },

  /** The rows' faithfulness averaged (`SetFaithfulness`). */
  faithfulnessSummary({ rows, fractions }) {
    return summarizeFaithfulness(rows, Float64Array.from(fractions));
  },

  anchor({ text, pair, options }) {
    return model().anchor(text, pair ?? undefined, options);
  },

  matchLabels({ labels }) {
    return model().matchLabels(labels);
  },

  metrics({ truth, predicted }) {
    return model().metrics(truth, predicted);
  },

  /** The `k` rows of a set nearest to a text, by the model's pooled vector (`Nearest`). */
  nearest({ text, pair, vectors, rows, k, skip }) {
    const q = model().predictBatch([text], pair ? [pair] : undefined, true);
    if (q.predicted[0] < 0) throw new Error(q.errors[0]);
    return nearestRows(q.vectors, vectors, rows, k, skip ?? undefined);
  },
};

function model() {
  if (!explainer) throw new Error('no model is loaded');
  return explainer;
}

const TRANSFER = Symbol('transfer');

function withTransfer(value, buffers) {
  return { [TRANSFER]: buffers, value };
}

self.onmessage = async ({ data }) => {
  const { id, type, payload } = data;
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request ${type}`);
    if (type !== 'init') await ready;
    const out = await handler(payload ?? {});
    if (out && out[TRANSFER]) {
      self.postMessage({ id, result: out.value }, out[TRANSFER]);
    } else {
      self.postMessage({ id, result: out });
    }
  } catch (e) {
    // A trap (a Rust panic, running out of memory) leaves the instance
    // unusable: the page replaces this worker.
    const fatal = e instanceof WebAssembly.RuntimeError || e instanceof RangeError;
    self.postMessage({ id, error: e?.message ?? String(e), fatal });
  }
};

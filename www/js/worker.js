// The module Web Worker that holds one wasm instance and one model. All
// model work happens here, so the page never freezes. Messages follow
// types.js: `{id, type, payload}` in, `{id, result}` or `{id, error}` out.

import init, { Explainer, nearestRows, probeLayer, probeSummary, summarizeFaithfulness, takeResult, vocabulary } from '../pkg/bertlens_wasm.js';

/** @type {Promise<{memory: WebAssembly.Memory, bertlens_run: (suspendable: number) => void}> | null} */
let ready = null;

/**
 * Runs the call the engine has staged (`Explainer.igSum`, `igScores`,
 * `perturbScores`, `place`, `Session.explain`: the calls that may reach
 * the GPU) and answers its result. Through `WebAssembly.promising` where
 * the browser has JSPI: the engine then suspends, instead of blocking,
 * while WebGPU works; elsewhere it runs at once, on the CPU.
 * @type {(() => Promise<void>) | null}
 */
let runStaged = null;

/** The GPU adapter as the browser describes it ("google swiftshader"), or undefined. */
async function adapterName() {
  try {
    const info = (await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' }))?.info;
    return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : undefined;
  } catch {
    return undefined;
  }
}

async function staged(stage) {
  stage();
  await runStaged();
  return takeResult();
}
/** @type {Explainer | null} */
let explainer = null;

/**
 * The inputs asked about last, each prepared once (a wasm `Session`: its
 * tokens and one forward pass, with the attentions when a view wants
 * them): the next request about the same input runs no forward pass
 * again. A few are kept, so that figures sharing this worker do not push
 * out each other's Integrated Gradients run.
 * @type {{text: string, pair: string | null, topK: number, attentions: boolean, session: any}[]}
 */
const sessions = [];
const SESSIONS = 2;

/** The workbench set's vectors that `nearest` looks in (`keepVectors`), or null. */
let keptSet = null;

/** The session of `{text, pair, options}` (any top_k with `anyTopK`), prepared if need be. */
function prepared({ text, pair, options }, { attentions = false, anyTopK = false } = {}) {
  const p = pair ?? null;
  const topK = options?.top_k ?? 5;
  const i = sessions.findIndex((s) => s.text === text && s.pair === p && (anyTopK || s.topK === topK));
  const had = i >= 0 ? sessions.splice(i, 1)[0] : null;
  if (had && (had.attentions || !attentions)) {
    sessions.push(had); // the most recent last
    return had.session;
  }
  had?.session.free();
  // Attention maps grow with the square of the length (151 MB at 512 tokens of a
  // base model): one session at a time keeps them.
  if (attentions) {
    for (const s of sessions.filter((s) => s.attentions)) s.session.free();
    sessions.splice(0, sessions.length, ...sessions.filter((s) => !s.attentions));
  }
  const session = model().prepare(text, p ?? undefined, options, attentions);
  sessions.push({ text, pair: p, topK, attentions, session });
  while (sessions.length > SESSIONS) sessions.shift().session.free();
  return session;
}

function dropSessions() {
  for (const s of sessions.splice(0)) s.session.free();
}

const handlers = {
  /** Instantiates the wasm module (compiled once by the page and shared); answers the engine's vocabulary. */
  async init({ module }) {
    ready ??= init(module ? { module_or_path: module } : undefined);
    const wasm = await ready;
    const jspi = typeof WebAssembly.promising === 'function' && typeof WebAssembly.Suspending === 'function';
    const run = jspi ? WebAssembly.promising(wasm.bertlens_run) : wasm.bertlens_run;
    runStaged = async () => run(jspi ? 1 : 0);
    return vocabulary();
  },

  /**
   * Places the model's attribution passes on `device` (`auto`, `cpu`,
   * `webgpu`): `DeviceInfo`, where they run and, when not where asked, why.
   */
  async place({ device }) {
    const adapter = device === 'cpu' ? undefined : await adapterName();
    return staged(() => model().place(device, adapter));
  },

  /** Where attribution's passes run now (`DeviceInfo`). */
  device() {
    return model().device();
  },

  /**
   * Builds an Explainer; the previous model stays until the new one has
   * loaded. The engine reads the weights from `files` in place, then they
   * are dropped with this message.
   */
  load({ files, source }) {
    const next = new Explainer(files, source);
    dropSessions();
    keptSet = null; // another model's vectors
    explainer?.free();
    explainer = next;
    return explainer.info();
  },

  /** Bytes of this worker's wasm memory (it only grows: the peak). */
  async memory() {
    return (await ready).memory.buffer.byteLength;
  },

  predict(req) {
    return prepared(req).prediction(req.options);
  },

  /** The forward pass with its attentions recorded: the prediction and the maps' sizes (`Analysis`). */
  attentions(req) {
    return prepared(req, { attentions: true }).attentions(req.options);
  },

  /**
   * What one view shows of the input's maps (`AttentionAsk` → `AttentionMaps`):
   * `{layer}` its heads, `{layer, head}` one head with its vectors, `{rollout: true}`,
   * or `{all: true}` every layer (the model view). The maps do not depend on top_k.
   */
  attentionMaps(req) {
    const s = prepared(req, { attentions: true, anyTopK: true });
    if (req.rollout) return arrays({ rollout: s.rollout() });
    if (req.all) return arrays({ probabilities: s.attentionMaps() });
    return arrays(s.attentionLayer(req.layer, req.head ?? undefined));
  },

  /** The lens on every layer (`LensLayer[]`): the head on each layer's hidden states. */
  lens(req) {
    return prepared(req, { anyTopK: true }).lens(req.options);
  },

  /** Every step of one layer for one query token (the classroom's step-through). */
  steps(req) {
    return prepared(req, { anyTopK: true }).steps(req.layer, req.token);
  },

  attribute(req) {
    const session = prepared(req);
    return staged(() => session.explain(req.options));
  },

  /** Starts Integrated Gradients of the input (`IgStarted`): its job and first round. */
  igStart(req) {
    return prepared(req).igStart(req.options, req.workers ?? 1);
  },

  /** The gradient sum of one job's points (f64), in any worker: no session needed. */
  async igSum({ job, options, points }) {
    const part = await staged(() => model().igSum(job, options, points));
    return withTransfer(part, [part.buffer]);
  },

  async igScores({ job, options, alphas }) {
    const scores = await staged(() => model().igScores(job, options, Float64Array.from(alphas)));
    return withTransfer(scores, [scores.buffer]);
  },

  /** A round's sums and scores to the run's driver: `{progress, round}`. */
  igSubmit(req) {
    return prepared(req).igSubmit(req.sums, req.scores);
  },

  igFinish(req) {
    return prepared(req).igFinish();
  },

  /** Starts a perturbation method (`PerturbStarted`): its job, how many inputs it scores, the chunk per job. */
  perturbStart(req) {
    return prepared(req).perturbStart(req.options, req.workers ?? 1);
  },

  /** F at inputs `from..to` of a perturbation job (f64), in any worker: no session needed. */
  async perturbScores({ job, options, from, to }) {
    const scores = await staged(() => model().perturbScores(job, options, from, to));
    return withTransfer(scores, [scores.buffer]);
  },

  /** The perturbation method's `Explanation` from every input's score. */
  perturbFinish(req) {
    return prepared(req).perturbFinish(req.options, req.scores);
  },

  /** The Integrated Gradients path point by point (`IgPath`): the classroom's walk. */
  igPath(req) {
    return prepared(req).igPath(req.options);
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

  /** A block's pooled hidden states per layer, for a probe (`ProbeFeatures`). */
  probeFeatures({ texts, pairs, pool }) {
    const f = model().probeFeatures(texts, pairs ?? undefined, pool);
    return withTransfer(f, [f.features.buffer, f.read.buffer]);
  },

  /** One layer's probe (`ProbeLayer`): no model needed. */
  probeLayer({ labels, read, x, layer, options }) {
    return probeLayer(labels, read, x, layer, options);
  },

  /** The probe's report (`ProbeReport`) around the layers fitted; with none, the split alone. */
  probeSummary({ labels, read, layers, options }) {
    return probeSummary(labels, read, layers, options);
  },

  /** The rows' faithfulness averaged (`SetFaithfulness`). */
  faithfulnessSummary({ rows, fractions }) {
    return summarizeFaithfulness(rows, Float64Array.from(fractions));
  },

  /** Counterfactuals of the prediction (`CounterfactualReport`): the core's search, every text run. */
  counterfactuals({ text, pair, options }) {
    return model().counterfactuals(text, pair ?? undefined, options);
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

  /** Keeps a set's vectors (`rows.length` × dim) and their row numbers under `key`, for `nearest`; one set at a time. */
  keepVectors({ key, vectors, rows }) {
    keptSet = { key, vectors, rows };
    return true;
  },

  /**
   * The `k` rows of the set kept under `key` nearest to a text, by the
   * model's pooled vector (`Nearest`); `{missing: true}` when this worker
   * does not keep that set (then `keepVectors` first).
   */
  nearest({ text, pair, key, k, skip }) {
    if (keptSet?.key !== key) return { missing: true };
    const q = model().predictBatch([text], pair ? [pair] : undefined, true);
    if (q.predicted[0] < 0) throw new Error(q.errors[0]);
    return nearestRows(q.vectors, keptSet.vectors, keptSet.rows, k, skip ?? undefined);
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

/** `value` with the buffers of its typed arrays transferred. */
function arrays(value) {
  return withTransfer(value, Object.values(value).filter(ArrayBuffer.isView).map((v) => v.buffer));
}

/**
 * One request at a time, in the order they came: a call suspended while
 * the GPU works must not be entered by the next one.
 */
let queue = Promise.resolve();

self.onmessage = ({ data }) => {
  queue = queue.then(() => answer(data));
};

async function answer(data) {
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
}

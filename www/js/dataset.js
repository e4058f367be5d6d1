// The dataset workbench: a labelled set (read in by readset.js) run through
// the model in the pool's workers in blocks of rows, and what it says
// (crates/core's metrics, labels matched to classes, words per class,
// nearest rows by the pooled vector, through the binding). Each action
// changes `state.dataset` and calls `update()`; table.js reads it.

import { state, update, task } from './state.js';
import * as act from './actions.js';
import { AbortError } from './pool.js';
import { picked, problem, faithRows } from './table.js';

/** Rows per request: the core's `dataset::BLOCK`, so that every float is the CLI's. */
export const BLOCK = 64;
/** Nearest rows listed for the explained text. */
export const NEIGHBOURS = 8;
/** Words listed per class, as `bertlens analyze --words-top`. */
export const WORDS_TOP = 12;
/** The fractions of the tokens in a rationale (ERASER's AOPC), as `bertlens analyze --faithfulness`. */
export const FRACTIONS = [0.01, 0.05, 0.1, 0.2, 0.5];
/** Captum's perturbation samples per row for infidelity and sensitivity-max, when asked for. */
const PERTURB_SAMPLES = 10;

/** The core's `FaithfulnessOptions`; `removal`: delete, mask or pad (as `bertlens analyze --removal`). */
const faithOptions = (perturb, removal = 'delete') => {
  const samples = perturb ? PERTURB_SAMPLES : 0;
  return { fractions: FRACTIONS, removal, infidelity: { n_perturb_samples: samples }, sensitivity: { n_perturb_samples: samples } };
};

// ---- actions ---------------------------------------------------------------------------------

/** The run in progress, and how to stop it (apart from the page's explanation job). */
let runJob = null;

/** Matches the label column to the model's classes (the core's `match_label`). */
export async function matchLabels() {
  const ds = state.dataset;
  const { labels } = picked(ds);
  const pool = act.getPool();
  ds.labels = null;
  if (!labels || !state.model || task() !== 'sequence-classification') return;
  ds.labels = await pool.call(0, 'matchLabels', { labels });
}

/** The user picked column `index` (-1: none) for `role` ('text', 'pair', 'label'). */
export async function setColumn(role, index) {
  const ds = state.dataset;
  cancelRun();
  ds.columns = { ...ds.columns, [role]: index };
  ds.run = null;
  ds.words = null;
  ds.faith = null;
  ds.probe = null;
  ds.message = null;
  update();
  try {
    await matchLabels();
  } catch (e) {
    ds.message = { kind: 'error', text: e.message };
  }
  update();
}

function newRun(n, classes) {
  return {
    model: state.model.name,
    n,
    classes,
    dim: 0,
    done: 0,
    running: true,
    started: performance.now(),
    seconds: 0,
    predicted: new Int32Array(n).fill(-2), // -2: not yet; -1: the row could not be run
    probability: new Float32Array(n), // p(predicted)
    labelProbability: new Float32Array(n), // p(true label), NaN without one
    loss: new Float32Array(n), // −ln p(true label)
    /** @type {Float32Array | null} n × dim, the vectors the head reads */
    vectors: null,
    errors: new Map(),
    correct: 0,
    labelled: 0,
    /** The core's metrics of the rows done, when the run ends. */
    metrics: null,
    cancelled: false,
  };
}

/** Every row through the model, in blocks over the workers; results show as they arrive. */
export async function runDataset() {
  const ds = state.dataset;
  const why = problem(ds) ?? (task() !== 'sequence-classification' ? 'The workbench needs a text classifier; this model is not one.' : null);
  if (why) {
    ds.message = { kind: 'error', text: why };
    update();
    return;
  }
  cancelRun();
  const pool = act.getPool();
  const { texts, pairs } = picked(ds);
  const n = texts.length;
  const classes = state.model.info.labels.length;
  const run = newRun(n, classes);
  ds.run = run;
  ds.words = null;
  ds.faith = null;
  ds.message = null;
  ds.view.cell = null;
  ds.neighbours = null;
  const job = new AbortController();
  runJob = job;
  update();
  try {
    await matchLabels();
    const truth = ds.labels?.indices;
    const blocks = [];
    for (let s = 0; s < n; s += BLOCK) {
      blocks.push({ texts: texts.slice(s, s + BLOCK), pairs: pairs?.slice(s, s + BLOCK), pooled: true });
    }
    await pool.each('predictBatch', blocks, {
      signal: job.signal,
      onResult: (k, b) => {
        const start = k * BLOCK;
        if (!run.vectors && b.dim) {
          run.dim = b.dim;
          run.vectors = new Float32Array(n * b.dim);
        }
        for (let j = 0; j < b.rows; j++) {
          const i = start + j;
          const p = b.predicted[j];
          run.predicted[i] = p;
          if (p < 0) {
            run.errors.set(i, b.errors[j]);
            continue;
          }
          run.probability[i] = b.probabilities[j * classes + p];
          const t = truth ? truth[i] : -1;
          run.labelProbability[i] = t >= 0 ? b.probabilities[j * classes + t] : NaN;
          run.loss[i] = t >= 0 ? -Math.log(Math.max(run.labelProbability[i], 1.1754944e-38)) : NaN;
          if (t >= 0) {
            run.labelled++;
            if (t === p) run.correct++;
          }
        }
        if (run.vectors) run.vectors.set(b.vectors, start * run.dim);
        run.done += b.rows;
        update();
      },
    });
  } catch (e) {
    if (runJob !== job) return; // replaced by another run, or the set changed
    if (e instanceof AbortError) {
      run.cancelled = true;
    } else {
      run.running = false;
      ds.message = { kind: 'error', text: e.message };
      update();
      return;
    }
  }
  if (runJob !== job) return;
  runJob = null;
  run.seconds = (performance.now() - run.started) / 1000;
  await finishMetrics(run);
  run.running = false;
  update();
}

/**
 * Words per class: every row's attributions toward its predicted class
 * (the core's `analyze_rows`, in blocks over the workers), merged into
 * words and summed per class by the core's `class_words`.
 */
export async function computeWords() {
  const ds = state.dataset;
  const run = ds.run;
  if (!run || run.running) return;
  cancelRun();
  const pool = act.getPool();
  const { texts, pairs } = picked(ds);
  const n = run.n;
  const method = ds.view.wordsMethod;
  const words = { method, running: true, done: 0, n, byClass: null, model: run.model };
  ds.words = words;
  const job = new AbortController();
  runJob = job;
  update();
  const blocks = [];
  for (let s = 0; s < n; s += BLOCK) {
    blocks.push({ first: s, texts: texts.slice(s, s + BLOCK), pairs: pairs?.slice(s, s + BLOCK), method });
  }
  const parts = new Array(blocks.length);
  try {
    await pool.each('rowWords', blocks, {
      signal: job.signal,
      onResult: (k, w) => {
        parts[k] = w;
        words.done += w.counts.length;
        update();
      },
    });
    const truth = ds.labels?.indices;
    const wrong = Uint8Array.from(run.predicted, (p, i) => (truth && truth[i] >= 0 && p >= 0 && truth[i] !== p ? 1 : 0));
    const counts = new Uint32Array(n);
    parts.forEach((w, k) => counts.set(w.counts, k * BLOCK));
    const all = parts.flatMap((w) => w.words);
    const scores = new Float32Array(all.length);
    let at = 0;
    for (const w of parts) {
      scores.set(w.scores, at);
      at += w.scores.length;
    }
    words.byClass = await pool.call(0, 'classWords', { predicted: Int32Array.from(run.predicted), wrong, counts, words: all, scores, top: WORDS_TOP });
  } catch (e) {
    if (runJob !== job) return;
    if (!(e instanceof AbortError)) ds.message = { kind: 'error', text: `words per class: ${e.message}` };
  }
  if (runJob !== job) return;
  runJob = null;
  words.running = false;
  update();
}

/** The core's metrics of the rows done (all of them, unless cancelled). */
async function finishMetrics(run) {
  const ds = state.dataset;
  const truth = ds.labels?.indices;
  if (!truth) return;
  const t = [];
  const p = [];
  for (let i = 0; i < run.n; i++) {
    if (truth[i] >= 0 && run.predicted[i] >= 0) {
      t.push(truth[i]);
      p.push(run.predicted[i]);
    }
  }
  if (!t.length) return; // no row's label is a class: nothing to measure
  try {
    run.metrics = await act.getPool().call(0, 'metrics', { truth: Uint32Array.from(t), predicted: Uint32Array.from(p) });
  } catch (e) {
    ds.message = { kind: 'error', text: `metrics: ${e.message}` };
  }
}

/** Another model is in use: its classes are others, the run's results are gone. */
export async function modelChanged() {
  cancelRun();
  const ds = state.dataset;
  ds.run = null;
  ds.words = null;
  ds.faith = null;
  ds.probe = null;
  ds.neighbours = null;
  ds.view.cell = null;
  try {
    await matchLabels();
  } catch (e) {
    ds.message = { kind: 'error', text: e.message };
  }
  update();
}

/** The probe's options: the core's defaults (`probe_defaults`), the pooling the user picked. */
export function probeOptions() {
  const defaults = state.model?.info.probe_defaults ?? {};
  return { ...defaults, pool: state.dataset.view.probePool ?? defaults.pool };
}

/**
 * Which layer knows the label column? A linear probe per layer, as
 * `bertlens probe` fits it (the core's `analysis::probe`, held to
 * scikit-learn): every row's pooled hidden states in blocks over the
 * workers, then one layer per request over the workers, then the report.
 * Any model with layers can be probed, any labels (not the model's classes).
 */
export async function runProbe() {
  const ds = state.dataset;
  const { texts, pairs, labels } = picked(ds);
  const info = state.model?.info;
  if (!info || !labels) return;
  cancelRun();
  const pool = act.getPool();
  const options = probeOptions();
  const n = texts.length;
  const layers = info.layers + 1;
  const hidden = info.hidden_size;
  const width = layers * hidden;
  const p = { model: state.model.name, column: ds.table.columns[ds.columns.label], options, n, layers, done: 0, fitted: 0, phase: 'reading', running: true, cancelled: false, started: performance.now(), seconds: 0, fits: [], report: null, error: null };
  ds.probe = p;
  const job = new AbortController();
  runJob = job;
  update();
  try {
    // The split alone first: a set that cannot be probed says so before any forward pass.
    await pool.call(0, 'probeSummary', { labels, read: new Uint8Array(n).fill(1), layers: [], options });
    const features = new Float32Array(n * width);
    const read = new Uint8Array(n);
    const blocks = [];
    for (let s = 0; s < n; s += BLOCK) blocks.push({ texts: texts.slice(s, s + BLOCK), pairs: pairs?.slice(s, s + BLOCK), pool: options.pool });
    await pool.each('probeFeatures', blocks, {
      signal: job.signal,
      onResult: (k, b) => {
        features.set(b.features, k * BLOCK * width);
        read.set(b.read, k * BLOCK);
        p.done += b.rows;
        update();
      },
    });
    p.phase = 'fitting';
    update();
    const requests = [];
    for (let l = 0; l < layers; l++) {
      const x = new Float32Array(n * hidden);
      for (let i = 0; i < n; i++) x.set(features.subarray(i * width + l * hidden, i * width + (l + 1) * hidden), i * hidden);
      requests.push({ labels, read, x, layer: l, options });
    }
    await pool.each('probeLayer', requests, {
      signal: job.signal,
      onResult: (_, fit) => {
        p.fits.push(fit);
        p.fitted++;
        update();
      },
    });
    p.report = await pool.call(0, 'probeSummary', { labels, read, layers: p.fits, options });
  } catch (e) {
    if (runJob !== job) return;
    if (e instanceof AbortError) p.cancelled = true;
    else p.error = e.message;
  }
  if (runJob !== job) return;
  runJob = null;
  p.seconds = (performance.now() - p.started) / 1000;
  p.running = false;
  update();
}

/** Stops the run in progress; what has arrived stays. */
export function cancelRun() {
  runJob?.abort();
}

/** Puts row `i` into the text box and explains it in the usual views. */
export function explainRow(i) {
  const ds = state.dataset;
  const { texts, pairs } = picked(ds);
  state.text = texts[i];
  state.pairOn = Boolean(pairs?.[i]);
  state.pair = pairs?.[i] ?? '';
  const t = ds.labels?.indices[i] ?? -1;
  state.trueLabel = t >= 0 ? String(t) : '';
  state.options.target = '';
  ds.explaining = i;
  state.view.mode = 'text';
  update();
  return act.explain();
}

let setsKept = 0; // numbers the sets of vectors handed to worker 0

/**
 * The rows of the set nearest to the explained input, when a run has
 * their vectors (called by the explanation as soon as its forward pass is in).
 * Worker 0 keeps the set's vectors (`keepVectors`), handed over once per run
 * (and again only as more rows come in, or if that worker was replaced);
 * each lookup names them by key.
 */
export async function findNeighbours(input) {
  const ds = state.dataset;
  const run = ds.run;
  if (!run?.vectors || run.model !== state.model?.name || task() !== 'sequence-classification') {
    ds.neighbours = null;
    return;
  }
  const rows = [];
  for (let i = 0; i < run.n; i++) if (run.predicted[i] >= 0) rows.push(i);
  if (run.kept?.rows !== rows.length) run.kept = { rows: rows.length, key: `set-${++setsKept}` };
  const { key } = run.kept;
  const keep = () => {
    const vectors = new Float32Array(rows.length * run.dim);
    rows.forEach((r, k) => vectors.set(run.vectors.subarray(r * run.dim, (r + 1) * run.dim), k * run.dim));
    return act.getPool().call(0, 'keepVectors', { key, vectors, rows: Uint32Array.from(rows) }, [vectors.buffer]);
  };
  const { texts, pairs } = picked(ds);
  const own = ds.explaining;
  const skip = own !== null && texts[own] === input.text && (pairs?.[own] || null) === (input.pair || null) ? own : null;
  const ask = () => act.getPool().call(0, 'nearest', { text: input.text, pair: input.pair, key, k: NEIGHBOURS, skip });
  try {
    let near = await ask();
    if (near.missing) {
      await keep();
      near = await ask();
    }
    ds.neighbours = { text: input.text, pair: input.pair, ...near };
  } catch (e) {
    ds.neighbours = { text: input.text, pair: input.pair, error: e.message };
  }
  update();
}

/**
 * The seed of a typed text's faithfulness: FNV-1a (32 bits) of the UTF-8
 * bytes of the text, a NUL and the pair (none: empty), never 0. A row of a
 * set is evaluated with seed 0 and its index, as `bertlens analyze` does;
 * typed text is row 0 of its own seed, so its random baseline and its
 * perturbations are its own, not those of a set's row 0.
 */
export function textSeed(text, pair = null) {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(`${text}\u0000${pair ?? ''}`)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h || 1;
}

/**
 * Every method's faithfulness on the explained input (the core's
 * `evaluate_row`, as `bertlens analyze --faithfulness`); a row of the
 * loaded set is evaluated as that row (its index seeds the random
 * baseline), typed text as row 0 of its own seed (`textSeed`).
 */
export async function evaluateFaithfulness(perturb) {
  const input = state.input;
  if (!input) return;
  const { texts, pairs } = picked(state.dataset);
  const at = texts.findIndex((t, i) => t === input.text && (pairs?.[i] || null) === (input.pair || null));
  const [row, seed] = at >= 0 ? [at, 0] : [0, textSeed(input.text, input.pair)];
  const f = { input, running: true, result: null, error: null, perturb, row: at >= 0 ? at : null, seed };
  state.faithfulness = f;
  update();
  try {
    f.result = await act.getPool().call(0, 'faithfulness', {
      ...input,
      row,
      options: { ...faithOptions(perturb, state.dataset.view.faithRemoval), seed },
    });
  } catch (e) {
    f.error = e.message;
  }
  f.running = false;
  update();
}

/**
 * Every method's faithfulness over rows of the set (`faithRows`), each row
 * evaluated in a worker as `bertlens analyze --faithfulness` evaluates it
 * (its index seeds the random baseline), then averaged by the core
 * (`SetFaithfulness`): the same numbers as the CLI's report over those rows.
 * Rows show as they arrive; a cancel keeps them and summarises them.
 */
export async function evaluateSetFaithfulness() {
  const ds = state.dataset;
  const run = ds.run;
  if (!run || run.running) return;
  cancelRun();
  const v = ds.view;
  const rows = faithRows(ds, v.faithScope, v.faithLimit);
  const f = { model: run.model, scope: v.faithScope, perturb: v.faithPerturb, removal: v.faithRemoval, rows, results: new Array(rows.length).fill(null), errors: new Map(), done: 0, running: true, cancelled: false, summary: null, error: null, started: performance.now(), seconds: 0 };
  ds.faith = f;
  if (!rows.length) {
    f.running = false;
    f.error = v.faithScope === 'mistakes' ? 'No misclassified row passes the filters.' : 'No row ran.';
    update();
    return;
  }
  const job = new AbortController();
  runJob = job;
  update();
  const { texts, pairs } = picked(ds);
  const options = faithOptions(f.perturb, f.removal);
  const pool = act.getPool();
  try {
    await pool.each(
      'faithfulnessOrError',
      rows.map((i) => ({ text: texts[i], pair: pairs?.[i] || null, row: i, options })),
      {
        signal: job.signal,
        onResult: (k, r) => {
          if (r.error) f.errors.set(rows[k], r.error);
          else f.results[k] = r.result;
          f.done++;
          update();
        },
      },
    );
  } catch (e) {
    if (runJob !== job) return;
    if (e instanceof AbortError) f.cancelled = true;
    else f.error = e.message;
  }
  if (runJob !== job) return;
  runJob = null;
  f.seconds = (performance.now() - f.started) / 1000;
  const evaluated = f.results.filter(Boolean);
  if (evaluated.length) {
    try {
      f.summary = await pool.call(0, 'faithfulnessSummary', { rows: evaluated, fractions: FRACTIONS });
    } catch (e) {
      f.error = `faithfulness over the set: ${e.message}`;
    }
  }
  f.running = false;
  update();
}

/**
 * Counterfactuals of the explained input's prediction: the fewest words
 * replaced to make the model predict another class, or the class the form
 * names, or (question answering) answer another span (the core's search;
 * its defaults come from the core's vocabulary).
 */
export async function findCounterfactuals() {
  const input = state.input;
  if (!input) return;
  const form = state.view.counterfactual;
  const labels = state.model.info.labels;
  const options = {
    ...state.model.info.counterfactual_defaults,
    target: form.target === '' || task() === 'question-answering' ? null : labels[Number(form.target)],
  };
  if (form.maxEdits !== '') options.max_edits = Number(form.maxEdits);
  // A token classifier: the label of the token explained, in the text as the model reads it.
  let error = null;
  if (task() === 'token-classification') {
    options.token = state.explanation?.token ?? null;
    const cut = state.analysis?.explanation.tokens.length ?? 0;
    if (options.token !== null && options.token >= cut) {
      error = `The search reads the text as the model does, cut to its first ${cut} tokens; token ${options.token} is past them: explain a token before it.`;
    }
  }
  const c = { input, options, model: state.model, running: !error, result: null, error };
  state.counterfactual = c;
  update();
  if (error) return;
  try {
    c.result = await act.getPool().call(0, 'counterfactuals', { ...input, options });
  } catch (e) {
    c.error = e.message;
  }
  c.running = false;
  update();
}

/** Explains a counterfactual's text (its search stays, to come back to the original). */
export function tryText({ text, pair }) {
  if (task() === 'question-answering') {
    state.question = text;
    if (pair != null) state.context = pair;
  } else {
    state.text = text;
    if (pair != null) state.pair = pair;
  }
  state.options.target = '';
  update();
  return act.explain();
}

/** The anchor of the explained input's prediction (the core's `anchor`, alibi's defaults). */
export async function findAnchor() {
  const input = state.input;
  if (!input) return;
  const a = { input, running: true, result: null, error: null };
  state.anchor = a;
  update();
  try {
    a.result = await act.getPool().call(0, 'anchor', { ...input, options: {} });
  } catch (e) {
    a.error = e.message;
  }
  a.running = false;
  update();
}

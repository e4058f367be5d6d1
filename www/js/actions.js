// What the page does: load a model, explain the input, and explain another
// target within it (a class, a token, a filler, the answer's start or end).
// Each action changes `state` and calls `update()`; all model work runs in
// the pool's workers.

import { AbortError } from './pool.js';
import { fetchModel, fetchFromUrl, readFiles, dropFiles } from './models.js';
import { state, update, currentInput, coreOptions, cacheKey, remember, formProblem, stepsError, stepCap, parseSteps, methodInfo, answerToken } from './state.js';
import { knownTarget } from './share.js';
import { defaultExamples, exampleFields, typedIn } from './task.js';
import { onDemand } from './maps.js';

/** @type {import('./pool.js').Pool | null} */
let pool = null;
/** The job in progress (a download or an explanation) and how to stop it. */
let job = null;

export function setPool(p) {
  pool = p;
}

/**
 * What else follows a model change and an explained text: the workbench's
 * (main.js hands dataset.js's in; dataset.js imports this module, not the
 * other way round).
 */
const hooks = { modelChanged: () => {}, explained: (_input) => {} };

export function setHooks(h) {
  Object.assign(hooks, h);
}

export function getPool() {
  return pool;
}

function startJob() {
  job?.abort();
  job = new AbortController();
  return job.signal;
}

/** Stops the download or the explanation in progress. */
export function cancel() {
  job?.abort();
}

// ---- models ----------------------------------------------------------------------------

/**
 * Loads a model into every worker. `getFiles` may be called again later
 * (to reload a worker whose engine trapped), so the page keeps no copy of
 * the weights once they are in the engines.
 */
export async function loadModel(label, getFiles, extra = {}) {
  const signal = startJob();
  // A run in progress was just cancelled: loading replaces it.
  state.busy = null;
  if (state.preview) {
    state.explanation = null;
    state.preview = false;
  }
  state.loading = { label, loaded: 0, total: 0 };
  state.modelMessage = null;
  update();
  try {
    const files = await getFiles({
      signal,
      onProgress: (loaded, total) => {
        state.loading = { label, loaded, total };
        update();
      },
    });
    if (signal.aborted) throw new AbortError();
    state.loading = { label: `${label}: loading into the engine`, loaded: 0, total: 0 };
    update();
    const info = await pool.load(files, label, () => getFiles({}));
    const examples = extra.examples?.length ? extra.examples : defaultExamples(info.task, info.mask_token);
    // Where it came from, to name it in a link (share.js): a built-in entry, or a URL.
    state.model = { name: label, info, examples, source: extra.source ?? null };
    state.analysis = null;
    state.explanation = null;
    state.input = null;
    state.cache = new Map();
    state.lens = null;
    // Another model's counterfactuals, and its class picked in their form, are not this one's.
    state.counterfactual = null;
    state.view.counterfactual = { target: '', maxEdits: '' };
    // A link's class (extra.target) is kept when the model has it, else said to be ignored.
    // So is its contrast.
    for (const key of ['target', 'contrast']) {
      const value = extra[key] ?? '';
      state.options[key] = knownTarget(info, value) ? value : '';
      if (state.options[key] !== value) state.linkIgnored = [...state.linkIgnored, [key, value]];
    }
    state.focus = { token: null, filler: null, answer: 0, part: state.focus.part };
    state.trueLabel = '';
    state.runMessage = null;
    state.restore = null;
    state.view.head.active = Array(info.heads).fill(true);
    state.view.head.layer = Math.min(state.view.head.layer, info.layers - 1);
    state.view.neuron = { layer: 0, head: 0, query: 0 };
    state.view.heatmap = { layer: 0, source: '0' };
    // An example fills the boxes this task reads only when they are empty.
    const fields = exampleFields(examples[0], info.task);
    const input = currentInput();
    if (!input.text.trim() && !(input.pair ?? '').trim()) Object.assign(state, fields);
    state.loading = null;
    update();
    hooks.modelChanged();
    if (currentInput().text.trim()) await explain();
  } catch (e) {
    state.loading = null;
    if (!(e instanceof AbortError)) {
      const kept = state.model ? ` The model in use is still ${state.model.name}.` : '';
      state.modelMessage = { kind: 'error', text: `${label} could not be loaded: ${e.message.replace(/\.$/, '')}.${kept}` };
    }
    update();
  }
}

/**
 * Runs attribution on `device` (`auto`, `cpu`, `webgpu`) from now on; the
 * input and what is shown stay. Where the GPU is asked for and cannot be
 * had, the CPU computes it and the model line says why.
 */
export async function placeOn(device) {
  if (!pool) return;
  try {
    await pool.place(device);
  } catch (e) {
    state.modelMessage = { kind: 'error', text: `Could not change where it runs: ${e.message}` };
  }
  update();
}

/** A built-in model; `keep.target`: the class to explain (a link's), else the predicted one. */
export function loadFromCatalog(entry, keep = {}) {
  const base = new URL(entry.base, document.baseURI).href;
  const files = entry.files.map((f) => (typeof f === 'string' ? { name: f } : f));
  return loadModel(entry.name, (opts) => fetchModel(base, files, opts), { ...entry, ...keep, source: { id: entry.id } });
}

export function loadFromUrl(url, keep = {}) {
  // Without tokenizer.json, the slow files it asks for are those the engine reads.
  const tokenizerFiles = async () => (await pool.vocabulary).tokenizer_files;
  return loadModel(url, (opts) => fetchFromUrl(new URL(url, document.baseURI).href, { ...opts, tokenizerFiles }), { ...keep, source: { url } });
}

const NONE = 'none of these files is part of a model (config.json, a tokenizer, model.safetensors or a checkpoint)';

/** Files from a file picker (File objects: the bytes are read when needed). */
export function loadFromFiles(fileList, label) {
  const files = [...fileList];
  return loadModel(label, async () => {
    const read = await readFiles(files);
    if (!read.length) throw new Error(NONE);
    return read;
  });
}

/** Files and folders dropped on the page (walked at once: a drop's items expire). */
export function loadFromDrop(dataTransfer, label) {
  const walked = dropFiles(dataTransfer);
  return loadModel(label, async () => {
    const read = await readFiles(await walked);
    if (!read.length) throw new Error(NONE);
    return read;
  });
}

// ---- examples ----------------------------------------------------------------------------

/** Puts an example in the boxes; text the user typed there can be restored. */
export function useExample(example) {
  const task = state.model?.info.task;
  const fields = exampleFields(example, task);
  if (typedIn(state, fields)) {
    state.restore = { fields: Object.fromEntries(Object.keys(fields).map((k) => [k, state[k]])) };
  }
  Object.assign(state, fields);
  update();
  return explain();
}

/** Puts back the text an example replaced. */
export function restoreText() {
  if (!state.restore) return;
  Object.assign(state, state.restore.fields);
  state.restore = null;
  update();
}

// ---- explanations --------------------------------------------------------------------------

const sameInput = (a, b) => a && b && a.text === b.text && a.pair === b.pair;

/** A forward pass with attentions (the prediction, the attention views), then the attribution. */
export async function explain() {
  if (!state.model || refused()) return;
  const input = currentInput();
  const signal = startJob();
  if (!sameInput(input, state.input)) {
    // What was focused in another text means nothing in this one.
    state.focus = { ...state.focus, token: null, filler: null, answer: 0 };
    if (state.model.info.task === 'token-classification') Object.assign(state.options, { target: '', contrast: '' });
    if (state.model.info.task === 'fill-mask') state.options.contrast = '';
  }
  state.runMessage = null;
  state.busy = { label: 'reading the text', done: 0, total: 0 };
  update();
  // For Integrated Gradients, the saliency preview starts at once on another
  // worker, beside the forward pass that reads the attention.
  const opts = coreOptions(sameInput(input, state.input) ? state : { ...state, analysis: null });
  const cached = state.cache.has(cacheKey(input, opts));
  const preview = opts.method === 'ig' && !cached ? saliencyPreview(input, opts) : null;
  preview?.catch(() => {}); // its error, if any, is the forward pass's too
  try {
    const analysis = await pool.call(0, 'attentions', { ...input, options: opts });
    if (signal.aborted) throw new AbortError();
    // The maps come a view at a time, from the worker that keeps this pass.
    onDemand(analysis, (what) => pool.call(0, 'attentionMaps', { ...input, ...what }));
    state.analysis = analysis;
    state.input = input;
    state.explanation = null;
    state.view.neuron.query = Math.min(state.view.neuron.query, analysis.tokens - 1);
    state.view.head.hover = null;
    update();
    hooks.explained(input);
    readLens(input, opts);
    await attribute(signal, preview);
  } catch (e) {
    finishWithError(e, signal);
  }
}

/** The lens on every layer of `input` (one forward pass; not for a bare encoder), shown when it comes. */
async function readLens(input, opts) {
  if (state.model.info.task === 'encoder' || sameInput(state.lens?.input, input)) return;
  state.lens = { input, result: null, error: null };
  try {
    state.lens.result = await pool.call(0, 'lens', { ...input, options: opts });
  } catch (e) {
    state.lens.error = e.message;
  }
  if (sameInput(state.lens?.input, input)) update();
}

/**
 * Whether the form cannot run as it stands (state.js formProblem): then the
 * run message says why, and nothing runs. A number of steps typed and not yet
 * taken (the field still has the focus) is taken: a run is of what the form shows.
 */
function refused() {
  const why = formProblem();
  if (!why) {
    if (state.stepsTyped !== null && stepsError(state.stepsTyped, stepCap()) === null) {
      state.options.n_steps = parseSteps(state.stepsTyped);
      state.stepsTyped = null;
    }
    return false;
  }
  state.runMessage = { kind: 'error', text: why, form: true };
  update();
  return true;
}

/** Saliency with `opts` otherwise (one backward pass), from the last worker. */
function saliencyPreview(input, opts) {
  return pool.call(pool.size - 1, 'attribute', { ...input, options: { ...opts, method: 'saliency' } });
}

/**
 * The attribution alone, for the input already analysed (a new target,
 * token, part or method). `preview`: the saliency preview, if already asked for.
 */
export async function attribute(signal = startJob(), preview = null) {
  if (!state.analysis) return explain();
  if (refused()) return;
  state.runMessage = null;
  const opts = coreOptions();
  const key = cacheKey(state.input, opts);
  if (state.cache.has(key)) {
    state.explanation = state.cache.get(key);
    state.preview = false;
    state.busy = null;
    state.runMessage = null;
    update();
    return;
  }
  const req = { ...state.input, options: opts };
  // A long text read in windows: the core explains each window (in one worker) and stitches them.
  const windowed = Boolean(opts.windows) && state.analysis.explanation.truncated && !state.input.pair;
  const ig = opts.method === 'ig' && !windowed;
  const auto = opts.n_steps === 'auto';
  const method = methodInfo(opts.method);
  const perturbation = method?.kind === 'perturbation' && !windowed;
  state.busy = { label: windowed ? `${method?.label ?? opts.method}, window by window` : ig || perturbation ? method.label : 'attributing', done: 0, total: ig && !auto ? opts.n_steps : 0 };
  update();
  try {
    if (ig) {
      // Progressive: one backward pass shows the gradient's saliency at once,
      // while Integrated Gradients refines.
      const quick = await (preview ?? saliencyPreview(state.input, opts));
      if (signal.aborted) throw new AbortError();
      state.explanation = quick;
      state.preview = true;
      update();
    }
    const e = ig
      ? await pool.integratedGradients(req, {
          signal,
          onProgress: (done, total, progress) => {
            if (signal.aborted) return; // a late report from a cancelled run
            state.busy = auto
              ? {
                  label: 'Integrated Gradients (auto)',
                  done: 0,
                  total: 0,
                  note: `${progress.steps} steps, completeness error ${(100 * progress.relativeError).toFixed(2)}% (target ${100 * opts.tolerance}%)`,
                }
              : { label: 'Integrated Gradients', done, total };
            update();
          },
        })
      : perturbation
        ? await pool.perturbation(req, {
            signal,
            onProgress: (done, total) => {
              if (signal.aborted) return;
              state.busy = { label: method.label, done, total, note: `${done.toLocaleString('en')} of ${total.toLocaleString('en')} inputs scored` };
              update();
            },
          })
        : await pool.call(0, 'attribute', req);
    if (signal.aborted) throw new AbortError();
    remember(key, e);
    state.explanation = e;
    state.preview = false;
    state.busy = null;
    update();
  } catch (e) {
    finishWithError(e, signal);
  }
}

/** Ends the run of `signal` with an error, unless a newer run has replaced it. */
function finishWithError(e, signal) {
  // A run cancelled because another started must not touch what the new one shows.
  if (signal !== job?.signal) return;
  state.busy = null;
  if (state.preview) {
    state.explanation = null;
    state.preview = false;
  }
  state.runMessage = e instanceof AbortError ? { kind: 'info', text: 'Cancelled.' } : { kind: 'error', text: e.message };
  update();
}

// ---- what to explain within the input -------------------------------------------------------

/**
 * Reads a text longer than the model in windows (`on`), or cuts it to the
 * model's length. Cut again, the whole text's explanation is gone, and so is
 * a token focused past the cut (with the label or filler chosen for it).
 * Asked again for what the form already says (a run that failed), it runs again.
 */
export function readInWindows(on) {
  if (!on) {
    const cut = state.analysis?.explanation.tokens.length ?? 0;
    if ((state.focus.token ?? -1) >= cut) {
      state.focus = { ...state.focus, token: null, filler: null };
      Object.assign(state.options, { target: '', contrast: '' });
    }
    if (state.explanation?.windows) state.explanation = null;
  }
  if (state.options.windows === on) return attribute();
  return setOption('windows', on);
}

/** An option of the form changed: explain again with it. */
export function setOption(key, value) {
  // The form is the user's now: what a link held that was ignored is old news,
  // and so is a refusal of the form as it stood.
  state.linkIgnored = [];
  if (state.runMessage?.form) state.runMessage = null;
  // A field can report the same value twice (a script's event, then the browser's on blur).
  if (state.options[key] === value) return update();
  state.options[key] = value;
  update();
  if (state.analysis) attribute();
}

/** A class (sequence classification) or a label (token classification) to explain. */
export function explainClass(i, predicted) {
  state.options.target = i === predicted ? '' : String(i);
  // A class is not contrasted with itself.
  if (state.options.contrast === String(i)) state.options.contrast = '';
  update();
  attribute();
}

/** Token classification: explain the label of token `i`. */
export function explainToken(i) {
  state.focus = { ...state.focus, token: i };
  Object.assign(state.options, { target: '', contrast: '' });
  update();
  attribute();
}

/** Fill-mask: explain filler `id` (null: the best) at the mask at token `mask`. */
export function explainFiller(mask, id) {
  // Another mask's fillers are others; a filler is not contrasted with itself.
  const shownMask = state.focus.token ?? state.analysis?.explanation.masks?.[0]?.token ?? null;
  if (mask !== shownMask || String(id) === state.options.contrast) state.options.contrast = '';
  state.focus = { ...state.focus, token: mask, filler: id };
  update();
  attribute();
}

/** Question answering: explain answer `k` (0: the best). */
export function explainAnswer(k) {
  state.focus = { ...state.focus, answer: k };
  keepAnswerContrast();
  update();
  attribute();
}

/** Question answering: explain the answer's start or its end. */
export function explainPart(part) {
  if (state.focus.part === part) return;
  state.focus = { ...state.focus, part };
  keepAnswerContrast();
  update();
  attribute();
}

/** Question answering: a versus answer that now starts (or ends) where the explained one does is dropped. */
function keepAnswerContrast() {
  const c = state.options.contrast;
  if (c !== '' && answerToken(state, Number(c)) === answerToken(state, state.focus.answer ?? 0)) state.options.contrast = '';
}

// ---- walking the Integrated Gradients path (classroom) ----------------------------------------

/** The key of the explanation a walk is of: the input and the page's options. */
export function walkOf() {
  return state.input ? cacheKey(state.input, coreOptions()) : null;
}

let walks = 0;

/**
 * Walks the Integrated Gradients path of the input explained, with the page's
 * target, baseline and layer, point by point (n backward passes on worker 0).
 * `rule`: the quadrature and its steps; by default the page's (20 for "auto").
 */
export async function walkPath(rule = {}) {
  if (!state.input || !pool) return;
  const opts = coreOptions();
  const page = state.options;
  const of = walkOf();
  // A walk of this explanation keeps its rule, point and result while it walks again.
  const prev = state.igPath?.of === of ? state.igPath : null;
  const integration = rule.integration ?? prev?.integration ?? page.integration;
  const nSteps = rule.n_steps ?? prev?.n_steps ?? (page.n_steps === 'auto' ? 20 : Number(page.n_steps) || 50);
  const run = ++walks;
  state.igPath = { of, integration, n_steps: nSteps, k: prev?.k ?? 0, running: true, result: prev?.result ?? null, error: null };
  update();
  const input = { ...state.input, options: { ...opts, method: 'ig', integration, n_steps: nSteps } };
  try {
    const result = await pool.call(0, 'igPath', input);
    if (run !== walks) return;
    const k = Math.min(state.igPath.k, result.alphas.length - 1);
    state.igPath = { ...state.igPath, k, running: false, result };
  } catch (e) {
    if (run !== walks) return;
    state.igPath = { ...state.igPath, running: false, error: e.message };
  }
  update();
}

/** The walk's slider: point `k` of the quadrature. */
export function walkStep(k) {
  if (!state.igPath || state.igPath.k === k) return;
  state.igPath = { ...state.igPath, k };
  update();
}


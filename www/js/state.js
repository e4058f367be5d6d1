// The page's one state object, the function that redraws it, and the pure
// functions that read it: the input and the options the core is given.

/** Everything the page shows follows from this object. */
export const state = {
  catalog: [],
  /** @type {{name: string, info: import('./types.js').ModelInfo, examples: import('./task.js').Example[]} | null} */
  model: null,
  modelMessage: null, // {kind: 'error'|'info', text}
  loading: null, // {label, loaded, total}
  // What the user typed, box by box. The page never writes over it: an
  // example fills an empty box, or replaces text that can be restored.
  text: '',
  pair: '',
  pairOn: false,
  question: '',
  context: '',
  /** @type {{fields: Record<string, string>} | null} the user's text an example replaced */
  restore: null,
  trueLabel: '',
  /**
   * The n_steps field's text while it is not the option in use: being typed,
   * or refused (stepsField says why); null when the field shows `options.n_steps`.
   * @type {string | null}
   */
  stepsTyped: null,
  /** @type {[string, string][]} what the link the page was opened with held that is no option here ([key, value]) */
  linkIgnored: [],
  options: {
    method: 'ig',
    target: '', // a class index (sequence and token classification); '' the predicted one
    contrast: '', // a class index whose score is subtracted (why the target rather than it); '' none
    n_steps: 50, // or 'auto'
    tolerance: 0.01,
    integration: 'gausslegendre',
    baseline: 'pad',
    layer: '',
    output: 'logit',
    norm: 'l2',
    rollout_row: '', // '' the task's default
    window: 1, // occlusion: words per window
    stride: 1, // occlusion: words between windows
    n_samples: null, // shapley: permutations; null: exact up to 12 words, else 25
    seed: 0, // the samples' seed (permutations, coalitions, noise)
    nt_base: 'saliency', // smoothgrad, vargrad: the method run on each noisy copy
    nt_samples: 5, // smoothgrad, vargrad: noisy copies
    stdevs: 1, // smoothgrad, vargrad: σ of the noise
    windows: false, // sequence classification: a text longer than the model read in windows, not cut
  },
  /** @type {import('./types.js').Vocabulary | null} the engine's methods and defaults (its `vocabulary()`) */
  vocabulary: null,
  /**
   * What is explained within the input: the token (token classification),
   * the mask and its filler (fill-mask), the answer and its part (question
   * answering). null: the core's default (the top entity, the first mask's
   * best filler, the best answer).
   */
  focus: { token: null, filler: null, answer: 0, part: 'start' },
  /** @type {import('./types.js').Analysis | null} the forward pass of `input` */
  analysis: null,
  input: null, // {text, pair} that analysis and explanation are of
  /** @type {import('./types.js').Explanation | null} */
  explanation: null,
  /** Explanations already computed for this model, by request. */
  cache: new Map(),
  busy: null, // {label, done, total, note}
  /** The explanation shown is a quick saliency while Integrated Gradients runs. */
  preview: false,
  runMessage: null, // {kind, text}
  /** Faithfulness of the methods on the explained input: {input, running, result, error, perturb} */
  faithfulness: null,
  /** The anchor of the explained input's prediction: {input, running, result, error} */
  anchor: null,
  /**
   * Counterfactuals of the explained input's prediction (the core's search):
   * {input, options, running, result: CounterfactualReport | null, error}.
   */
  counterfactual: null,
  /**
   * The Integrated Gradients path walked point by point (views/igpath.js):
   * {of, integration, n_steps, k, running, result: IgPath | null, error}; `of`: the
   * cacheKey of the explanation it walks (another text or option makes it stale).
   */
  igPath: null,
  /** The lens on every layer of the analysed input: {input, result: LensLayer[] | null, error}. */
  lens: null,
  /** The step-through (stepspanel.js): the layer and query token computed, the head and step shown; result: the engine's steps. */
  steps: { layer: 0, head: 0, token: 1, step: 0, key: '', result: null, busy: false, error: null },
  /** The dataset workbench (dataset.js). */
  dataset: emptyDataset(),
  view: {
    /** 'text': explain a text; 'dataset': the workbench. */
    mode: 'text',
    showAll: false,
    words: false,
    tab: 'head',
    head: { layer: 0, active: [], hover: null, filter: 'all' },
    neuron: { layer: 0, head: 0, query: 0 },
    heatmap: { layer: 0, source: '0' },
    /** Presenter mode (presenter.js): {slide}, or null. */
    present: null,
    /** The counterfactual search's form: the class to reach ('' any other) and the most words replaced ('' the core's default). */
    counterfactual: { target: '', maxEdits: '' },
  },
};

/** The workbench with nothing loaded. */
export function emptyDataset() {
  return {
    source: null, // the file's name, or 'pasted rows'
    /** @type {{format: string, columns: string[], rows: string[][]} | null} */
    table: null,
    columns: { text: -1, pair: -1, label: -1 },
    parsing: null, // {loaded, total}
    message: null, // {kind, text}
    /** What bad rows of a set read do (badrows.js): 'stop' (the set is not loaded) or 'skip' (they are left out). */
    badRows: 'stop',
    /** The bad rows of the set read: {kind, text, list: their first lines in words} (badrows.js outcome), or null. */
    bad: null,
    /** @type {{indices: Int32Array, unmatched: {label: string, count: number, rows: number[]}[]} | null} */
    labels: null,
    /** @type {object | null} the run: see newRun in dataset.js */
    run: null,
    view: { sort: 'confidence', truth: '', predicted: '', query: '', minWords: '', maxWords: '', cell: null, wordsClass: '', wordsMethod: 'saliency', faithScope: 'mistakes', faithLimit: '50', faithPerturb: false, faithRemoval: 'delete', probePool: null },
    /** Words per class: {method, running, done, n, byClass: {name: ClassWords} | null} */
    words: null,
    /** Faithfulness over rows of the set: {rows, results, errors, done, running, summary: SetFaithfulness | null, …} (dataset.js) */
    faith: null,
    /** The probes of the label column, layer by layer: see runProbe in dataset.js. */
    probe: null,
    /** The row put into the text box by a click (left out of its own neighbours). */
    explaining: null,
    neighbours: null, // {text, pair, rows: Uint32Array, similarity: Float32Array}
  };
}

let renderer = () => {};

/** Sets what `update` draws with (main.js: the page's render). */
export function onUpdate(fn) {
  renderer = fn;
}

/** Redraws the page from `state`. */
export function update() {
  renderer();
}

/** The model's task, or null before one is loaded. */
export function task() {
  return state.model?.info.task ?? null;
}

/**
 * The input the boxes hold, as the core takes it: for question answering
 * `text` is the question and `pair` the context.
 * @returns {{text: string, pair: string|null}}
 */
export function currentInput(s = state) {
  switch (s.model?.info.task) {
    case 'question-answering':
      return { text: s.question, pair: s.context };
    case 'sequence-classification':
    case 'encoder':
      return { text: s.text, pair: s.pairOn && s.pair.trim() ? s.pair : null };
    default:
      return { text: s.text, pair: null };
  }
}

/** The most Integrated Gradients steps, until a model's info gives the core's own cap (`max_n_steps`). */
export const MAX_N_STEPS = 2000;

/** The most steps the core takes: the loaded model's `max_n_steps`, else MAX_N_STEPS. */
export function stepCap(s = state) {
  return s.model?.info.max_n_steps ?? MAX_N_STEPS;
}

/**
 * What is wrong with `n_steps` as typed, in a few words for the field
 * (“at most 2000 steps”); null when it is "auto" or a whole number in [1, cap].
 */
export function stepsError(v, cap) {
  const t = String(v).trim().toLowerCase();
  if (t === 'auto') return null;
  if (!/^\d+$/.test(t)) return 'a whole number of steps, or auto';
  const n = Number(t);
  if (n < 1) return 'at least 1 step';
  if (n > cap) return `at most ${cap} steps`;
  return null;
}

/** `n_steps` as typed, once `stepsError` finds nothing wrong with it: "auto" or a number. */
export function parseSteps(v) {
  const t = String(v).trim().toLowerCase();
  return t === 'auto' ? 'auto' : Number(t);
}

/**
 * What the n_steps field holds (what the user typed, or the option in use)
 * and, when Integrated Gradients could not run with it, why: {text, error}.
 */
export function stepsField(s = state) {
  const text = s.stepsTyped ?? String(s.options.n_steps);
  return { text, error: stepsError(text, stepCap(s)) };
}

/**
 * Why the form cannot be explained as it stands, for the user: an n_steps
 * that Integrated Gradients cannot take (the other methods do not read it);
 * null when it can.
 */
export function formProblem(s = state) {
  const method = shownMethod(s);
  const { text, error } = stepsField(s);
  if (method !== 'ig' || !error) return null;
  return `Not explained: n_steps is “${text}”, and Integrated Gradients takes ${error}. Change n_steps, or pick another method.`;
}

/**
 * What the core says method `name` is (`MethodInfo`: label, description,
 * kind, needs_head, the options it reads), from the engine's vocabulary.
 * @returns {import('./types.js').MethodInfo | undefined}
 */
export function methodInfo(name, s = state) {
  return s.vocabulary?.methods.find((m) => m.name === name);
}

/** The method explained: the form's, or for a bare encoder a method that needs no head (rollout by default). */
export function shownMethod(s = state) {
  const m = s.options.method;
  return gradientFree(s) && methodInfo(m, s)?.needs_head !== false ? (s.vocabulary?.default_method.encoder ?? 'rollout') : m;
}

/** Whether the model's task has nothing to take gradients of. */
export function gradientFree(s = state) {
  return s.model?.info.task === 'encoder';
}

/**
 * The options the core takes (`Options` in types.js), from the form and
 * the focus. A bare encoder is explained by rollout whatever the form says.
 */
/**
 * A text longer than the model read whole (the form's choice): in windows of
 * the model's own length, so that the first window is what the attention
 * views read.
 */
function readWhole(opts, s) {
  if (!s.options.windows) return;
  opts.windows = true;
  opts.max_length = s.model.info.max_tokens;
}

export function coreOptions(s = state) {
  const o = s.options;
  const opts = {
    method: shownMethod(s),
    n_steps: o.n_steps === 'auto' ? 'auto' : Number(o.n_steps) || 50,
    tolerance: o.tolerance,
    integration: o.integration,
    baseline: o.baseline,
    output: o.output,
    norm: o.norm,
    words: true,
    window: o.window,
    stride: o.stride,
    n_samples: o.n_samples,
    seed: o.seed,
    nt_base: o.nt_base,
    nt_samples: o.nt_samples,
    stdevs: o.stdevs,
  };
  if (o.layer) opts.layer = o.layer;
  if (o.rollout_row) opts.rollout_row = o.rollout_row;
  const f = s.focus;
  const classIndex = o.target === '' ? null : Number(o.target);
  // A method that reads the attention alone explains no score: nothing to contrast.
  const scored = methodInfo(opts.method, s)?.kind !== 'attention';
  const contrast = o.contrast === '' || !scored ? null : Number(o.contrast);
  switch (s.model?.info.task) {
    case 'sequence-classification':
      opts.target = classIndex;
      if (contrast !== null) opts.contrast = contrast;
      readWhole(opts, s);
      break;
    case 'token-classification':
      opts.target = classIndex;
      if (contrast !== null) opts.contrast = contrast;
      if (f.token !== null) opts.token = f.token;
      readWhole(opts, s);
      break;
    case 'fill-mask':
      readWhole(opts, s);
      if (f.token !== null) opts.token = f.token;
      if (f.filler !== null) opts.target = f.filler;
      if (contrast !== null) opts.contrast = contrast;
      break;
    case 'question-answering': {
      opts.part = f.part;
      const token = answerToken(s, f.answer);
      if (f.answer > 0 && token !== null) opts.token = token;
      // Versus another answer: its start (or end) token against the explained answer's.
      const other = contrast === null ? null : answerToken(s, contrast);
      if (other !== null && other !== answerToken(s, f.answer ?? 0)) opts.contrast = other;
      break;
    }
    default:
  }
  return opts;
}

/**
 * Question answering: the token where answer `k` (of the analysis's list,
 * 0 the best) starts, or ends for `part` 'end'; null when there is no such answer.
 */
export function answerToken(s, k, part = s.focus.part) {
  const a = s.analysis?.explanation.answers?.[k];
  return a ? (part === 'end' ? a.token_end : a.token_start) : null;
}

/** The key of an explanation in `state.cache`. */
export function cacheKey(input, opts) {
  return JSON.stringify([input.text, input.pair, opts]);
}

/** Keeps at most this many explanations per model. */
export const CACHE_SIZE = 48;

export function remember(key, e) {
  state.cache.delete(key);
  state.cache.set(key, e);
  while (state.cache.size > CACHE_SIZE) state.cache.delete(state.cache.keys().next().value);
}

// The page: one state object, events that change it, and render functions
// that draw it. All model work runs in workers (pool.js).

import { Pool, AbortError } from './pool.js';
import { fetchModel, fetchFromUrl, readFiles, readDrop, clearCache } from './models.js';
import { tokenLabels, segments, isPair, units } from './tokens.js';
import { h, fill } from './dom.js';
import { renderPrediction } from './views/prediction.js';
import { renderAttribution } from './views/attribution.js';
import { renderHeadView, drawHeadView } from './views/headview.js';
import { renderModelView } from './views/modelview.js';
import { renderNeuronView } from './views/neuronview.js';
import { renderHeatmap } from './views/heatmap.js';

const $ = (id) => document.getElementById(id);

/** Everything the page shows follows from this object. */
const state = {
  catalog: [],
  /** @type {{name: string, info: import('./types.js').ModelInfo, examples: string[]} | null} */
  model: null,
  modelMessage: null, // {kind: 'error'|'info', text}
  loading: null, // {label, loaded, total}
  text: '',
  pair: '',
  pairOn: false,
  trueLabel: '',
  options: {
    method: 'ig',
    target: '',
    n_steps: 50, // or 'auto'
    tolerance: 0.01,
    integration: 'gausslegendre',
    baseline: 'pad',
    layer: '',
    output: 'logit',
    rollout_row: 'cls',
  },
  /** @type {import('./types.js').Analysis | null} the forward pass of `input` */
  analysis: null,
  input: null, // {text, pair} that analysis and explanation are of
  /** @type {import('./types.js').Explanation | null} */
  explanation: null,
  busy: null, // {label, done, total, note}
  /** The explanation shown is a quick saliency while Integrated Gradients runs. */
  preview: false,
  runMessage: null, // {kind, text}
  view: {
    showAll: false,
    words: false,
    tab: 'head',
    head: { layer: 0, active: [], hover: null, filter: 'all' },
    neuron: { layer: 0, head: 0, query: 0 },
    heatmap: { layer: 0, source: '0' },
  },
};

/** @type {Pool | null} */
let pool = null;
/** The job in progress (a download or an explanation) and how to stop it. */
let job = null;

function startJob() {
  job?.abort();
  job = new AbortController();
  return job.signal;
}

// ---- model ---------------------------------------------------------------------------

async function loadModel(label, getFiles, extra = {}) {
  const signal = startJob();
  // A run in progress was just cancelled: loading replaces it.
  state.busy = null;
  if (state.preview) {
    state.explanation = null;
    state.preview = false;
  }
  state.loading = { label, loaded: 0, total: 0 };
  state.modelMessage = null;
  render();
  try {
    const files = await getFiles({
      signal,
      onProgress: (loaded, total) => {
        state.loading = { label, loaded, total };
        renderLoading();
      },
    });
    if (signal.aborted) throw new AbortError();
    state.loading = { label: `${label}: loading into the engine`, loaded: 0, total: 0 };
    renderLoading();
    const info = await pool.load(files, label);
    state.model = { name: label, info, examples: extra.examples ?? [] };
    state.analysis = null;
    state.explanation = null;
    state.input = null;
    state.options.target = '';
    state.trueLabel = '';
    state.runMessage = null;
    state.view.head.active = Array(info.heads).fill(true);
    state.view.head.layer = Math.min(state.view.head.layer, info.layers - 1);
    state.view.neuron = { layer: 0, head: 0, query: 0 };
    state.view.heatmap = { layer: 0, source: '0' };
    if (state.model.examples.length) state.text = state.model.examples[0];
    state.loading = null;
    render();
    if (state.text.trim()) await explain();
  } catch (e) {
    state.loading = null;
    if (!(e instanceof AbortError)) {
      const kept = state.model ? ` The model in use is still ${state.model.name}.` : '';
      state.modelMessage = { kind: 'error', text: `${label} could not be loaded: ${e.message}.${kept}` };
    }
    render();
  }
}

function loadFromCatalog(entry) {
  const base = new URL(entry.base, document.baseURI).href;
  return loadModel(entry.name, (opts) => fetchModel(base, entry.files.map((f) => (typeof f === 'string' ? { name: f } : f)), opts), entry);
}

function loadFromFiles(fileList, label) {
  return loadModel(label, async () => {
    const files = await (fileList instanceof DataTransfer ? readDrop(fileList) : readFiles(fileList));
    if (!files.length) throw new Error('none of these files is part of a model (config.json, tokenizer.json, *.safetensors, *.pt)');
    return files;
  });
}

// ---- explanation ---------------------------------------------------------------------

function currentInput() {
  return { text: state.text, pair: state.pairOn && state.pair.trim() ? state.pair : null };
}

/** `n_steps` as typed: "auto", or a whole number of steps in [1, 2000] (50 if unreadable). */
function parseSteps(v) {
  const t = String(v).trim().toLowerCase();
  if (t === 'auto') return 'auto';
  return Math.max(1, Math.min(2000, Math.round(Number(t)) || 50));
}

/** The options the core takes, from the form's state. */
function coreOptions() {
  const o = state.options;
  const opts = {
    method: o.method,
    target: o.target === '' ? null : Number(o.target),
    n_steps: o.n_steps === 'auto' ? 'auto' : Number(o.n_steps) || 50,
    tolerance: o.tolerance,
    integration: o.integration,
    baseline: o.baseline,
    output: o.output,
    rollout_row: o.rollout_row,
    words: true,
  };
  if (o.layer) opts.layer = o.layer;
  return opts;
}

/** A forward pass with attentions, then the attribution. */
async function explain() {
  if (!state.model) return;
  const input = currentInput();
  const signal = startJob();
  state.runMessage = null;
  state.busy = { label: 'reading the text', done: 0, total: 0 };
  render();
  // For Integrated Gradients, the saliency preview starts at once on another
  // worker, beside the forward pass that reads the attention.
  const opts = coreOptions();
  const preview = opts.method === 'ig' ? saliencyPreview(input, opts) : null;
  preview?.catch(() => {}); // its error, if any, is the forward pass's too
  try {
    const analysis = await pool.call(0, 'attentions', { ...input, options: { target: opts.target } });
    if (signal.aborted) throw new AbortError();
    state.analysis = analysis;
    state.input = input;
    state.explanation = null;
    state.view.neuron.query = Math.min(state.view.neuron.query, analysis.tokens - 1);
    state.view.head.hover = null;
    render();
    await attribute(signal, preview);
  } catch (e) {
    finishWithError(e, signal);
  }
}

/** Saliency with `opts` otherwise (one backward pass), from the last worker. */
function saliencyPreview(input, opts) {
  return pool.call(pool.size - 1, 'attribute', { ...input, options: { ...opts, method: 'saliency' } });
}

/**
 * The attribution alone, for the input already analysed (a new target or
 * method). `preview`: the saliency preview, if already asked for.
 */
async function attribute(signal = startJob(), preview = null) {
  if (!state.analysis) return explain();
  const opts = coreOptions();
  const req = { ...state.input, options: opts };
  const ig = opts.method === 'ig';
  const auto = opts.n_steps === 'auto';
  state.busy = { label: ig ? 'Integrated Gradients' : 'attributing', done: 0, total: ig && !auto ? opts.n_steps : 0 };
  render();
  try {
    if (ig) {
      // Progressive: one backward pass shows the gradient's saliency at once,
      // while Integrated Gradients refines.
      const quick = await (preview ?? saliencyPreview(state.input, opts));
      if (signal.aborted) throw new AbortError();
      state.explanation = quick;
      state.preview = true;
      render();
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
            renderBusy();
          },
        })
      : await pool.call(0, 'attribute', req);
    if (signal.aborted) throw new AbortError();
    state.explanation = e;
    state.preview = false;
    state.busy = null;
    render();
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
  if (e instanceof AbortError) {
    state.runMessage = { kind: 'info', text: 'Cancelled.' };
  } else {
    state.runMessage = { kind: 'error', text: e.message };
  }
  render();
}

// ---- rendering -----------------------------------------------------------------------

/** Renders a section only when what it shows has changed. */
const memo = new Map();
function changed(key, deps) {
  const old = memo.get(key);
  if (old && old.length === deps.length && old.every((d, i) => d === deps[i])) return false;
  memo.set(key, deps);
  return true;
}

function render() {
  renderModelPanel();
  renderLoading();
  renderInputPanel();
  renderBusy();
  renderResults();
}

function renderModelPanel() {
  const m = state.model;
  fill(
    $('model-status'),
    m
      ? [
          h('strong', { id: 'model-name' }, m.name),
          h('span', null, ` ${m.info.architecture ?? m.info.model_type}: ${m.info.layers} layers × ${m.info.heads} heads, ${m.info.labels.length} classes, up to ${m.info.max_tokens} tokens`),
          h('span', { class: 'muted' }, ` · ${pool.size} worker${pool.size > 1 ? 's' : ''}`),
        ]
      : state.loading
        ? 'loading a model…'
        : 'no model loaded',
  );
  const msg = $('model-message');
  msg.className = `message ${state.modelMessage?.kind ?? ''}`;
  msg.textContent = state.modelMessage?.text ?? '';
  if (changed('catalog', [state.catalog])) {
    fill($('model-select'), state.catalog.map((c, i) => h('option', { value: i }, c.name)));
  }
}

function renderLoading() {
  const l = state.loading;
  $('model-progress').hidden = !l;
  if (!l) return;
  const bar = $('model-progress-bar');
  if (l.total > 0) {
    bar.max = l.total;
    bar.value = l.loaded;
  } else {
    bar.removeAttribute('value');
  }
  const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
  $('model-progress-text').textContent = l.total > 0 ? `${l.label}: ${mb(l.loaded)} of ${mb(l.total)}` : l.label;
}

function renderInputPanel() {
  const m = state.model;
  const text = $('text');
  if (text.value !== state.text) text.value = state.text;
  $('pair-on').checked = state.pairOn;
  $('pair').hidden = !state.pairOn;
  if ($('pair').value !== state.pair) $('pair').value = state.pair;
  if (changed('labels', [m])) {
    const labels = m?.info.labels ?? [];
    const opts = (first) => [h('option', { value: '' }, first), labels.map((l, i) => h('option', { value: String(i) }, `${l}`))];
    fill($('opt-target'), opts('predicted class'));
    fill($('true-label'), opts('—'));
    fill($('examples'), h('option', { value: '' }, '—'), (m?.examples ?? []).map((x) => h('option', { value: x }, x)));
  }
  $('opt-target').value = state.options.target;
  $('true-label').value = state.trueLabel;
  const o = state.options;
  $('opt-method').value = o.method;
  $('opt-steps').value = o.n_steps;
  $('opt-tolerance').value = String(o.tolerance);
  $('opt-integration').value = o.integration;
  $('opt-baseline').value = o.baseline;
  $('opt-layer').value = o.layer;
  $('opt-output').value = o.output;
  $('opt-row').value = o.rollout_row;
  for (const el of document.querySelectorAll('.options [data-for]')) {
    const f = el.dataset.for;
    el.hidden = !(
      f === o.method ||
      (f === 'grad' && o.method !== 'rollout') ||
      (f === 'auto' && o.method === 'ig' && o.n_steps === 'auto')
    );
  }
  $('explain').disabled = !m || Boolean(state.loading);
  const msg = $('run-message');
  msg.className = `message ${state.runMessage?.kind ?? ''}`;
  msg.textContent = state.runMessage?.text ?? '';
}

function renderBusy() {
  const b = state.busy;
  $('run-progress').hidden = !b;
  $('cancel').hidden = !b && !state.loading;
  if (!b) return;
  const bar = $('run-progress-bar');
  if (b.total > 0) {
    bar.max = b.total;
    bar.value = b.done;
  } else {
    bar.removeAttribute('value');
  }
  $('run-progress-text').textContent =
    b.total > 0 ? `${b.label}: step ${b.done} of ${b.total}` : b.note ? `${b.label}: ${b.note}` : `${b.label}…`;
}

function labelsOf(analysis, input) {
  return tokenLabels(analysis.explanation, [input.text, input.pair ?? '']);
}

function renderResults() {
  const a = state.analysis;
  $('results').hidden = !a;
  if (!a) return;
  const e0 = a.explanation;
  const labels = labelsOf(a, state.input);
  const target = state.options.target === '' ? null : Number(state.options.target);
  if (changed('prediction', [a, target, state.view.showAll])) {
    renderPrediction(
      $('prediction'),
      { ...e0, target, maxTokens: state.model.info.max_tokens, output: state.model.info.output },
      {
        showAll: state.view.showAll,
        onTarget: (i) => {
          state.options.target = i === e0.predicted && target === null ? '' : String(i);
          render();
          attribute();
        },
        onShowAll: (v) => {
          state.view.showAll = v;
          render();
        },
      },
    );
  }
  const e = state.explanation;
  if (changed('attribution', [e, state.view.words, state.trueLabel, state.busy === null, state.preview])) {
    $('unit-tokens').setAttribute('aria-pressed', String(!state.view.words));
    $('unit-words').setAttribute('aria-pressed', String(state.view.words));
    if (e) {
      const trueLabel = state.trueLabel === '' ? null : e.labels[Number(state.trueLabel)];
      renderAttribution($('attribution'), { e, units: units(e, labels, state.view.words), trueLabel, preview: state.preview });
    } else {
      fill($('attribution'), h('p', { class: 'muted' }, state.busy ? 'Computing the attributions…' : 'No attributions yet.'));
    }
  }
  renderTabs(a, labels);
}

function renderTabs(a, labels) {
  const tab = state.view.tab;
  for (const t of ['head', 'model', 'neuron', 'heatmap']) {
    $(`view-${t}`).hidden = t !== tab;
    $(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
  }
  const data = { labels, att: a.probabilities, layers: a.layers, heads: a.heads, tokens: a.tokens, segments: segments(a.explanation), pair: isPair(a.explanation) };
  const v = state.view;
  if (tab === 'head' && changed('head', [a, v.head.layer, v.head.active.join(), v.head.filter, tab])) {
    renderHeadView($('view-head'), data, v.head, {
      onLayer: (l) => ((v.head.layer = l), render()),
      onFilter: (f) => ((v.head.filter = f), (v.head.hover = null), render()),
      onToggle: (k) => ((v.head.active[k] = !v.head.active[k]), render()),
      onIsolate: (k) => {
        const only = v.head.active.every((on, i) => on === (i === k));
        v.head.active = v.head.active.map((_, i) => only || i === k);
        render();
      },
      onHover: (hit) => {
        v.head.hover = hit;
        drawHeadView($('head-canvas'), data, v.head);
      },
    });
  }
  if (tab === 'model' && changed('model', [a, tab])) {
    renderModelView($('view-model'), data, {
      onOpen: (l, k) => {
        v.tab = 'head';
        v.head.layer = l;
        v.head.active = v.head.active.map((_, i) => i === k);
        v.head.hover = null;
        render();
      },
    });
  }
  if (tab === 'neuron' && changed('neuron', [a, v.neuron.layer, v.neuron.head, v.neuron.query, tab])) {
    renderNeuronView($('view-neuron'), { analysis: a, labels }, v.neuron, {
      onLayer: (l) => ((v.neuron.layer = l), render()),
      onHead: (k) => ((v.neuron.head = k), render()),
      onQuery: (q) => ((v.neuron.query = q), render()),
    });
  }
  if (tab === 'heatmap' && changed('heatmap', [a, v.heatmap.layer, v.heatmap.source, tab])) {
    renderHeatmap($('view-heatmap'), { analysis: a, labels }, v.heatmap, {
      onLayer: (l) => ((v.heatmap.layer = l), render()),
      onSource: (s) => ((v.heatmap.source = s), render()),
    });
  }
}

// ---- events --------------------------------------------------------------------------

function bind() {
  $('text').addEventListener('input', (ev) => (state.text = ev.target.value));
  $('text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      explain();
    }
  });
  $('pair').addEventListener('input', (ev) => (state.pair = ev.target.value));
  $('pair-on').addEventListener('change', (ev) => {
    state.pairOn = ev.target.checked;
    render();
  });
  $('examples').addEventListener('change', (ev) => {
    if (!ev.target.value) return;
    state.text = ev.target.value;
    ev.target.value = '';
    render();
    explain();
  });
  $('true-label').addEventListener('change', (ev) => {
    state.trueLabel = ev.target.value;
    render();
  });
  $('explain').addEventListener('click', () => explain());
  $('cancel').addEventListener('click', () => job?.abort());
  $('model-cancel').addEventListener('click', () => job?.abort());

  const option = (id, key, parse = (v) => v) => {
    $(id).addEventListener('change', (ev) => {
      const value = parse(ev.target.value);
      // A field can report the same value twice (a script's event, then the browser's on blur).
      if (state.options[key] === value) return;
      state.options[key] = value;
      render();
      if (state.analysis) attribute();
    });
  };
  option('opt-method', 'method');
  option('opt-target', 'target');
  option('opt-steps', 'n_steps', parseSteps);
  option('opt-tolerance', 'tolerance', Number);
  option('opt-integration', 'integration');
  option('opt-baseline', 'baseline');
  option('opt-layer', 'layer');
  option('opt-output', 'output');
  option('opt-row', 'rollout_row');

  $('unit-tokens').addEventListener('click', () => ((state.view.words = false), render()));
  $('unit-words').addEventListener('click', () => ((state.view.words = true), render()));
  for (const b of document.querySelectorAll('.tabs [data-tab]')) {
    b.addEventListener('click', () => {
      state.view.tab = b.dataset.tab;
      render();
    });
  }

  $('model-select').addEventListener('change', (ev) => {
    const entry = state.catalog[Number(ev.target.value)];
    if (entry) loadFromCatalog(entry);
  });
  $('model-files').addEventListener('change', (ev) => {
    const files = [...ev.target.files];
    ev.target.value = '';
    if (files.length) loadFromFiles(files, files.length === 1 ? files[0].name : 'the chosen files');
  });
  $('model-folder').addEventListener('change', (ev) => {
    const files = [...ev.target.files];
    ev.target.value = '';
    const folder = files[0]?.webkitRelativePath?.split('/')[0] || 'the folder';
    if (files.length) loadFromFiles(files, folder);
  });
  $('url-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const url = $('model-url').value.trim();
    if (url) loadModel(url, (opts) => fetchFromUrl(url, opts));
  });
  // Drop a folder or files anywhere on the page.
  const zone = $('drop-zone');
  document.addEventListener('dragover', (ev) => {
    if ([...(ev.dataTransfer?.types ?? [])].includes('Files')) {
      ev.preventDefault();
      zone.classList.add('active');
    }
  });
  document.addEventListener('dragleave', (ev) => {
    if (ev.relatedTarget === null) zone.classList.remove('active');
  });
  document.addEventListener('drop', (ev) => {
    if (!ev.dataTransfer?.files?.length) return;
    ev.preventDefault();
    zone.classList.remove('active');
    const first = ev.dataTransfer.items?.[0]?.webkitGetAsEntry?.();
    loadFromFiles(ev.dataTransfer, first?.isDirectory ? first.name : 'the dropped files');
  });
  $('clear-cache').addEventListener('click', async () => {
    await clearCache();
    state.modelMessage = { kind: 'info', text: 'Downloaded models were forgotten; they will be fetched again when needed.' };
    render();
  });
}

// ---- start ---------------------------------------------------------------------------

function workerCount() {
  const asked = Number(new URLSearchParams(location.search).get('workers'));
  if (asked >= 1) return Math.min(16, Math.floor(asked));
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

async function start() {
  bind();
  render();
  let module;
  try {
    const url = new URL('../pkg/bertlens_wasm_bg.wasm', import.meta.url);
    module = await WebAssembly.compileStreaming(fetch(url)).catch(async () => {
      // A server that does not send application/wasm: compile from bytes.
      const res = await fetch(url);
      if (!res.ok) throw new Error(`pkg/bertlens_wasm_bg.wasm: ${res.status} (was the wasm built? make wasm)`);
      return WebAssembly.compile(await res.arrayBuffer());
    });
  } catch (e) {
    state.modelMessage = { kind: 'error', text: `The engine could not be loaded: ${e.message}` };
    render();
    return;
  }
  pool = new Pool({ size: workerCount(), module });
  try {
    const res = await fetch(new URL('models/index.json', document.baseURI));
    state.catalog = res.ok ? (await res.json()).models ?? [] : [];
  } catch {
    state.catalog = [];
  }
  render();
  const model = new URLSearchParams(location.search).get('model');
  if (model) {
    await loadModel(model, (opts) => fetchFromUrl(new URL(model, document.baseURI).href, opts));
  } else if (state.catalog.length) {
    await loadFromCatalog(state.catalog[0]);
  } else {
    state.modelMessage = { kind: 'info', text: 'No built-in model here: open or drop a model folder, or give its URL.' };
    render();
  }
}

// For the end-to-end tests and the curious: the state, read-only by convention.
globalThis.bertlens = { state, pool: () => pool };

start();

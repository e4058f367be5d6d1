// The page: the events that change `state` (state.js) through the actions
// (actions.js), and the start: the engine compiled once, the workers, the
// catalog of built-in models, the first model. render.js draws it all.

import { Pool } from './pool.js';
import { clearCache } from './models.js';
import { state, update, onUpdate } from './state.js';
import * as act from './actions.js';
import { render } from './render.js';
import * as data from './dataset.js';
import { loadDataset, setBadRows } from './readset.js';
import { fill, download } from './dom.js';
import { bindForm } from './form.js';
import { restoreLink, copyLink, checkLinkMethod } from './link.js';
import { initPrefs } from './prefs.js';
import { exportBar, slug } from './export.js';
import { renderStepsPanel, bindStepsPanel } from './stepspanel.js';
import { renderPresenter, bindPresenter } from './presenter.js';
import { viewSheet } from './views/css.js';

const $ = (id) => document.getElementById(id);

/** Ctrl+Enter (⌘+Enter) in a box explains it. */
function runOnCtrlEnter(ev) {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    act.explain();
  }
}

/** Puts `token` at the caret of the text box, with spaces around it as needed. */
function insertAtCaret(box, token) {
  const { selectionStart: a, selectionEnd: b, value } = box;
  const before = value.slice(0, a);
  const after = value.slice(b);
  const left = before && !/\s$/.test(before) ? ' ' : '';
  const right = after && !/^[\s.,;:!?]/.test(after) ? ' ' : '';
  const text = `${before}${left}${token}${right}${after}`;
  const caret = (before + left + token).length;
  return { text, caret };
}

function bindInput() {
  for (const [id, key] of [['text', 'text'], ['pair', 'pair'], ['question', 'question'], ['context', 'context']]) {
    $(id).addEventListener('input', (ev) => {
      state[key] = ev.target.value;
      if (state.restore) {
        state.restore = null; // the user typed on: their new text is theirs
        update();
      }
    });
    $(id).addEventListener('keydown', runOnCtrlEnter);
  }
  $('pair-on').addEventListener('change', (ev) => {
    state.pairOn = ev.target.checked;
    update();
  });
  $('insert-mask').addEventListener('click', () => {
    const token = state.model?.info.mask_token;
    if (!token) return;
    const box = $('text');
    const { text, caret } = insertAtCaret(box, token);
    state.text = text;
    update();
    box.focus();
    box.setSelectionRange(caret, caret);
  });
  $('examples').addEventListener('change', (ev) => {
    const i = ev.target.value;
    ev.target.value = '';
    const example = i === '' ? undefined : state.model?.examples[Number(i)];
    if (example !== undefined) act.useExample(example);
  });
  $('restore-text').addEventListener('click', () => act.restoreText());
  $('true-label').addEventListener('change', (ev) => {
    state.trueLabel = ev.target.value;
    update();
  });
  $('explain').addEventListener('click', () => act.explain());
  $('cancel').addEventListener('click', () => act.cancel());
  $('model-cancel').addEventListener('click', () => act.cancel());
}

function bindOptions() {
  bindForm();
  $('part-start').addEventListener('click', () => act.explainPart('start'));
  $('part-end').addEventListener('click', () => act.explainPart('end'));
  $('unit-tokens').addEventListener('click', () => ((state.view.words = false), update()));
  $('unit-words').addEventListener('click', () => ((state.view.words = true), update()));
  for (const b of document.querySelectorAll('.tabs [data-tab]')) {
    b.addEventListener('click', () => {
      state.view.tab = b.dataset.tab;
      update();
    });
  }
}

function bindModels() {
  $('model-select').addEventListener('change', (ev) => {
    const entry = state.catalog[Number(ev.target.value)];
    if (entry) act.loadFromCatalog(entry);
  });
  $('model-files').addEventListener('change', (ev) => {
    const files = [...ev.target.files];
    ev.target.value = '';
    if (files.length) act.loadFromFiles(files, files.length === 1 ? files[0].name : 'the chosen files');
  });
  $('model-folder').addEventListener('change', (ev) => {
    const files = [...ev.target.files];
    ev.target.value = '';
    const folder = files[0]?.webkitRelativePath?.split('/')[0] || 'the folder';
    if (files.length) act.loadFromFiles(files, folder);
  });
  $('url-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const url = $('model-url').value.trim();
    if (url) act.loadFromUrl(url);
  });
  // Drop a folder or files anywhere on the page.
  const zone = $('drop-zone');
  document.addEventListener('dragover', (ev) => {
    if ([...(ev.dataTransfer?.types ?? [])].includes('Files')) {
      ev.preventDefault();
      // In the workbench a drop is most likely a labelled set: its zone lights up.
      (state.view.mode === 'dataset' ? $('dataset-drop') : zone).classList.add('active');
    }
  });
  document.addEventListener('dragleave', (ev) => {
    if (ev.relatedTarget === null) for (const z of [zone, $('dataset-drop')]) z.classList.remove('active');
  });
  document.addEventListener('drop', (ev) => {
    if (!ev.dataTransfer?.files?.length) return;
    ev.preventDefault();
    for (const z of [zone, $('dataset-drop')]) z.classList.remove('active');
    // In the workbench, one data file dropped is a labelled set, not a model.
    const files = ev.dataTransfer.files;
    if (state.view.mode === 'dataset' && files.length === 1 && DATA_FILE.test(files[0].name)) {
      loadDataset({ file: files[0] });
      return;
    }
    const first = ev.dataTransfer.items?.[0]?.webkitGetAsEntry?.();
    act.loadFromDrop(ev.dataTransfer, first?.isDirectory ? first.name : 'the dropped files');
  });
  $('clear-cache').addEventListener('click', async () => {
    await clearCache();
    state.modelMessage = { kind: 'info', text: 'Downloaded models were forgotten; they will be fetched again when needed.' };
    update();
  });
}

/** A file the workbench reads (rather than a model's). */
const DATA_FILE = /\.(csv|tsv|tab|jsonl|ndjson|txt)$/i;

function bindDataset() {
  for (const b of document.querySelectorAll('.modes [data-mode]')) {
    b.addEventListener('click', () => {
      state.view.mode = b.dataset.mode;
      update();
    });
  }
  $('dataset-file').addEventListener('change', (ev) => {
    const file = ev.target.files[0];
    ev.target.value = '';
    if (file) loadDataset({ file });
  });
  $('dataset-paste-read').addEventListener('click', () => loadDataset({ text: $('dataset-paste').value }));
  $('dataset-bad-mode').addEventListener('change', (ev) => setBadRows(ev.target.value));
  for (const role of ['text', 'pair', 'label']) {
    $(`col-${role}`).addEventListener('change', (ev) => data.setColumn(role, Number(ev.target.value)));
  }
  $('dataset-run').addEventListener('click', () => data.runDataset());
  $('dataset-cancel').addEventListener('click', () => data.cancelRun());
  const filter = (id, key, event = 'change') =>
    $(id).addEventListener(event, (ev) => {
      const view = state.dataset.view;
      view[key] = ev.target.value;
      if (key === 'truth' || key === 'predicted') view.cell = null;
      update();
    });
  filter('filter-sort', 'sort');
  filter('filter-truth', 'truth');
  filter('filter-predicted', 'predicted');
  filter('filter-query', 'query', 'input');
  filter('filter-min', 'minWords', 'input');
  filter('filter-max', 'maxWords', 'input');
  $('anchor-run').addEventListener('click', () => data.findAnchor());
  $('cf-run').addEventListener('click', () => data.findCounterfactuals());
  $('cf-target').addEventListener('change', (ev) => {
    state.view.counterfactual.target = ev.target.value;
    update();
  });
  $('cf-edits').addEventListener('change', (ev) => {
    state.view.counterfactual.maxEdits = ev.target.value;
    update();
  });
  $('faith-run').addEventListener('click', () => data.evaluateFaithfulness($('faith-perturb').checked));
  $('words-method').addEventListener('change', (ev) => {
    state.dataset.view.wordsMethod = ev.target.value;
    update();
  });
  $('words-run').addEventListener('click', () => data.computeWords());
  $('setfaith-scope').addEventListener('change', (ev) => {
    state.dataset.view.faithScope = ev.target.value;
    update();
  });
  $('setfaith-limit').addEventListener('input', (ev) => {
    state.dataset.view.faithLimit = ev.target.value;
    update();
  });
  $('setfaith-removal').addEventListener('change', (ev) => {
    state.dataset.view.faithRemoval = ev.target.value;
    update();
  });
  $('setfaith-perturb').addEventListener('change', (ev) => {
    state.dataset.view.faithPerturb = ev.target.checked;
    update();
  });
  $('setfaith-run').addEventListener('click', () => data.evaluateSetFaithfulness());
  $('probe-pool').addEventListener('change', (ev) => {
    state.dataset.view.probePool = ev.target.value;
    update();
  });
  $('probe-run').addEventListener('click', () => data.runProbe());
  $('probe-cancel').addEventListener('click', () => data.cancelRun());
  $('share').addEventListener('click', copyLink);
  $('save-json').addEventListener('click', saveJson);
  $('setfaith-cancel').addEventListener('click', () => data.cancelRun());
  $('words-cancel').addEventListener('click', () => data.cancelRun());
  $('words-class').addEventListener('change', (ev) => {
    state.dataset.view.wordsClass = ev.target.value;
    update();
  });
  $('filter-clear').addEventListener('click', () => {
    Object.assign(state.dataset.view, { truth: '', predicted: '', query: '', minWords: '', maxWords: '', cell: null });
    update();
  });
}

// ---- start ---------------------------------------------------------------------------

/** `?device=auto|cpu|webgpu`: where attribution's passes run (auto by default). */
function deviceChoice() {
  const asked = new URLSearchParams(location.search).get('device');
  return ['auto', 'cpu', 'webgpu', 'gpu'].includes(asked) ? asked.replace(/^gpu$/, 'webgpu') : 'auto';
}

function workerCount() {
  const asked = Number(new URLSearchParams(location.search).get('workers'));
  if (asked >= 1) return Math.min(16, Math.floor(asked));
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

/**
 * The explanation shown as JSON: the schema of `bertlens explain --json`
 * (with the text it is of), which `<bert-lens src>` draws.
 */
function saveJson() {
  const saved = savedExplanation();
  if (!saved) {
    fill($('share-status'), 'Nothing explained yet.');
    return;
  }
  download(`bertlens-${slug(saved.text, 'explanation')}.json`, JSON.stringify(saved), 'application/json');
}

/** The explanation shown, with the text it is of (the schema `<bert-lens src>` reads); null before one. */
function savedExplanation() {
  const e = state.explanation;
  if (!e || !state.input || state.preview) return null;
  const { text, pair } = state.input;
  return { ...e, text, ...(pair ? { pair } : {}) };
}

/**
 * Export buttons (SVG, PNG at 2×; HTML for the attribution record) on each
 * panel that draws a view; each exports what the panel shows, as shown.
 */
function bindExports() {
  const about = () => slug(state.input?.text, 'view');
  const panels = [
    { panel: 'prediction-panel', target: () => $('prediction'), name: () => `prediction-${about()}` },
    {
      panel: 'attribution-panel',
      target: () => $('attribution'),
      name: () => `attribution-${about()}`,
      html: () => ({
        note: `Exported from bertlens (${state.model?.name ?? 'a model'}, ${state.explanation?.method ?? ''}); the explanation's JSON (bertlens explain --json) is inside this file.`,
        json: savedExplanation(),
      }),
    },
    { panel: 'attention-panel', target: () => $(`view-${state.view.tab}`), name: () => `attention-${state.view.tab}-${about()}` },
    { panel: 'steps-panel', target: () => $('step-body'), name: () => `steps-${about()}` },
    { panel: 'igpath-panel', target: () => $('igpath'), name: () => `ig-path-${about()}` },
    { panel: 'lens-panel', target: () => $('lens'), name: () => `lens-${about()}` },
    { panel: 'faithfulness-panel', target: () => $('faithfulness'), name: () => `faithfulness-${about()}` },
    { panel: 'dataset-panel', target: () => $('dataset-results'), name: () => 'workbench' },
  ];
  for (const p of panels) {
    const bar = exportBar({
      ...p,
      title: () => `bertlens: ${p.name()}`,
      onError: (m) => fill($('share-status'), m),
    });
    $(p.panel).querySelector('h2').after(bar);
  }
}

async function start() {
  onUpdate(() => {
    render();
    renderStepsPanel();
    renderPresenter();
  });
  // The views' shared rules (the element adopts the same sheet).
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, viewSheet()];
  // The theme and palette first: what is drawn below uses them; a new palette redraws.
  initPrefs(update);
  const shared = restoreLink();
  bindInput();
  bindOptions();
  bindModels();
  bindDataset();
  bindExports();
  bindStepsPanel();
  bindPresenter();
  update();
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
    update();
    return;
  }
  const pool = new Pool({ size: workerCount(), module, device: deviceChoice() });
  act.setPool(pool);
  act.setHooks({ modelChanged: data.modelChanged, explained: data.findNeighbours });
  $('device-select').value = pool.deviceChoice;
  $('device-select').addEventListener('change', (ev) => act.placeOn(ev.target.value));
  // The engine's own vocabulary: its methods (the menu, each one's fields) and defaults.
  try {
    state.vocabulary = await pool.vocabulary;
    checkLinkMethod();
  } catch (e) {
    state.modelMessage = { kind: 'error', text: `The engine could not start: ${e.message}` };
    update();
    return;
  }
  try {
    const res = await fetch(new URL('models/index.json', document.baseURI));
    state.catalog = res.ok ? ((await res.json()).models ?? []) : [];
  } catch {
    state.catalog = [];
  }
  update();
  // A shared link (share.js) names the model and holds the text and options.
  const keep = {};
  for (const k of ['target', 'contrast']) if (shared?.options[k]) keep[k] = shared.options[k];
  const entry = shared?.model?.id ? state.catalog.find((e) => e.id === shared.model.id) : null;
  const model = new URLSearchParams(location.search).get('model');
  if (shared?.model?.id && !entry) {
    state.modelMessage = { kind: 'error', text: `The link names the model “${shared.model.id}”, which this page does not have: open it, or another, below.` };
    update();
  } else if (entry) {
    await act.loadFromCatalog(entry, keep);
  } else if (shared?.model?.url) {
    await act.loadFromUrl(shared.model.url, keep);
  } else if (model) {
    await act.loadFromUrl(model);
  } else if (state.catalog.length) {
    await act.loadFromCatalog(state.catalog[0]);
  } else {
    state.modelMessage = { kind: 'info', text: 'No built-in model here: open or drop a model folder, or give its URL.' };
    update();
  }
}

// For the end-to-end tests and the curious: the state, read-only by convention.
globalThis.bertlens = { state, pool: () => act.getPool() };

start();

// What a <bert-lens> element shows, drawn by the page's own views
// (views/*.js) from one explanation: the JSON of `bertlens explain --json`
// or the engine's result, which are the same `Explanation` (types.js).
// Pure: `present(el, data, actions)` replaces el's children and may be re-run.

import { h, fill } from '../dom.js';
import { tokenLabels, units } from '../tokens.js';
import { PREDICTION_TITLES, ATTRIBUTION_TITLES } from '../task.js';
import { renderPrediction } from '../views/prediction.js';
import { renderAnswer } from '../views/answer.js';
import { renderEntities } from '../views/entities.js';
import { renderFillers } from '../views/fillers.js';
import { renderAttribution } from '../views/attribution.js';
import { renderHeatmap, heatmapAsk } from '../views/heatmap.js';
import { renderIgPath } from '../views/igpath.js';
import { renderLens } from '../views/lens.js';
import { renderCounterfactuals } from '../views/counterfactual.js';
import { ATTENTION_VIEWS as LIVE_ATTENTION, presentAttention } from './attention.js';

/** The views `view` names: one, or a list (`"prediction attribution head"`, commas or spaces). */
export function viewList(view) {
  const list = String(view || 'attribution')
    .split(/[\s,]+/)
    .filter(Boolean);
  return list.length ? list : ['attribution'];
}

/** The views an element draws from an explanation alone. */
export const VIEWS = ['attribution', 'prediction', 'all'];

/** Views of the attention: a saved explanation does not carry it. */
const ATTENTION_VIEWS = ['heatmap', 'rollout', 'head', 'model', 'neuron', 'steps'];

/** The views only a live element draws. */
export const LIVE_ONLY = ['heatmap', 'rollout', 'head', 'model', 'neuron', 'steps', 'ig-path', 'lens', 'counterfactual'];

/** The fields an explanation must have for any view. */
const REQUIRED = ['task', 'tokens', 'offsets', 'sequence_ids', 'word_ids', 'attributions'];

/**
 * Checks that `json` is an explanation (`bertlens explain --json`), and
 * returns it; throws a message a reader of the page can act on.
 */
export function asExplanation(json, where = 'the file') {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${where} is not an explanation: expected the JSON object of bertlens explain --json`);
  }
  const missing = REQUIRED.filter((k) => !(k in json));
  if (missing.length) {
    throw new Error(`${where} is not an explanation of bertlens explain --json: it lacks ${missing.join(', ')}`);
  }
  if (!Array.isArray(json.tokens) || json.attributions.length !== json.tokens.length) {
    throw new Error(`${where}: its attributions and tokens differ in number`);
  }
  return json;
}

/** A token as written, without its vocabulary's marks of a word's start or continuation. */
function surface(token) {
  return token.replace(/^##/, '').replace(/^[▁Ġ]/, '');
}

/**
 * The text of sequence `seq` rebuilt from its tokens and their offsets,
 * for a saved explanation given without its text: each token's spelling
 * at its offsets (lower-cased where the tokenizer lower-cases), spaces
 * between.
 */
export function rebuildText(e, seq) {
  let end = 0;
  e.tokens.forEach((_, i) => {
    if (e.sequence_ids[i] === seq) end = Math.max(end, e.offsets[i][1]);
  });
  const chars = Array(end).fill(' ');
  e.tokens.forEach((tok, i) => {
    if (e.sequence_ids[i] !== seq) return;
    const [a, b] = e.offsets[i];
    const s = Array.from(surface(tok));
    for (let k = a; k < b; k++) chars[k] = s[k - a] ?? chars[k];
  });
  return chars.join('');
}

/**
 * The texts an explanation is of: as given (attributes, or a `text`
 * field), else rebuilt from the tokens.
 * @param {object} e
 * @param {{text?: string|null, pair?: string|null}} given  for question answering: text = question, pair = context
 * @returns {[string, string]}
 */
export function textsOf(e, given = {}) {
  const hasPair = e.sequence_ids.includes(1);
  const text = given.text ?? e.text ?? rebuildText(e, 0);
  const pair = hasPair ? (given.pair ?? e.pair ?? rebuildText(e, 1)) : '';
  return [text, pair];
}

const NO_ACTIONS = { onTarget: null, onShowAll: () => {} };

/**
 * @param {HTMLElement} el
 * @param {{e: object, view: string, texts: [string, string], words?: boolean, showAll?: boolean,
 *          maxTokens?: number, preview?: boolean, answer?: number, activation?: string}} data
 *   answer: which of the answers is explained (question answering); live: analysis, the forward
 *   pass with its attention (heatmap, head, model, neuron, steps); igPath, the Integrated Gradients
 *   path (ig-path); lens, the lens on every layer (lens); counterfactual, {result, error} of the search (counterfactual); steps, stepsError: the step-through's numbers; attention: the attention views'
 *   state (element/attention.js); heatmap: the heatmap's {layer, source}
 * @param {{onTarget?: ((i: number) => void) | null, onShowAll?: (v: boolean) => void,
 *          onToken?: (i: number) => void, onFiller?: (mask: number, id: number) => void,
 *          onAnswer?: (k: number) => void}} actions  absent: the view only shows (a saved explanation)
 */
export function present(el, data, actions = NO_ACTIONS) {
  const views = viewList(data.view);
  if (views.length > 1) {
    // A list: each view in turn, drawn alike.
    const parts = views.map(() => h('div', { class: 'view-part' }));
    fill(el, parts);
    views.forEach((v, i) => present(parts[i], { ...data, view: v }, actions));
    return;
  }
  if (views[0] === 'rollout') {
    // The attention rollout: the heatmap of its matrix.
    present(el, { ...data, view: 'heatmap', heatmap: { ...data.heatmap, source: 'rollout' } }, actions);
    return;
  }
  const e = data.e;
  const view = views[0];
  if (view === 'ig-path') {
    igPath(el, data);
    return;
  }
  if (view === 'lens') {
    lens(el, data);
    return;
  }
  if (view === 'counterfactual') {
    counterfactual(el, data, actions);
    return;
  }
  if (view === 'heatmap' && data.analysis) {
    // Live: the forward pass's attention, as the page's heatmap tab draws it.
    const box = h('section', { part: 'heatmap', class: 'heatmap-view', 'aria-label': 'Attention heatmap' });
    // Its maps (the layer's heads, or the rollout) asked for when drawn; drawn again once in.
    const maps = data.analysis.maps(heatmapAsk(data.heatmap), () => actions.redraw?.());
    renderHeatmap(box, { analysis: data.analysis, labels: tokenLabels(data.analysis.explanation, data.texts), maps }, data.heatmap, {
      onLayer: actions.onHeatmap ? (l) => actions.onHeatmap({ ...data.heatmap, layer: l }) : () => {},
      onSource: actions.onHeatmap ? (s) => actions.onHeatmap({ ...data.heatmap, source: s }) : () => {},
    });
    fill(el, box);
    return;
  }
  if (LIVE_ATTENTION.includes(view) && data.live) {
    if (!data.analysis) {
      fill(el, h('p', { class: 'muted', role: 'note' }, 'Computing the attention…'));
      return;
    }
    const labels = tokenLabels(data.analysis.explanation, data.texts);
    presentAttention(
      el,
      { view, analysis: data.analysis, labels, features: data.features, steps: data.steps, stepsError: data.stepsError },
      data.attention,
      { redraw: actions.redraw ?? (() => {}), onSteps: actions.onSteps ?? (() => {}), onView: actions.onView },
    );
    return;
  }
  if (ATTENTION_VIEWS.includes(view)) {
    fill(
      el,
      h(
        'p',
        { class: 'message error', role: 'note' },
        data.live
          ? `The ${view} view is not drawn by <bert-lens> yet; its views: ${[...VIEWS, ...LIVE_ONLY].join(', ')}.`
          : `The ${view} view draws the model's attention, which a saved explanation (bertlens explain --json) does not carry; views of a saved explanation: ${VIEWS.join(', ')}.`,
      ),
    );
    return;
  }
  if (!VIEWS.includes(view)) {
    fill(el, h('p', { class: 'message error', role: 'note' }, `Unknown view “${view}”: use one of ${[...VIEWS, ...LIVE_ONLY].join(', ')}.`));
    return;
  }
  const labels = tokenLabels(e, data.texts);
  const sections = [];
  if (view === 'prediction' || view === 'all') {
    const box = h('section', { part: 'prediction', class: 'prediction', 'aria-label': PREDICTION_TITLES[e.task] ?? 'Prediction' });
    prediction(box, { ...data, labels }, actions);
    sections.push(box);
  }
  if (view === 'attribution' || view === 'all') {
    const box = h('section', { part: 'attribution', class: 'attribution', 'aria-label': ATTRIBUTION_TITLES[e.task] ?? 'Attributions' });
    if (e.attributions.length) {
      renderAttribution(box, { e, units: units(e, labels, Boolean(data.words)), trueLabel: undefined, labels, preview: Boolean(data.preview) });
    } else {
      fill(box, h('p', { class: 'muted' }, 'This explanation has no attributions.'));
    }
    sections.push(box);
  }
  fill(el, sections);
}

/**
 * view="ig-path", live only: the walk along the Integrated Gradients path
 * (views/igpath.js) at the element's number of steps; its slider is the
 * view's own.
 */
function igPath(el, data) {
  const path = data.igPath ?? null;
  if (!path) {
    const text = data.live
      ? 'Walking the Integrated Gradients path…'
      : 'The ig-path view walks the Integrated Gradients path point by point, which a saved explanation (bertlens explain --json) does not carry: give the element a model and a text (live) to walk it; views of a saved explanation: prediction, attribution, all.';
    fill(el, h('p', { class: data.live ? 'muted' : 'message error', role: 'note' }, text));
    return;
  }
  const box = h('section', { part: 'ig-path', class: 'igpath-view', 'aria-label': 'The Integrated Gradients path' });
  fill(el, box);
  const labels = tokenLabels(data.e, data.texts);
  const special = data.e.sequence_ids.map((x) => x === null);
  const ig = data.e.ig;
  const explained = data.e.method === 'ig' && ig && !ig.auto ? { integration: ig.integration, n_steps: ig.n_steps } : null;
  const draw = (k) => renderIgPath(box, { path, labels, special, explained }, { k }, { onStep: draw, onRule: null });
  draw(path.alphas.length - 1);
}

/** The lens on every layer (views/lens.js): live only; a saved explanation carries it only from `bertlens explain --lens`. */
function lens(el, data) {
  const layers = data.lens ?? data.e?.lens ?? null;
  if (!layers) {
    const text = data.live
      ? 'Reading every layer…'
      : 'The lens view reads what the head says at every layer: give the element a model and a text (live), or a saved explanation written by bertlens explain --lens.';
    fill(el, h('p', { class: data.live ? 'muted' : 'message error', role: 'note' }, text));
    return;
  }
  const box = h('section', { part: 'lens', class: 'lens-view', 'aria-label': 'What each layer would say' });
  fill(el, box);
  renderLens(box, { layers, task: data.e.task, labels: data.e.labels, tokens: tokenLabels(data.e, data.texts), target: data.e.target ?? null });
}

/**
 * What would change a classifier's prediction (views/counterfactual.js): live only, the
 * core's search run for the element's text; `actions.onText` explains a counterfactual's text.
 */
function counterfactual(el, data, actions) {
  const c = data.counterfactual;
  if (!c) {
    const text = data.live
      ? 'Searching for the fewest words to replace…'
      : 'The counterfactual view searches for the fewest words that change the prediction: give the element a model and a text (live).';
    fill(el, h('p', { class: data.live ? 'muted' : 'message error', role: 'note' }, text));
    return;
  }
  const box = h('section', { part: 'counterfactual', class: 'cf-view', 'aria-label': 'What would change the prediction' });
  fill(el, box);
  const [text, pair] = data.texts;
  const input = { text, pair: pair || null };
  renderCounterfactuals(box, { ...c, input, running: false }, input, { onTry: actions.onText ?? null });
}

function prediction(el, data, actions) {
  const { e, texts, labels } = data;
  const maxTokens = data.maxTokens ?? e.tokens.length;
  switch (e.task) {
    case 'question-answering':
      renderAnswer(el, { e, context: texts[1], answer: data.answer ?? 0, maxTokens }, { onAnswer: actions.onAnswer ?? null });
      break;
    case 'token-classification':
      renderEntities(
        el,
        { e, text: texts[0], token: e.token ?? null, labelled: e.probabilities?.length ? e : null, target: null, maxTokens, tokenLabels: labels, showAll: Boolean(data.showAll) },
        { onToken: actions.onToken ?? null, onLabel: actions.onTarget ?? null, onShowAll: actions.onShowAll ?? (() => {}), onWindows: actions.onWindows ?? null },
      );
      break;
    case 'fill-mask':
      renderFillers(
        el,
        { e, text: texts[0], mask: e.token ?? null, filler: e.target ?? null, maskToken: e.tokens[e.token] ?? '[MASK]', maxTokens },
        { onFiller: actions.onFiller ?? null, onWindows: actions.onWindows ?? null },
      );
      break;
    case 'encoder':
      fill(el, h('p', { class: 'headline' }, 'A bare encoder: it has no task head, so it predicts nothing; the attention rollout is shown.'));
      break;
    default:
      renderPrediction(el, { ...e, target: e.target ?? null, maxTokens, output: data.activation ?? 'softmax' }, {
        showAll: Boolean(data.showAll),
        onTarget: actions.onTarget ?? null,
        onShowAll: actions.onShowAll ?? (() => {}),
        onWindows: actions.onWindows ?? null,
      });
  }
}

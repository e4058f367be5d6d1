// The attention views of a live <bert-lens>: the page's head, model and
// neuron views and its step-through (views/*.js), each drawn from the forward
// pass the element ran, with the element's own view state (which layer,
// head, token, step) that the `layer`, `head` and `token` attributes set.
// Each view asks for the maps it shows when it is drawn (`analysis.maps`,
// which live.js gives it: maps.js).

import { h, fill } from '../dom.js';
import { segments, isPair } from '../tokens.js';
import { renderHeadView, drawHeadView, isolate, headAsk } from '../views/headview.js';
import { renderModelView } from '../views/modelview.js';
import { renderNeuronView, neuronAsk } from '../views/neuronview.js';
import { renderSteps } from '../views/steps.js';

/** The views drawn here. */
export const ATTENTION_VIEWS = ['head', 'model', 'neuron', 'steps'];

/**
 * The view state of an element, from its attributes: `layer`, `head`
 * (a number, or for the head view a list `0,3,5` of the heads shown) and
 * `token` (the query token).
 * @param {{layer?: string|null, head?: string|null, token?: string|null}} attrs
 */
export function viewState(attrs) {
  const int = (v, d) => (v !== null && v !== undefined && /^\d+$/.test(String(v).trim()) ? Number(v) : d);
  const heads = attrs.head && /^\d+(\s*,\s*\d+)*$/.test(attrs.head.trim()) ? attrs.head.split(',').map(Number) : null;
  const layer = int(attrs.layer, 0);
  const head = heads ? heads[0] : 0;
  const token = int(attrs.token, 1);
  return {
    head: { layer, active: [], only: heads, hover: null, filter: 'all' },
    neuron: { layer, head, query: token },
    steps: { layer, head, token, step: 0 },
  };
}

/** Keeps indices within the model's: a state made before the model was known. */
function clamp(v, a) {
  const fit = (x, n) => Math.max(0, Math.min(n - 1, x));
  v.head.layer = fit(v.head.layer, a.layers);
  if (v.head.active.length !== a.heads) v.head.active = Array.from({ length: a.heads }, (_, k) => !v.head.only || v.head.only.includes(k));
  v.neuron.layer = fit(v.neuron.layer, a.layers);
  v.neuron.head = fit(v.neuron.head, a.heads);
  v.neuron.query = fit(v.neuron.query, a.tokens);
  v.steps.layer = fit(v.steps.layer, a.layers);
  v.steps.head = fit(v.steps.head, a.heads);
  v.steps.token = fit(v.steps.token, a.tokens);
}

/**
 * Draws `view` into `el`.
 * @param {HTMLElement} el
 * @param {{view: string, analysis: object, labels: string[], features?: import('../types.js').AttentionFeatures, steps?: object | null, stepsError?: string | null}} data
 * @param {object} v  viewState(), changed in place by the reader
 * @param {{redraw: () => void, onSteps: (layer: number, token: number) => void}} actions
 *   redraw: draw again; onSteps: the step-through needs the steps of another layer or token
 */
export function presentAttention(el, data, v, actions) {
  const a = data.analysis;
  clamp(v, a);
  const box = h('section', { part: data.view, class: `${data.view}-view`, 'aria-label': TITLES[data.view] });
  fill(el, box);
  const labels = data.labels;
  const redraw = () => actions.redraw();
  const maps = (what) => a.maps(what, redraw);
  if (data.view === 'head') {
    const m = maps(headAsk(v.head));
    const hv = { labels, att: m?.probabilities ?? null, error: m?.error, layers: a.layers, heads: a.heads, tokens: a.tokens, segments: segments(a.explanation), pair: isPair(a.explanation) };
    let canvas = null;
    canvas = renderHeadView(box, hv, v.head, {
      onLayer: (l) => ((v.head.layer = l), redraw()),
      onFilter: (f) => ((v.head.filter = f), (v.head.hover = null), redraw()),
      onToggle: (k) => ((v.head.active[k] = !v.head.active[k]), redraw()),
      onIsolate: (k) => ((v.head.active = isolate(v.head.active, k)), redraw()),
      onHover: (hit) => {
        v.head.hover = hit;
        if (canvas) drawHeadView(canvas, hv, v.head);
      },
    });
  } else if (data.view === 'model') {
    const m = maps({ all: true });
    renderModelView(box, { att: m?.probabilities ?? null, error: m?.error, layers: a.layers, heads: a.heads, tokens: a.tokens, labels }, {
      // A thumbnail opens its head in the head view.
      onOpen: (l, k) => {
        v.head.layer = l;
        v.head.active = v.head.active.map((_, i) => i === k);
        actions.onView?.('head');
      },
    });
  } else if (data.view === 'neuron') {
    renderNeuronView(box, { analysis: a, labels, attention: data.features, maps: maps(neuronAsk(v.neuron)) }, v.neuron, {
      onLayer: (l) => ((v.neuron.layer = l), redraw()),
      onHead: (k) => ((v.neuron.head = k), redraw()),
      onQuery: (q) => ((v.neuron.query = q), redraw()),
    });
  } else {
    const s = data.steps && data.steps.layer === v.steps.layer && data.steps.token === v.steps.token ? data.steps : null;
    if (!s && !data.stepsError) actions.onSteps(v.steps.layer, v.steps.token);
    renderSteps(box, { s, labels, attention: data.features, busy: !s, error: data.stepsError ?? null, layers: a.layers, heads: a.heads }, v.steps, {
      onLayer: (l) => ((v.steps.layer = l), redraw()),
      onHead: (k) => ((v.steps.head = k), redraw()),
      onToken: (i) => ((v.steps.token = i), redraw()),
      onStep: (k) => {
        v.steps.step = k;
        redraw();
        el.querySelector('#step-body')?.focus({ preventScroll: true });
      },
    });
  }
}

const TITLES = {
  head: 'Attention: head view',
  model: 'Attention: model view',
  neuron: 'Attention: neuron view',
  steps: 'Step through attention',
};

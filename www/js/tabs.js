// The attention panel: four views of one forward pass (head view, model
// view, neuron view, heatmap), the open one drawn from `state.view`.

import { state, update } from './state.js';
import { memo } from './dom.js';
import { segments, isPair } from './tokens.js';
import { renderHeadView, drawHeadView } from './views/headview.js';
import { renderModelView } from './views/modelview.js';
import { renderNeuronView } from './views/neuronview.js';
import { renderHeatmap } from './views/heatmap.js';

const $ = (id) => document.getElementById(id);
const changed = memo();
export const TABS = ['head', 'model', 'neuron', 'heatmap'];

/**
 * @param {import('./types.js').Analysis} a
 * @param {string[]} labels  the tokens as shown
 */
export function renderTabs(a, labels) {
  const tab = state.view.tab;
  for (const t of TABS) {
    $(`view-${t}`).hidden = t !== tab;
    $(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
  }
  const names = state.model.info.task === 'question-answering' ? ['Question', 'Context'] : undefined;
  const data = { labels, att: a.probabilities, layers: a.layers, heads: a.heads, tokens: a.tokens, segments: segments(a.explanation), pair: isPair(a.explanation), names };
  const v = state.view;
  if (tab === 'head' && changed('head', [a, v.head.layer, v.head.active.join(), v.head.filter, tab])) {
    renderHeadView($('view-head'), data, v.head, {
      onLayer: (l) => ((v.head.layer = l), update()),
      onFilter: (f) => ((v.head.filter = f), (v.head.hover = null), update()),
      onToggle: (k) => ((v.head.active[k] = !v.head.active[k]), update()),
      onIsolate: (k) => {
        const only = v.head.active.every((on, i) => on === (i === k));
        v.head.active = v.head.active.map((_, i) => only || i === k);
        update();
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
        update();
      },
    });
  }
  if (tab === 'neuron' && changed('neuron', [a, v.neuron.layer, v.neuron.head, v.neuron.query, tab])) {
    renderNeuronView($('view-neuron'), { analysis: a, labels, family: state.model.info.model_type }, v.neuron, {
      onLayer: (l) => ((v.neuron.layer = l), update()),
      onHead: (k) => ((v.neuron.head = k), update()),
      onQuery: (q) => ((v.neuron.query = q), update()),
    });
  }
  if (tab === 'heatmap' && changed('heatmap', [a, v.heatmap.layer, v.heatmap.source, tab])) {
    renderHeatmap($('view-heatmap'), { analysis: a, labels }, v.heatmap, {
      onLayer: (l) => ((v.heatmap.layer = l), update()),
      onSource: (s) => ((v.heatmap.source = s), update()),
    });
  }
}

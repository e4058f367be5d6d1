// The attention panel: four views of one forward pass (head view, model
// view, neuron view, heatmap), the open one drawn from `state.view`, each
// from the maps it shows, asked for when first shown (`analysis.maps`,
// maps.js). The tabs follow WAI-ARIA's tabs pattern (one Tab stop, arrows
// move); a view redrawn while a control in it has focus gives the focus to
// the same control anew.

import { state, update } from './state.js';
import { memo } from './dom.js';
import { segments, isPair } from './tokens.js';
import { renderHeadView, drawHeadView, isolate, headAsk } from './views/headview.js';
import { renderModelView } from './views/modelview.js';
import { renderNeuronView, neuronAsk } from './views/neuronview.js';
import { renderHeatmap, heatmapAsk } from './views/heatmap.js';
import { THEME_EVENT } from './prefs.js';

const $ = (id) => document.getElementById(id);
const changed = memo();
export const TABS = ['head', 'model', 'neuron', 'heatmap'];

/** A selector for the same control after a redraw: its id, else its tag and data-*. */
export function focusKey(el) {
  if (el.id) return `#${CSS.escape(el.id)}`;
  const data = Object.entries(el.dataset).map(([k, v]) => `[data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${CSS.escape(v)}"]`);
  return data.length ? `${el.tagName.toLowerCase()}${data.join('')}` : null;
}

/** Runs `draw` (which refills `el`); where the focus was in `el`, puts it back on the same control. */
function keepFocus(el, draw) {
  const a = document.activeElement;
  const key = a && a !== el && el.contains(a) ? focusKey(a) : null;
  draw();
  const b = key && el.querySelector(key);
  if (b && b !== document.activeElement) b.focus({ preventScroll: true });
}

let tabKeys = false;
let redrawHead = null; // the head view's canvas drawn anew (in the theme's ink), once one is shown

/** ←/→, Home and End move between the tabs (and open them), as the tabs pattern has it. */
function bindTabKeys() {
  if (tabKeys) return;
  tabKeys = true;
  // A canvas keeps the colours it was drawn with: the head view's tokens are drawn anew in a new theme's.
  document.addEventListener(THEME_EVENT, () => redrawHead?.());
  document.querySelector('.tabs[role="tablist"]')?.addEventListener('keydown', (ev) => {
    const i = TABS.indexOf(ev.target.dataset?.tab);
    if (i < 0) return;
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    const next = $(`tab-${TABS[(to + TABS.length) % TABS.length]}`);
    next.click();
    next.focus();
  });
}

/**
 * @param {import('./types.js').Analysis} a
 * @param {string[]} labels  the tokens as shown
 */
export function renderTabs(a, labels) {
  const tab = state.view.tab;
  bindTabKeys();
  for (const t of TABS) {
    const [panel, button] = [$(`view-${t}`), $(`tab-${t}`)];
    panel.hidden = t !== tab;
    panel.setAttribute('aria-labelledby', `tab-${t}`);
    button.setAttribute('aria-controls', `view-${t}`);
    button.setAttribute('aria-selected', String(t === tab));
    button.tabIndex = t === tab ? 0 : -1;
  }
  const names = state.model.info.task === 'question-answering' ? ['Question', 'Context'] : undefined;
  const v = state.view;
  // Only the open view's maps are asked for; update() draws again once they are in.
  const maps = (what) => a.maps(what, () => update());
  const base = { labels, layers: a.layers, heads: a.heads, tokens: a.tokens, segments: segments(a.explanation), pair: isPair(a.explanation), names };
  const headMaps = tab === 'head' ? maps(headAsk(v.head)) : null;
  const data = { ...base, att: headMaps?.probabilities ?? null, error: headMaps?.error };
  redrawHead = () => data.att && $('head-canvas') && drawHeadView($('head-canvas'), data, v.head);
  if (tab === 'head' && changed('head', [a, headMaps, v.head.layer, v.head.active.join(), v.head.filter, tab])) {
    keepFocus($('view-head'), () => renderHeadView($('view-head'), data, v.head, {
      onLayer: (l) => ((v.head.layer = l), update()),
      onFilter: (f) => ((v.head.filter = f), (v.head.hover = null), update()),
      onToggle: (k) => ((v.head.active[k] = !v.head.active[k]), update()),
      onIsolate: (k) => ((v.head.active = isolate(v.head.active, k)), update()),
      onHover: (hit) => {
        v.head.hover = hit;
        drawHeadView($('head-canvas'), data, v.head);
      },
    }));
  }
  const all = tab === 'model' ? maps({ all: true }) : null;
  if (tab === 'model' && changed('model', [a, all, tab])) {
    keepFocus($('view-model'), () => renderModelView($('view-model'), { ...base, att: all?.probabilities ?? null, error: all?.error }, {
      onOpen: (l, k, keyboard = false) => {
        v.tab = 'head';
        v.head.layer = l;
        v.head.active = v.head.active.map((_, i) => i === k);
        v.head.hover = null;
        update();
        // The thumbnail is hidden now: the focus goes on to the head it opened.
        if (keyboard) $('head-canvas')?.focus();
      },
    }));
  }
  const neuron = tab === 'neuron' ? maps(neuronAsk(v.neuron)) : null;
  if (tab === 'neuron' && changed('neuron', [a, neuron, v.neuron.layer, v.neuron.head, v.neuron.query, tab])) {
    keepFocus($('view-neuron'), () => renderNeuronView($('view-neuron'), { analysis: a, labels, attention: state.model.info.attention, maps: neuron }, v.neuron, {
      onLayer: (l) => ((v.neuron.layer = l), update()),
      onHead: (k) => ((v.neuron.head = k), update()),
      onQuery: (q) => ((v.neuron.query = q), update()),
    }));
  }
  const heat = tab === 'heatmap' ? maps(heatmapAsk(v.heatmap)) : null;
  if (tab === 'heatmap' && changed('heatmap', [a, heat, v.heatmap.layer, v.heatmap.source, tab])) {
    keepFocus($('view-heatmap'), () => renderHeatmap($('view-heatmap'), { analysis: a, labels, maps: heat }, v.heatmap, {
      onLayer: (l) => ((v.heatmap.layer = l), update()),
      onSource: (s) => ((v.heatmap.source = s), update()),
    }));
  }
}

// The neuron view, after bertviz's `neuron_view`: for one layer, head and
// query token, the query vector q, each key vector k, their elementwise
// product, q·k, the scaled score q·k/√d and its softmax over the keys,
// which is the attention the model computed.

import { h, fill } from '../dom.js';
import { diverging, css } from '../colors.js';
import { fmt } from '../tokens.js';
import { numberSelect } from './headview.js';

/**
 * The numbers behind one row of attention, in float64.
 * @param {{queries: Float32Array, keys: Float32Array, heads: number, tokens: number, headDim: number}} a
 */
export function neuronData(a, layer, head, query) {
  const { heads, tokens: T, headDim: d } = a;
  const base = (layer * heads + head) * T * d;
  const q = a.queries.subarray(base + query * d, base + (query + 1) * d);
  const keys = [];
  const products = [];
  const dots = [];
  for (let j = 0; j < T; j++) {
    const k = a.keys.subarray(base + j * d, base + (j + 1) * d);
    const p = new Float64Array(d);
    let dot = 0;
    for (let c = 0; c < d; c++) {
      p[c] = q[c] * k[c];
      dot += p[c];
    }
    keys.push(k);
    products.push(p);
    dots.push(dot);
  }
  const scale = 1 / Math.sqrt(d);
  const scaled = dots.map((v) => v * scale);
  const max = Math.max(...scaled);
  const exps = scaled.map((v) => Math.exp(v - max));
  const sum = exps.reduce((x, y) => x + y, 0);
  return { q, keys, products, dots, scaled, softmax: exps.map((v) => v / sum), d };
}

function maxAbs(arrays) {
  let m = 1e-12;
  for (const a of arrays) for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function vectorCells(v, scale, what) {
  return h(
    'span',
    { class: 'vec' },
    Array.from(v, (x, c) => h('span', { class: 'cell', style: { backgroundColor: css(diverging(x / scale)) }, title: `${what}[${c}] = ${fmt(x, 4)}` })),
  );
}

/**
 * @param {HTMLElement} el
 * @param {{analysis: import('../types.js').Analysis, labels: string[]}} data
 * @param {{layer: number, head: number, query: number}} view
 * @param {{onLayer: Function, onHead: Function, onQuery: Function}} actions
 */
export function renderNeuronView(el, data, view, actions) {
  const a = data.analysis;
  const query = Math.min(view.query, a.tokens - 1);
  const n = neuronData(a, view.layer, view.head, query);
  const vecScale = maxAbs([n.q, ...n.keys]);
  const prodScale = maxAbs(n.products);
  const attRow = a.probabilities.subarray(((view.layer * a.heads + view.head) * a.tokens + query) * a.tokens, ((view.layer * a.heads + view.head) * a.tokens + query + 1) * a.tokens);
  const controls = h(
    'div',
    { class: 'controls' },
    numberSelect('Layer', a.layers, view.layer, actions.onLayer, 'neuron-layer'),
    numberSelect('Head', a.heads, view.head, actions.onHead, 'neuron-head'),
    h(
      'label',
      { class: 'control' },
      'Query token ',
      h(
        'select',
        { id: 'neuron-query', onchange: (ev) => actions.onQuery(Number(ev.target.value)) },
        data.labels.map((l, i) => h('option', { value: i, selected: i === query }, `${i}: ${l}`)),
      ),
    ),
  );
  const rows = n.keys.map((k, j) =>
    h(
      'tr',
      { class: j === query ? 'is-query' : null, dataset: { key: j } },
      h('th', { class: 'tok-cell', scope: 'row', title: 'click to make this the query', onclick: () => actions.onQuery(j) }, data.labels[j]),
      h('td', null, vectorCells(k, vecScale, 'k')),
      h('td', null, vectorCells(n.products[j], prodScale, 'q×k')),
      h('td', { class: 'num dot', dataset: { value: n.dots[j] } }, fmt(n.dots[j], 4)),
      h('td', { class: 'num scaled', dataset: { value: n.scaled[j] } }, fmt(n.scaled[j], 4)),
      h(
        'td',
        { class: 'num softmax', dataset: { value: n.softmax[j], attention: attRow[j] } },
        h('span', { class: 'prob-bar', style: { width: `${(n.softmax[j] * 60).toFixed(1)}px` } }),
        ` ${fmt(n.softmax[j], 4)}`,
      ),
    ),
  );
  const table = h(
    'table',
    { class: 'neuron', id: 'neuron-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', null, 'key'),
        h('th', null, `key vector k (d = ${n.d})`),
        h('th', null, 'q × k (elementwise)'),
        h('th', null, 'q · k'),
        h('th', null, `q · k / √${n.d}`),
        h('th', null, 'softmax'),
      ),
    ),
    h('tbody', null, rows),
  );
  fill(
    el,
    controls,
    h(
      'p',
      { class: 'query-line' },
      'Query ',
      h('strong', null, data.labels[query]),
      ': q = ',
      vectorCells(n.q, vecScale, 'q'),
      h('span', { class: 'muted' }, ' blue negative, orange positive; hover a cell for its value'),
    ),
    h('div', { class: 'table-scroll' }, table),
  );
}

// The neuron view, after bertviz's `neuron_view`: for one layer, head and
// query token, the query vector q, each key vector k, their elementwise
// product, q·k, the score and its softmax over the keys, which is the
// attention the model computed. The score is what the family adds up:
// q·k·scale (1/√d; DeBERTa 1/√(3d)), plus DeBERTa's relative-position
// terms; ModernBERT's q and k are shown after the rotary rotation, and a
// sliding-window layer masks the keys farther than its window.

import { h, fill } from '../dom.js';
import { diverging, css } from '../colors.js';
import { fmt } from '../tokens.js';
import { numberSelect } from './headview.js';

/** What the neuron view shows of the maps (`AttentionAsk`): one head, with its vectors. */
export function neuronAsk(view) {
  return { layer: view.layer, head: view.head };
}

/**
 * The numbers behind one row of attention, in float64.
 * @param {import('../types.js').Analysis} a  the sizes, scale and windows
 * @param {import('../types.js').AttentionMaps} m  one head's maps (`neuronAsk`): its queries, keys and position terms
 */
export function neuronData(a, m, query) {
  const { tokens: T, headDim: d } = a;
  const q = m.queries.subarray(query * d, (query + 1) * d);
  const hasPosition = m.positionScores?.length > 0;
  const row = query * T;
  const window = a.windows?.[m.layer] ?? null;
  const scale = a.scale ?? 1 / Math.sqrt(d);
  const keys = [];
  const products = [];
  const dots = [];
  const scaled = [];
  const position = [];
  const scores = [];
  const masked = [];
  for (let j = 0; j < T; j++) {
    const k = m.keys.subarray(j * d, (j + 1) * d);
    const p = new Float64Array(d);
    let dot = 0;
    for (let c = 0; c < d; c++) {
      p[c] = q[c] * k[c];
      dot += p[c];
    }
    keys.push(k);
    products.push(p);
    dots.push(dot);
    scaled.push(dot * scale);
    position.push(hasPosition ? m.positionScores[row + j] : 0);
    scores.push(scaled[j] + position[j]);
    masked.push(window !== null && Math.abs(query - j) > window);
  }
  return { q, keys, products, dots, scaled, position, scores, masked, softmax: maskedSoftmax(scores, masked), d, scale, window, hasPosition };
}

/** The softmax of `scores` over the keys not `masked` (a masked key's weight is 0), in float64. */
export function maskedSoftmax(scores, masked) {
  let max = -Infinity;
  scores.forEach((v, j) => masked[j] || (max = Math.max(max, v)));
  const exps = scores.map((v, j) => (masked[j] ? 0 : Math.exp(v - max)));
  const sum = exps.reduce((x, y) => x + y, 0);
  return exps.map((v) => v / sum);
}

/** The scale as a formula: `1/√d`, `1/√(3d)`, or its value. */
export function scaleText(scale, d) {
  const n = 1 / (scale * scale * d);
  const r = Math.round(n);
  if (Math.abs(n - r) < 1e-3 && r >= 1) return r === 1 ? `1/√${d}` : `1/√(${r}·${d})`;
  return fmt(scale, 4);
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
 * @param {{analysis: import('../types.js').Analysis, labels: string[], attention?: import('../types.js').AttentionFeatures, maps: import('../types.js').AttentionMaps | {error: string} | null}} data
 *   attention: how the family's attention differs from BERT's (the model's info); maps: what `neuronAsk(view)` names (null while on its way)
 * @param {{layer: number, head: number, query: number}} view
 * @param {{onLayer: Function, onHead: Function, onQuery: Function}} actions
 */
export function renderNeuronView(el, data, view, actions) {
  const a = data.analysis;
  const query = Math.min(view.query, a.tokens - 1);
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
  const m = data.maps;
  if (!m || m.error) return fill(el, controls, h('p', { class: 'muted', id: 'neuron-wait', role: 'status' }, m?.error ?? 'Reading the attention maps…'));
  const n = neuronData(a, m, query);
  const vecScale = maxAbs([n.q, ...n.keys.filter((_, j) => !n.masked[j])]);
  const prodScale = maxAbs(n.products.filter((_, j) => !n.masked[j]));
  const attRow = m.probabilities.subarray(query * a.tokens, (query + 1) * a.tokens);
  const scaleT = scaleText(n.scale, n.d);
  const rows = n.keys.map((k, j) =>
    h(
      'tr',
      { class: `${j === query ? 'is-query' : ''}${n.masked[j] ? ' masked' : ''}`.trim() || null, dataset: { key: j } },
      h(
        'th',
        { class: 'tok-cell', scope: 'row' },
        // A button: the key is made the query by keyboard too.
        h('button', { type: 'button', class: 'tok-pick', title: 'make this token the query', dataset: { key: j }, onclick: () => actions.onQuery(j) }, data.labels[j]),
      ),
      h('td', null, vectorCells(k, vecScale, 'k')),
      h('td', null, vectorCells(n.products[j], prodScale, 'q×k')),
      h('td', { class: 'num dot', dataset: { value: n.dots[j] } }, fmt(n.dots[j], 4)),
      h('td', { class: 'num scaled', dataset: { value: n.scaled[j] } }, fmt(n.scaled[j], 4)),
      n.hasPosition ? h('td', { class: 'num position', dataset: { value: n.position[j] } }, `${n.position[j] >= 0 ? '+' : '−'}${fmt(Math.abs(n.position[j]), 4)}`) : null,
      n.hasPosition ? h('td', { class: 'num score', dataset: { value: n.scores[j] } }, fmt(n.scores[j], 4)) : null,
      h(
        'td',
        { class: 'num softmax', dataset: { value: n.softmax[j], attention: attRow[j], masked: n.masked[j] ? 'true' : null } },
        n.masked[j]
          ? h('span', { class: 'masked-note', title: `|${query} − ${j}| > ${n.window}: outside the sliding window` }, 'masked')
          : [h('span', { class: 'prob-bar', style: { width: `${(n.softmax[j] * 60).toFixed(1)}px` } }), ` ${fmt(n.softmax[j], 4)}`],
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
        h('th', null, `q · k × ${scaleT}`),
        n.hasPosition ? h('th', { title: "DeBERTa's disentangled attention: content→position and position→content terms, scaled" }, '+ position') : null,
        n.hasPosition ? h('th', null, '= score') : null,
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
      h('strong', null, `${data.labels[query]}:`),
      'q =',
      vectorCells(n.q, vecScale, 'q'),
      h('span', { class: 'muted' }, ' blue negative, orange positive; hover a cell for its value'),
    ),
    notes(data.attention, n, scaleT),
    h('div', { class: 'table-scroll' }, table),
  );
}

/** What this family adds to q·k (its attention features, as the core describes them), said beside the table. */
function notes(attention, n, scaleT) {
  const lines = [];
  if (n.hasPosition) {
    lines.push(
      `Score = q·k × ${scaleT} + the relative-position terms (DeBERTa's content→position and position→content attention, scaled alike); the softmax is over the score.`,
    );
  } else {
    lines.push(`Score = q·k × ${scaleT}; the softmax is over the score.`);
  }
  if (attention?.rotary) {
    lines.push('q and k are shown after the rotary position embedding (RoPE) rotates them: q·k already depends on how far apart the tokens are.');
  }
  if (n.window !== null) {
    lines.push(`This layer attends within a sliding window: keys more than ${n.window} tokens from the query are masked (no attention).`);
  }
  return h('ul', { class: 'notes', id: 'neuron-notes' }, lines.map((t) => h('li', null, t)));
}

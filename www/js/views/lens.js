// The lens on every layer: what the model's own head reads from each layer's
// hidden states (0: the embeddings' output; the last row is the prediction),
// the engine's `LensLayer[]`. A classifier: a layer × class table of
// probabilities, each a bar behind its number; fill-mask: the fillers each layer would
// choose; token classification: each token's label per layer; question
// answering: the answer each layer would give. Where in the depth a decision
// forms. Pure: data in, DOM out.

import { h, fill } from '../dom.js';
import { pct } from '../tokens.js';
import { fillerText } from './fillers.js';

/** Classes shown as columns: the last layer's most probable ones. */
const CLASSES = 6;

/**
 * The classes a classifier's table shows: the last layer's `CLASSES` most
 * probable, and `target` (the class explained) when it is not among them.
 */
export function lensColumns(layers, target = null) {
  const last = layers[layers.length - 1].probabilities;
  const order = last.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
  const shown = order.slice(0, CLASSES);
  if (target !== null && target < last.length && !shown.includes(target)) shown.push(target);
  return shown;
}

/** The index of the first layer from which the top reading stays what the last layer reads. */
export function settlesAt(readings) {
  let at = readings.length - 1;
  while (at > 0 && readings[at - 1] === readings[readings.length - 1]) at--;
  return at;
}

const argmax = (p) => p.reduce((b, x, i) => (x > p[b] ? i : b), 0);
const layerName = (l) => (l === 0 ? 'embeddings' : `layer ${l}`);
/** A cell's probability as a bar behind its text (the text keeps the ink's contrast). */
const shade = (p) => {
  const w = `${(100 * Math.min(1, Math.max(0, p))).toFixed(1)}%`;
  return { background: `linear-gradient(90deg, color-mix(in srgb, var(--accent) 38%, transparent) ${w}, transparent ${w})` };
};

/**
 * @param {HTMLElement} el
 * @param {{layers: object[], task: string, labels: string[], tokens: string[], target: number | null}} data
 */
export function renderLens(el, data) {
  const { layers, task, labels } = data;
  if (!layers?.length) {
    fill(el, h('p', { class: 'muted' }, 'Nothing to read.'));
    return;
  }
  // Per task: the columns' headers, a row's cells for a layer, and what each layer reads.
  let columns;
  let cells;
  let readings;
  const p = (x, text = pct(x), title = undefined) => h('td', { class: 'lens-p', style: shade(x), dataset: { p: x }, title }, text);
  if (task === 'sequence-classification') {
    const cols = lensColumns(layers, data.target);
    readings = layers.map((l) => labels[argmax(l.probabilities)]);
    columns = [...cols.map((c) => labels[c]), 'top class'];
    cells = (l, k) => [...cols.map((c) => p(l.probabilities[c])), h('td', { class: 'lens-top' }, readings[k])];
  } else if (task === 'fill-mask') {
    readings = layers.map((l) => l.fill[0]?.token ?? '');
    columns = layers[0].fill.map((_, i) => `filler ${i + 1}`);
    cells = (l) => l.fill.map((f) => p(f.score, `${fillerText(f.token)} ${pct(f.score)}`));
  } else if (task === 'token-classification') {
    readings = layers.map((l) => l.token_labels.map((t) => t.label).join(' '));
    columns = data.tokens;
    cells = (l) => l.token_labels.map((t) => p(t.score, t.label, pct(t.score)));
  } else {
    readings = layers.map((l) => l.answer?.text ?? '');
    columns = ['answer', 'p(start)·p(end)'];
    cells = (l) => [h('td', null, l.answer ? `“${l.answer.text}”` : 'none'), p(l.answer?.score ?? 0)];
  }
  const table = h(
    'table',
    { class: 'lens-table', id: 'lens-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'read at'), ...columns.map((c) => h('th', { scope: 'col', title: c }, c)))),
    h('tbody', null, ...layers.map((l, k) => h('tr', { dataset: { layer: l.layer } }, h('th', { scope: 'row' }, layerName(l.layer)), ...cells(l, k)))),
  );
  const at = settlesAt(readings);
  const last = layers.length - 1;
  const sentence =
    at === 0
      ? 'The head reads the final answer from the embeddings on: every layer agrees.'
      : at === last
        ? 'Only the last layer reads the final answer: the decision forms at the very end.'
        : `From ${layerName(layers[at].layer)} on, the head reads what the model finally says.`;
  fill(
    el,
    h('p', { class: 'muted' }, "The model's own head applied to each layer's hidden states (the embeddings' output first, the last layer's being the prediction): where in the depth the decision forms."),
    h('p', { id: 'lens-summary' }, sentence),
    h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'the lens on every layer' }, table),
  );
}

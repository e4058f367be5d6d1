// The probes of a set's labels, layer by layer (the core's `ProbeReport`,
// as `bertlens probe --json` writes it): the held-out accuracy of a linear
// probe on each layer beside its control task's (the labels shuffled) and
// the training rows', the most-frequent-label guess as the floor, and the
// table. Pure over its arguments: the workbench draws it from
// `state.dataset.probe`.

import { h, s, fill, tableHead as head } from '../dom.js';

const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** 2nd, 3rd, 5th, 11th, 21st… */
const ordinal = (n) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;

/** The curves drawn, each with the class that colours it and its legend. */
const CURVES = [
  { key: 'accuracy', cls: 'probe-acc', label: 'held-out accuracy' },
  { key: 'control_accuracy', cls: 'probe-control', label: 'control task (labels shuffled)' },
  { key: 'train_accuracy', cls: 'probe-train', label: 'training rows' },
];

const W = 520;
const H = 240;
const PAD = { left: 48, right: 18, top: 12, bottom: 38 };

/** Held-out, control and training accuracy per layer, and the majority guess as a line. */
export function probePlot(r, { id = 'probe-plot' } = {}) {
  const last = Math.max(1, r.layers.length - 1);
  const x = (l) => PAD.left + (l / last) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - v * (H - PAD.top - PAD.bottom);
  const every = Math.ceil(r.layers.length / 16);
  const desc = r.layers.map((l) => `layer ${l.layer}: ${pct(l.accuracy)} (control ${pct(l.control_accuracy)})`).join('; ');
  const title = 'Accuracy of a linear probe on each layer';
  return h(
    'figure',
    { class: 'deletion-plot probe-plot', id },
    s(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${title}. ${desc}. Always guessing the most frequent label: ${pct(r.majority_accuracy)}.` },
      s('title', null, title),
      [0, 0.25, 0.5, 0.75, 1].map((t) => [
        s('line', { x1: x(0), x2: x(last), y1: y(t), y2: y(t), class: 'grid' }),
        s('text', { x: PAD.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, `${100 * t}%`),
      ]),
      r.layers.filter((l) => l.layer % every === 0 || l.layer === last).map((l) => s('text', { x: x(l.layer), y: H - PAD.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, String(l.layer))),
      s('line', { x1: x(0), x2: x(0), y1: y(0), y2: y(1), class: 'axis' }),
      s('line', { x1: x(0), x2: x(last), y1: y(0), y2: y(0), class: 'axis' }),
      s('text', { x: (x(0) + x(last)) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis-label' }, 'layer (0: the embeddings)'),
      s('line', { x1: x(0), x2: x(last), y1: y(r.majority_accuracy), y2: y(r.majority_accuracy), class: 'probe-majority', dataset: { value: r.majority_accuracy } }),
      CURVES.map((c) =>
        s('polyline', {
          points: r.layers.map((l) => `${x(l.layer).toFixed(1)},${y(l[c.key]).toFixed(1)}`).join(' '),
          fill: 'none',
          class: c.cls,
          dataset: { curve: c.key, values: JSON.stringify(r.layers.map((l) => +l[c.key].toFixed(6))) },
        }),
      ),
      r.layers.map((l) => s('circle', { cx: x(l.layer), cy: y(l.accuracy), r: 3.5, class: 'probe-acc-dot' }, s('title', null, `layer ${l.layer}: ${pct(l.accuracy)} held out, ${pct(l.control_accuracy)} control, ${pct(l.train_accuracy)} training`))),
    ),
    h(
      'figcaption',
      { class: 'legend' },
      CURVES.map((c) => h('span', { class: 'legend-item' }, h('span', { class: `method-swatch ${c.cls}` }), c.label)),
      h('span', { class: 'legend-item' }, h('span', { class: 'method-swatch probe-majority' }), 'most frequent label'),
    ),
  );
}

/** The numbers per layer, the best held-out layer marked. */
export function probeTable(r, { id = 'probe-table' } = {}) {
  const best = Math.max(...r.layers.map((l) => l.accuracy));
  return h(
    'table',
    { class: 'mistakes probe-table', id },
    head(['layer', 'held-out accuracy', 'training', 'control', 'selectivity'], [1, 2, 3, 4]),
    h(
      'tbody',
      null,
      r.layers.map((l) =>
        h(
          'tr',
          { class: l.accuracy === best ? 'best' : null, dataset: { layer: l.layer, accuracy: l.accuracy, control: l.control_accuracy } },
          h('th', { scope: 'row' }, String(l.layer)),
          h('td', { class: 'num' }, pct(l.accuracy)),
          h('td', { class: 'num' }, pct(l.train_accuracy)),
          h('td', { class: 'num' }, pct(l.control_accuracy)),
          h('td', { class: 'num' }, `${l.selectivity >= 0 ? '+' : ''}${(100 * l.selectivity).toFixed(1)}`),
        ),
      ),
    ),
  );
}

/** What the probe found, in a sentence: where the labels are most readable, and most selectively. */
export function probeVerdict(r, column) {
  const best = r.layers.reduce((b, l) => (l.accuracy > b.accuracy ? l : b));
  const sel = r.layers.reduce((b, l) => (l.selectivity > b.selectivity ? l : b));
  return `“${column}” is most linearly readable at layer ${best.layer}: ${pct(best.accuracy)} of the held-out rows, against ${pct(r.majority_accuracy)} for always guessing the most frequent label. The probe is most selective at layer ${sel.layer}, ${(100 * sel.selectivity).toFixed(1)} points above its control task.`;
}

/** The workbench's probe (dataset.js's `runProbe`): its state, then the report. */
export function renderProbe(el, p) {
  if (!p) return fill(el, h('p', { class: 'muted' }, 'Not probed yet. Each row costs one forward pass; then one logistic regression per layer is fitted on the training rows, and one on the shuffled labels.'));
  if (p.error) return fill(el, h('p', { class: 'message error', id: 'probe-error' }, p.error));
  if (p.running) return fill(el, h('p', { class: 'muted' }, p.phase === 'reading' ? 'Reading every row through the layers…' : 'Fitting a probe per layer…'));
  if (!p.report) return fill(el, h('p', { class: 'muted' }, 'Cancelled before every layer was probed.'));
  const r = p.report;
  return fill(
    el,
    h('p', { id: 'probe-verdict' }, h('strong', null, probeVerdict(r, p.column))),
    h(
      'p',
      { class: 'muted', id: 'probe-summary', dataset: { n: r.n, test: r.n_test } },
      `${r.n} rows with a label (${r.n_test} held out: every ${ordinal(r.options.test_every)} row of the file${r.skipped ? `; ${r.skipped} left out, without a label or a text` : ''}), ${r.labels.length} labels, each layer's ${r.options.pool === 'cls' ? 'first-token vector' : 'mean over the tokens'}, in ${p.seconds.toFixed(1)} s. Selectivity is the held-out accuracy minus the control task's: a probe that only memorises scores high on both.`,
    ),
    h('div', { class: 'faith-grid' }, probePlot(r), probeTable(r)),
  );
}

// Walk the Integrated-Gradients path (classroom mode): F along the straight
// path from the baseline x′ to the input x, the quadrature's points on it,
// and for the point a slider picks, each token's contribution there and the
// running weighted sum that ends on the attributions, with F(x) − F(x′) and
// the convergence delta beside it.
//
// Pure: `renderIgPath(el, data, view, actions)` draws the same for the same
// arguments. While the path stays the same object only the parts that
// depend on the point are redrawn, so the slider keeps its focus and its
// drag while it moves.

import { h, s, fill } from '../dom.js';
import { importanceColor, POSITIVE, NEGATIVE } from '../colors.js';
import { fmt } from '../tokens.js';
import { pathPlot, AXIS } from './pathplot.js';

/** The quadrature rules under Captum's names, and what a teacher calls them. */
export const RULES = [
  ['gausslegendre', 'Gauss–Legendre'],
  ['riemann_left', 'Riemann, left'],
  ['riemann_middle', 'Riemann, middle'],
  ['riemann_right', 'Riemann, right'],
  ['riemann_trapezoid', 'trapezoid'],
];

/** Numbers of steps offered: few, so that the points can be told apart. */
export const STEP_CHOICES = [5, 10, 20, 50];

// The per-token chart: a label, then two diverging columns.
const ROW = 20;
const LABEL_W = 130;
const COL_W = 230;
const GAP = 24;

/** What the last full draw built, per element: its path and the nodes a new point redraws. */
const built = new WeakMap();

/**
 * Σ_{j≤k} w_j c_j per token, for every k: `[k][token]`.
 * @param {import('../types.js').IgPath} p
 * @returns {Float64Array[]}
 */
export function runningSums(p) {
  const n = p.alphas.length;
  const t = p.tokens;
  const out = [];
  let acc = new Float64Array(t);
  for (let k = 0; k < n; k++) {
    acc = acc.slice();
    for (let i = 0; i < t; i++) acc[i] += p.weights[k] * p.contributions[k * t + i];
    out.push(acc);
  }
  return out;
}

/**
 * @param {HTMLElement} el
 * @param {{path: import('../types.js').IgPath, labels: string[], special?: boolean[], running?: boolean, note?: string|null,
 *          explained?: {integration: string, n_steps: number} | null}} data
 *   labels: each token as shown (tokens.js tokenLabels); running: a new walk is being computed;
 *   explained: the rule of the Integrated Gradients explanation shown beside it, if any
 * @param {{k: number, integration?: string, n_steps?: number}} view  k: the point the slider is on
 * @param {{onStep?: (k: number) => void, onRule?: ((integration: string, nSteps: number) => void) | null}} actions
 *   onRule null: the rule cannot be changed here (the selects are not drawn)
 */
export function renderIgPath(el, data, view, actions = {}) {
  let b = built.get(el);
  if (!b || b.path !== data.path || b.labels !== data.labels.join('\u0000') || b.canChange !== Boolean(actions.onRule) || !el.contains(b.root)) {
    b = build(el, data, view, actions);
    built.set(el, b);
  }
  b.actions = actions;
  update(b, data, view);
}

function build(el, data, view, actions) {
  const p = data.path;
  const n = p.alphas.length;
  const b = { path: p, labels: data.labels.join('\u0000'), canChange: Boolean(actions.onRule), actions, sums: runningSums(p) };
  const controls = actions.onRule ? ruleControls(b, view, n) : null;
  b.slider = h('input', {
    type: 'range',
    id: 'igpath-k',
    class: 'igpath-slider',
    min: 0,
    max: n - 1,
    step: 1,
    value: String(view.k),
    oninput: (ev) => b.actions.onStep?.(Number(ev.target.value)),
  });
  b.sliderLabel = h('label', { for: 'igpath-k', class: 'igpath-slider-label' });
  b.status = h('p', { class: 'muted igpath-status', role: 'status' });
  b.plot = h('div', { class: 'igpath-plot' });
  b.numbers = h('div', { class: 'igpath-numbers', 'aria-live': 'polite' });
  b.chart = h('div', { class: 'igpath-chart' });
  // Hidden but read: inline, since a shadow root does not have the page's .visually-hidden.
  const hidden = { position: 'absolute', width: '1px', height: '1px', overflow: 'hidden', clipPath: 'inset(50%)', whiteSpace: 'nowrap' };
  b.table = h('div', { class: 'visually-hidden', style: hidden });
  const intro = h(
    'p',
    { class: 'igpath-intro' },
    'Integrated Gradients moves the input along a straight line from the baseline x′ (α = 0) to the text x (α = 1) and adds up, at a few points α',
    h('sub', null, 'k'),
    ' of a quadrature rule, each token’s gradient times its change (x − x′), weighted w',
    h('sub', null, 'k'),
    '. The running sum ends on the attributions; its total misses F(x) − F(x′) by the convergence delta.',
  );
  b.root = h(
    'div',
    { class: 'igpath', dataset: { n } },
    intro,
    controls,
    b.plot,
    h('div', { class: 'igpath-step' }, b.sliderLabel, b.slider),
    b.status,
    b.numbers,
    b.chart,
    b.table,
  );
  fill(el, b.root);
  return b;
}

/** The rule and the number of steps: changing either walks the path again. */
function ruleControls(b, view, n) {
  const integration = view.integration ?? b.path.integration;
  const steps = view.n_steps ?? n;
  const choices = [...new Set([...STEP_CHOICES, steps])].sort((x, y) => x - y);
  const rule = h(
    'select',
    { id: 'igpath-rule', onchange: (ev) => b.actions.onRule?.(ev.target.value, Number(b.root.querySelector('#igpath-steps').value)) },
    RULES.map(([v, name]) => h('option', { value: v, selected: v === integration }, `${name} (${v})`)),
  );
  const stepSel = h(
    'select',
    { id: 'igpath-steps', onchange: (ev) => b.actions.onRule?.(b.root.querySelector('#igpath-rule').value, Number(ev.target.value)) },
    choices.map((c) => h('option', { value: String(c), selected: c === steps }, String(c))),
  );
  return h(
    'div',
    { class: 'row igpath-controls' },
    h('label', { class: 'control', for: 'igpath-rule' }, 'Quadrature rule '),
    rule,
    h('label', { class: 'control', for: 'igpath-steps' }, ' steps '),
    stepSel,
  );
}

/** Everything that depends on the point k. */
function update(b, data, view) {
  const p = b.path;
  const n = p.alphas.length;
  const k = Math.max(0, Math.min(n - 1, Math.round(view.k) || 0));
  const t = p.tokens;
  const a = p.alphas[k];
  const w = p.weights[k];
  const running = b.sums[k];
  const contrib = Array.from({ length: t }, (_, i) => p.contributions[k * t + i]);
  const sum = running.reduce((x, y) => x + y, 0);
  const span = p.score - p.baseline_score;
  const delta = sum - span;
  b.root.dataset.k = String(k);
  if (document.activeElement !== b.slider || Number(b.slider.value) !== k) b.slider.value = String(k);
  const where = `point ${k + 1} of ${n}: α = ${fmt(a, 4)}, weight ${fmt(w, 3)}, F = ${fmt(p.scores[k], 4)}`;
  b.slider.setAttribute('aria-valuetext', where);
  b.sliderLabel.textContent = `Quadrature point ${k + 1} of ${n} `;
  b.status.textContent = data.running ? 'Walking the path again…' : (data.note ?? '');
  b.status.hidden = !data.running && !data.note;
  for (const c of b.root.querySelectorAll('select')) c.disabled = Boolean(data.running);
  fill(b.plot, pathPlot(p, k));
  fill(b.numbers, numbers(p, k, { a, w, sum, span, delta }, data.explained ?? null));
  const labels = b.labels.split('\u0000');
  fill(b.chart, chart(p, b.sums, k, contrib, labels, data.special ?? []));
  fill(b.table, tables(p, k, contrib, running, labels));
}

function numbers(p, k, { a, w, sum, span, delta }, explained) {
  const n = p.alphas.length;
  const last = k === n - 1;
  const num = (cls, v, digits = 4) => h('strong', { class: cls, dataset: { value: String(v) } }, fmt(v, digits));
  // Spaces between the parts: a flex column drops them, text without the stylesheet keeps them.
  const card = (label, value, note) =>
    h('div', { class: 'igpath-card' }, h('span', { class: 'igpath-card-label' }, label), ' ', value, note ? [' ', h('span', { class: 'muted' }, note)] : null);
  return [
    h(
      'p',
      { class: 'igpath-point' },
      'α',
      h('sub', null, String(k + 1)),
      ' = ',
      num('igpath-alpha', a),
      ', weight w',
      h('sub', null, String(k + 1)),
      ' = ',
      num('igpath-weight', w),
      ', F(x′ + α(x − x′)) = ',
      num('igpath-f', p.scores[k]),
    ),
    h(
      'div',
      { class: 'igpath-totals' },
      card(`Σ attributions after ${k + 1} of ${n} points`, num('igpath-sum', sum)),
      card('F(x) − F(x′)', num('igpath-span', span), `F(x) = ${fmt(p.score, 4)}, F(x′) = ${fmt(p.baseline_score, 4)}`),
      card('delta: Σ − (F(x) − F(x′))', num('igpath-delta', delta), last ? 'the convergence delta' : 'not all the way yet'),
    ),
    last ? h('p', { class: 'muted igpath-end' }, endNote(p, explained)) : null,
  ];
}

/** At the last point: whose attributions the running sums are. */
function endNote(p, explained) {
  const n = p.alphas.length;
  const same = explained && explained.integration === p.integration && explained.n_steps === n;
  if (same) return 'The last point: the running sums are the attributions shown above, and the delta is theirs.';
  const other = explained ? ` (the explanation above uses ${explained.n_steps} ${explained.integration} steps)` : '';
  return `The last point: the running sums are the attributions of Integrated Gradients with ${n} ${p.integration} steps${other}.`;
}

/** Per token: its contribution at α_k, and the running sum with a tick where it ends. */
function chart(p, sums, k, contrib, labels, special) {
  const t = p.tokens;
  const n = p.alphas.length;
  let maxC = 1e-12;
  for (const v of p.contributions) maxC = Math.max(maxC, Math.abs(v));
  let maxS = 1e-12;
  for (const row of sums) for (const v of row) maxS = Math.max(maxS, Math.abs(v));
  const running = sums[k];
  const final = sums[n - 1];
  const norm = Math.hypot(...running) || 1;
  const z1 = LABEL_W + COL_W / 2;
  const z2 = LABEL_W + COL_W + GAP + COL_W / 2;
  const half = COL_W / 2 - 4;
  const bar = (zero, v, max, title, cls) => {
    const len = (Math.abs(v) / max) * half;
    const sign = v >= 0 ? 'pos' : 'neg';
    const x = v >= 0 ? zero : zero - len;
    const attrs = { x, y: 0, width: Math.max(len, 0.5), height: ROW - 6, fill: v >= 0 ? POSITIVE : NEGATIVE, class: `${cls} ${sign}` };
    return s('rect', attrs, s('title', null, title));
  };
  // The value beside its bar, or inside the column's other half when the bar fills this one.
  const value = (zero, v, max, beyond = 0) => {
    // Past the final attribution's tick too, when it is on the same side.
    const len = (Math.max(Math.abs(v), Math.sign(beyond) === Math.sign(v) ? Math.abs(beyond) : 0) / max) * half;
    const out = len < half - 44;
    const right = v >= 0 === out;
    const at = v >= 0 ? (out ? zero + len + 3 : zero - 3) : out ? zero - len - 3 : zero + 3;
    const attrs = { x: at, y: ROW / 2, 'text-anchor': right ? 'start' : 'end', 'dominant-baseline': 'middle', class: 'bar-value', fill: AXIS, 'font-size': 11 };
    return s('text', attrs, fmt(v, 3));
  };
  const rows = Array.from({ length: t }, (_, i) => {
    const y = 22 + i * ROW;
    const label = labels[i] ?? String(i);
    const tickX = z2 + (final[i] / maxS) * half;
    return s(
      'g',
      { class: 'igpath-row', transform: `translate(0 ${y})`, 'data-token': i },
      s('rect', { x: 4, y: 1, width: LABEL_W - 12, height: ROW - 4, rx: 3, fill: importanceColor(running[i] / norm), class: 'igpath-chip' }),
      s('text', { x: LABEL_W - 12, y: ROW / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: `bar-label${special[i] ? ' special' : ''}` }, label),
      s('g', { transform: 'translate(0 3)' },
        bar(z1, contrib[i], maxC, `${label} at α = ${fmt(p.alphas[k], 4)}: ∂F/∂x · (x − x′) = ${fmt(contrib[i], 4)}`, 'igpath-contrib'),
        bar(z2, running[i], maxS, `${label}: running sum after ${k + 1} of ${n} points = ${fmt(running[i], 4)} (ends on ${fmt(final[i], 4)})`,
          'igpath-running'),
      ),
      value(z1, contrib[i], maxC),
      value(z2, running[i], maxS, final[i]),
      s(
        'line',
        { x1: tickX, x2: tickX, y1: 0, y2: ROW, class: 'igpath-final', stroke: 'currentColor', 'stroke-width': 2, opacity: 0.8 },
        s('title', null, `${label}: attribution ${fmt(final[i], 4)}`),
      ),
    );
  });
  const width = LABEL_W + 2 * COL_W + GAP;
  const height = 22 + t * ROW + 4;
  return s(
    'svg',
    {
      class: 'bars igpath-bars',
      id: 'igpath-tokens',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      'font-size': 13,
      role: 'img',
      'aria-label': `each token's contribution at point ${k + 1} and the running sum (the table below has the numbers)`,
    },
    s('text', { x: z1, y: 12, 'text-anchor': 'middle', class: 'axis-title', fill: 'currentColor' },
      `at α = ${fmt(p.alphas[k], 3)}: ∂F/∂x · (x − x′)`),
    s('text', { x: z2, y: 12, 'text-anchor': 'middle', class: 'axis-title', fill: 'currentColor' }, 'running sum Σ w·(∂F/∂x · (x − x′))'),
    s('line', { x1: z1, x2: z1, y1: 18, y2: height, class: 'axis', stroke: AXIS }),
    s('line', { x1: z2, x2: z2, y1: 18, y2: height, class: 'axis', stroke: AXIS }),
    rows,
  );
}

const head = (names) => h('thead', null, h('tr', null, names.map((c) => h('th', { scope: 'col' }, c))));

/** The numbers for screen readers: per token at the point, and the points. */
function tables(p, k, contrib, running, labels) {
  const n = p.alphas.length;
  const final = p.attributions;
  const tokens = h(
    'table',
    { id: 'igpath-table' },
    h('caption', null, `Per token at quadrature point ${k + 1} of ${n} (α = ${fmt(p.alphas[k], 4)}, weight ${fmt(p.weights[k], 3)})`),
    head(['token', 'contribution ∂F/∂x · (x − x′)', 'weighted', 'running sum', 'attribution']),
    h(
      'tbody',
      null,
      Array.from({ length: p.tokens }, (_, i) =>
        h(
          'tr',
          { dataset: { token: i, running: String(running[i]) } },
          h('th', { scope: 'row' }, labels[i] ?? String(i)),
          h('td', null, fmt(contrib[i], 4)),
          h('td', null, fmt(p.weights[k] * contrib[i], 4)),
          h('td', null, fmt(running[i], 4)),
          h('td', null, fmt(final[i], 4)),
        ),
      ),
    ),
  );
  const points = h(
    'table',
    { id: 'igpath-points' },
    h('caption', null, `The ${n} points of the ${p.integration} rule`),
    head(['point', 'α', 'weight', 'F']),
    h(
      'tbody',
      null,
      p.alphas.map((a, j) => h('tr', null, h('th', { scope: 'row' }, String(j + 1)), [a, p.weights[j], p.scores[j]].map((v) => h('td', null, fmt(v, 4))))),
    ),
  );
  return [tokens, points];
}

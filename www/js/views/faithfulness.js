// "Which method should I trust on this model?": the faithfulness of every
// method's explanation, of one input (the core's `RowFaithfulness`) or of a
// set of rows (`SetFaithfulness`, the means `bertlens analyze --faithfulness`
// writes), as a table, the deletion curves and the methods' rank agreement.
// Pure: each function builds nodes from its arguments.

import { h, s, tableHead as head } from '../dom.js';

export const METHOD_NAMES = { ig: 'Integrated Gradients', saliency: 'saliency', 'input-x-gradient': 'input × gradient', rollout: 'attention rollout', 'attention-flow': 'attention flow', random: 'random (baseline)' };
/** Okabe–Ito: told apart with every common colour-vision deficiency; random is grey. */
export const METHOD_COLOURS = { ig: '#0072b2', saliency: '#e69f00', 'input-x-gradient': '#009e73', rollout: '#cc79a7', 'attention-flow': '#d55e00', random: '#7f7f7f' };
const DASHES = { ig: '', saliency: '6 3', 'input-x-gradient': '2 2', rollout: '8 3 2 3', 'attention-flow': '4 2 1 2', random: '1 3' };

const name = (m) => METHOD_NAMES[m] ?? m;
const num = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const exp = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toExponential(2));

/** The area under a deletion curve over [0, 1] (trapezoids): the core's `curve_points`. */
export function curveArea(curve) {
  const n = curve.length - 1;
  if (n < 1) return null;
  let a = 0;
  for (let i = 0; i < n; i++) a += (curve[i] + curve[i + 1]) / 2 / n;
  return a;
}

/**
 * One row per method, most comprehensive first: AOPC comprehensiveness
 * (higher: more faithful), sufficiency (lower), the deletion curve's area
 * (lower), and Captum's infidelity and sensitivity-max when computed.
 * `methods`: {name: {aopc_comprehensiveness, aopc_sufficiency, deletion_auc, infidelity, sensitivity_max}}.
 */
export function faithTable(methods, { id }) {
  const perturb = Object.values(methods).some((m) => m.infidelity !== null && m.infidelity !== undefined);
  const rows = Object.entries(methods).sort((a, b) => b[1].aopc_comprehensiveness - a[1].aopc_comprehensiveness);
  const best = (key, sign) => {
    const v = rows.map(([, m]) => m[key]).filter(Number.isFinite);
    return v.length > 1 ? (sign > 0 ? Math.max(...v) : Math.min(...v)) : NaN;
  };
  const top = { comp: best('aopc_comprehensiveness', 1), suff: best('aopc_sufficiency', -1), auc: best('deletion_auc', -1) };
  const cell = (v, b, text) => h('td', { class: `num${v === b ? ' best' : ''}` }, text);
  const cols = ['method', 'AOPC comprehensiveness ↑', 'AOPC sufficiency ↓', 'deletion AUC ↓'];
  if (perturb) cols.push('infidelity ↓', 'sensitivity-max ↓');
  return h(
    'table',
    { class: 'mistakes faith-table', id },
    head(cols, cols.map((_, i) => i).slice(1)),
    h(
      'tbody',
      null,
      rows.map(([m, f]) =>
        h(
          'tr',
          { dataset: { method: m, comprehensiveness: f.aopc_comprehensiveness, sufficiency: f.aopc_sufficiency, auc: f.deletion_auc ?? '' } },
          h('td', null, h('span', { class: 'method-swatch', style: { background: METHOD_COLOURS[m] ?? '#999' } }), name(m)),
          cell(f.aopc_comprehensiveness, top.comp, num(f.aopc_comprehensiveness)),
          cell(f.aopc_sufficiency, top.suff, num(f.aopc_sufficiency)),
          cell(f.deletion_auc, top.auc, num(f.deletion_auc)),
          perturb ? h('td', { class: 'num' }, exp(f.infidelity)) : null,
          perturb ? h('td', { class: 'num' }, num(f.sensitivity_max)) : null,
        ),
      ),
    ),
  );
}

const W = 440;
const H = 230;
const PAD = { left: 54, right: 22, top: 12, bottom: 36 };

/**
 * The deletion curves: p(ŷ) as each method's top tokens are removed, most
 * important first (x: the fraction removed). A faithful method's curve falls
 * fast; random's is the yardstick. `curves`: [{method, points: [[x, p], …]}].
 */
export function deletionPlot(curves, { id, title }) {
  const x = (v) => PAD.left + v * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - v * (H - PAD.top - PAD.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const desc = curves.map((c) => `${name(c.method)}: ${c.points.map(([a, p]) => `${Math.round(100 * a)}% ${p.toFixed(2)}`).join(', ')}`).join('; ');
  return h(
    'figure',
    { class: 'deletion-plot', id },
    s(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${title}. ${desc}` },
      s('title', null, title),
      ticks.map((t) => [
        s('line', { x1: x(0), x2: x(1), y1: y(t), y2: y(t), class: 'grid' }),
        s('text', { x: PAD.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, t.toFixed(2)),
        s('text', { x: x(t), y: H - PAD.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, `${100 * t}%`),
      ]),
      s('line', { x1: x(0), x2: x(0), y1: y(0), y2: y(1), class: 'axis' }),
      s('line', { x1: x(0), x2: x(1), y1: y(0), y2: y(0), class: 'axis' }),
      s('text', { x: (x(0) + x(1)) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis-label' }, 'tokens removed, most important first'),
      s('text', { x: 12, y: (y(0) + y(1)) / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${(y(0) + y(1)) / 2})`, class: 'axis-label' }, 'p(ŷ)'),
      curves.map((c) =>
        s('polyline', {
          points: c.points.map(([a, p]) => `${x(a).toFixed(1)},${y(Math.max(0, Math.min(1, p))).toFixed(1)}`).join(' '),
          fill: 'none',
          stroke: METHOD_COLOURS[c.method] ?? '#999',
          'stroke-width': c.method === 'random' ? 1.5 : 2,
          'stroke-dasharray': DASHES[c.method] ?? '',
          dataset: { method: c.method, points: JSON.stringify(c.points.map(([, p]) => +p.toFixed(6))) },
        }),
      ),
    ),
    h(
      'figcaption',
      { class: 'legend' },
      curves.map((c) => h('span', { class: 'legend-item' }, h('span', { class: 'method-swatch', style: { background: METHOD_COLOURS[c.method] ?? '#999' } }), name(c.method))),
    ),
  );
}

/** The deletion curves of one input: every point of each method's curve. */
export function rowCurves(methods) {
  return Object.entries(methods).map(([method, f]) => {
    const n = f.deletion_curve.length - 1;
    return { method, points: f.deletion_curve.map((p, k) => [n ? k / n : 0, p]) };
  });
}

/** The mean deletion curves of a set, on the grid 0, 10, …, 100% removed. */
export function setCurves(methods) {
  return Object.entries(methods).map(([method, f]) => ({ method, points: f.deletion_curve.map((p, k) => [k / (f.deletion_curve.length - 1), p]) }));
}

/**
 * Spearman's ρ and Kendall's τ-b between each pair of methods' token
 * rankings (means over the rows of a set); `rows` shown when given.
 */
export function agreementTable(agreement, { id }) {
  const counted = agreement.some((a) => a.rows !== undefined);
  const cols = ['methods', 'Spearman ρ', 'Kendall τ'];
  if (counted) cols.push('rows');
  const tint = (v) => (Number.isFinite(v) ? { background: v >= 0 ? `rgba(0,114,178,${0.35 * v})` : `rgba(230,159,0,${-0.35 * v})` } : null);
  return h(
    'table',
    { class: 'mistakes agreement-table', id },
    head(cols, cols.map((_, i) => i).slice(1)),
    h(
      'tbody',
      null,
      agreement.map((a) =>
        h(
          'tr',
          { dataset: { a: a.a, b: a.b, spearman: a.spearman ?? '', kendall: a.kendall ?? '' } },
          h('td', null, `${name(a.a)} · ${name(a.b)}`),
          h('td', { class: 'num', style: tint(a.spearman) }, num(a.spearman)),
          h('td', { class: 'num', style: tint(a.kendall) }, num(a.kendall)),
          counted ? h('td', { class: 'num' }, String(a.rows)) : null,
        ),
      ),
    ),
  );
}

/** Which method the numbers favour, in one sentence (or none when they disagree). */
export function verdict(methods) {
  const real = Object.entries(methods).filter(([m]) => m !== 'random');
  if (!real.length) return null;
  const by = (key, sign) => real.reduce((a, b) => (sign * (b[1][key] ?? NaN) > sign * (a[1][key] ?? NaN) ? b : a))[0];
  const comp = by('aopc_comprehensiveness', 1);
  const suff = by('aopc_sufficiency', -1);
  const rnd = methods.random;
  const beaten = rnd ? real.filter(([, f]) => f.aopc_comprehensiveness > rnd.aopc_comprehensiveness).map(([m]) => name(m)) : [];
  const lead = comp === suff ? `${name(comp)} is the most comprehensive and the most sufficient.` : `${name(comp)} is the most comprehensive; ${name(suff)} the most sufficient.`;
  const base = rnd ? (beaten.length === real.length ? ' Every method beats the random baseline.' : ` Only ${beaten.length ? beaten.join(', ') : 'none'} beat${beaten.length === 1 ? 's' : ''} the random baseline on comprehensiveness.`) : '';
  return lead + base;
}

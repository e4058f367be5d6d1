// The plot of a walk along the Integrated-Gradients path (views/igpath.js):
// F along the straight path from the baseline to the input (a fine curve of
// forward passes), the quadrature's points on it with their area ∝ weight,
// a line at the chosen point, and F(x′) + the running Σ attributions as
// steps, which end, at α = 1, on F(x) + the convergence delta. Pure.

import { s } from '../dom.js';
import { fmt } from '../tokens.js';

// Its size and margins.
const PLOT_W = 600;
const PLOT_H = 250;
const M = { left: 64, right: 20, top: 30, bottom: 38 };

// Colours as SVG attributes, so that the plot reads where no stylesheet
// styles its classes (a shadow root); the page's CSS themes them.
export const AXIS = '#98a2b3';
const POINT = '#5b7fd6';
const ACCENT = '#1a3d8f';
const SUM = '#c2410c';

/** The plot's key: what the curve, the dots and the steps are. */
function legend(x0, y0) {
  const item = (dx, mark, text) =>
    s(
      'g',
      { transform: `translate(${x0 + dx} ${y0})` },
      mark,
      s('text', { x: 16, y: 4, class: 'legend-text', fill: 'currentColor', 'dominant-baseline': 'middle' }, text),
    );
  return s(
    'g',
    { class: 'igpath-legend' },
    item(0, s('line', { x1: 0, x2: 12, y1: 4, y2: 4, stroke: 'currentColor', 'stroke-width': 1.5, class: 'igpath-curve' }), 'F along the path'),
    item(128, s('circle', { cx: 6, cy: 4, r: 4, fill: POINT, class: 'igpath-point-mark' }), 'points (area ∝ weight)'),
    item(290, s('line', { x1: 0, x2: 12, y1: 4, y2: 4, stroke: SUM, 'stroke-width': 2, class: 'igpath-sum-line' }), 'F(x′) + Σ attributions so far'),
  );
}

/**
 * F along the path, the quadrature's points (area ∝ weight), a line at the chosen one and the running sum's steps.
 * @param {import('../types.js').IgPath} p
 * @param {number} k  the chosen point
 * @returns {SVGSVGElement}
 */
export function pathPlot(p, k) {
  const n = p.alphas.length;
  const all = [...p.curve_scores, ...p.scores, p.score, p.baseline_score, p.score + p.delta].filter(Number.isFinite);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  const iw = PLOT_W - M.left - M.right;
  const ih = PLOT_H - M.top - M.bottom;
  const x = (a) => M.left + a * iw;
  const y = (f) => M.top + ((hi - f) / (hi - lo)) * ih;
  const maxW = Math.max(...p.weights.map(Math.abs), 1e-12);
  const curve = p.curve_alphas.map((a, i) => `${x(a).toFixed(1)},${y(p.curve_scores[i]).toFixed(1)}`).join(' ');
  // F(x′) + the running Σ attributions, as steps at the points up to k: at α = 1 it is F(x) + delta.
  const stepY = [];
  let acc = p.baseline_score;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < p.tokens; i++) acc += p.weights[j] * p.contributions[j * p.tokens + i];
    stepY.push(acc);
  }
  const stepPts = [`${x(0).toFixed(1)},${y(p.baseline_score).toFixed(1)}`];
  for (let j = 0; j <= k; j++) {
    stepPts.push(`${x(p.alphas[j]).toFixed(1)},${y(j ? stepY[j - 1] : p.baseline_score).toFixed(1)}`, `${x(p.alphas[j]).toFixed(1)},${y(stepY[j]).toFixed(1)}`);
  }
  const steps = stepPts.join(' ');
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((a) =>
    s('g', null, s('line', { x1: x(a), x2: x(a), y1: M.top + ih, y2: M.top + ih + 4, class: 'axis', stroke: AXIS }),
      s('text', { x: x(a), y: M.top + ih + 16, 'text-anchor': 'middle', class: 'tick', fill: 'currentColor' }, String(a))),
  );
  const yTicks = [lo + pad, hi - pad].map((f) =>
    s('g', null, s('line', { x1: M.left - 4, x2: M.left, y1: y(f), y2: y(f), class: 'axis', stroke: AXIS }),
      s('text', { x: M.left - 7, y: y(f), 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'tick', fill: 'currentColor' }, fmt(f, 3))),
  );
  const points = p.alphas.map((a, j) =>
    s(
      'circle',
      {
        cx: x(a),
        cy: y(p.scores[j]),
        r: (2 + 6 * Math.sqrt(Math.abs(p.weights[j]) / maxW)).toFixed(2),
        class: `igpath-point-mark${j === k ? ' selected' : ''}`,
        fill: j === k ? ACCENT : POINT,
        'data-alpha': String(a),
      },
      s('title', null, `point ${j + 1} of ${n}: α = ${fmt(a, 4)}, weight ${fmt(p.weights[j], 3)}, F = ${fmt(p.scores[j], 4)}`),
    ),
  );
  const label =
    `F along the path from the baseline (α = 0, F = ${fmt(p.baseline_score, 3)}) to the input (α = 1, F = ${fmt(p.score, 3)}), ` +
    `with the ${n} points of the ${p.integration} rule; point ${k + 1} at α = ${fmt(p.alphas[k], 3)} is chosen`;
  return s(
    'svg',
    { class: 'igpath-svg', id: 'igpath-plot', width: PLOT_W, height: PLOT_H, viewBox: `0 0 ${PLOT_W} ${PLOT_H}`, 'font-size': 12, role: 'img',
      'aria-label': label },
    s('line', { x1: M.left, x2: M.left + iw, y1: M.top + ih, y2: M.top + ih, class: 'axis', stroke: AXIS }),
    s('line', { x1: M.left, x2: M.left, y1: M.top, y2: M.top + ih, class: 'axis', stroke: AXIS }),
    xTicks,
    yTicks,
    s('text', { x: M.left + iw / 2, y: PLOT_H - 4, 'text-anchor': 'middle', class: 'axis-title', fill: 'currentColor' }, 'α (0: baseline x′, 1: input x)'),
    s(
      'text',
      { x: 12, y: M.top + ih / 2, 'text-anchor': 'middle', class: 'axis-title', fill: 'currentColor', transform: `rotate(-90 12 ${M.top + ih / 2})` },
      'F(x′ + α(x − x′))',
    ),
    s('line', { x1: x(p.alphas[k]), x2: x(p.alphas[k]), y1: M.top, y2: M.top + ih, class: 'igpath-cursor', stroke: ACCENT, 'stroke-dasharray': '4 3' }),
    s('polyline', { points: curve, class: 'igpath-curve', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }),
    s('polyline', { points: steps, class: 'igpath-sum-line', fill: 'none', stroke: SUM, 'stroke-width': 2 }),
    s('circle', { cx: x(p.alphas[k]), cy: y(stepY[k]), r: 3.5, class: 'igpath-sum-mark', fill: SUM },
      s('title', null, `F(x′) + Σ attributions after ${k + 1} points = ${fmt(stepY[k], 4)}`)),
    points,
    legend(M.left, 8),
  );
}

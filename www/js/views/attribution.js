// Token attributions: a record like Captum's `visualize_text` (labels,
// attribution score, convergence delta, word importance coloured green/red,
// a legend) and a per-token bar chart.

import { h, s, fill } from '../dom.js';
import { importanceColor, POSITIVE, NEGATIVE } from '../colors.js';
import { fmt } from '../tokens.js';
import { recordOf, attributedWhat, rolloutRowText } from '../task.js';

const BASELINES = {
  pad: '[CLS] [PAD]… [SEP]',
  'pad-all': 'all-[PAD]',
  mask: '[CLS] [MASK]… [SEP]',
  zero: 'zero',
};
const LAYERS = {
  embeddings: "the embeddings block's output",
  'word-embeddings': 'the word embeddings',
};

const NORMS = { l2: '‖∂F/∂x‖₂', l1: 'Σ|∂F/∂x| (L1)' };

/**
 * One sentence saying what was computed.
 * @param {import('../types.js').Explanation} e
 * @param {string[]} labels  the tokens as shown
 * @param {{norm?: string, row?: string}} how  saliency's norm and rollout's row, as asked for
 */
export function describe(e, labels = e.tokens, how = {}) {
  const what = attributedWhat(e, labels);
  const at = LAYERS[e.layer] ?? '';
  switch (e.method) {
    case 'ig': {
      const ig = e.ig;
      const steps = ig.auto ? `${ig.n_steps} ${ig.integration} steps (chosen by n_steps "auto")` : `${ig.n_steps} ${ig.integration} steps`;
      return `Integrated Gradients of ${what} at ${at}: ${steps} from a ${BASELINES[ig.baseline] ?? ig.baseline} baseline`;
    }
    case 'saliency':
      return `Gradient saliency ${NORMS[how.norm] ?? NORMS.l2} of ${what} at ${at} (always ≥ 0)`;
    case 'input-x-gradient':
      return `Input × gradient Σ x·∂F/∂x of ${what} at ${at}`;
    case 'rollout':
      return `Attention rollout (Abnar & Zuidema 2020): ${rolloutRowText(e, labels, how.row)}`;
    case 'occlusion':
    case 'shapley':
    case 'kernel-shap':
    case 'lime':
      return perturbationText(e, what);
    case 'smoothgrad':
    case 'vargrad': {
      const n = e.noise;
      if (!n) return e.method;
      const base = { saliency: 'gradient saliency', 'input-x-gradient': 'input × gradient', ig: 'Integrated Gradients' }[n.base] ?? n.base;
      const of = e.method === 'vargrad' ? 'VarGrad: the variance' : 'SmoothGrad: the mean';
      return `${of} of ${base} of ${what} at ${at} over ${n.nt_samples} copies with Gaussian noise (σ = ${n.stdevs}, seed ${n.seed}); E[F(x̃)] = ${fmt(n.mean_score, 4)}`;
    }
    case 'attention-flow':
      return `Attention flow (Abnar & Zuidema 2020), the maximum flow through the layers' attention: ${rolloutRowText(e, labels, how.row)}`;
    default:
      return e.method;
  }
}

/** What occlusion or the Shapley values computed, from the core's report of how they ran. */
function perturbationText(e, what) {
  const p = e.perturbation;
  if (!p) return e.method;
  const unit = p.unit === 'word' ? 'word' : 'token';
  const removed = `replaced by the ${BASELINES[p.baseline] ?? p.baseline} baseline's`;
  const passes = `${p.evaluations.toLocaleString('en')} forward passes`;
  if (e.method === 'occlusion') {
    const windows = p.window > 1 || p.stride > 1 ? `windows of ${p.window} ${unit}s (stride ${p.stride}) ${removed}, each ${unit} the mean of its windows` : `each ${unit} ${removed}`;
    return `Occlusion of ${what}: F(x) − F(x with ${windows}); ${passes}`;
  }
  if (e.method === 'kernel-shap' || e.method === 'lime') {
    const fit = e.method === 'lime' ? 'LIME: a Lasso fit' : 'KernelSHAP: a weighted linear fit';
    return `${fit} of ${what} over ${p.n_samples} coalitions of the ${p.features} ${unit}s (seed ${p.seed}), a removed ${unit} ${removed}; ${passes}`;
  }
  const how = p.exact ? `exact, every coalition of the ${p.features} ${unit}s` : `sampled over ${p.n_samples} permutations of the ${p.features} ${unit}s (seed ${p.seed})`;
  return `Shapley values of ${what}: ${how}, a removed ${unit} ${removed}; ${passes}${p.note ? `. Note: ${p.note}` : ''}`;
}

function deltaLine(e) {
  // Complete methods (Integrated Gradients, Shapley values) add up to F(x) − F(x′).
  const baseline = e.ig?.baseline_score ?? e.perturbation?.baseline_score;
  if (e.delta === null || e.delta === undefined || baseline === undefined || baseline === null) return null;
  const diff = e.score - baseline;
  const rel = Math.abs(diff) > 0 ? Math.abs(e.delta / diff) : 0;
  const relText = rel < 1e-4 ? '<0.01%' : `${(rel * 100).toFixed(2)}%`;
  return h(
    'p',
    { class: `delta${rel > 0.05 ? ' warning' : ''}`, id: 'delta-line' },
    'Convergence delta Σ attributions − (F(x) − F(x′)) = ',
    h('strong', { id: 'delta-value' }, fmt(e.delta)),
    `: ${relText} of F(x) − F(x′) = ${fmt(diff, 4)} (F(x) = ${fmt(e.score, 4)}, F(x′) = ${fmt(baseline, 4)})`,
    rel > 0.05 ? ' — large: raise the number of steps.' : '',
  );
}

/**
 * @param {HTMLElement} el
 * @param {{e: import('../types.js').Explanation, units: ReturnType<import('../tokens.js').units>,
 *          trueLabel?: string|null, labels: string[], preview?: boolean, how?: {norm?: string, row?: string}}} data
 */
export function renderAttribution(el, data) {
  const { e, units, trueLabel, preview = false, labels = e.tokens, how = {} } = data;
  const rec = recordOf(e, labels);
  const sum = e.attributions.reduce((a, b) => a + b, 0);
  const marks = units.map((u, k) =>
    h(
      'mark',
      {
        // --w: the signed weight, for pages that theme the colours (bert-lens.js).
        class: `tok${u.special ? ' special' : ''}${u.norm < 0 ? ' neg' : ' pos'}`,
        style: { backgroundColor: importanceColor(u.norm), '--w': Math.abs(u.norm).toFixed(4) },
        title: `${u.label}: ${fmt(u.score)} (normalised ${fmt(u.norm)})`,
        dataset: { index: k, score: u.score },
      },
      u.label,
    ),
  );
  // Captum's columns; a true label only where the task has classes of the text.
  const cells = [
    e.task === 'sequence-classification' && trueLabel !== undefined ? ['True Label', h('td', null, trueLabel ?? '–')] : null,
    rec && ['Predicted Label', h('td', { class: 'rec-predicted' }, h('b', null, rec.predicted), rec.score === null ? '' : ` (${rec.score})`)],
    rec && ['Attribution Label', h('td', { class: 'rec-target' }, h('b', null, rec.target))],
    rec && ['Attribution Score', h('td', null, fmt(sum, 4))],
    rec && ['Convergence Delta', h('td', null, e.delta === null || e.delta === undefined ? '–' : fmt(e.delta))],
    // Spaces between the marks: where a long line may break.
    ['Word Importance', h('td', { class: 'importance' }, marks.flatMap((m, k) => (k ? [' ', m] : [m])))],
  ].filter(Boolean);
  const record = h(
    'table',
    { class: 'record', id: 'record' },
    h('thead', null, h('tr', null, cells.map(([t]) => h('th', null, t)))),
    // data-label: each cell's column, for layouts that stack the cells (bert-lens.js in a narrow column).
    h('tbody', null, h('tr', null, cells.map(([t, td]) => ((td.dataset.label = t), td)))),
  );
  const legend = h(
    'p',
    { class: 'legend' },
    'Legend: ',
    h('span', { class: 'swatch neg', style: { backgroundColor: importanceColor(-1), '--w': 1 } }),
    ' Negative ',
    h('span', { class: 'swatch', style: { backgroundColor: importanceColor(0), '--w': 0 } }),
    ' Neutral ',
    h('span', { class: 'swatch pos', style: { backgroundColor: importanceColor(1), '--w': 1 } }),
    ' Positive',
    h('span', { class: 'muted' }, ' — colour: score ÷ the L2 norm of all scores'),
  );
  const method = h(
    'p',
    { class: 'method', id: 'method-line' },
    preview ? h('span', { class: 'preview', id: 'preview-note' }, 'Preview while Integrated Gradients runs — ') : null,
    describe(e, labels, how),
  );
  const bars = h('div', { class: 'bars-scroll', role: 'region', 'aria-label': 'attribution bars' }, barChart(units));
  const wide = h('div', { class: 'record-scroll', role: 'region', 'aria-label': 'attribution record' }, record);
  fill(el, method, deltaLine(e), wide, legend, bars);
  // A long text's record or bars scroll: then the box takes focus, so that a keyboard scrolls it too.
  requestAnimationFrame(() => {
    if (bars.scrollHeight > bars.clientHeight + 1) bars.tabIndex = 0;
    if (wide.scrollWidth > wide.clientWidth + 1) wide.tabIndex = 0;
  });
}

const ROW = 20;
const LABEL_W = 150;
const BAR_W = 420;
const VALUE_W = 70;

/** A horizontal bar per unit, diverging at zero: green pushes towards the target, red away. */
export function barChart(units) {
  const max = Math.max(1e-12, ...units.map((u) => Math.abs(u.score)));
  const hasNeg = units.some((u) => u.score < 0);
  // Room for the value beside the longest bar on either side.
  const zero = LABEL_W + (hasNeg ? VALUE_W + BAR_W / 2 : 0);
  const scale = (hasNeg ? BAR_W / 2 : BAR_W) / max;
  const height = units.length * ROW + 8;
  const width = LABEL_W + BAR_W + VALUE_W * (hasNeg ? 2 : 1);
  const rows = units.map((u, k) => {
    const y = 4 + k * ROW;
    const w = Math.abs(u.score) * scale;
    const x = u.score >= 0 ? zero : zero - w;
    const valueX = u.score >= 0 ? zero + w + 4 : zero - w - 4;
    return s(
      'g',
      { class: 'bar-row', 'data-index': k },
      s('text', { x: LABEL_W - 8, y: y + ROW / 2, class: `bar-label${u.special ? ' special' : ''}`, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, u.label),
      s('rect', { x, y: y + 3, width: Math.max(w, 0.5), height: ROW - 6, fill: u.score >= 0 ? POSITIVE : NEGATIVE, class: u.score >= 0 ? 'pos' : 'neg', rx: 2 },
        s('title', null, `${u.label}: ${fmt(u.score)}`)),
      s('text', { x: valueX, y: y + ROW / 2, class: 'bar-value', 'text-anchor': u.score >= 0 ? 'start' : 'end', 'dominant-baseline': 'middle' }, fmt(u.score)),
    );
  });
  return s(
    'svg',
    { class: 'bars', id: 'bar-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'attribution per token' },
    s('line', { x1: zero, x2: zero, y1: 0, y2: height, class: 'axis' }),
    rows,
  );
}

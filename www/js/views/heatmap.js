// A query × key matrix as a heatmap: one head's attention, the mean over a
// layer's heads, or the attention rollout. Hover a cell for its value; by
// keyboard the canvas takes focus and arrows move a cell cursor, whose value
// the line above says (a live region).

import { h, fill, hiDpiCanvas } from '../dom.js';
import { sequential, css } from '../colors.js';
import { fmt } from '../tokens.js';
import { fit, numberSelect } from './headview.js';

const LABEL = 110; // room for token labels

/** What the heatmap shows of the maps (`AttentionAsk`): the rollout, or one layer's heads. */
export function heatmapAsk(view) {
  return view.source === 'rollout' ? { rollout: true } : { layer: view.layer };
}

/**
 * The matrix a view state names, as a Float32Array of T×T, from `maps`:
 * what `heatmapAsk(view)` asked for (the rollout, or the layer's heads).
 */
export function matrixOf(a, view, maps) {
  const T = a.tokens;
  if (view.source === 'rollout') return maps.rollout;
  if (view.source === 'mean') {
    const m = new Float32Array(T * T);
    for (let k = 0; k < a.heads; k++) {
      for (let i = 0; i < T * T; i++) m[i] += maps.probabilities[k * T * T + i] / a.heads;
    }
    return m;
  }
  const head = Number(view.source);
  return maps.probabilities.subarray(head * T * T, (head + 1) * T * T);
}

function cellSize(T) {
  return Math.max(3, Math.min(28, Math.floor(560 / T)));
}

const MASKED = '#d0d5dd'; // cells a sliding window masks

/** Draws the heatmap; pure. `window`: keys farther than it from the query are masked (drawn grey). */
export function drawHeatmap(canvas, m, labels, T, window = null) {
  // An export redraws it at its own resolution (export.js).
  canvas.redraw = () => drawHeatmap(canvas, m, labels, T, window);
  const c = cellSize(T);
  const showLabels = c >= 10;
  const pad = showLabels ? LABEL : 4;
  const size = pad + T * c + 4;
  const ctx = hiDpiCanvas(canvas, size, size);
  ctx.clearRect(0, 0, size, size);
  let max = 0;
  for (const v of m) max = Math.max(max, v);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const masked = window !== null && Math.abs(i - j) > window;
      ctx.fillStyle = masked ? MASKED : css(sequential(m[i * T + j] / (max || 1)));
      ctx.fillRect(pad + j * c, pad + i * c, c, c);
    }
  }
  if (showLabels) {
    ctx.fillStyle = '#222';
    ctx.font = `${Math.min(13, c - 1)}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let i = 0; i < T; i++) ctx.fillText(fit(ctx, labels[i], LABEL - 8), pad - 4, pad + i * c + c / 2);
    for (let j = 0; j < T; j++) {
      ctx.save();
      ctx.translate(pad + j * c + c / 2, pad - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(fit(ctx, labels[j], LABEL - 8), 0, 0);
      ctx.restore();
    }
  }
  canvas.dataset.max = String(max);
  canvas.dataset.window = window === null ? '' : String(window);
  return { pad, c };
}

/**
 * @param {HTMLElement} el
 * @param {{analysis: import('../types.js').Analysis, labels: string[], maps: import('../types.js').AttentionMaps | {error: string} | null}} data
 *   maps: what `heatmapAsk(view)` names (null while on its way)
 * @param {{layer: number, source: string}} view  source: a head index, 'mean' or 'rollout'
 * @param {{onLayer: Function, onSource: Function}} actions
 */
export function renderHeatmap(el, data, view, actions) {
  const a = data.analysis;
  const T = a.tokens;
  const canvas = h('canvas', {
    class: 'heatmap',
    id: 'heatmap-canvas',
    tabindex: 0,
    // An application: its arrow keys move the cell cursor (a screen reader passes them on).
    role: 'application',
    'aria-roledescription': 'heatmap',
    'aria-label': 'attention matrix, queries down, keys across: arrow keys move between cells',
    'aria-describedby': 'heatmap-tip',
  });
  const window = view.source === 'rollout' ? null : (a.windows?.[view.layer] ?? null);
  const about = `Rows are queries, columns keys; hover a cell for its value.${window === null ? '' : ` Grey: masked, outside this layer's sliding window (keys more than ${window} tokens away).`}`;
  const tip = h('p', { class: 'muted tip', id: 'heatmap-tip', role: 'status', 'aria-live': 'polite' }, about);
  const options = [
    ...Array.from({ length: a.heads }, (_, k) => [String(k), `head ${k}`]),
    ['mean', 'mean of the heads'],
    ['rollout', 'attention rollout (all layers)'],
  ];
  const controls = h(
    'div',
    { class: 'controls' },
    view.source === 'rollout' ? null : numberSelect('Layer', a.layers, view.layer, actions.onLayer, 'heatmap-layer'),
    h(
      'label',
      { class: 'control' },
      'Show ',
      h(
        'select',
        { id: 'heatmap-source', onchange: (ev) => actions.onSource(ev.target.value) },
        options.map(([v, t]) => h('option', { value: v, selected: v === String(view.source) }, t)),
      ),
    ),
  );
  if (!data.maps || data.maps.error) {
    return fill(el, controls, h('p', { class: 'muted', id: 'heatmap-wait', role: 'status' }, data.maps?.error ?? 'Reading the attention maps…'));
  }
  const m = matrixOf(a, view, data.maps);
  const cursor = h('div', { class: 'heat-cursor', hidden: true });
  fill(el, controls, tip, h('div', { class: 'canvas-scroll' }, h('div', { class: 'heat-wrap' }, canvas, cursor)));
  const { pad, c } = drawHeatmap(canvas, m, data.labels, T, window);
  const say = (i, j) => {
    const masked = window !== null && Math.abs(i - j) > window;
    tip.textContent = `${data.labels[i]} → ${data.labels[j]}: ${masked ? 'masked (outside the window)' : fmt(m[i * T + j], 4)}`;
  };
  canvas.addEventListener('mousemove', (ev) => {
    const r = canvas.getBoundingClientRect();
    const j = Math.floor((ev.clientX - r.left - pad) / c);
    const i = Math.floor((ev.clientY - r.top - pad) / c);
    if (i >= 0 && j >= 0 && i < T && j < T) say(i, j);
  });
  let at = null; // the keyboard's cell, [query, key]
  const show = () => {
    cursor.hidden = !at;
    if (!at) return;
    Object.assign(cursor.style, { left: `${pad + at[1] * c}px`, top: `${pad + at[0] * c}px`, width: `${c}px`, height: `${c}px` });
    say(at[0], at[1]);
  };
  canvas.addEventListener('focus', () => ((at = at ?? [0, 0]), show()));
  canvas.addEventListener('blur', () => (cursor.hidden = true));
  canvas.addEventListener('keydown', (ev) => {
    if (!at || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const [i, j] = at;
    const to = { ArrowDown: [i + 1, j], ArrowUp: [i - 1, j], ArrowRight: [i, j + 1], ArrowLeft: [i, j - 1], Home: [i, 0], End: [i, T - 1] }[ev.key];
    if (!to) return;
    ev.preventDefault();
    at = to.map((x) => Math.max(0, Math.min(T - 1, x)));
    show();
  });
}

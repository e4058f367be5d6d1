// The model view, after bertviz's `model_view`: every layer × head as a
// small picture of its attention lines. A click opens that head in the head view;
// by keyboard the grid is one Tab stop, arrows move (← → heads, ↑ ↓ layers),
// Enter or Space opens.

import { h, fill, hiDpiCanvas } from '../dom.js';
import { headColor, rgb } from '../colors.js';

export const THUMB_WIDTH = 80;
const MIN_ALPHA = 0.01;

function thumbHeight(tokens) {
  return Math.max(40, Math.min(120, tokens * 4));
}

/**
 * Draws the lines of one head, query column left, key column right.
 * Returns the number of lines drawn.
 */
export function drawThumb(canvas, att, T, offset, color) {
  // An export redraws it at its own resolution (export.js).
  canvas.redraw = () => drawThumb(canvas, att, T, offset, color);
  const height = thumbHeight(T);
  const ctx = hiDpiCanvas(canvas, THUMB_WIDTH, height);
  ctx.clearRect(0, 0, THUMB_WIDTH, height);
  const [r, g, b] = rgb(color);
  ctx.strokeStyle = `rgb(${r}, ${g}, ${b})`;
  ctx.lineWidth = 1;
  const pad = 4;
  const step = (height - 2 * pad) / Math.max(1, T - 1);
  const y = (i) => (T === 1 ? height / 2 : pad + i * step);
  // On long inputs, faint lines are invisible at this size and cost the most.
  const min = T > 128 ? 0.05 : MIN_ALPHA;
  let lines = 0;
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const w = att[offset + i * T + j];
      if (w < min) continue;
      ctx.globalAlpha = Math.min(1, w);
      ctx.beginPath();
      ctx.moveTo(6, y(i));
      ctx.lineTo(THUMB_WIDTH - 6, y(j));
      ctx.stroke();
      lines++;
    }
  }
  ctx.globalAlpha = 1;
  return lines;
}

let focused = [0, 0]; // the thumbnail the grid's Tab stop is on (a roving tabindex)

/**
 * @param {HTMLElement} el
 * @param {{att: Float32Array | null, layers: number, heads: number, tokens: number, error?: string}} data
 *   att: every layer's maps `[layer][head][query][key]` (`{all: true}`), null while on their way
 * @param {{onOpen: (layer: number, head: number, keyboard?: boolean) => void}} actions  keyboard: opened by a key
 */
export function renderModelView(el, data, actions) {
  const { att, layers, heads, tokens: T } = data;
  if (!att) return fill(el, h('p', { class: 'muted', id: 'model-wait', role: 'status' }, data.error ?? 'Reading the attention maps of every layer…'));
  if (focused[0] >= layers || focused[1] >= heads) focused = [0, 0];
  const header = h('div', { class: 'grid-row grid-header' }, h('span', { class: 'grid-label' }), Array.from({ length: heads }, (_, k) => h('span', { class: 'grid-col' }, `head ${k}`)));
  const rows = Array.from({ length: layers }, (_, l) =>
    h(
      'div',
      { class: 'grid-row' },
      h('span', { class: 'grid-label' }, `layer ${l}`),
      Array.from({ length: heads }, (_, k) => {
        const canvas = h('canvas', {
          class: 'thumb',
          dataset: { layer: l, head: k },
          title: `layer ${l}, head ${k}: click to open in the head view`,
          'aria-label': `layer ${l}, head ${k}: open in the head view`,
          tabindex: l === focused[0] && k === focused[1] ? 0 : -1,
          role: 'button',
          onclick: () => actions.onOpen(l, k),
          onfocus: () => (focused = [l, k]),
          onkeydown: (ev) => {
            if (ev.key === 'Enter' || ev.key === ' ') {
              ev.preventDefault();
              actions.onOpen(l, k, true);
              return;
            }
            const to = { ArrowRight: [l, k + 1], ArrowLeft: [l, k - 1], ArrowDown: [l + 1, k], ArrowUp: [l - 1, k], Home: [l, 0], End: [l, heads - 1] }[ev.key];
            if (!to || to[0] < 0 || to[1] < 0 || to[0] >= layers || to[1] >= heads) return;
            ev.preventDefault();
            const next = el.querySelector(`canvas.thumb[data-layer="${to[0]}"][data-head="${to[1]}"]`);
            canvas.tabIndex = -1;
            next.tabIndex = 0;
            next.focus();
          },
        });
        canvas.dataset.lines = String(drawThumb(canvas, att, T, (l * heads + k) * T * T, headColor(k)));
        return canvas;
      }),
    ),
  );
  fill(el, h('div', { class: 'model-grid', id: 'model-grid', role: 'group', 'aria-label': 'every layer and head: arrows move, Enter opens one in the head view' }, header, rows));
}

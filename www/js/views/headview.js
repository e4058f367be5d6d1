// The head view, after bertviz's `head_view`: tokens in two columns, a line
// from each query (left) to each key (right) whose opacity is the attention
// weight ÷ the number of active heads, one colour per head. On a dark
// background such lines all but vanish, so there they add up as light, each
// at its weight against the strongest line shown, never under DARK_FLOOR. Click a head's
// swatch to toggle it, double-click to isolate it; hover a token to see only
// its lines and, beside the other column, each head's weight. Drawn on a
// canvas, so that 512 tokens stay fast. By keyboard: the canvas takes focus,
// ↑/↓ move between the tokens of a column and ←/→ between the columns (as a
// hover does), a live region says where the token attends most; in the row
// of heads, arrows move, Enter or Space toggles, Shift+Enter isolates.

import { h, fill, hiDpiCanvas } from '../dom.js';
import { headColor, inkOn, isLight, rgb } from '../colors.js';

export const BOXWIDTH = 130; // a token column
export const BOXHEIGHT = 22; // a row
export const MATRIX_WIDTH = 170; // between the columns, where the lines go
export const TEXT_TOP = 8;
export const HEAD_SQUARE = 7; // per-head weight beside a token, on hover
const MIN_ALPHA = 0.004; // lines fainter than this (weight ÷ active heads) are not drawn
export const DARK_FLOOR = 0.06; // the faintest line drawn on a dark background

/** The pair filters, their texts named `names` (e.g. Question and Context). */
export function filters([a, b] = ['Sentence A', 'Sentence B']) {
  return { all: 'All', aa: `${a} → ${a}`, ab: `${a} → ${b}`, ba: `${b} → ${a}`, bb: `${b} → ${b}` };
}

/** The token indices of the left (query) and right (key) columns under a filter. */
export function columns(segments, filter) {
  const all = segments.map((_, i) => i);
  const of = (seg) => all.filter((i) => segments[i] === seg);
  switch (filter) {
    case 'aa': return [of(0), of(0)];
    case 'ab': return [of(0), of(1)];
    case 'ba': return [of(1), of(0)];
    case 'bb': return [of(1), of(1)];
    default: return [all, all];
  }
}

function headsWidth(heads) {
  return heads * HEAD_SQUARE + 8;
}

/**
 * Draws the lines and tokens of one layer. Pure: the picture is a function
 * of its arguments. Returns the number of lines drawn.
 * @param {HTMLCanvasElement} canvas
 * @param {{labels: string[], att: Float32Array, layers: number, heads: number, tokens: number, segments: number[]}} data
 *   att: the maps of the layer shown, `[head][query][key]` (`headAsk`)
 * @param {{layer: number, active: boolean[], hover: {side: 'left'|'right', index: number}|null, filter: string}} view
 */
export function drawHeadView(canvas, data, view) {
  // An export redraws it at its own resolution (export.js).
  canvas.redraw = () => drawHeadView(canvas, data, view);
  const { att, heads, tokens: T } = data;
  const [left, right] = columns(data.segments, view.filter);
  const hw = headsWidth(heads);
  const width = hw + BOXWIDTH + MATRIX_WIDTH + BOXWIDTH + hw;
  const height = TEXT_TOP + Math.max(left.length, right.length) * BOXHEIGHT + 8;
  // The page's ink and accent (light or dark theme) where the canvas is in one.
  const style = canvas.isConnected && globalThis.getComputedStyle ? getComputedStyle(canvas) : null;
  const ink = style?.color || '#222';
  const accent = style && style.accentColor !== 'auto' ? style.accentColor : '#1a3d8f';
  const ctx = hiDpiCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const xL = hw + BOXWIDTH; // where lines start
  const xR = xL + MATRIX_WIDTH; // where they end
  const y = (row) => TEXT_TOP + row * BOXHEIGHT + BOXHEIGHT / 2;
  const active = [];
  for (let k = 0; k < heads; k++) if (view.active[k]) active.push(k);
  const hover = view.hover;
  const shown = (i, j) => !(hover?.side === 'left' && hover.index !== i) && !(hover?.side === 'right' && hover.index !== j);
  const opacity = lineOpacity(att, T, active, left, right, shown, isLight(ink));

  // Lines, head by head, additively.
  let lines = 0;
  ctx.lineWidth = 2;
  ctx.globalCompositeOperation = opacity.blend;
  for (const k of active) {
    const [r, g, b] = rgb(headColor(k));
    ctx.strokeStyle = `rgb(${r}, ${g}, ${b})`;
    const off = k * T * T;
    left.forEach((i, li) => {
      right.forEach((j, rj) => {
        if (!shown(i, j)) return;
        const alpha = opacity.of(att[off + i * T + j]);
        if (alpha === 0) return;
        ctx.globalAlpha = alpha;
        ctx.beginPath();
        ctx.moveTo(xL, y(li));
        ctx.lineTo(xR, y(rj));
        ctx.stroke();
        lines++;
      });
    });
  }
  ctx.globalAlpha = 1;
  ctx.globalCompositeOperation = 'source-over';

  // Tokens.
  ctx.font = '14px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  const drawTokens = (idx, side) => {
    idx.forEach((i, row) => {
      const label = fit(ctx, data.labels[i], BOXWIDTH - 12);
      const isHover = hover && hover.side === side && hover.index === i;
      const x0 = side === 'left' ? hw : xR;
      if (isHover) {
        ctx.fillStyle = accent;
        ctx.globalAlpha = 0.16;
        ctx.fillRect(x0, y(row) - BOXHEIGHT / 2 + 1, BOXWIDTH, BOXHEIGHT - 2);
        ctx.globalAlpha = 1;
      }
      ctx.fillStyle = isHover ? accent : ink;
      ctx.textAlign = side === 'left' ? 'right' : 'left';
      ctx.fillText(label, side === 'left' ? xL - 6 : xR + 6, y(row));
    });
  };
  drawTokens(left, 'left');
  drawTokens(right, 'right');

  // Per-head weights beside the other column, while a token is hovered.
  if (hover) {
    const others = hover.side === 'left' ? right : left;
    others.forEach((j, row) => {
      active.forEach((k, n) => {
        const [q, key] = hover.side === 'left' ? [hover.index, j] : [j, hover.index];
        const w = att[k * T * T + q * T + key];
        const [r, g, b] = rgb(headColor(k));
        ctx.fillStyle = `rgba(${r}, ${g}, ${b}, ${Math.min(1, w)})`;
        const x = hover.side === 'left' ? xR + BOXWIDTH + 4 + n * HEAD_SQUARE : hw - 4 - (n + 1) * HEAD_SQUARE;
        ctx.fillRect(x, y(row) - 6, HEAD_SQUARE - 1, 12);
      });
    });
  }
  canvas.dataset.lines = String(lines);
  canvas.dataset.layer = String(view.layer);
  canvas.dataset.heads = active.join(',');
  return lines;
}

/**
 * How opaque a line of weight `w` is drawn (`of(w)`, 0: not drawn) and how
 * lines blend. On a light background, bertviz's weight ÷ active heads, over
 * the page. On a dark one (`dark`: the ink is light) the same lines, each at
 * its weight against the strongest line `shown(i, j)` of the active heads
 * (no fainter than DARK_FLOOR), added up as light ('lighter'): where heads
 * agree, the line grows brighter.
 */
export function lineOpacity(att, T, active, left, right, shown, dark) {
  const n = active.length;
  const drawn = (w) => w / n >= MIN_ALPHA;
  if (!dark) return { blend: 'source-over', of: (w) => (drawn(w) ? Math.min(1, w / n) : 0) };
  let max = 0;
  for (const k of active) {
    for (const i of left) {
      for (const j of right) if (shown(i, j)) max = Math.max(max, att[k * T * T + i * T + j]);
    }
  }
  return { blend: 'lighter', of: (w) => (drawn(w) ? Math.max(DARK_FLOOR, Math.min(1, w / max)) : 0) };
}

/** Cuts `text` with an ellipsis to fit `max` pixels. */
export function fit(ctx, text, max) {
  if (ctx.measureText(text).width <= max) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > max) t = t.slice(0, -1);
  return `${t}…`;
}

/** Which token a point over the canvas is on: `{side, index}` or null. */
export function hitTest(data, view, x, y) {
  const [left, right] = columns(data.segments, view.filter);
  const hw = headsWidth(data.heads);
  const row = Math.floor((y - TEXT_TOP) / BOXHEIGHT);
  if (x >= hw && x < hw + BOXWIDTH && row >= 0 && row < left.length) return { side: 'left', index: left[row] };
  const xR = hw + BOXWIDTH + MATRIX_WIDTH;
  if (x >= xR && x < xR + BOXWIDTH && row >= 0 && row < right.length) return { side: 'right', index: right[row] };
  return null;
}

/**
 * The strongest attention of the token `hover` names, over the active heads
 * (their mean) and the other column: from a query (left), the key it
 * attends to most; to a key (right), the query that attends to it most.
 * `{index, weight}`, or null with no head active or no token.
 */
export function strongest(data, view, hover) {
  if (!hover) return null;
  const { att, heads, tokens: T } = data;
  const [left, right] = columns(data.segments, view.filter);
  const active = [];
  for (let k = 0; k < heads; k++) if (view.active[k]) active.push(k);
  if (!active.length) return null;
  let best = null;
  for (const j of hover.side === 'left' ? right : left) {
    const [q, key] = hover.side === 'left' ? [hover.index, j] : [j, hover.index];
    let w = 0;
    for (const k of active) w += att[k * T * T + q * T + key];
    w /= active.length;
    if (!best || w > best.weight) best = { index: j, weight: w };
  }
  return best;
}

/** What the live region says of the token `hover` names (see strongest). */
export function describeHover(data, view, hover) {
  if (!hover) return '';
  const label = `token '${data.labels[hover.index]}'${hover.side === 'right' ? ' (key)' : ''}`;
  const best = strongest(data, view, hover);
  if (!best) return `${label}: no head is shown`;
  const other = `'${data.labels[best.index]}' (${best.weight.toFixed(2)})`;
  return hover.side === 'left' ? `${label}: strongest attention to ${other}` : `${label}: most attention from ${other}`;
}

/**
 * Where a key moves the keyboard's token: ↑/↓ within a column, ←/→ to the
 * left (query) or right (key) column at the same row, Home/End; Escape
 * leaves none. `undefined`: the key is not the head view's.
 */
export function moveHover(data, view, hover, key) {
  const cols = columns(data.segments, view.filter);
  const side = hover?.side ?? 'left';
  const col = cols[side === 'left' ? 0 : 1];
  const row = hover ? Math.max(0, col.indexOf(hover.index)) : -1;
  const at = (s, r) => {
    const c = cols[s === 'left' ? 0 : 1];
    return c.length ? { side: s, index: c[Math.max(0, Math.min(c.length - 1, r))] } : null;
  };
  switch (key) {
    case 'ArrowDown': return at(side, row + 1);
    case 'ArrowUp': return at(side, Math.max(0, row - 1));
    case 'ArrowLeft': return at('left', Math.max(0, row));
    case 'ArrowRight': return at('right', Math.max(0, row));
    case 'Home': return at(side, 0);
    case 'End': return at(side, col.length - 1);
    case 'Escape': return null;
    default: return undefined;
  }
}

/** What the head view shows of the maps (`AttentionAsk`): one layer's heads. */
export function headAsk(view) {
  return { layer: view.layer };
}

let focusedHead = 0; // the head the picker's Tab stop is on (a roving tabindex)

/**
 * The head swatches: click toggles a head, double-click isolates it. One Tab
 * stop: arrows move between the heads, Enter or Space toggles, Shift+Enter
 * isolates.
 */
export function headPicker(heads, active, { onToggle, onIsolate }) {
  focusedHead = Math.min(focusedHead, heads - 1);
  const group = h(
    'div',
    { class: 'heads', role: 'group', 'aria-label': 'attention heads: arrows move, Enter toggles, Shift+Enter shows only this head' },
    Array.from({ length: heads }, (_, k) =>
      h(
        'button',
        {
          type: 'button',
          class: `head${active[k] ? ' on' : ''}`,
          style: { '--head': headColor(k), '--head-ink': inkOn(headColor(k)) },
          title: `head ${k}: click to toggle, double-click to show only this head`,
          'aria-label': `head ${k}`,
          'aria-pressed': active[k] ? 'true' : 'false',
          tabindex: k === focusedHead ? 0 : -1,
          dataset: { head: k },
          onclick: () => onToggle(k),
          ondblclick: () => onIsolate(k),
          onfocus: () => (focusedHead = k),
        },
        String(k),
      ),
    ),
  );
  group.addEventListener('keydown', (ev) => {
    const k = Number(ev.target.dataset?.head);
    if (!Number.isInteger(k)) return;
    if (ev.key === 'Enter' && ev.shiftKey) {
      ev.preventDefault();
      onIsolate(k);
      return;
    }
    const to = { ArrowRight: k + 1, ArrowDown: k + 1, ArrowLeft: k - 1, ArrowUp: k - 1, Home: 0, End: heads - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    const next = (to + heads) % heads;
    const buttons = group.querySelectorAll('button');
    buttons[k].tabIndex = -1;
    buttons[next].tabIndex = 0;
    buttons[next].focus();
  });
  return group;
}

/** A `<select>` of `count` numbered options. */
export function numberSelect(label, count, value, onChange, id) {
  return h(
    'label',
    { class: 'control' },
    `${label} `,
    h(
      'select',
      { id, onchange: (ev) => onChange(Number(ev.target.value)) },
      Array.from({ length: count }, (_, i) => h('option', { value: i, selected: i === value }, String(i))),
    ),
  );
}

/**
 * The heads shown after a double-click on head `k`: only `k`, or every head
 * again when only `k` was shown.
 * @param {boolean[]} active
 */
export function isolate(active, k) {
  const only = active.every((on, i) => on === (i === k));
  return active.map((_, i) => only || i === k);
}

/**
 * The head view with its controls.
 * @param {HTMLElement} el
 * @param data  as drawHeadView, plus `pair` (whether the input is a sentence pair) and
 *   `names` (what its two texts are called); `att` null while on its way, `error` if it failed
 * @param view  as drawHeadView
 * @param {{onLayer: Function, onFilter: Function, onToggle: Function, onIsolate: Function, onHover: Function}} actions
 * @returns {HTMLCanvasElement | null} the canvas, once the maps are in
 */
export function renderHeadView(el, data, view, actions) {
  const canvas = h('canvas', {
    class: 'head-canvas',
    id: 'head-canvas',
    tabindex: 0,
    // An application: its arrow keys are its own (a screen reader passes them on).
    role: 'application',
    'aria-roledescription': 'attention lines',
    'aria-label': `attention lines between tokens, layer ${view.layer}: up and down arrows move between tokens, left and right between the query and key columns`,
    'aria-describedby': 'head-live',
  });
  const live = h('p', { class: 'muted head-live', id: 'head-live', role: 'status', 'aria-live': 'polite' }, describeHover(data, view, view.hover));
  const controls = h(
    'div',
    { class: 'controls' },
    numberSelect('Layer', data.layers, view.layer, actions.onLayer, 'head-layer'),
    data.pair
      ? h(
          'label',
          { class: 'control' },
          'Attention ',
          h(
            'select',
            { id: 'head-filter', onchange: (ev) => actions.onFilter(ev.target.value) },
            Object.entries(filters(data.names)).map(([k, v]) => h('option', { value: k, selected: k === view.filter }, v)),
          ),
        )
      : null,
    headPicker(data.heads, view.active, actions),
  );
  if (!data.att) {
    fill(el, controls, h('p', { class: 'muted', id: 'head-wait', role: 'status' }, data.error ?? 'Reading the attention maps…'));
    return null;
  }
  canvas.addEventListener('mousemove', (ev) => {
    const r = canvas.getBoundingClientRect();
    const hit = hitTest(data, view, ev.clientX - r.left, ev.clientY - r.top);
    if (JSON.stringify(hit) !== JSON.stringify(view.hover)) actions.onHover(hit);
  });
  canvas.addEventListener('mouseleave', () => view.hover && actions.onHover(null));
  const hoverBy = (hit) => {
    actions.onHover(hit);
    live.textContent = describeHover(data, view, hit);
  };
  canvas.addEventListener('focus', () => view.hover || hoverBy(moveHover(data, view, null, 'Home')));
  canvas.addEventListener('blur', () => {
    if (view.hover) actions.onHover(null);
  });
  canvas.addEventListener('keydown', (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const hit = moveHover(data, view, view.hover, ev.key);
    if (hit === undefined) return;
    ev.preventDefault();
    hoverBy(hit);
    // Keep the token in sight in a long input.
    if (hit) {
      const row = columns(data.segments, view.filter)[hit.side === 'left' ? 0 : 1].indexOf(hit.index);
      const box = canvas.parentElement;
      const top = TEXT_TOP + row * BOXHEIGHT;
      if (box && (top < box.scrollTop || top + BOXHEIGHT > box.scrollTop + box.clientHeight)) box.scrollTop = top - box.clientHeight / 2;
    }
  });
  fill(el, controls, live, h('div', { class: 'canvas-scroll' }, canvas));
  drawHeadView(canvas, data, view);
  return canvas;
}

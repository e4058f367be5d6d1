// Fill-mask: the text with each mask showing the filler explained (or the
// best one), and for each mask its fillers with their probabilities; a
// click on a filler explains it.

import { h, fill, pressable } from '../dom.js';
import { pct, textPieces } from '../tokens.js';
import { truncation, windowList } from './prediction.js';

/** A filler as shown: its spelling, with spaces made visible. */
export function fillerText(token) {
  if (!token.trim()) return token.length ? '␣'.repeat(token.length) : '∅';
  return token.replace(/^ +/, (m) => '␣'.repeat(m.length)).replace(/ +$/, (m) => '␣'.repeat(m.length));
}

/**
 * @param {HTMLElement} el
 * @param {{e: import('../types.js').Explanation, text: string, mask: number|null, filler: number|null,
 *          maskToken: string, maxTokens: number}} data
 *   `e`: the analysis (its `masks`); `mask`, `filler`: the mask and the filler explained
 * @param {{onFiller: ((mask: number, id: number) => void) | null}} actions  null: the fillers only show
 */
export function renderFillers(el, data, actions) {
  const masks = data.e.masks ?? [];
  if (!masks.length) {
    // A text cut before its mask: read whole (in windows), the mask is there.
    fill(
      el,
      truncation({ truncated: data.e.truncated, maxTokens: data.maxTokens }, actions.onWindows ?? null),
      h(
        'p',
        { class: 'headline', id: 'no-mask' },
        data.e.truncated
          ? `No ${data.maskToken} in the first ${data.maxTokens} tokens: a mask past them was cut off with the rest of the text.`
          : `The text has no ${data.maskToken}: put one where a word is to be guessed (Insert ${data.maskToken} puts it at the cursor).`,
      ),
    );
    return;
  }
  const mask = masks.some((m) => m.token === data.mask) ? data.mask : masks[0].token;
  const chosen = (m) => (m.token === mask && data.filler !== null ? m.fill.find((f) => f.token_id === data.filler) : null) ?? m.fill[0];
  const number = new Map(masks.map((m, k) => [m.token, k + 1]));
  const sentence = textPieces(data.e, data.text, 0).map((p) => {
    if (p.token === undefined || !number.has(p.token)) return p.text ?? p.gap;
    const m = masks[number.get(p.token) - 1];
    const f = chosen(m);
    return h(
      'mark',
      { class: `slot${m.token === mask ? ' selected' : ''}`, dataset: { token: m.token }, title: `${p.text || data.maskToken} (token ${m.token})` },
      masks.length > 1 ? h('sup', null, String(number.get(m.token))) : null,
      f ? fillerText(f.token) : data.maskToken,
    );
  });
  const groups = masks.map((m, k) => {
    const pick = chosen(m);
    const rows = m.fill.map((f) => {
      const explained = m.token === mask && f === pick;
      return h(
        'li',
        {
          ...pressable(actions.onFiller && (() => actions.onFiller(m.token, f.token_id)), `“${f.token}” (vocabulary id ${f.token_id}): click to explain it`),
          class: `class-row filler-row${explained ? ' target' : ''}${actions.onFiller ? '' : ' static'}`,
          dataset: { mask: m.token, id: f.token_id },
        },
        h('span', { class: 'class-label filler-label' }, fillerText(f.token)),
        h('span', { class: 'class-bar' }, h('span', { style: { width: `${(f.score * 100).toFixed(2)}%` } })),
        h('span', { class: 'class-p' }, pct(f.score)),
        h('span', { class: 'class-tags' }, explained ? h('span', { class: 'tag tag-target' }, 'explained') : null),
      );
    });
    return h(
      'section',
      { class: `mask-group${m.token === mask ? ' selected' : ''}`, dataset: { token: m.token } },
      h('h3', { class: 'subhead' }, masks.length > 1 ? `Mask ${k + 1} (token ${m.token})` : `The mask (token ${m.token})`),
      h('ol', { class: 'classes' }, rows),
    );
  });
  fill(
    el,
    truncation({ truncated: data.e.truncated, maxTokens: data.maxTokens }, actions.onWindows ?? null),
    data.e.windows ? windowList(data.e.windows, actions.onWindows ?? null, "each mask's fillers are the mean over the windows that hold it, and the mask explained is explained in each (its best filler there listed)") : null,
    h('p', { class: 'mask-text', id: 'mask-text' }, sentence),
    h('div', { class: 'mask-groups', id: 'fillers' }, groups),
    h('p', { class: 'muted' }, `Probabilities: softmax over the vocabulary at each mask.${actions.onFiller ? ' Click a filler to explain it.' : ''}`),
  );
}

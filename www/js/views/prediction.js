// The prediction: classes as bars, largest first; a click makes a class the
// target to explain. Token classification shows a token's labels so.

import { h, fill } from '../dom.js';
import { pct } from '../tokens.js';

const TOP = 8;

/**
 * @param {HTMLElement} el
 * @param {{labels: string[], probabilities: number[], predicted: number, target: number|null,
 *          output: string, truncated: boolean, maxTokens: number, headline?: Node, noun?: string}} data
 * @param {{showAll: boolean, onTarget: ((i: number) => void) | null, onShowAll: (v: boolean) => void}} view  onTarget null: rows only show
 */
export function renderPrediction(el, data, view) {
  const onWindows = view.onWindows ?? null;
  const order = data.probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
  const target = data.target ?? data.predicted;
  const shown = view.showAll ? order : order.slice(0, TOP);
  // The class being explained is always in the list.
  if (!shown.some(([, i]) => i === target)) shown.push(order.find(([, i]) => i === target));
  const rows = shown.map(([p, i]) =>
    h(
      'li',
      {
        class: `class-row${i === data.predicted ? ' predicted' : ''}${i === target ? ' target' : ''}${view.onTarget ? '' : ' static'}`,
        dataset: { index: i },
        // Without onTarget (a saved explanation) the rows only show. With it, the list is a
        // listbox (a list's items cannot be buttons), named by what the row shows.
        ...(view.onTarget && {
          role: 'option',
          'aria-selected': i === target ? 'true' : 'false',
          tabindex: 0,
          title: `explain ${data.labels[i]}`,
          onclick: () => view.onTarget(i),
          onkeydown: (ev) => (ev.key === 'Enter' || ev.key === ' ') && (ev.preventDefault(), view.onTarget(i)),
        }),
      },
      h('span', { class: 'class-label' }, data.labels[i]),
      h('span', { class: 'class-bar' }, h('span', { style: { width: `${(p * 100).toFixed(2)}%` } })),
      h('span', { class: 'class-p' }, pct(p)),
      h(
        'span',
        { class: 'class-tags' },
        i === data.predicted ? h('span', { class: 'tag tag-predicted' }, 'predicted') : null,
        i === target ? h('span', { class: 'tag tag-target' }, 'explained') : null,
      ),
    ),
  );
  const more =
    order.length > TOP
      ? h(
          'button',
          { class: 'link', type: 'button', onclick: () => view.onShowAll(!view.showAll) },
          view.showAll ? `show the top ${TOP}` : `show all ${order.length} ${data.noun ?? 'classes'}`,
        )
      : null;
  fill(
    el,
    data.headline ??
      h(
        'p',
        { class: 'headline', id: 'predicted-label' },
        'Predicted ',
        h('strong', null, data.labels[data.predicted]),
        ` (${pct(data.probabilities[data.predicted])}${data.output === 'sigmoid' ? ', sigmoid' : ''})`,
      ),
    truncation(data, onWindows),
    data.windows ? windowList(data.windows, onWindows, 'the prediction is their mean, and each token\'s attribution the mean over the windows that hold it') : null,
    h('ol', { class: 'classes', ...(view.onTarget && { role: 'listbox', 'aria-label': 'classes: choose one to explain it' }) }, rows),
    more,
  );
}

/**
 * The note that the input was cut to the model's length, or null; with
 * `onWindows`, a button to read all of it in windows instead.
 */
export function truncation(data, onWindows = null) {
  return data.truncated
    ? h(
        'p',
        { class: 'warning', id: 'truncated' },
        `The text is longer than the model takes: only its first ${data.maxTokens} tokens were read.`,
        onWindows ? ' ' : null,
        onWindows ? h('button', { type: 'button', class: 'link', id: 'read-windows', onclick: () => onWindows(true) }, 'Read all of it, in windows') : null,
      )
    : null;
}

/**
 * A text read in windows: each window's characters and, where it has one,
 * its prediction (a per-token head's: of the token explained, in the windows
 * that hold it); `rule` says how they were put together; a way back to
 * cutting the text.
 */
export function windowList(windows, onWindows, rule) {
  const w = windows;
  return h(
    'div',
    { class: 'windows', id: 'class-windows' },
    h(
      'p',
      { class: 'muted' },
      `Read in ${w.length} windows of up to ${Math.max(...w.map((x) => x.tokens))} tokens, overlapping: ${rule}. The attention views read the first window. `,
      onWindows ? h('button', { type: 'button', class: 'link', id: 'cut-windows', onclick: () => onWindows(false) }, 'Cut the text instead') : null,
    ),
    h(
      'ol',
      { class: 'window-list' },
      w.map((x, k) =>
        h(
          'li',
          { dataset: { window: k, start: x.start, end: x.end } },
          `characters ${x.start}–${x.end}`,
          x.predicted_label != null ? [': ', h('strong', null, x.predicted_label), x.probabilities ? ` ${pct(x.probabilities[x.predicted])}` : ''] : '',
        ),
      ),
    ),
  );
}

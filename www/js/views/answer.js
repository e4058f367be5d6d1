// Question answering: the answer highlighted in the context with its score,
// and the next-best spans; a click on one explains it instead.

import { h, fill, pressable } from '../dom.js';
import { pct, textPieces } from '../tokens.js';
import { truncation } from './prediction.js';

/**
 * The context with the tokens of `[first, last]`, and the gaps between
 * them, in one mark.
 * @returns {Node[]}
 */
function contextWithSpan(e, context, first, last) {
  const pieces = textPieces(e, context, 1);
  const inSpan = (p) => p?.token !== undefined && p.token >= first && p.token <= last;
  const nodes = [];
  let mark = null;
  pieces.forEach((p, n) => {
    const inside = p.token !== undefined ? inSpan(p) : inSpan(pieces[n - 1]) && inSpan(pieces[n + 1]);
    if (inside) {
      mark ??= h('mark', { class: 'answer', id: 'answer-span' });
      mark.append(p.text ?? p.gap);
      return;
    }
    if (mark) nodes.push(mark);
    mark = null;
    nodes.push(p.text ?? p.gap);
  });
  if (mark) nodes.push(mark);
  return nodes;
}

/**
 * A context read in windows (the core's `windows`, as transformers' pipeline
 * cut them): which window the answer, its tokens and attributions are of,
 * and each window's best span.
 */
function windows(list, k) {
  if (!list?.length) return null;
  const longest = Math.max(...list.map((w) => w.tokens));
  return h(
    'div',
    { class: 'qa-windows', id: 'qa-windows', dataset: { windows: list.length, window: k ?? '' } },
    h('p', { class: 'muted' }, `The context is longer than one window: it was read in ${list.length} overlapping windows of up to ${longest} tokens (the question's included), and the best span of all is the answer. Its tokens and attributions are those of window ${k + 1}.`),
    h(
      'ol',
      { class: 'qa-window-list' },
      list.map((w, i) =>
        h(
          'li',
          { class: i === k ? 'target' : null, dataset: { start: w.start, end: w.end } },
          `characters ${w.start}–${w.end}: `,
          w.answer ? h('q', null, w.answer.text) : 'no span',
          w.answer ? ` ${pct(w.answer.score)}` : '',
          i === k ? h('span', { class: 'tag tag-target' }, 'the answer') : null,
        ),
      ),
    ),
  );
}

/**
 * @param {HTMLElement} el
 * @param {{e: import('../types.js').Explanation, context: string, answer: number, maxTokens: number}} data
 *   `e`: the analysis (its `answers`); `answer`: the one explained
 * @param {{onAnswer: ((k: number) => void) | null}} actions  null: the spans only show
 */
export function renderAnswer(el, data, actions) {
  const answers = data.e.answers ?? [];
  if (!answers.length) {
    fill(el, h('p', { class: 'headline', id: 'answer-text' }, 'No answer: the context is empty. Type the text the answer is to be found in.'));
    return;
  }
  const k = Math.min(data.answer, answers.length - 1);
  const a = answers[k];
  const rows = answers.map((x, i) =>
    h(
      'li',
      {
        ...pressable(actions.onAnswer && (() => actions.onAnswer(i)), `explain “${x.text}”`),
        class: `class-row answer-row${i === k ? ' target' : ''}${i === 0 ? ' predicted' : ''}${actions.onAnswer ? '' : ' static'}`,
        dataset: { index: i },
      },
      h('span', { class: 'class-label answer-label' }, x.text.trim() ? x.text : '␣'),
      h('span', { class: 'class-bar' }, h('span', { style: { width: `${(x.score * 100).toFixed(2)}%` } })),
      h('span', { class: 'class-p' }, pct(x.score)),
      h(
        'span',
        { class: 'class-tags' },
        i === 0 ? h('span', { class: 'tag tag-predicted' }, 'best') : null,
        i === k ? h('span', { class: 'tag tag-target' }, 'explained') : null,
      ),
    ),
  );
  fill(
    el,
    h(
      'p',
      { class: 'headline', id: 'answer-line' },
      k === 0 ? 'Answer ' : `Answer ${k + 1} of ${answers.length} `,
      h('strong', { id: 'answer-text' }, `“${a.text}”`),
      ` (score ${pct(a.score)})`,
    ),
    truncation({ truncated: data.e.truncated, maxTokens: data.maxTokens }),
    windows(data.e.windows, a.window),
    h('blockquote', { class: 'context', id: 'qa-context', 'aria-label': 'the context, the answer marked' }, contextWithSpan(data.e, data.context, a.token_start, a.token_end)),
    h('h3', { class: 'subhead' }, 'Best spans'),
    h('ol', { class: 'classes', id: 'answers' }, rows),
    h('p', { class: 'muted' }, `Score: p(start) · p(end), softmax over the context’s tokens; spans of up to 15 tokens.${actions.onAnswer ? ' Click a span to explain it.' : ''}`),
  );
}

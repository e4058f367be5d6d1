// Counterfactuals of a classifier's prediction: the core's
// `CounterfactualReport` drawn as the original text with each edit marked
// (the word struck out, its replacement inserted), the model's prediction on
// the new text, and a button to explain it. Pure: data in, DOM out.

import { h, fill } from '../dom.js';

const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** One text of the input (`seq` 0, or 1 the pair's) with the edits of that text marked. */
export function markedText(text, edits, seq) {
  const chars = Array.from(text); // offsets are in characters (code points)
  const parts = [];
  let at = 0;
  for (const e of edits.filter((e) => (e.sequence ?? 0) === seq)) {
    parts.push(chars.slice(at, e.start).join(''));
    parts.push(h('del', { class: 'cf-from' }, e.from), h('ins', { class: 'cf-to' }, e.to));
    at = e.end;
  }
  parts.push(chars.slice(at).join(''));
  return parts;
}

function item(c, input, original, { onTry }, id) {
  const texts = [h('span', { class: 'cf-text' }, markedText(input.text, c.edits, 0))];
  if (c.pair != null) texts.push(h('span', { class: 'cf-sep' }, ' ‖ '), h('span', { class: 'cf-text' }, markedText(input.pair ?? '', c.edits, 1)));
  return h(
    'li',
    { class: 'cf', id, dataset: { label: c.label, edits: c.edits.length, text: c.text } },
    h('p', { class: 'cf-line' }, texts),
    h(
      'p',
      { class: 'cf-verdict' },
      '→ ',
      h('strong', null, c.label),
      ` ${pct(c.probability)}`,
      h('span', { class: 'muted' }, ` (${original} now ${pct(c.original_probability)})`),
      onTry ? ' ' : null,
      onTry ? h('button', { type: 'button', class: 'link cf-try', onclick: () => onTry(c) }, 'Explain this text') : null,
    ),
  );
}

/**
 * The search's outcome for `input`: `c` is {running, result, error}. With
 * `visiting` (the text explained is one of the counterfactuals), a way back
 * to the original text comes first.
 */
export function renderCounterfactuals(el, c, input, { onTry = null, onBack = null, visiting = false } = {}) {
  const intro = h(
    'p',
    { class: 'muted' },
    'The fewest words to replace so that the model predicts another class (or the class chosen; a token classifier: another label for the token explained): the gradient estimates the effect of every substitution by a whole word of the vocabulary (HotFlip), a beam search keeps the best texts, and each text listed was run through the model, as ',
    h('code', null, 'bertlens counterfactual'),
    ' does.',
  );
  if (!c || c.running) return fill(el, intro);
  const back = visiting ? h('p', null, h('button', { type: 'button', id: 'cf-back', onclick: () => onBack(c.input) }, `← Back to the original text`)) : null;
  if (c.error) return fill(el, back, h('p', { class: 'message error' }, c.error));
  const r = c.result;
  const goal = r.target ? `make it ${r.target}` : `change it from ${r.original.label}`;
  // A token classifier's: the label of one token.
  const subject = r.token != null ? `The model labels “${r.word}” (token ${r.token})` : 'The model predicts';
  const list = r.counterfactuals.length ? r.counterfactuals : r.closest ? [r.closest] : [];
  const n = r.counterfactuals[0]?.edits.length;
  const summary = r.counterfactuals.length
    ? `${subject} ${r.original.label} (${pct(r.original.probability)}). ${n === 1 ? 'One word replaced is' : `${n} words replaced are`} enough to ${goal}:`
    : r.searched.words === 0
      ? 'No word of this text can be replaced: only words of letters that are one token each are.'
      : `${r.token != null ? `${subject} ${r.original.label}. ` : ''}No text of up to ${r.options.max_edits} replaced word${r.options.max_edits === 1 ? '' : 's'} was found to ${goal} (${r.searched.verified} texts run).${r.closest ? ' The closest:' : ''}`;
  fill(
    el,
    back,
    h('div', { id: 'cf-result', dataset: { found: r.counterfactuals.length, verified: r.searched.verified } },
      h('p', null, summary),
      list.length ? h('ol', { class: 'cf-list' }, list.map((x, i) => item(x, c.input, r.original.label, { onTry }, `cf-${i}`))) : null,
      h('p', { class: 'muted' }, `${r.counterfactuals.length > 1 ? `Listed by ${r.target ? `${r.target}'s probability, highest first` : `${r.original.label}'s probability, lowest first`}. ` : ''}${r.searched.words} replaceable words, ${r.searched.vocabulary.toLocaleString('en')} whole words of the vocabulary, ${r.searched.verified} texts run through the model.`),
    ),
  );
}

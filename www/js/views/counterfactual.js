// Counterfactuals of a classifier's prediction (or a token's label, or a
// question's answer): the core's `CounterfactualReport` drawn as the original
// text with each edit marked (the word struck out, its replacement inserted;
// a question's answer underlined in the context), the model's prediction on
// the new text, and a button to explain it. Pure: data in, DOM out.

import { h, fill } from '../dom.js';

const pct = (x) => `${(100 * x).toFixed(1)}%`;

/**
 * One text of the input (`seq` 0, or 1 the pair's) with the edits of that
 * text marked; `span` ([start, end) in its characters, never edited) is
 * underlined: the answer a question's counterfactuals move.
 */
export function markedText(text, edits, seq, span = null) {
  const chars = Array.from(text); // offsets are in characters (code points)
  const marks = edits
    .filter((e) => (e.sequence ?? 0) === seq)
    .map((e) => ({ start: e.start, end: e.end, nodes: [h('del', { class: 'cf-from' }, e.from), h('ins', { class: 'cf-to' }, e.to)] }));
  if (span) marks.push({ start: span[0], end: span[1], nodes: [h('mark', { class: 'cf-answer', title: 'the answer' }, chars.slice(span[0], span[1]).join(''))] });
  marks.sort((a, b) => a.start - b.start);
  const parts = [];
  let at = 0;
  for (const m of marks) {
    parts.push(chars.slice(at, m.start).join(''), ...m.nodes);
    at = m.end;
  }
  parts.push(chars.slice(at).join(''));
  return parts;
}

function item(c, input, report, { onTry }, id) {
  const answer = report.original.answer;
  const texts = [h('span', { class: 'cf-text' }, markedText(input.text, c.edits, 0))];
  const span = answer ? [answer.start, answer.end] : null;
  if (c.pair != null) texts.push(h('span', { class: 'cf-sep' }, ' ‖ '), h('span', { class: 'cf-text' }, markedText(input.pair ?? '', c.edits, 1, span)));
  // A question's: the answer on the new text, and the original answer's p(start)·p(end) there.
  const verdict = c.answer
    ? [h('span', null, 'answer '), h('strong', { class: 'cf-new-answer' }, `“${c.label}”`), ` ${pct(c.probability)}`, h('span', { class: 'muted' }, ` (“${report.original.label}” now ${pct(c.original_probability)})`)]
    : [h('strong', null, c.label), ` ${pct(c.probability)}`, h('span', { class: 'muted' }, ` (${report.original.label} now ${pct(c.original_probability)})`)];
  return h(
    'li',
    { class: 'cf', id, dataset: { label: c.label, edits: c.edits.length, text: c.text, pair: c.pair ?? '' } },
    h('p', { class: 'cf-line' }, texts),
    h(
      'p',
      { class: 'cf-verdict' },
      '→ ',
      ...verdict,
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
    'The fewest words to replace so that the model predicts another class (or the class chosen; a token classifier: another label for the token explained; a question-answering model: another span of the context as its answer, the answer\'s own words kept): the gradient estimates the effect of every substitution by a whole word of the vocabulary (HotFlip), a beam search keeps the best texts, and each text listed was run through the model, as ',
    h('code', null, 'bertlens counterfactual'),
    ' does.',
  );
  if (!c || c.running) return fill(el, intro);
  const back = visiting ? h('p', null, h('button', { type: 'button', id: 'cf-back', onclick: () => onBack(c.input) }, `← Back to the original text`)) : null;
  if (c.error) return fill(el, back, h('p', { class: 'message error' }, c.error));
  const r = c.result;
  const qa = Boolean(r.original.answer);
  const goal = r.target ? `make it ${r.target}` : qa ? 'move the answer to another span' : `change it from ${r.original.label}`;
  // A token classifier's: the label of one token; a question's: its answer.
  const subject = r.token != null ? `The model labels “${r.word}” (token ${r.token})` : qa ? 'The model answers' : 'The model predicts';
  const said = qa ? `“${r.original.label}”` : r.original.label;
  const list = r.counterfactuals.length ? r.counterfactuals : r.closest ? [r.closest] : [];
  const n = r.counterfactuals[0]?.edits.length;
  const summary = r.counterfactuals.length
    ? `${subject} ${said} (${pct(r.original.probability)}). ${n === 1 ? 'One word replaced is' : `${n} words replaced are`} enough to ${goal}:`
    : r.searched.words === 0
      ? 'No word of this text can be replaced: only words of letters that are one token each are.'
      : `${r.token != null || qa ? `${subject} ${said}. ` : ''}No text of up to ${r.options.max_edits} replaced word${r.options.max_edits === 1 ? '' : 's'} was found to ${goal} (${r.searched.verified} texts run).${r.closest ? ' The closest:' : ''}`;
  fill(
    el,
    back,
    h('div', { id: 'cf-result', dataset: { found: r.counterfactuals.length, verified: r.searched.verified } },
      h('p', null, summary),
      list.length ? h('ol', { class: 'cf-list' }, list.map((x, i) => item(x, c.input, r, { onTry }, `cf-${i}`))) : null,
      h('p', { class: 'muted' }, `${r.counterfactuals.length > 1 ? `Listed by ${r.target ? `${r.target}'s probability, highest first` : qa ? 'the original answer\'s probability, lowest first' : `${r.original.label}'s probability, lowest first`}. ` : ''}${r.searched.words} replaceable words, ${r.searched.vocabulary.toLocaleString('en')} whole words of the vocabulary, ${r.searched.verified} texts run through the model.`),
    ),
  );
}

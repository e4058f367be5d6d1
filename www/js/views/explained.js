// The panels of the text view that the workbench adds: the rows of the
// loaded set nearest to the explained text, how faithful each method's
// explanation of it is, and an anchor of its prediction. All numbers are
// the core's, through the binding.

import { state, task } from '../state.js';
import { h, fill, memo, tableHead as head } from '../dom.js';
import { picked } from '../table.js';
import * as ds from '../dataset.js';
import { renderCounterfactuals } from './counterfactual.js';
import { faithTable, deletionPlot, agreementTable, rowCurves, curveArea, verdict } from './faithfulness.js';

const $ = (id) => document.getElementById(id);
const changed = memo();
const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** The text view's panel of the nearest rows of the loaded set. */
export function renderNeighboursPanel() {
  const d = state.dataset;
  const n = d.neighbours;
  const show = Boolean(d.run?.vectors) && task() === 'sequence-classification' && state.view.mode === 'text';
  $('neighbours-panel').hidden = !show;
  if (!show || !changed('neighbours', [n, d.run])) return;
  renderNeighbours($('neighbours'), { n, d, labels: state.model.info.labels, input: state.input }, { onRow: (i) => ds.explainRow(i) });
}

export function renderNeighbours(el, { n, d, labels, input }, { onRow }) {
  if (!n || !input || n.text !== input.text) return fill(el, h('p', { class: 'muted' }, 'Finding the nearest rows…'));
  if (n.error) return fill(el, h('p', { class: 'message error' }, n.error));
  const { texts } = picked(d);
  const truth = d.labels?.indices;
  const name = (i) => (i >= 0 ? (labels[i] ?? String(i)) : '—');
  fill(
    el,
    h('p', { class: 'muted' }, `The ${n.rows.length} rows of ${d.source} whose pooled representation (the vector the head reads) is nearest this text's, by cosine similarity.`),
    h(
      'table',
      { class: 'mistakes', id: 'neighbours-table' },
      head(['row', 'similarity', 'text', 'true', 'predicted'], [0, 1]),
      h(
        'tbody',
        null,
        [...n.rows].map((r, k) => {
          const t = truth ? truth[r] : -1;
          const p = d.run.predicted[r];
          return h(
            'tr',
            { class: 'clickable', dataset: { row: r, similarity: n.similarity[k] }, onclick: () => onRow(r) },
            h('td', { class: 'num' }, String(r + 1)),
            h('td', { class: 'num' }, n.similarity[k].toFixed(3)),
            h('td', { class: 'text' }, texts[r]),
            h('td', { class: 'label' }, name(t)),
            h('td', { class: `label${t >= 0 && t !== p ? ' wrong' : ''}` }, name(p)),
          );
        }),
      ),
    ),
  );
}

export function renderFaithfulnessPanel() {
  const show = task() === 'sequence-classification' && Boolean(state.analysis);
  $('faithfulness-panel').hidden = !show;
  if (!show) return;
  const f = state.faithfulness;
  const current = f && f.input === state.input ? f : null;
  $('faith-run').disabled = Boolean(current?.running) || Boolean(state.busy);
  $('faith-progress').hidden = !current?.running;
  const a = state.anchor?.input === state.input ? state.anchor : null;
  $('anchor-run').disabled = Boolean(a?.running) || Boolean(state.busy);
  $('anchor-progress').hidden = !a?.running;
  if (changed('anchor', [a, a?.result, a?.error])) renderAnchor($('anchor'), a, state.input);
  if (changed('faithfulness', [current, current?.result, current?.error])) {
    if (current?.result || current?.error) renderFaithfulness($('faithfulness'), current);
    else if (!current) fill($('faithfulness'), h('p', { class: 'muted' }, "ERASER's comprehensiveness and sufficiency (AOPC over 1, 5, 10, 20 and 50% of the tokens, removed as the workbench's “removed tokens are” says: deleted by default), the deletion curves and the methods' agreement, of each method's explanation of the predicted class, as bertlens analyze --faithfulness computes them."));
  }
}

/** One input's faithfulness: the table per method, the deletion curves, the methods' agreement. */
export function renderFaithfulness(el, f) {
  if (f.error) return fill(el, h('p', { class: 'message error' }, f.error));
  const r = f.result;
  const methods = Object.fromEntries(Object.entries(r.methods).map(([m, x]) => [m, { ...x, deletion_auc: curveArea(x.deletion_curve) }]));
  const why = verdict(methods);
  fill(
    el,
    h('p', { class: 'muted' }, `Explaining p(${state.model.info.labels[r.target]}) = ${(100 * r.probability).toFixed(1)}%. Comprehensiveness: how much the probability drops when a method's top tokens are removed (higher is more faithful); sufficiency: how much it drops when only they are kept (lower is more faithful); the deletion curve's area (lower: the probability falls sooner). Most comprehensive first.`),
    why ? h('p', { id: 'faith-verdict' }, why) : null,
    faithTable(methods, { id: 'faithfulness-table' }),
    h(
      'div',
      { class: 'faith-grid' },
      deletionPlot(rowCurves(r.methods), { id: 'faith-curves', title: 'Deletion curves of this input' }),
      h('div', null, h('p', { class: 'muted' }, 'Do the methods rank the tokens alike?'), agreementTable(r.agreement, { id: 'faith-agreement' })),
    ),
  );
}

/** A few of the anchor's sampled sentences (the others' words masked or replaced), each once. */
const ANCHOR_SAMPLES = 4;
const samples = (id, title, list) => {
  const distinct = [...new Set(list)].slice(0, ANCHOR_SAMPLES);
  return distinct.length ? h('div', { class: 'anchor-samples', id }, h('p', { class: 'muted' }, title), h('ul', null, distinct.map((t) => h('li', null, h('q', null, t))))) : null;
};

/** The anchor as a rule over the text: its words marked, precision and coverage, a few samples. */
export function renderAnchor(el, a, input) {
  if (!a || a.running) return fill(el);
  if (a.error) return fill(el, h('p', { class: 'message error' }, a.error));
  const r = a.result;
  // A word's offsets are in its own text: marked only when there is one text.
  const words = input.pair ? [] : [...r.words].sort((x, y) => x.offsets[0] - y.offsets[0]);
  const text = input.text;
  const parts = [];
  let at = 0;
  // Offsets are in characters (code points) of the first text.
  const chars = Array.from(text);
  for (const w of words) {
    parts.push(chars.slice(at, w.offsets[0]).join(''));
    parts.push(h('mark', { class: 'anchor-word' }, chars.slice(w.offsets[0], w.offsets[1]).join('')));
    at = w.offsets[1];
  }
  parts.push(chars.slice(at).join(''));
  const rule = r.words.length ? r.words.map((w) => w.word).join(' AND ') : '(any text: the prediction holds with every word hidden)';
  fill(
    el,
    h(
      'div',
      { id: 'anchor-result', class: 'anchor', dataset: { precision: r.precision, coverage: r.coverage, success: r.success } },
      h('p', null, h('strong', null, 'IF '), h('code', { id: 'anchor-rule' }, rule), h('strong', null, ' THEN '), r.predicted_label),
      h('p', { class: 'anchor-text' }, parts),
      h('p', { class: 'muted' }, `precision ${pct(r.precision)}, coverage ${pct(r.coverage)}, ${r.samples} sentences run${r.success ? '' : ' (the threshold was not reached: the best anchor found)'}`),
      samples('anchor-keep', `Sentences that keep the anchor and the prediction (${r.predicted_label})`, r.covered_true),
      samples('anchor-flip', 'Sentences that keep the anchor but not the prediction', r.covered_false),
    ),
  );
}

const sameInput = (a, b) => Boolean(a && b) && a.text === b.text && (a.pair ?? null) === (b.pair ?? null);

/**
 * The text view's counterfactuals (a sequence classifier's, a token
 * classifier's label of the token explained, a question's answer): the form (its
 * classes and edit counts from the model and the core's vocabulary), the
 * search's progress, and its texts. Shown too while one of them is explained,
 * with the way back to the original.
 */
export function renderCounterfactualPanel() {
  const info = state.model?.info;
  const ner = task() === 'token-classification';
  const qa = task() === 'question-answering';
  const show = (task() === 'sequence-classification' || ner || qa) && Boolean(state.analysis) && Boolean(state.input);
  $('cf-panel').hidden = !show;
  if (!show) return;
  // A question's answer is moved to another span: no class to choose.
  $('cf-target').closest('label').hidden = qa;
  // A search of another model (one loaded while it ran) is not shown.
  const c = state.counterfactual?.model === state.model ? state.counterfactual : null;
  // A token classifier's search is of one token's label: the token explained.
  const token = ner ? (state.explanation?.token ?? null) : null;
  const current = c && sameInput(c.input, state.input) && (!ner || c.options.token === token) ? c : null;
  const visiting = !current && c?.result?.counterfactuals.concat(c.result.closest ?? []).some((x) => sameInput({ text: x.text, pair: x.pair ?? null }, state.input)) ? c : null;
  const form = state.view.counterfactual;
  if (changed('cf-form', [info])) {
    const target = $('cf-target');
    fill(target, h('option', { value: '' }, info.task === 'token-classification' ? 'any other label' : 'any other class'), info.labels.map((l, i) => h('option', { value: String(i) }, l)));
    const v = info; // the core's vocabulary comes with the model's info
    const edits = $('cf-edits');
    fill(edits, Array.from({ length: v.counterfactual_max_edits }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))));
    if (form.maxEdits === '') edits.value = String(v.counterfactual_defaults.max_edits);
  }
  $('cf-target').value = form.target;
  if (form.maxEdits !== '') $('cf-edits').value = form.maxEdits;
  $('cf-run').disabled = Boolean(current?.running) || Boolean(state.busy);
  $('cf-progress').hidden = !current?.running;
  const shown = current ?? visiting;
  if (!changed('cf', [shown, shown?.result, shown?.error, shown?.running, Boolean(visiting)])) return;
  renderCounterfactuals($('cf'), shown, state.input, { onTry: ds.tryText, onBack: ds.tryText, visiting: Boolean(visiting) });
}

// <bert-lens view="dataset" src="report.json">: a report of `bertlens
// analyze` drawn by the workbench's own views (views/report.js), with no
// model and no wasm: accuracy, the confusions (a click on a cell lists its
// rows), the misclassified rows, per-class metrics, words per class and,
// when analysed with --faithfulness, which method to trust.

import { h, fill } from '../dom.js';
import { mistakes, defaultWordsClass } from '../table.js';
import { renderSummary, renderConfusion, renderMistakes, renderClasses, renderWords, renderSetFaithfulness, renderUnmatched } from '../views/report.js';

/** The fields that make a JSON object a report of `bertlens analyze`. */
const REPORT_FIELDS = ['accuracy', 'confusion', 'per_class', 'rows', 'labels'];

/** Whether `json` is a report of `bertlens analyze` (else, perhaps, an explanation). */
export function isReport(json) {
  return Boolean(json) && typeof json === 'object' && REPORT_FIELDS.every((k) => k in json);
}

/** A view's state: how the misclassified rows are sorted, a confusion cell, the class whose words show. */
export const emptyReportView = () => ({ sort: 'confidence', truth: '', predicted: '', query: '', minWords: '', maxWords: '', cell: null, wordsClass: '' });

/**
 * The report as the workbench's state: the set (`d`, its rows' texts and
 * matched labels), the run (`run`: predictions as typed arrays and the
 * metrics), the words per class and the set's faithfulness.
 */
export function fromReport(r, view) {
  const n = r.rows.length;
  const hasPair = r.rows.some((x) => x.pair);
  const d = {
    source: 'report',
    table: { format: 'json', columns: hasPair ? ['text', 'pair'] : ['text'], rows: r.rows.map((x) => (hasPair ? [x.text, x.pair ?? ''] : [x.text])) },
    columns: { text: 0, pair: hasPair ? 1 : -1, label: -1 },
    labels: { indices: Int32Array.from(r.rows, (x) => x.label_index ?? -1), unmatched: r.unmatched_labels ?? [] },
    view,
  };
  const run = {
    n,
    predicted: Int32Array.from(r.rows, (x) => x.predicted_index ?? -1),
    probability: Float32Array.from(r.rows, (x) => x.probability ?? NaN),
    loss: Float32Array.from(r.rows, (x) => x.loss ?? NaN),
    errors: new Map(r.rows.filter((x) => x.error).map((x) => [x.index, x.error])),
    running: false,
    labelled: r.rows_labelled,
    correct: r.rows.filter((x) => x.correct === true).length,
    metrics: r.rows_labelled ? { accuracy: r.accuracy, support: r.rows_labelled, confusion: r.confusion, per_class: r.per_class, macro_avg: r.macro_avg, weighted_avg: r.weighted_avg } : null,
  };
  d.run = run;
  const words = r.words && Object.keys(r.words).length ? { method: r.settings?.method ?? 'saliency', running: false, byClass: r.words } : null;
  const evaluated = r.rows.filter((x) => x.faithfulness).map((x) => x.index);
  const faith = r.faithfulness
    ? { scope: 'first', rows: evaluated, removal: r.settings?.faithfulness?.removal, cancelled: false, errors: new Map(), summary: { rows: evaluated.length, methods: r.faithfulness, agreement: r.agreement ?? [] } }
    : null;
  return { d, run, words, faith };
}

/**
 * Draws report `r` into `el`; `view` is the element's view state (kept
 * across draws). A click or a filter redraws only what it changes, so that
 * typing in the filter keeps its focus.
 */
export function presentReport(el, r, view) {
  const { d, run, words, faith } = fromReport(r, view);
  const labels = r.labels;
  const section = (id, title, note) => [h('h3', { id: `${id}-h` }, title, note ? h('span', { class: 'muted' }, ` ${note}`) : null), h('div', { id })];
  const sections = [];
  const summary = h('div', { id: 'report-summary' });
  renderSummary(summary, run, d);
  sections.push(h('p', { class: 'muted' }, `${r.model}: ${r.rows_total} rows, analysed by bertlens ${r.bertlens}${r.settings?.method ? ` (attributions: ${r.settings.method})` : ''}.`), summary);
  const unmatched = h('div', { class: 'warning' });
  renderUnmatched(unmatched, d, labels);
  sections.push(unmatched);
  if (run.metrics) {
    const [t1, confusion] = section('report-confusion', 'Confusions', '(rows: true class, columns: predicted; a click lists its rows)');
    const [t2, list] = section('report-mistakes', 'Misclassified rows');
    const drawConfusion = () =>
      renderConfusion(confusion, run, labels, view.cell, {
        onCell: (t, p) => {
          view.cell = view.cell && view.cell[0] === t && view.cell[1] === p ? null : [t, p];
          drawConfusion();
          drawList();
        },
      });
    const all = h('button', { type: 'button', class: 'link', onclick: () => ((view.cell = null), drawConfusion(), drawList()) }, 'every confusion');
    const drawList = () => {
      t2.firstChild.textContent = view.cell ? `Misclassified: ${labels[view.cell[0]]} → ${labels[view.cell[1]]}` : 'Misclassified rows';
      all.hidden = !view.cell;
      renderMistakes(list, { rows: mistakes(d), run, d, labels }, { onRow: null });
    };
    const sort = h(
      'select',
      { 'aria-label': 'sort the misclassified rows', onchange: (ev) => ((view.sort = ev.target.value), drawList()) },
      h('option', { value: 'confidence', selected: view.sort === 'confidence' }, 'confident and wrong first'),
      h('option', { value: 'loss', selected: view.sort === 'loss' }, 'largest loss first'),
    );
    const query = h('input', { type: 'search', value: view.query, placeholder: 'word or regular expression', 'aria-label': 'rows whose text matches', oninput: (ev) => ((view.query = ev.target.value), drawList()) });
    drawConfusion();
    drawList();
    const [t3, classes] = section('report-classes', 'Per class', '(worst F1 first)');
    renderClasses(classes, run);
    sections.push(t1, confusion, t2, h('div', { class: 'row' }, sort, query, all), list, t3, classes);
  }
  if (words) {
    const [t, w] = section('report-words', 'Words per class', `(${words.method})`);
    const draw = () => renderWords(w, words, view.wordsClass || defaultWordsClass(words.byClass));
    const shown = view.wordsClass || defaultWordsClass(words.byClass);
    const pick = h(
      'select',
      { 'aria-label': 'class', onchange: (ev) => ((view.wordsClass = ev.target.value), draw()) },
      Object.keys(words.byClass)
        .sort()
        .map((k) => h('option', { value: k, selected: k === shown }, `${k} (${words.byClass[k].rows} rows)`)),
    );
    draw();
    sections.push(t, h('div', { class: 'row' }, pick), w);
  }
  if (faith) {
    const [t, f] = section('report-faithfulness', 'Which method should I trust on this model?');
    renderSetFaithfulness(f, faith);
    sections.push(t, f);
  }
  fill(el, h('section', { part: 'dataset', class: 'report', 'aria-label': 'Report of a labelled set' }, sections));
}

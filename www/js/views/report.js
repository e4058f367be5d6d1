// The workbench's views of a run over a set, pure over their arguments:
// what it says (accuracy, confusions, misclassified rows, per-class
// metrics, words per class, the set's faithfulness). The page's workbench
// (workbench.js) draws them from `state.dataset`; <bert-lens view="dataset">
// from a report of `bertlens analyze` (element/report.js).

import { h, fill, tableHead as head, download, toCsv } from '../dom.js';
import { picked, confusions, wordsTable } from '../table.js';
import { faithTable, deletionPlot, agreementTable, setCurves, verdict } from './faithfulness.js';

/** Misclassified rows listed at once (the filters narrow the rest). */
const SHOWN_ROWS = 200;
/** Cells listed under "most frequent confusions". */
const TOP_CONFUSIONS = 12;

const pct = (x) => `${(100 * x).toFixed(1)}%`;
const num = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');

/** Why there are no metrics yet, or none at all. */
const pending = (run) => h('p', { class: 'muted' }, run.running ? 'When every row is in.' : 'No row has a label that is one of the classes: nothing to measure.');

/**
 * The set's faithfulness (the core's means over the evaluated rows): which
 * method to trust, the table, the mean deletion curves and the methods'
 * agreement.
 */
export function renderSetFaithfulness(el, f) {
  if (!f) return fill(el, h('p', { class: 'muted' }, "Not evaluated yet. Each row costs every method's explanation (Integrated Gradients: 50 steps) and about 2n forward passes for its n tokens removed one by one; ERASER's comprehensiveness and sufficiency are over 1, 5, 10, 20 and 50% of the tokens, removed by deletion."));
  if (f.running) return fill(el, h('p', { class: 'muted' }, 'Evaluating; the table comes when every row is in (a cancel keeps the rows done).'));
  const failed = f.errors.size
    ? h('p', { class: 'warning', id: 'setfaith-failed' }, `${f.errors.size} row${f.errors.size === 1 ? '' : 's'} could not be evaluated: ${[...f.errors.entries()].slice(0, 3).map(([i, e]) => `row ${i + 1}: ${e}`).join('; ')}`)
    : null;
  if (!f.summary) return fill(el, f.error ? h('p', { class: 'message error', id: 'setfaith-error' }, f.error) : h('p', { class: 'muted' }, 'Cancelled before any row was in.'), failed);
  const sm = f.summary;
  const why = verdict(sm.methods);
  const what = f.scope === 'mistakes' ? 'misclassified rows' : 'rows';
  fill(
    el,
    h(
      'p',
      { class: 'muted', id: 'setfaith-summary', dataset: { rows: sm.rows } },
      `Means over ${sm.rows} ${what} (${f.rows.map((i) => i + 1).slice(0, 12).join(', ')}${f.rows.length > 12 ? ', …' : ''})${f.removal && f.removal !== 'delete' ? `, removed tokens replaced by the ${f.removal} token` : ''}${f.cancelled ? ', cancelled: the rows done' : ''}${f.seconds ? `, in ${f.seconds.toFixed(1)} s` : ''}. Higher comprehensiveness and lower sufficiency and deletion area are more faithful; the random baseline is the yardstick.`,
    ),
    why ? h('p', { id: 'setfaith-verdict' }, h('strong', null, why)) : null,
    failed,
    faithTable(sm.methods, { id: 'setfaith-table' }),
    h(
      'div',
      { class: 'faith-grid' },
      deletionPlot(setCurves(sm.methods), { id: 'setfaith-curves', title: `Mean deletion curves over ${sm.rows} ${what}` }),
      h('div', null, h('p', { class: 'muted' }, 'Do the methods rank the tokens alike? (means over the rows)'), agreementTable(sm.agreement, { id: 'setfaith-agreement' })),
    ),
  );
}

/** One list of words as bars: total attribution, with mean and count. */
function wordBars(id, title, stats) {
  if (!stats.length) return h('div', { class: 'word-list' }, h('p', { class: 'muted' }, title), h('p', { class: 'muted' }, 'none'));
  const max = Math.max(...stats.map((s) => Math.abs(s.total)), 1e-12);
  return h(
    'div',
    { class: 'word-list', id },
    h('p', { class: 'muted' }, title),
    h(
      'ul',
      { class: 'classes' },
      stats.map((s) =>
        h(
          'li',
          { class: 'word-row', title: `total ${s.total.toFixed(4)}, mean ${s.mean.toFixed(4)} over ${s.count}`, dataset: { word: s.word, total: s.total } },
          h('span', { class: 'class-label' }, s.word),
          h('span', { class: `class-bar${s.total < 0 ? ' negative' : ''}` }, h('span', { style: { width: `${(100 * Math.abs(s.total)) / max}%` } })),
          h('span', { class: 'class-p' }, s.total.toFixed(2)),
          h('span', { class: 'muted' }, `×${s.count}`),
        ),
      ),
    ),
  );
}

/** The words of one class: toward it over its rows, and over its misclassified rows. */
export function renderWords(el, w, name) {
  if (!w) return fill(el, h('p', { class: 'muted' }, 'Not computed yet: one backward pass a row (saliency, input × gradient) or 50 (Integrated Gradients).'));
  if (!w.byClass) return fill(el, h('p', { class: 'muted' }, w.running ? 'Attributing every row…' : 'Cancelled.'));
  const c = w.byClass[name];
  if (!c) return fill(el);
  fill(
    el,
    h(
      'div',
      { class: 'words-grid' },
      wordBars('words-toward', `Toward ${name}, over the ${c.rows} row${c.rows === 1 ? '' : 's'} predicted as it (${w.method})`, c.toward),
      wordBars('words-wrong', `…over the ${c.misclassified_rows} of them whose true label is another`, c.misclassified),
    ),
    h(
      'p',
      { class: 'row' },
      h('button', { type: 'button', class: 'link', id: 'words-csv', onclick: () => download(`words-per-class-${w.method}.csv`, toCsv(wordsTable(w.byClass, w.method)), 'text/csv') }, 'Download every class as CSV'),
      h('button', { type: 'button', class: 'link', id: 'words-json', onclick: () => download(`words-per-class-${w.method}.json`, JSON.stringify({ method: w.method, words: w.byClass }, null, 1), 'application/json') }, 'as JSON'),
    ),
  );
}

/** Labels that match no class of the model, and how many rows carry them. */
export function renderUnmatched(el, d, labels) {
  const u = d.labels?.unmatched ?? [];
  el.hidden = !u.length;
  if (!u.length) return fill(el);
  const rows = u.reduce((a, x) => a + x.count, 0);
  const shown = u.slice(0, 12);
  fill(
    el,
    h(
      'p',
      { id: 'unmatched-summary' },
      rows === 1
        ? `1 row carries a label that is none of the model's ${labels.length} classes (by name, name up to case, or index); it is run but left out of the metrics:`
        : `${rows} rows carry a label that is none of the model's ${labels.length} classes (by name, name up to case, or index); they are run but left out of the metrics:`,
    ),
    h(
      'ul',
      { id: 'unmatched-list' },
      shown.map((x) => h('li', null, h('code', null, x.label), ` × ${x.count} (row${x.count === 1 ? '' : 's'} ${x.rows.map((r) => r + 1).join(', ')}${x.count > x.rows.length ? ', …' : ''})`)),
      u.length > shown.length ? h('li', null, `and ${u.length - shown.length} more labels`) : null,
    ),
  );
}

/** Accuracy (live while the run goes, the core's when it is done) and counts. */
export function renderSummary(el, run, d) {
  const m = run.metrics;
  const failed = run.errors.size;
  const acc = m ? m.accuracy : run.labelled ? run.correct / run.labelled : NaN;
  const wrong = m ? m.support - Math.round(m.accuracy * m.support) : run.labelled - run.correct;
  const labelled = m ? m.support : run.labelled;
  const items = [
    ['Accuracy', Number.isFinite(acc) ? pct(acc) : '—', 'accuracy', Number.isFinite(acc) ? String(acc) : ''],
    ['Misclassified', `${wrong} of ${labelled}`, 'wrong', String(wrong)],
    ['Macro F1', m ? num(m.macro_avg.f1) : '—', 'macro-f1', m ? String(m.macro_avg.f1) : ''],
    ['Weighted F1', m ? num(m.weighted_avg.f1) : '—', 'weighted-f1', m ? String(m.weighted_avg.f1) : ''],
  ];
  fill(
    el,
    h(
      'div',
      { class: 'stats' },
      items.map(([k, v, id, value]) => h('div', { class: 'stat' }, h('span', { class: 'stat-k' }, k), h('strong', { id: `stat-${id}`, dataset: { value } }, v))),
    ),
    !d.labels ? h('p', { class: 'muted' }, 'No label column: predictions only (pick one for accuracy and errors).') : null,
    failed ? h('p', { class: 'warning', id: 'failed-rows' }, `${failed} row${failed === 1 ? '' : 's'} could not be run: ${[...run.errors.entries()].slice(0, 3).map(([i, e]) => `row ${i + 1}: ${e}`).join('; ')}`) : null,
    run.running ? h('p', { class: 'muted' }, 'Accuracy so far; the per-class metrics come when every row is in.') : null,
  );
}

/**
 * The confusion matrix over the classes with an error (rows: true class,
 * columns: predicted), scrollable, and the most frequent confusions as a list.
 */
export function renderConfusion(el, run, labels, cell, { onCell }) {
  const metrics = run.metrics;
  if (!metrics) return fill(el, pending(run));
  const c = confusions(metrics.confusion);
  if (!c.cells.length) return fill(el, h('p', { id: 'no-confusions' }, 'No errors: every labelled row is predicted as its label.'));
  const name = (i) => labels[i] ?? String(i);
  const isCell = (t, p) => cell && cell[0] === t && cell[1] === p;
  const top = h(
    'ol',
    { class: 'top-confusions', id: 'top-confusions' },
    c.cells.slice(0, TOP_CONFUSIONS).map((x) =>
      h(
        'li',
        { class: isCell(x.truth, x.predicted) ? 'selected' : null },
        h('button', { type: 'button', class: 'link', onclick: () => onCell(x.truth, x.predicted), dataset: { truth: x.truth, predicted: x.predicted } }, `${name(x.truth)} → ${name(x.predicted)}`),
        ` × ${x.count}`,
      ),
    ),
  );
  const max = Math.max(...c.matrix.flat());
  const table = h(
    'table',
    { class: 'confusion', id: 'confusion-table' },
    h('thead', null, h('tr', null, h('th', { class: 'corner' }, 'true ↓ predicted →'), c.classes.map((k) => h('th', { class: 'col', title: name(k) }, h('span', null, name(k)))))),
    h(
      'tbody',
      null,
      c.classes.map((t, i) =>
        h(
          'tr',
          null,
          h('th', { class: 'row-label', title: name(t) }, name(t)),
          c.classes.map((p, j) => {
            const n = c.matrix[i][j];
            const off = t !== p && n > 0;
            const alpha = n ? 0.15 + 0.85 * (n / max) : 0;
            return h(
              'td',
              {
                class: `${t === p ? 'diag' : off ? 'off' : ''}${isCell(t, p) ? ' selected' : ''}`,
                style: n ? { background: t === p ? `rgba(29,122,58,${alpha * 0.5})` : `rgba(180,35,24,${alpha})` } : null,
                title: `${name(t)} → ${name(p)}: ${n}`,
                dataset: { truth: t, predicted: p, count: n },
                onclick: off ? () => onCell(t, p) : null,
              },
              n ? String(n) : '',
            );
          }),
        ),
      ),
    ),
  );
  fill(el, h('div', { class: 'confusion-wrap' }, h('div', null, h('p', { class: 'muted' }, 'Most frequent'), top), h('div', { class: 'confusion-scroll', tabindex: 0, role: 'region', 'aria-label': 'confusion matrix' }, table)));
}

/** The misclassified rows that pass the filters; a click explains one (`onRow`; null: they only show). */
export function renderMistakes(el, { rows, run, d, labels }, { onRow }) {
  const { texts } = picked(d);
  const truth = d.labels?.indices;
  if (!truth) return fill(el, h('p', { class: 'muted' }, 'No labels: nothing is known to be wrong.'));
  const name = (i) => labels[i] ?? String(i);
  fill(
    el,
    h('p', { class: 'muted', id: 'mistakes-count' }, `${rows.length} row${rows.length === 1 ? '' : 's'}${rows.length > SHOWN_ROWS ? `, the first ${SHOWN_ROWS} shown` : ''}`),
    rows.length
      ? h(
          'div',
          { class: 'table-scroll mistakes-scroll' },
          h(
            'table',
            { class: 'mistakes', id: 'mistakes-table' },
            head(['row', 'text', 'true', 'predicted', 'p(predicted)', 'loss'], [0, 4, 5]),
            h(
              'tbody',
              null,
              rows.slice(0, SHOWN_ROWS).map((i) =>
                h(
                  'tr',
                  onRow ? { class: 'clickable', tabindex: '0', dataset: { row: i }, onclick: () => onRow(i), onkeydown: (ev) => ev.key === 'Enter' && onRow(i) } : { dataset: { row: i } },
                  h('td', { class: 'num' }, String(i + 1)),
                  h('td', { class: 'text' }, texts[i]),
                  h('td', { class: 'label' }, name(truth[i])),
                  h('td', { class: 'label wrong' }, name(run.predicted[i])),
                  h('td', { class: 'num' }, pct(run.probability[i])),
                  h('td', { class: 'num' }, num(run.loss[i], 2)),
                ),
              ),
            ),
          ),
        )
      : null,
  );
}

/** Per-class precision, recall, F1 and support (the core's), worst F1 first. */
export function renderClasses(el, run) {
  const metrics = run.metrics;
  if (!metrics) return fill(el, pending(run));
  const rows = [...metrics.per_class].sort((a, b) => a.f1 - b.f1 || a.label.localeCompare(b.label));
  const tr = (c, cls) =>
    h('tr', { class: cls, dataset: { label: c.label } }, h('td', null, c.label), h('td', { class: 'num' }, num(c.precision)), h('td', { class: 'num' }, num(c.recall)), h('td', { class: 'num' }, num(c.f1)), h('td', { class: 'num' }, String(c.support)));
  fill(
    el,
    h(
      'div',
      // Focusable: a scrolling box is scrolled by keyboard too (axe: scrollable-region-focusable).
      { class: 'table-scroll classes-scroll', tabindex: 0, role: 'region', 'aria-label': 'precision, recall and F1 per class' },
      h(
        'table',
        { class: 'mistakes', id: 'classes-table' },
        head(['class', 'precision', 'recall', 'F1', 'support'], [1, 2, 3, 4]),
        h('tbody', null, rows.map((c) => tr(c, c.f1 < 1 ? 'imperfect' : null))),
        h('tfoot', null, tr(metrics.macro_avg, 'avg'), tr(metrics.weighted_avg, 'avg')),
      ),
    ),
  );
}

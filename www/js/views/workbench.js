// The dataset workbench drawn from `state.dataset`: what was read, the
// run's progress, accuracy and the confusions, the misclassified rows with
// their filters, per-class precision/recall/F1, words per class, the set's
// faithfulness, and (in the text view) the rows nearest to the explained
// text. The numbers are the core's (through the binding); the views
// themselves are report.js's, pure over their arguments.

import { state, update } from '../state.js';
import { h, fill, memo } from '../dom.js';
import { renderNeighboursPanel, renderFaithfulnessPanel } from './explained.js';
import { picked, problem, mistakes, defaultWordsClass, faithRows } from '../table.js';
import { renderSetFaithfulness, renderWords, renderUnmatched, renderSummary, renderConfusion, renderMistakes, renderClasses } from './report.js';
import { renderProbe } from './probe.js';
import * as ds from '../dataset.js';

const $ = (id) => document.getElementById(id);
const changed = memo();

export function renderWorkbench() {
  const mode = state.view.mode;
  $('mode-text').setAttribute('aria-pressed', String(mode === 'text'));
  $('mode-dataset').setAttribute('aria-pressed', String(mode === 'dataset'));
  $('dataset-panel').hidden = mode !== 'dataset';
  $('input-panel').hidden = mode !== 'text';
  renderNeighboursPanel();
  renderFaithfulnessPanel();
  if (mode !== 'dataset') return;
  const d = state.dataset;
  const labels = state.model?.info.labels ?? [];
  renderSource(d);
  $('dataset-bad-mode').value = d.badRows;
  renderColumns(d);
  renderProgress(d);
  const problemText = problem(d);
  const msg = d.message ?? (problemText ? { kind: 'error', text: problemText } : null);
  $('dataset-message').className = `message ${msg?.kind ?? ''}`;
  $('dataset-message').textContent = msg?.text ?? '';
  if (changed('bad-rows', [d.bad])) renderBadRows($('dataset-bad-rows'), d.bad);
  if (changed('unmatched', [d.labels, d.table, labels])) renderUnmatched($('dataset-unmatched'), d, labels);
  renderProbeControls(d);
  const run = d.run;
  $('dataset-results').hidden = !run;
  if (!run) return;
  if (changed('summary', [run, run.done, run.metrics, run.running])) renderSummary($('dataset-summary'), run, d);
  if (changed('confusion', [run, run.metrics, d.view.cell, run.running])) {
    renderConfusion($('dataset-confusion'), run, labels, d.view.cell, {
      onCell: (t, p) => {
        d.view.cell = d.view.cell && d.view.cell[0] === t && d.view.cell[1] === p ? null : [t, p];
        update();
      },
    });
  }
  renderFilters(d, labels);
  const v = d.view;
  if (changed('mistakes', [run, run.done, d.labels, v.sort, v.truth, v.predicted, v.query, v.minWords, v.maxWords, v.cell])) {
    renderMistakes($('dataset-mistakes'), { rows: mistakes(d), run, d, labels }, { onRow: (i) => ds.explainRow(i) });
  }
  if (changed('classes', [run.metrics, run.running])) renderClasses($('dataset-classes'), run);
  renderWordsControls(d);
  const w = d.words;
  const shownClass = w?.byClass ? d.view.wordsClass || defaultWordsClass(w.byClass) : '';
  if (changed('words', [w, w?.byClass, shownClass])) renderWords($('dataset-words'), w, shownClass);
  renderSetFaithControls(d);
  const f = d.faith;
  if (changed('set-faith', [f, f?.summary, f?.error, f?.running])) renderSetFaithfulness($('dataset-faithfulness'), f);
}

/** The probe's controls: shown once a set with a label column is read, for any model. */
function renderProbeControls(d) {
  const p = d.probe;
  const { labels } = picked(d);
  $('probe-box').hidden = !d.table || !labels || Boolean(problem(d));
  $('probe-pool').value = ds.probeOptions().pool ?? 'mean';
  const busy = Boolean(d.run?.running || d.words?.running || d.faith?.running || p?.running);
  $('probe-run').disabled = busy || !state.model || Boolean(state.loading);
  $('probe-progress').hidden = !p?.running;
  if (p?.running) {
    const reading = p.phase === 'reading';
    $('probe-progress-bar').max = reading ? p.n || 1 : p.layers;
    $('probe-progress-bar').value = reading ? p.done : p.fitted;
    $('probe-progress-text').textContent = reading ? `${p.done} of ${p.n} rows read` : `${p.fitted} of ${p.layers} layers fitted`;
  }
  if (changed('probe', [p, p?.report, p?.error, p?.running])) renderProbe($('dataset-probe'), p);
}

function renderSetFaithControls(d) {
  const v = d.view;
  const f = d.faith;
  $('setfaith-scope').value = v.faithScope;
  if (document.activeElement !== $('setfaith-limit')) $('setfaith-limit').value = v.faithLimit;
  $('setfaith-perturb').checked = v.faithPerturb;
  $('setfaith-removal').value = v.faithRemoval;
  const busy = Boolean(d.run?.running || d.words?.running || f?.running);
  const n = busy ? 0 : faithRows(d, v.faithScope, v.faithLimit).length;
  $('setfaith-run').disabled = busy || !n;
  $('setfaith-run').textContent = n ? `Evaluate every method on ${n} row${n === 1 ? '' : 's'}` : 'Evaluate every method';
  $('setfaith-progress').hidden = !f?.running;
  if (f?.running) {
    $('setfaith-progress-bar').max = f.rows.length || 1;
    $('setfaith-progress-bar').value = f.done;
    const s = (performance.now() - f.started) / 1000;
    $('setfaith-progress-text').textContent = `${f.done} of ${f.rows.length} rows${f.done && s > 0 ? ` · ${(s / f.done).toFixed(1)} s a row` : ''}`;
  }
}

function renderWordsControls(d) {
  const w = d.words;
  $('words-method').value = d.view.wordsMethod;
  $('words-run').disabled = Boolean(d.run?.running || w?.running);
  $('words-progress').hidden = !w?.running;
  if (w?.running) {
    $('words-progress-bar').max = w.n || 1;
    $('words-progress-bar').value = w.done;
    $('words-progress-text').textContent = `${w.done} of ${w.n} rows`;
  }
  $('words-class-control').hidden = !w?.byClass;
  if (w?.byClass && changed('words-classes', [w.byClass])) {
    const names = Object.keys(w.byClass).sort();
    fill($('words-class'), names.map((n) => h('option', { value: n }, `${n} (${w.byClass[n].rows} rows${w.byClass[n].misclassified_rows ? `, ${w.byClass[n].misclassified_rows} wrong` : ''})`)));
  }
  if (w?.byClass) $('words-class').value = d.view.wordsClass || defaultWordsClass(w.byClass);
}

/** The bad rows of the set read: what was done with them, and the first of them line by line. */
function renderBadRows(el, bad) {
  el.hidden = !bad;
  el.className = `message ${bad?.kind ?? ''}`;
  fill(el, bad ? [h('p', { id: 'bad-rows-text' }, bad.text), h('ul', { id: 'bad-rows-list' }, bad.list.map((t) => h('li', null, t)))] : null);
}

function renderSource(d) {
  const t = d.table;
  $('dataset-source').textContent = t
    ? `${d.source}: ${t.rows.length} row${t.rows.length === 1 ? '' : 's'}, ${t.columns.length} column${t.columns.length === 1 ? '' : 's'} (${t.format.toUpperCase()})`
    : d.source && !d.parsing
      ? ''
      : 'No set loaded yet.';
  const p = d.parsing;
  $('dataset-parsing').hidden = !p;
  if (p) {
    const bar = $('dataset-parsing-bar');
    bar.max = p.total || 1;
    bar.value = p.loaded;
    $('dataset-parsing-text').textContent = `reading ${d.source}…`;
  }
}

function renderColumns(d) {
  const t = d.table;
  $('dataset-columns').hidden = !t || !t.columns.length;
  if (!t) return;
  if (changed('columns', [t])) {
    const options = (none) => [none ? h('option', { value: '-1' }, none) : null, t.columns.map((c, i) => h('option', { value: String(i) }, c))];
    fill($('col-text'), options(t.columns.length > 1 ? '— pick one —' : null));
    fill($('col-pair'), options('none'));
    fill($('col-label'), options('none'));
  }
  $('col-text').value = String(d.columns.text);
  $('col-pair').value = String(d.columns.pair);
  $('col-label').value = String(d.columns.label);
  const running = Boolean(d.run?.running);
  $('dataset-run').disabled = running || Boolean(problem(d)) || !state.model || Boolean(state.loading);
  $('dataset-cancel').hidden = !running;
}

function renderProgress(d) {
  const run = d.run;
  $('dataset-progress').hidden = !run;
  if (!run) return;
  const bar = $('dataset-progress-bar');
  bar.max = run.n || 1;
  bar.value = run.done;
  const s = run.running ? (performance.now() - run.started) / 1000 : run.seconds;
  const rate = s > 0 ? ` · ${(run.done / s).toFixed(0)} rows/s` : '';
  $('dataset-progress-text').textContent = run.running
    ? `${run.done} of ${run.n} rows${rate}`
    : `${run.done} of ${run.n} rows in ${s.toFixed(1)} s${rate}${run.cancelled ? ' (cancelled)' : ''}`;
}

function renderFilters(d, labels) {
  const v = d.view;
  if (changed('filter-classes', [labels])) {
    const options = [h('option', { value: '' }, 'any'), labels.map((l, i) => h('option', { value: String(i) }, l))];
    fill($('filter-truth'), options);
    fill($('filter-predicted'), [h('option', { value: '' }, 'any'), labels.map((l, i) => h('option', { value: String(i) }, l))]);
  }
  $('filter-sort').value = v.sort;
  $('filter-truth').value = v.cell ? String(v.cell[0]) : v.truth;
  $('filter-predicted').value = v.cell ? String(v.cell[1]) : v.predicted;
  for (const [id, key] of [['filter-query', 'query'], ['filter-min', 'minWords'], ['filter-max', 'maxWords']]) {
    if (document.activeElement !== $(id) && $(id).value !== v[key]) $(id).value = v[key];
  }
}


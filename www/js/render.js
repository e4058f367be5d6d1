// Draws the page from `state`: the model panel, the input panel (the boxes
// and options the model's task reads) and the results. Each section is
// redrawn only when what it shows has changed.

import { state, gradientFree, stepsField, methodInfo, shownMethod, answerToken } from './state.js';
import { ignoredNotice } from './share.js';
import * as act from './actions.js';
import { tokenLabels, units } from './tokens.js';
import { h, fill, memo } from './dom.js';
import { summary, exampleLabel, PREDICTION_TITLES, ATTRIBUTION_TITLES } from './task.js';
import { renderPrediction } from './views/prediction.js';
import { renderAnswer } from './views/answer.js';
import { renderEntities } from './views/entities.js';
import { renderFillers } from './views/fillers.js';
import { renderAttribution } from './views/attribution.js';
import { renderIgPath } from './views/igpath.js';
import { renderLens } from './views/lens.js';
import { renderTabs } from './tabs.js';
import { renderWorkbench } from './views/workbench.js';
import { renderCounterfactualPanel } from './views/explained.js';

const $ = (id) => document.getElementById(id);

/** Renders a section only when what it shows has changed. */
const changed = memo();

export function render() {
  renderModelPanel();
  renderLoading();
  renderInputPanel();
  renderBusy();
  renderResults();
  renderWorkbench();
}

/** Where attribution runs: "WebGPU · adapter" or "CPU · N workers". */
function deviceLabel(pool) {
  if (pool.device?.kind === 'webgpu') return `WebGPU · ${pool.device.adapter ?? 'adapter'}`;
  return `CPU · ${pool.size} worker${pool.size > 1 ? 's' : ''}`;
}

function renderModelPanel() {
  const m = state.model;
  const pool = act.getPool();
  fill(
    $('model-status'),
    m
      ? [
          h('strong', { id: 'model-name' }, m.name),
          h('span', { id: 'model-summary' }, ` ${summary(m.info)}`),
          pool ? h('span', { class: 'muted', id: 'device-status' }, ` · ${deviceLabel(pool)}`) : null,
          pool?.device?.notice ? h('span', { class: 'device-notice', id: 'device-notice' }, ` (${pool.device.notice})`) : null,
        ]
      : state.loading
        ? 'loading a model…'
        : 'no model loaded',
  );
  const msg = $('model-message');
  msg.className = `message ${state.modelMessage?.kind ?? ''}`;
  msg.textContent = state.modelMessage?.text ?? '';
  if (changed('warnings', [m])) {
    const warnings = m?.info.warnings ?? [];
    $('model-warnings').hidden = !warnings.length;
    fill($('model-warnings'), warnings.map((w) => h('li', null, `${m.name}: ${w}`)));
  }
  if (changed('catalog', [state.catalog, m])) {
    // The picker names the model in use, built in or not.
    const at = m ? state.catalog.findIndex((c) => c.name === m.name) : 0;
    fill(
      $('model-select'),
      at < 0 ? h('option', { value: '', disabled: true }, `${m.name} (opened)`) : null,
      state.catalog.map((c, i) => h('option', { value: i }, c.name)),
    );
    $('model-select').value = String(at < 0 ? '' : at);
  }
}

function renderLoading() {
  const l = state.loading;
  $('model-progress').hidden = !l;
  if (!l) return;
  const bar = $('model-progress-bar');
  if (l.total > 0) {
    bar.max = l.total;
    bar.value = l.loaded;
  } else {
    bar.removeAttribute('value');
  }
  const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
  $('model-progress-text').textContent = l.total > 0 ? `${l.label}: ${mb(l.loaded)} of ${mb(l.total)}` : l.label;
}

/** Sets a box's value only when it differs (so that the caret stays put while typing). */
function setValue(id, value) {
  if ($(id).value !== value) $(id).value = value;
}

/** A number field shows `value` ('' for none), unless the user is typing in it. */
function setNumber(id, value) {
  if (document.activeElement !== $(id)) setValue(id, value === null || value === undefined ? '' : String(value));
}

/** “a, b and c”. */
function listed(names) {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

function renderInputPanel() {
  const m = state.model;
  const task = m?.info.task ?? 'sequence-classification';
  const qa = task === 'question-answering';
  $('input-h').textContent = qa ? 'Question and context' : 'Text';
  $('text-fields').hidden = qa;
  $('qa-fields').hidden = !qa;
  $('pair-row').hidden = !(task === 'sequence-classification' || task === 'encoder');
  setValue('text', state.text);
  setValue('pair', state.pair);
  setValue('question', state.question);
  setValue('context', state.context);
  $('pair-on').checked = state.pairOn;
  $('pair').hidden = !state.pairOn;
  const mask = m?.info.mask_token;
  $('insert-mask').hidden = task !== 'fill-mask' || !mask;
  $('insert-mask').textContent = `Insert ${mask ?? '[MASK]'}`;
  $('restore').hidden = !state.restore;
  $('true-label-control').hidden = task !== 'sequence-classification';
  $('target-control').hidden = !(task === 'sequence-classification' || task === 'token-classification');
  // Versus: a class or label; for fill-mask, another filler of the mask explained; for a
  // question, another answer's start (or end).
  $('contrast-control').hidden = ($('target-control').hidden && task !== 'fill-mask' && task !== 'question-answering') || methodInfo(shownMethod())?.kind === 'attention';
  if (changed('labels', [m])) {
    const labels = m?.info.labels ?? [];
    const opts = (first) => [h('option', { value: '' }, first), labels.map((l, i) => h('option', { value: String(i) }, `${l}`))];
    fill($('opt-target'), opts(task === 'token-classification' ? "the token's predicted label" : 'predicted class'));
    fill($('true-label'), opts('—'));
    fill($('examples'), h('option', { value: '' }, '—'), (m?.examples ?? []).map((x, i) => h('option', { value: String(i) }, exampleLabel(x))));
  }
  if (changed('methods', [state.vocabulary, m])) {
    // The engine's methods, as it describes them; a bare encoder has no score to explain.
    const methods = state.vocabulary?.methods ?? [];
    fill(
      $('opt-method'),
      methods.map((x) => {
        const off = gradientFree() && x.needs_head;
        return h('option', { value: x.name, title: `${x.description} (${x.reference})`, disabled: off }, x.label + (off ? ' (needs a task head)' : ''));
      }),
    );
  }
  const versusMask = task === 'fill-mask' ? (state.focus.token ?? state.analysis?.explanation.masks?.[0]?.token ?? null) : null;
  if (changed('contrast-options', [m, state.analysis, versusMask, qa && state.focus.answer, qa && state.focus.part])) {
    const none = h('option', { value: '' }, task === 'fill-mask' ? '— (the filler alone)' : qa ? '— (the answer alone)' : '— (the target alone)');
    const fillers = state.analysis?.explanation.masks?.find((x) => x.token === versusMask)?.fill ?? [];
    const choices =
      task === 'fill-mask'
        ? fillers.map((f) => h('option', { value: String(f.token_id) }, `“${f.token}” (${(100 * f.score).toFixed(1)}%)`))
        : qa
          ? answerChoices()
          : (m?.info.labels ?? []).map((l, i) => h('option', { value: String(i) }, l));
    fill($('opt-contrast'), none, choices);
  }
  $('opt-target').value = state.options.target;
  $('opt-contrast').value = state.options.contrast;
  $('true-label').value = state.trueLabel;
  const o = state.options;
  const method = shownMethod();
  $('opt-method').value = method;
  // Not while the user is typing a number of steps (progress redraws the page);
  // what was typed stays, refused or not (state.js stepsField).
  const steps = stepsField();
  if (document.activeElement !== $('opt-steps')) setValue('opt-steps', steps.text);
  $('opt-steps').setAttribute('aria-invalid', String(Boolean(steps.error)));
  $('opt-tolerance').value = String(o.tolerance);
  $('opt-integration').value = o.integration;
  $('opt-baseline').value = o.baseline;
  $('opt-layer').value = o.layer;
  $('opt-output').value = o.output;
  $('opt-norm').value = o.norm;
  $('opt-row').value = o.rollout_row;
  setNumber('opt-window', o.window);
  setNumber('opt-stride', o.stride);
  setNumber('opt-n-samples', o.n_samples);
  setNumber('opt-seed', o.seed);
  setNumber('opt-nt-samples', o.nt_samples);
  setNumber('opt-stdevs', o.stdevs);
  if (changed('nt-bases', [state.vocabulary])) {
    const label = (n) => methodInfo(n)?.label ?? n;
    fill($('opt-nt-base'), (state.vocabulary?.nt_bases ?? []).map((n) => h('option', { value: n }, label(n))));
  }
  $('opt-nt-base').value = o.nt_base;
  // A method's fields are those of the options the core says it reads.
  // SmoothGrad and VarGrad read their base method's options too.
  const own = methodInfo(method)?.options ?? [];
  const reads = own.includes('nt_base') ? [...own, ...(methodInfo(o.nt_base)?.options ?? [])] : own;
  for (const el of document.querySelectorAll('.options [data-option]')) {
    const k = el.dataset.option;
    el.hidden = !reads.includes(k) || (k === 'tolerance' && o.n_steps !== 'auto');
  }
  if (!steps.error) $('opt-steps-error').hidden = true;
  $('opt-steps-error').textContent = steps.error ?? '';
  $('link-message').textContent = ignoredNotice(state.linkIgnored);
  const note = $('method-note');
  note.hidden = !gradientFree();
  const scored = (state.vocabulary?.methods ?? []).filter((x) => x.needs_head).map((x) => x.label);
  note.textContent = gradientFree()
    ? `This is a bare encoder (no task head): there is no score to explain, so ${listed(scored)} do not apply. Its attention and the attention rollout are shown.`
    : '';
  $('explain').disabled = !m || Boolean(state.loading);
  const msg = $('run-message');
  msg.className = `message ${state.runMessage?.kind ?? ''}`;
  msg.textContent = state.runMessage?.text ?? '';
}

function renderBusy() {
  const b = state.busy;
  $('run-progress').hidden = !b;
  $('cancel').hidden = !b && !state.loading;
  if (!b) return;
  const bar = $('run-progress-bar');
  if (b.total > 0) {
    bar.max = b.total;
    bar.value = b.done;
  } else {
    bar.removeAttribute('value');
  }
  $('run-progress-text').textContent =
    b.note ? `${b.label}: ${b.note}` : b.total > 0 ? `${b.label}: step ${b.done} of ${b.total}` : `${b.label}…`;
}

/** The tokens as the user typed them, for the analysed input. */
function labelsOf(analysis, input) {
  return tokenLabels(analysis.explanation, [input.text, input.pair ?? '']);
}

function renderResults() {
  const a = state.analysis;
  $('results').hidden = !a || state.view.mode !== 'text';
  if (!a) return;
  const task = state.model.info.task;
  const labels = labelsOf(a, state.input);
  $('pred-h').textContent = PREDICTION_TITLES[task] ?? 'Prediction';
  $('attr-h').textContent = ATTRIBUTION_TITLES[task] ?? 'Attributions';
  renderPredictionPanel(a, labels);
  renderAttributionPanel(labels);
  renderIgPathPanel(a, labels);
  renderLensPanel(labels);
  renderCounterfactualPanel();
  renderTabs(a, labels);
}

/**
 * Question answering's versus: the other answers whose start (or end, as
 * explained) is at another token than the explained answer's, one per token.
 */
function answerChoices() {
  const answers = state.analysis?.explanation.answers ?? [];
  const part = state.focus.part;
  const seen = new Set([answerToken(state, state.focus.answer ?? 0)]);
  const out = [];
  answers.forEach((a, k) => {
    const token = answerToken(state, k);
    if (seen.has(token)) return;
    seen.add(token);
    out.push(h('option', { value: String(k) }, `“${a.text}” (${(100 * a.score).toFixed(1)}%): its ${part} at token ${token}`));
  });
  return out;
}

/**
 * An explanation of a classified, tagged or masked text read in windows (its
 * tokens are the whole text's, not the cut analysis's). A question's windows
 * are another thing: its explanation is of the best one.
 */
const windowed = (e) => Boolean(e?.windows) && state.model.info.task !== 'question-answering';

/** The task's prediction: classes, the answer, the entities, the fillers. */
function renderPredictionPanel(a, labels) {
  const e0 = a.explanation;
  const info = state.model.info;
  const e = state.explanation;
  const f = state.focus;
  const el = $('prediction');
  const deps = [a, state.view.showAll, state.options.target, f.token, f.filler, f.answer, e];
  if (!changed('prediction', deps)) return;
  switch (info.task) {
    case 'question-answering':
      renderAnswer(el, { e: e0, context: state.input.pair ?? '', answer: f.answer, maxTokens: info.max_tokens }, { onAnswer: act.explainAnswer });
      break;
    case 'token-classification': {
      const token = f.token ?? e?.token ?? e0.token ?? null;
      // A long text read in windows: its entities and labels are the whole text's.
      const read = windowed(e) ? e : e0;
      renderEntities(
        el,
        {
          e: read,
          text: state.input.text,
          token,
          // The labels' probabilities come with an explanation of that token.
          labelled: [e, e0].find((x) => x && x.token === token && x.probabilities.length) ?? null,
          target: state.options.target === '' ? null : Number(state.options.target),
          maxTokens: info.max_tokens,
          tokenLabels: read === e0 ? labels : tokenLabels(read, [state.input.text, '']),
          showAll: state.view.showAll,
        },
        { onToken: act.explainToken, onLabel: act.explainClass, onShowAll: (v) => ((state.view.showAll = v), render()), onWindows: act.readInWindows },
      );
      break;
    }
    case 'fill-mask':
      renderFillers(
        el,
        {
          // A long text read in windows: its masks' fillers are the whole text's.
          e: windowed(e) ? e : e0,
          text: state.input.text,
          mask: f.token ?? e?.token ?? null,
          filler: f.filler ?? (e && e.token === (f.token ?? e.token) ? e.target : null),
          maskToken: info.mask_token ?? '[MASK]',
          maxTokens: info.max_tokens,
        },
        { onFiller: act.explainFiller, onWindows: act.readInWindows },
      );
      break;
    case 'encoder':
      fill(
        el,
        h(
          'p',
          { class: 'headline', id: 'encoder-note' },
          `${info.architecture ?? info.model_type} is a bare encoder: it has no task head, so it predicts nothing to explain. Below: the attention rollout and the attention views of its ${info.layers} layers × ${info.heads} heads.`,
        ),
      );
      break;
    default: {
      const target = state.options.target === '' ? null : Number(state.options.target);
      // A long text read in windows: the prediction is the windows' mean, and each is listed.
      const read = windowed(e) ? { ...e0, probabilities: e.probabilities, predicted: e.predicted, truncated: false, windows: e.windows } : e0;
      renderPrediction(
        el,
        { ...read, target, maxTokens: info.max_tokens, output: info.output },
        {
          showAll: state.view.showAll,
          onTarget: (i) => act.explainClass(i, read.predicted),
          onShowAll: (v) => ((state.view.showAll = v), render()),
          // One text is read in windows; a pair is cut as the tokenizer cuts it.
          onWindows: info.task === 'sequence-classification' && !state.input.pair ? act.readInWindows : null,
        },
      );
    }
  }
}

function renderAttributionPanel(analysed) {
  const e = state.explanation;
  // A text read in windows is explained whole: its tokens are not the cut analysis's.
  const labels = windowed(e) && !state.preview ? tokenLabels(e, [state.input.text, state.input.pair ?? '']) : analysed;
  const qa = state.model.info.task === 'question-answering';
  $('part-toggle').hidden = !qa;
  $('part-start').setAttribute('aria-pressed', String(state.focus.part === 'start'));
  $('part-end').setAttribute('aria-pressed', String(state.focus.part === 'end'));
  const how = { norm: state.options.norm, row: state.options.rollout_row };
  const deps = [e, state.view.words, state.trueLabel, state.busy === null, state.preview, labels.join('\u0000')];
  if (!changed('attribution', deps)) return;
  $('unit-tokens').setAttribute('aria-pressed', String(!state.view.words));
  $('unit-words').setAttribute('aria-pressed', String(state.view.words));
  if (e && e.attributions.length) {
    const trueLabel = state.trueLabel === '' ? null : e.labels[Number(state.trueLabel)];
    renderAttribution($('attribution'), { e, units: units(e, labels, state.view.words), trueLabel, preview: state.preview, labels, how });
  } else {
    fill($('attribution'), h('p', { class: 'muted' }, state.busy ? 'Computing the attributions…' : 'No attributions yet.'));
  }
}

/** The lens on every layer of the analysed input (views/lens.js), once it has come. */
function renderLensPanel(labels) {
  const l = state.lens;
  const current = l && l.input.text === state.input?.text && l.input.pair === state.input?.pair;
  $('lens-panel').hidden = !current || (!l.result && !l.error);
  if (!current || !changed('lens', [l, l.result, l.error, labels.join('\u0000'), state.explanation?.target])) return;
  if (l.error) {
    fill($('lens'), h('p', { class: 'message error' }, l.error));
    return;
  }
  const info = state.model.info;
  renderLens($('lens'), { layers: l.result, task: info.task, labels: info.labels, tokens: labels, target: state.explanation?.target ?? null });
}

/**
 * The classroom's walk along the Integrated Gradients path: a button until
 * asked for (it costs a backward pass per point), then views/igpath.js.
 */
function renderIgPathPanel(a, labels) {
  const w = state.igPath;
  const of = act.walkOf();
  $('igpath-panel').hidden = gradientFree();
  if (!changed('igpath', [w, of, labels.join('\u0000'), state.explanation])) return;
  const el = $('igpath');
  const current = w && w.of === of;
  if (current && w.result) {
    const special = a.explanation.sequence_ids.map((x) => x === null);
    const ig = state.preview ? null : state.explanation?.ig;
    const explained = ig && !ig.auto ? { integration: ig.integration, n_steps: ig.n_steps } : null;
    renderIgPath(
      el,
      { path: w.result, labels, special, running: w.running, note: w.error, explained },
      { k: w.k, integration: w.integration, n_steps: w.n_steps },
      { onStep: act.walkStep, onRule: (integration, n) => act.walkPath({ integration, n_steps: n }) },
    );
    return;
  }
  const o = state.options;
  const steps = o.n_steps === 'auto' ? 20 : o.n_steps;
  fill(
    el,
    h(
      'p',
      { class: 'muted' },
      'How Integrated Gradients adds up: F along the straight path from the baseline to this text, the points where the quadrature samples it, ',
      'and the running weighted sum of the gradients that ends on the attributions above. The same target, baseline and layer as the explanation.',
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', id: 'igpath-run', onclick: () => act.walkPath(), disabled: Boolean(w?.running) }, 'Walk the path'),
      h(
        'span',
        { class: 'muted', id: 'igpath-cost' },
        w?.running ? `walking: ${w.n_steps} backward passes…` : `${current ? w.n_steps : steps} backward passes${w && !current ? ' (the text or the options changed since the last walk)' : ''}`,
      ),
    ),
    current && w.error ? h('p', { class: 'message error', role: 'alert' }, w.error) : null,
  );
}


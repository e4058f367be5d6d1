// Bad input that used to get through, in Node with no browser: a link's
// options checked against what the page has, and the cap on Integrated
// Gradients steps.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromFragment, ignoredNotice, knownTarget } from '../../www/js/share.js';
import { MAX_N_STEPS, stepCap, stepsError, parseSteps, stepsField, formProblem } from '../../www/js/state.js';

/** What the page's form has, as its <option>s say (index.html), for a link's options. */
const FORM = {
  method: ['ig', 'saliency', 'input-x-gradient', 'rollout'],
  integration: ['gausslegendre', 'riemann_left', 'riemann_right', 'riemann_middle', 'riemann_trapezoid'],
  baseline: ['pad', 'pad-all', 'mask', 'zero'],
  layer: ['', 'embeddings', 'word-embeddings'],
  tab: ['head', 'model', 'neuron', 'heatmap'],
};
const accepts = (k, v) => (k === 'n_steps' ? stepsError(v, MAX_N_STEPS) === null : k in FORM ? FORM[k].includes(v) : true);

describe('a link with options the page does not have', () => {
  it('keeps the options it has, and lists the others in the order of the link', () => {
    const link = fromFragment('#model=minilm-intent&t=hi&baseline=zzz&method=saliency&integration=foo&n_steps=5000&tab=nope&stpes=3', accepts);
    assert.deepEqual(link.model, { id: 'minilm-intent' });
    assert.deepEqual(link.fields, { text: 'hi' });
    assert.deepEqual(link.options, { method: 'saliency' });
    assert.equal(link.tab, null);
    assert.deepEqual(link.ignored, [
      ['baseline', 'zzz'],
      ['integration', 'foo'],
      ['n_steps', '5000'],
      ['tab', 'nope'],
      ['stpes', '3'],
    ]);
    // What it has is read as before.
    const good = fromFragment('#model=minilm-intent&n_steps=auto&layer=&tab=neuron&words=1', accepts);
    assert.deepEqual([good.options, good.tab, good.words, good.ignored], [{ n_steps: 'auto', layer: '' }, 'neuron', true, []]);
    assert.equal(fromFragment('#n_steps=20', accepts).options.n_steps, 20);
  });

  it('names each ignored value in one notice', () => {
    assert.equal(ignoredNotice([]), '');
    assert.equal(ignoredNotice([['baseline', 'zzz']]), "The link's baseline=zzz is not an option here; the default is used.");
    assert.equal(
      ignoredNotice([['baseline', 'zzz'], ['integration', 'foo']]),
      "The link's baseline=zzz and integration=foo are not options here; the defaults are used.",
    );
    assert.equal(
      ignoredNotice([['method', 'x'], ['norm', 'l3'], ['target', '999']]),
      "The link's method=x, norm=l3 and target=999 are not options here; the defaults are used.",
    );
    assert.match(ignoredNotice([['t', 'x'.repeat(500)]]), /^The link's t=x{40}… is not/);
  });

  it("takes a link's class only when the model has it", () => {
    const info = { task: 'sequence-classification', labels: ['a', 'b', 'c'] };
    assert.ok(knownTarget(info, ''));
    assert.ok(knownTarget(info, '2'));
    for (const t of ['3', '-1', '1.5', 'b', ' 1']) assert.ok(!knownTarget(info, t), t);
    assert.ok(!knownTarget({ task: 'question-answering', labels: ['start', 'end'] }, '0'));
  });
});

describe('the cap on Integrated Gradients steps', () => {
  it("is the model's max_n_steps once a model is loaded, 2000 before", () => {
    assert.equal(stepCap({ model: null }), 2000);
    assert.equal(stepCap({ model: { info: { max_n_steps: 300 } } }), 300);
    assert.equal(stepCap({ model: { info: {} } }), MAX_N_STEPS);
  });

  it('refuses what the core would refuse, in a few words for the field', () => {
    assert.equal(stepsError('2000', 2000), null);
    assert.equal(stepsError(' auto ', 2000), null);
    assert.equal(stepsError('2001', 2000), 'at most 2000 steps');
    assert.equal(stepsError('150', 100), 'at most 100 steps');
    assert.equal(stepsError('0', 2000), 'at least 1 step');
    for (const v of ['', 'abc', '12.5', '-3', '1e3']) assert.equal(stepsError(v, 2000), 'a whole number of steps, or auto', v);
    assert.equal(parseSteps(' 300 '), 300);
    assert.equal(parseSteps('AUTO'), 'auto');
  });

  it('keeps what was typed, and refuses to run Integrated Gradients on it', () => {
    const s = { model: { info: { task: 'sequence-classification', max_n_steps: 2000 } }, stepsTyped: '5000', options: { method: 'ig', n_steps: 50 } };
    assert.deepEqual(stepsField(s), { text: '5000', error: 'at most 2000 steps' });
    assert.equal(
      formProblem(s),
      'Not explained: n_steps is “5000”, and Integrated Gradients takes at most 2000 steps. Change n_steps, or pick another method.',
    );
    // Saliency does not read n_steps; the option in use shows when nothing is being typed.
    assert.equal(formProblem({ ...s, options: { method: 'saliency', n_steps: 50 } }), null);
    assert.deepEqual(stepsField({ ...s, stepsTyped: null }), { text: '50', error: null });
    // A model with a smaller cap refuses steps the option holds.
    assert.match(formProblem({ ...s, stepsTyped: null, options: { method: 'ig', n_steps: 500 }, model: { info: { task: 'sequence-classification', max_n_steps: 100 } } }), /at most 100 steps/);
  });
});

// The method menu as the engine describes it, and the perturbation methods
// in the page: occlusion and Shapley values equal the CLI's, their inputs
// scored by every worker with progress, Cancel, their fields, and links.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { binary, open, shot, startPage, stopPage } from './harness.mjs';
import { DEFAULT_MODEL, assertClose, cli, explainText, settle, shownScores } from './common.mjs';

const info = () => JSON.parse(execFileSync(binary(), ['info', '--json', '--model', DEFAULT_MODEL], { encoding: 'utf8' }));

/** Picks `method` in the menu and waits for its explanation. */
async function pick(page, method) {
  await page.selectOption('#opt-method', method);
  await settle(page, (s, m) => s.explanation?.method === m && !s.preview, method);
}

/** The option fields shown. */
const fieldsShown = (page) => page.$$eval('.options [data-option]', (els) => els.filter((e) => !e.hidden).map((e) => e.dataset.option));

describe('methods in the page', () => {
  let server;
  let browser;
  let page;

  before(async () => {
    ({ server, browser, page } = await startPage({ explained: true }));
  });

  after(() => stopPage({ server, browser }));

  it('lists the methods the engine describes, and shows the fields each one reads', async () => {
    const want = info().methods;
    const menu = await page.$$eval('#opt-method option', (os) => os.map((o) => ({ name: o.value, label: o.textContent, title: o.title, disabled: o.disabled })));
    assert.deepEqual(
      menu.map((o) => [o.name, o.label]),
      want.map((m) => [m.name, m.label]),
    );
    for (const [o, m] of menu.map((o, i) => [o, want[i]])) {
      assert.ok(o.title.startsWith(m.description), `${o.name}'s tooltip is the core's description`);
      assert.equal(o.disabled, false);
    }
    const fields = async (method) => {
      await page.selectOption('#opt-method', method);
      return (await fieldsShown(page)).sort();
    };
    const own = (name) => want.find((m) => m.name === name).options;
    const reads = (name) => (own(name).includes('nt_base') ? [...own(name), ...own('saliency')] : own(name));
    // Each field shown is an option the method reads (tolerance only with n_steps "auto").
    for (const m of want) {
      const shown = await fields(m.name);
      for (const f of shown) assert.ok(reads(m.name).includes(f), `${m.name} shows ${f}, which it does not read`);
    }
    assert.deepEqual(await fields('occlusion'), ['baseline', 'output', 'stride', 'window']);
    assert.deepEqual(await fields('shapley'), ['baseline', 'n_samples', 'output', 'seed']);
    assert.deepEqual(await fields('saliency'), ['layer', 'norm', 'output']);
    // SmoothGrad: the noise's fields, and those of the method it wraps (saliency by default).
    assert.deepEqual(await fields('smoothgrad'), ['layer', 'norm', 'nt_base', 'nt_samples', 'output', 'seed', 'stdevs']);
    await page.selectOption('#opt-method', 'ig');
    await settle(page, (s) => s.explanation?.method === 'ig' && !s.preview);
  });

  it('occlusion equals the CLI: each word replaced by the baseline, its inputs scored by the workers', async () => {
    const text = 'my card was declined at the grocery store';
    await explainText(page, text);
    await pick(page, 'occlusion');
    const want = cli('--model', DEFAULT_MODEL, '--method', 'occlusion', '--words', text);
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.equal(e.target, want.target);
    assertClose('occlusion', await shownScores(page), want.attributions, 1e-4);
    assert.deepEqual(e.perturbation, want.perturbation);
    assert.match(await page.textContent('#method-line'), /^Occlusion of .+: F\(x\) − F\(x with each word replaced by the \[CLS\] \[PAD\]… \[SEP\] baseline's\); \d+ forward passes/);
    // Every worker scored some of the inputs.
    const calls = await page.evaluate(() => globalThis.bertlens.pool().engines.map((w) => w.sent.perturbScores?.calls ?? 0));
    assert.ok(calls.length < 2 || calls.every((c) => c > 0), `perturbScores per worker: ${calls}`);
    // A window of two words, stride one.
    await page.fill('#opt-window', '2');
    await page.dispatchEvent('#opt-window', 'change');
    await settle(page, (s) => s.explanation?.perturbation?.window === 2);
    const wide = cli('--model', DEFAULT_MODEL, '--method', 'occlusion', '--words', '--window', '2', text);
    assertClose('occlusion, window 2', await shownScores(page), wide.attributions, 1e-4);
    // A window of 0 is not taken: the field shows the one in use.
    await page.fill('#opt-window', '0');
    await page.dispatchEvent('#opt-window', 'change');
    assert.equal(await page.inputValue('#opt-window'), '2');
    await shot(page, 'occlusion');
  });

  it('Shapley values equal the CLI, exact and sampled, with progress and a complete delta', async () => {
    const text = 'I lost my wallet and need to block my card';
    await explainText(page, text);
    await pick(page, 'shapley');
    const exact = cli('--model', DEFAULT_MODEL, '--method', 'shapley', '--words', text);
    assert.equal(exact.perturbation.exact, true);
    assertClose('exact Shapley values', await shownScores(page), exact.attributions, 1e-4);
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.equal(e.perturbation.evaluations, 2 ** exact.perturbation.features);
    assert.ok(Math.abs(e.delta) <= 1e-4 * Math.max(1, Math.abs(e.score)), `delta ${e.delta}`);
    assert.match(await page.textContent('#delta-line'), /Convergence delta/);
    assert.match(await page.textContent('#method-line'), /Shapley values of .+: exact, every coalition of the 10 words/);
    // Sampled: 3 permutations from seed 7, as the CLI draws them.
    await page.fill('#opt-n-samples', '3');
    await page.dispatchEvent('#opt-n-samples', 'change');
    await page.fill('#opt-seed', '7');
    await page.dispatchEvent('#opt-seed', 'change');
    await settle(page, (s) => s.explanation?.perturbation?.seed === 7 && s.explanation.perturbation.n_samples === 3);
    const sampled = cli('--model', DEFAULT_MODEL, '--method', 'shapley', '--words', '--n-samples', '3', '--seed', '7', text);
    assertClose('sampled Shapley values', await shownScores(page), sampled.attributions, 1e-4);
    await shot(page, 'shapley');
    // Back to exact (an empty field); the page had it: no run.
    await page.fill('#opt-n-samples', '');
    await page.dispatchEvent('#opt-n-samples', 'change');
    await settle(page, (s) => s.explanation?.perturbation?.exact === true);
  });

  it('KernelSHAP, LIME, SmoothGrad and attention flow equal the CLI', async () => {
    const text = 'how do I activate my new card';
    await explainText(page, text);
    // Seed 7 for the sampled methods below, as the CLI is told.
    await pick(page, 'kernel-shap');
    await page.fill('#opt-seed', '7');
    await page.dispatchEvent('#opt-seed', 'change');
    await settle(page, (s) => s.explanation?.perturbation?.seed === 7);
    for (const [method, args] of [
      ['kernel-shap', ['--seed', '7']],
      ['lime', ['--seed', '7']],
      ['attention-flow', []],
    ]) {
      await pick(page, method);
      const want = cli('--model', DEFAULT_MODEL, '--method', method, '--words', ...args, text);
      assertClose(method, await shownScores(page), want.attributions, 1e-4);
      const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
      // How it ran, as the CLI says; its numbers (F(x′), the fit's intercept) to f32 rounding.
      const { baseline_score: fb, intercept, ...ran } = e.perturbation ?? {};
      const { baseline_score: wantFb, intercept: wantIntercept, ...wantRan } = want.perturbation ?? {};
      assert.deepEqual(ran, wantRan, method);
      assertClose(`${method} F(x′), intercept`, [fb ?? 0, intercept ?? 0], [wantFb ?? 0, wantIntercept ?? 0], 1e-4);
    }
    await shot(page, 'attention-flow');
    await pick(page, 'smoothgrad');
    await page.fill('#opt-stdevs', '0.2');
    await page.dispatchEvent('#opt-stdevs', 'change');
    await settle(page, (s) => s.explanation?.noise?.stdevs === 0.2);
    const want = cli('--model', DEFAULT_MODEL, '--method', 'smoothgrad', '--stdevs', '0.2', '--seed', '7', '--words', text);
    assertClose('smoothgrad', await shownScores(page), want.attributions, 1e-4);
    assert.match(await page.textContent('#method-line'), /^SmoothGrad: the mean of gradient saliency of .+ over 5 copies with Gaussian noise \(σ = 0.2, seed 7\)/);
    await shot(page, 'smoothgrad');
    await page.selectOption('#opt-method', 'ig');
    await settle(page, (s) => s.explanation?.method === 'ig' && !s.preview);
  });

  it('cancels a long perturbation run, which said how far it was, and stays usable', async () => {
    const words = Array.from({ length: 40 }, (_, i) => ['card', 'bank', 'money', 'transfer', 'account'][i % 5]).join(' ');
    await page.selectOption('#opt-method', 'shapley');
    await settle(page, (s) => s.explanation?.method === 'shapley');
    await page.fill('#opt-n-samples', '200');
    await page.dispatchEvent('#opt-n-samples', 'change');
    await page.fill('#text', words);
    await page.click('#explain');
    await page.waitForFunction(() => globalThis.bertlens.state.busy?.done > 0 && globalThis.bertlens.state.busy.label === 'Shapley values', null, { timeout: 120000 });
    assert.match(await page.textContent('#run-progress-text'), /^Shapley values: [\d,]+ of [\d,]+ inputs scored$/);
    await page.click('#cancel');
    await page.waitForFunction(() => !globalThis.bertlens.state.busy, null, { timeout: 20000 });
    assert.equal(await page.textContent('#run-message'), 'Cancelled.');
    await page.waitForTimeout(1500);
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.busy), null, 'no progress after Cancel');
    assert.equal(await page.inputValue('#text'), words, 'the text typed stays');
    await page.selectOption('#opt-method', 'saliency');
    await settle(page, (s) => s.explanation?.method === 'saliency');
  });

  it('a “versus” class explains the target minus it, equal to the CLI, and travels in a link', async () => {
    const text = 'my card was declined at the grocery store';
    await explainText(page, text);
    await pick(page, 'saliency');
    const plain = await page.evaluate(() => globalThis.bertlens.state.explanation);
    // The runner-up class: why the prediction rather than it.
    const order = plain.probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
    const other = order[1][1];
    await page.selectOption('#opt-contrast', String(other));
    await settle(page, (s, c) => s.explanation?.contrast === c, other);
    const want = cli('--model', DEFAULT_MODEL, '--method', 'saliency', '--contrast', String(other), text);
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.equal(e.contrast_label, want.contrast_label);
    assert.ok(Math.abs(e.score - (plain.logits[plain.predicted] - plain.logits[other])) < 1e-4, `F = ${e.score}`);
    assertClose('saliency versus the runner-up', await shownScores(page), want.attributions, 1e-4);
    assert.match(await page.textContent('#method-line'), new RegExp(`minus ${want.contrast_label}'s`));
    await shot(page, 'contrast');
    const frag = new URLSearchParams({ model: 'minilm-intent', t: text, method: 'saliency', contrast: String(other) }).toString();
    const linked = await open(browser, `${server.url}/#${frag}`);
    try {
      await linked.page.waitForFunction((c) => globalThis.bertlens.state.explanation?.contrast === c && !globalThis.bertlens.state.busy, other, { timeout: 120000 });
      assert.equal(await linked.page.inputValue('#opt-contrast'), String(other));
      assertClose('versus, from a link', await shownScores(linked.page), want.attributions, 1e-4);
    } finally {
      await linked.context.close();
    }
    await page.selectOption('#opt-contrast', '');
    await settle(page, (s) => s.explanation && s.explanation.contrast === undefined && s.explanation.method === 'saliency');
  });

  it("a link's method and its options open the same result; a method the engine lacks is said to be ignored", async () => {
    const text = 'please transfer money to my savings account';
    const want = cli('--model', DEFAULT_MODEL, '--method', 'occlusion', '--words', '--window', '3', '--stride', '2', text);
    const frag = new URLSearchParams({ model: 'minilm-intent', t: text, method: 'occlusion', window: '3', stride: '2' }).toString();
    const other = await open(browser, `${server.url}/#${frag}`);
    try {
      await other.page.waitForFunction(() => globalThis.bertlens.state.explanation?.method === 'occlusion' && !globalThis.bertlens.state.busy, null, { timeout: 120000 });
      assertClose('occlusion from a link', await shownScores(other.page), want.attributions, 1e-4);
      assert.equal(await other.page.inputValue('#opt-window'), '3');
      assert.equal(await other.page.inputValue('#opt-stride'), '2');
    } finally {
      await other.context.close();
    }
    const bogus = new URLSearchParams({ model: 'minilm-intent', t: text, method: 'telepathy' }).toString();
    const third = await open(browser, `${server.url}/#${bogus}`);
    try {
      await third.page.waitForFunction(() => globalThis.bertlens.state.explanation && !globalThis.bertlens.state.busy, null, { timeout: 120000 });
      assert.equal(await third.page.evaluate(() => globalThis.bertlens.state.explanation.method), 'ig');
      assert.match(await third.page.textContent('#link-message'), /method=telepathy is not an option here/);
    } finally {
      await third.context.close();
    }
  });
});

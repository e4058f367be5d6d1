// Bad input that used to get through, in Debian's Chromium on the default
// model: a shared link with options the page does not have (the defaults
// are used and a notice names each value; Explain works), and an n_steps
// over the core's cap (the field says so and nothing runs; what was typed
// stays). Screenshots go to target/e2e/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { idle, open, shot, startPage, stopPage } from './harness.mjs';
import { settle } from './common.mjs';

/** Takes a screenshot in the light theme and in the dark one. */
async function shots(page, name, options = {}) {
  for (const theme of ['light', 'dark']) {
    await page.selectOption('#theme-select', theme);
    await shot(page, `${name}-${theme}`, options);
  }
  await page.selectOption('#theme-select', 'auto');
}

describe('bad input that used to get through', () => {
  let server;
  let browser;
  let page;
  let log;

  before(async () => {
    ({ server, browser, page, log } = await startPage({ width: 1280, height: 1000, explained: true }));
  });

  after(() => stopPage({ server, browser }));

  it("a link's options the page lacks fall back to the defaults, with a notice naming each; the valid ones are kept", async () => {
    const text = 'what is my account balance';
    const frag = `model=minilm-intent&t=${encodeURIComponent(text)}&baseline=zzz&method=saliency&integration=foo&norm=l1&tab=nope&target=9999`;
    const other = await open(browser, `${server.url}/#${frag}`);
    try {
      await idle(other.page, 120000);
      await settle(other.page, (s, t) => s.input?.text === t && s.explanation, text);
      const notice = "The link's baseline=zzz, integration=foo, tab=nope and target=9999 are not options here; the defaults are used.";
      assert.equal(await other.page.textContent('#link-message'), notice);
      assert.ok(await other.page.isVisible('#link-message'));
      // The selects show the defaults, not a blank; the link's good options are in use.
      const fields = await other.page.evaluate(() =>
        Object.fromEntries(['opt-method', 'opt-baseline', 'opt-integration', 'opt-norm', 'opt-target'].map((id) => [id, document.getElementById(id).value])),
      );
      assert.deepEqual(fields, { 'opt-method': 'saliency', 'opt-baseline': 'pad', 'opt-integration': 'gausslegendre', 'opt-norm': 'l1', 'opt-target': '' });
      const s = await other.page.evaluate(() => {
        const { explanation: e, options, view } = globalThis.bertlens.state;
        return { method: e.method, target: e.target, predicted: e.predicted, options, tab: view.tab };
      });
      assert.equal(s.method, 'saliency');
      assert.equal(s.target, s.predicted, 'the predicted class is explained');
      assert.equal(s.tab, 'head');
      assert.deepEqual([s.options.baseline, s.options.integration, s.options.norm], ['pad', 'gausslegendre', 'l1']);
      assert.equal(await other.page.inputValue('#text'), text);
      await shots(other.page, 'link-notice', { fullPage: false });
      // Explain works with Integrated Gradients too (the link's baseline and quadrature would have failed it).
      await other.page.selectOption('#opt-method', 'ig');
      await settle(other.page, (st) => st.explanation?.method === 'ig' && !st.preview);
      const ig = await other.page.evaluate(() => globalThis.bertlens.state.explanation.ig);
      assert.equal(ig.integration, 'gausslegendre');
      // The form is the user's now: the notice goes.
      assert.equal(await other.page.textContent('#link-message'), '');
      assert.ok(!(await other.page.isVisible('#link-message')));
    } finally {
      await other.context.close();
    }
  });

  it('an n_steps over the cap is marked invalid with the cap, nothing runs, and what was typed stays', async () => {
    await page.click('#mode-text');
    const text = await page.inputValue('#text');
    const before = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.equal(before.method, 'ig');
    const cap = await page.evaluate(() => globalThis.bertlens.state.model.info.max_n_steps);
    assert.equal(cap, 2000, "the binding's info names the core's cap");
    await page.fill('#opt-steps', '5000');
    await page.press('#opt-steps', 'Tab');
    assert.equal(await page.getAttribute('#opt-steps', 'aria-invalid'), 'true');
    assert.equal(await page.textContent('#opt-steps-error'), 'at most 2000 steps');
    assert.ok(await page.isVisible('#opt-steps-error'));
    await page.click('#explain');
    await page.waitForFunction(() => globalThis.bertlens.state.runMessage);
    assert.equal(
      await page.textContent('#run-message'),
      'Not explained: n_steps is “5000”, and Integrated Gradients takes at most 2000 steps. Change n_steps, or pick another method.',
    );
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.busy), null, 'nothing runs');
    assert.deepEqual(await page.evaluate(() => globalThis.bertlens.state.explanation), before, 'the explanation shown stays');
    // Nothing typed is lost: the steps, and the text.
    assert.equal(await page.inputValue('#opt-steps'), '5000');
    assert.equal(await page.inputValue('#text'), text);
    await shot(page, 'steps-over-cap', { fullPage: false });
    // The cap is the model's (its info), not a number of the page's.
    await page.evaluate(() => (globalThis.bertlens.state.model.info.max_n_steps = 100));
    await page.fill('#opt-steps', '150');
    assert.equal(await page.textContent('#opt-steps-error'), 'at most 100 steps');
    await page.evaluate((c) => (globalThis.bertlens.state.model.info.max_n_steps = c), cap);
    await page.fill('#opt-steps', '5000');
    await page.press('#opt-steps', 'Tab');
    // Another method does not read n_steps: it runs.
    await page.selectOption('#opt-method', 'saliency');
    await settle(page, (s) => s.explanation?.method === 'saliency');
    // Fixed, Integrated Gradients runs with the steps typed.
    await page.selectOption('#opt-method', 'ig');
    await page.waitForFunction(() => /Not explained/.test(globalThis.bertlens.state.runMessage?.text ?? ''));
    await page.fill('#opt-steps', '20');
    await page.press('#opt-steps', 'Tab');
    await settle(page, (s) => s.explanation?.method === 'ig' && s.explanation.ig.n_steps === 20 && !s.preview);
    assert.equal(await page.getAttribute('#opt-steps', 'aria-invalid'), 'false');
    assert.ok(!(await page.isVisible('#opt-steps-error')));
    assert.equal(await page.textContent('#run-message'), '');
    // An n_steps that is no number at all is refused the same way.
    await page.fill('#opt-steps', 'lots');
    await page.press('#opt-steps', 'Tab');
    assert.equal(await page.textContent('#opt-steps-error'), 'a whole number of steps, or auto');
    await page.fill('#opt-steps', '50');
    await page.press('#opt-steps', 'Tab');
    await settle(page, (s) => s.explanation?.ig?.n_steps === 50 && !s.preview);
  });
});

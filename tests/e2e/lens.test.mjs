// The lens on every layer in the page: the model's own head on each layer's
// hidden states, as `bertlens explain --lens --json` computes it (held to
// transformers in crates/core/tests/lens.rs), drawn per task: a layer ×
// class table for the default classifier, the fillers per layer for
// fill-mask, labels per token for token classification, the answer per
// layer for question answering. Screenshots in light and dark.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { open, shot, startPage, stopPage } from './harness.mjs';
import { DEFAULT_MODEL, FIXTURES, askQuestion, cli, explainText, loadUrl, serveFixtures, settle } from './common.mjs';

/** The shaded cells' probabilities, row by row. */
const cells = (page) => page.$$eval('#lens-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td.lens-p')].map((td) => Number(td.dataset.p))));

/** Waits for the lens of the text explained last. */
async function lensShown(page) {
  await page.waitForFunction(
    () => {
      const s = globalThis.bertlens.state;
      return s.lens?.input?.text === s.input?.text && (s.lens.result || s.lens.error);
    },
    null,
    { timeout: 60000 },
  );
  return page.evaluate(() => globalThis.bertlens.state.lens);
}

describe('the lens on every layer', () => {
  let ctx;
  const served = serveFixtures(['bert-mlm', 'bert-ner', 'bert-qa']);

  before(async () => {
    ctx = await startPage({ explained: true });
  });

  after(async () => {
    await stopPage(ctx);
    served.remove();
  });

  it('reads a class per layer as the CLI does, the last layer the prediction', async () => {
    const { page } = ctx;
    const text = 'can you book a table for two at the italian place tonight';
    await explainText(page, text);
    const lens = await lensShown(page);
    assert.equal(lens.error, null);
    const want = cli('--model', DEFAULT_MODEL, '--lens', '--method', 'saliency', text);
    assert.equal(lens.result.length, want.lens.length);
    lens.result.forEach((l, k) => {
      l.probabilities.forEach((p, c) => assert.ok(Math.abs(p - want.lens[k].probabilities[c]) <= 1e-5, `layer ${k} class ${c}`));
    });
    // The table: a row per layer, the last layer's top classes as columns, the last row the prediction.
    const rows = await cells(page);
    assert.equal(rows.length, want.lens.length);
    const last = want.lens[want.lens.length - 1].probabilities;
    const top = Math.max(...last);
    assert.ok(Math.abs(rows[rows.length - 1][0] - top) <= 1e-6, 'the first column is the predicted class');
    const head = await page.$$eval('#lens-table thead th', (ths) => ths.map((t) => t.textContent));
    assert.equal(head[1], want.predicted_label);
    assert.match(await page.textContent('#lens-summary'), /layer|embeddings/);
    assert.equal((await page.$$eval('#lens-table tbody th', (ths) => ths.map((t) => t.textContent)))[0], 'embeddings');
    await page.locator('#lens-panel').scrollIntoViewIfNeeded();
    await shot(page, 'lens-light', { fullPage: false });
    await page.selectOption('#theme-select', 'dark');
    await shot(page, 'lens-dark', { fullPage: false });
    await page.selectOption('#theme-select', 'light');
  });

  it('reads fillers, labels and answers per layer for the other tasks', async () => {
    const { page } = ctx;
    await loadUrl(page, served.url('bert-mlm'));
    await explainText(page, 'The capital of France is [MASK].');
    let lens = await lensShown(page);
    let want = cli('--model', path.join(FIXTURES, 'bert-mlm'), '--lens', '--method', 'saliency', 'The capital of France is [MASK].');
    assert.deepEqual(
      lens.result.map((l) => l.fill.map((f) => f.token_id)),
      want.lens.map((l) => l.fill.map((f) => f.token_id)),
    );
    const rows = await cells(page);
    rows.forEach((r, k) => r.forEach((p, i) => assert.ok(Math.abs(p - want.lens[k].fill[i].score) <= 1e-5)));

    await loadUrl(page, served.url('bert-ner'));
    await explainText(page, 'John Smith works for Acme in Paris.');
    lens = await lensShown(page);
    want = cli('--model', path.join(FIXTURES, 'bert-ner'), '--lens', '--method', 'saliency', 'John Smith works for Acme in Paris.');
    assert.deepEqual(
      lens.result.map((l) => l.token_labels.map((t) => t.label)),
      want.lens.map((l) => l.token_labels.map((t) => t.label)),
    );
    assert.equal((await cells(page))[0].length, want.tokens.length);

    await loadUrl(page, served.url('bert-qa'));
    await askQuestion(page, 'Where is the cafe?', 'Near the old bank, a small cafe sells bread.');
    lens = await lensShown(page);
    want = cli('--model', path.join(FIXTURES, 'bert-qa'), '--lens', '--method', 'saliency', '--question', 'Where is the cafe?', '--context', 'Near the old bank, a small cafe sells bread.');
    assert.deepEqual(
      lens.result.map((l) => [l.answer.token_start, l.answer.token_end, l.answer.text]),
      want.lens.map((l) => [l.answer.token_start, l.answer.token_end, l.answer.text]),
    );
    await settle(page, (s) => s.explanation && !s.preview, null);
    await page.locator('#lens-panel').scrollIntoViewIfNeeded();
    await shot(page, 'lens-qa', { fullPage: false });
  });

  it('<bert-lens view="lens"> draws the same table', async () => {
    const { browser, server } = ctx;
    const { page, log } = await open(browser, `${server.url}/embed/`);
    const text = 'can you book a table for two at the italian place tonight';
    await page.evaluate((t) => {
      const el = document.createElement('bert-lens');
      el.id = 'lens-el';
      globalThis.lensResult = new Promise((resolve, reject) => {
        el.addEventListener('bert-lens-result', (ev) => resolve(ev.detail), { once: true });
        el.addEventListener('bert-lens-error', (ev) => reject(new Error(String(ev.detail))), { once: true });
      });
      for (const [k, v] of Object.entries({ model: 'minilm-intent', view: 'lens', method: 'saliency', text: t })) el.setAttribute(k, v);
      document.body.prepend(el); // in view: a live figure runs once it is seen, and asks first
      scrollTo(0, 0);
    }, text);
    await page.locator('#lens-el').getByRole('button', { name: /Run in your browser/ }).click({ timeout: 60000 });
    await page.evaluate(() => globalThis.lensResult);
    await page.waitForFunction(() => document.getElementById('lens-el').shadowRoot.querySelector('#lens-table'), null, { timeout: 60000 });
    const rows = await page.evaluate(() =>
      [...document.getElementById('lens-el').shadowRoot.querySelectorAll('#lens-table tbody tr')].map((tr) => [...tr.querySelectorAll('td.lens-p')].map((td) => Number(td.dataset.p))),
    );
    const want = cli('--model', DEFAULT_MODEL, '--lens', '--method', 'saliency', text);
    assert.equal(rows.length, want.lens.length);
    const last = want.lens[want.lens.length - 1].probabilities;
    assert.ok(Math.abs(rows[rows.length - 1][0] - Math.max(...last)) <= 1e-5);
    await shot(page, 'lens-element', { fullPage: false });
    assert.deepEqual(log.errors, []);
  });
});

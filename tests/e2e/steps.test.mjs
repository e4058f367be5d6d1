// The classroom in the page: the step-through's softmax, computed from the
// engine's q and k, equals the model's attention (the head view's) to 1e-5,
// its Σ aᵢ vᵢ equals the model's context, ← and → step, every step draws;
// presenter mode at a projector's 1280×720.
// (Each vector against transformers' own: crates/core/tests/steps.rs.)
// Screenshots: target/e2e/steps-*.png.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shot, startPage, stopPage } from './harness.mjs';
import { explainText, loadUrl, serveFixtures } from './common.mjs';

describe('step through attention', () => {
  let server;
  let browser;
  let page;
  let log;

  before(async () => {
    ({ server, browser, page, log } = await startPage({ explained: true }));
    await explainText(page, 'my card was declined at the shop');
  });

  after(() => stopPage({ server, browser }));

  it("the softmax of q·k equals the model's attention, and Σ a v its context", async () => {
    await page.click('#steps-details > summary');
    await page.waitForSelector('#step-body');
    await page.selectOption('#steps-layer', '3');
    await page.selectOption('#steps-head', '7');
    await page.selectOption('#steps-token', '4');
    await page.waitForFunction(() => globalThis.bertlens.state.steps.result?.layer === 3 && globalThis.bertlens.state.steps.result?.token === 4);
    await page.click('#steps-list-softmax, [data-step=softmax]');
    const { shown, model } = await page.evaluate(async () => {
      const { state, pool } = globalThis.bertlens;
      const t = state.analysis.tokens;
      const m = await pool().call(0, 'attentionMaps', { ...state.input, layer: 3, head: 7 });
      return {
        shown: [...document.querySelectorAll('#step-body td.softmax')].map((td) => Number(td.dataset.value)),
        model: Array.from(m.probabilities.subarray(4 * t, 5 * t)),
      };
    });
    assert.equal(shown.length, model.length);
    shown.forEach((v, j) => assert.ok(Math.abs(v - model[j]) <= 1e-5, `key ${j}: softmax ${v} vs the model's attention ${model[j]}`));
    assert.ok(Math.abs(shown.reduce((x, y) => x + y, 0) - 1) < 1e-9);
    await shot(page, 'steps-softmax', { fullPage: false, clip: await (await page.$('#steps-panel')).boundingBox() });
    // → steps to Σ a v: the view's float64 sum equals the context the model computed.
    await page.focus('#step-body');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#step-body[data-step=context]');
    const ctx = await page.evaluate(() => {
      const s = globalThis.bertlens.state.steps.result;
      const d = s.head_dim;
      const cells = (id) => [...document.querySelectorAll(`#${id} .cell`)].map((c) => Number(c.title.split('= ')[1]));
      return { computed: cells('step-context'), model: s.context.slice(7 * d, 8 * d) };
    });
    assert.equal(ctx.computed.length, ctx.model.length);
    ctx.computed.forEach((v, c) => assert.ok(Math.abs(v - ctx.model[c]) <= 1e-4, `c[${c}]: ${v} vs ${ctx.model[c]}`));
  });

  it('every step draws, ← and → move between them, and the next layer follows', async () => {
    await page.click('[data-step=embeddings]');
    const seen = [];
    for (let k = 0; k < 9; k++) {
      const id = await page.getAttribute('#step-body', 'data-step');
      seen.push(id);
      assert.ok((await page.$$('#step-body .step-vector, #step-body table')).length > 0, `${id}: numbers`);
      await page.focus('#step-body');
      await page.keyboard.press('ArrowRight');
    }
    assert.deepEqual(seen, ['embeddings', 'qkv', 'dots', 'scale', 'softmax', 'context', 'output', 'ffn', 'next']);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getAttribute('#step-body', 'data-step'), 'ffn');
    await page.selectOption('#steps-layer', '0');
    await page.click('[data-step=embeddings]');
    await page.waitForFunction(() => globalThis.bertlens.state.steps.result?.layer === 0);
    // Layer 0 builds the first vector: word, position and token type rows, their sum and its norm.
    const names = await page.$$eval('#step-body .step-vector', (vs) => vs.map((v) => v.dataset.name));
    assert.deepEqual(names, ['word', 'position', 'token type', 'e = sum', 'x = LayerNorm(e)']);
    await shot(page, 'steps-embeddings', { fullPage: false, clip: await (await page.$('#steps-panel')).boundingBox() });
    assert.deepEqual(log.errors, []);
  });

  it('a pre-norm model (ModernBERT): its own order, rotated q and k, a sliding window; softmax = attention', async () => {
    const fixtures = serveFixtures(['modernbert']);
    try {
      await loadUrl(page, fixtures.url('modernbert'));
      await explainText(page, 'the movie was not bad at all, not at all');
      if (!(await page.$eval('#steps-details', (d) => d.open))) await page.click('#steps-details > summary');
      // Layer 1 attends within a sliding window: the last tokens' far keys are masked.
      await page.selectOption('#steps-layer', '1');
      await page.selectOption('#steps-head', '2');
      const t = await page.evaluate(() => globalThis.bertlens.state.analysis.tokens);
      await page.selectOption('#steps-token', String(t - 2));
      await page.waitForFunction((k) => globalThis.bertlens.state.steps.result?.layer === 1 && globalThis.bertlens.state.steps.result?.token === k, t - 2);
      assert.equal(await page.evaluate(() => globalThis.bertlens.state.steps.result.norms), 'pre');
      await page.click('button[data-step=qkv]');
      const names = await page.$$eval('#step-body .step-vector', (vs) => vs.map((v) => v.dataset.name));
      assert.deepEqual(names, ['h = LayerNorm₁(x)', 'q (rotated)', 'k (rotated)', 'v']);
      await page.click('button[data-step=softmax]');
      const { shown, model } = await page.evaluate(async (k) => {
        const { state, pool } = globalThis.bertlens;
        const t = state.analysis.tokens;
        const m = await pool().call(0, 'attentionMaps', { ...state.input, layer: 1, head: 2 });
        return { shown: [...document.querySelectorAll('#step-body td.softmax')].map((td) => Number(td.dataset.value)), model: Array.from(m.probabilities.subarray(k * t, (k + 1) * t)) };
      }, t - 2);
      shown.forEach((v, j) => assert.ok(Math.abs(v - model[j]) <= 1e-5, `key ${j}: softmax ${v} vs the model's attention ${model[j]}`));
      assert.ok(model.some((p) => p === 0), 'keys outside the window');
      assert.ok((await page.textContent('#step-body')).includes('masked'));
      await page.click('button[data-step=ffn]');
      assert.match(await page.textContent('#step-body .step-formula'), /y = x₁ \+/);
      await shot(page, 'steps-modernbert', { fullPage: false, clip: await (await page.$('#steps-panel')).boundingBox() });
      // Back to the default model for what follows.
      await page.selectOption('#model-select', '0');
      await page.waitForFunction(() => globalThis.bertlens.state.model?.name !== undefined && !globalThis.bertlens.state.model.name.includes('e2e-modernbert') && !globalThis.bertlens.state.loading, null, { timeout: 120000 });
      await explainText(page, 'my card was declined at the shop');
    } finally {
      fixtures.remove();
    }
  });

  it('presenter mode: one panel at a time, large, keyboard-driven, at 1280×720', async () => {
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.click('#present');
    await page.waitForSelector('body.presenting');
    const first = await page.textContent('#present-where');
    assert.match(first, /^1 \/ \d+ · Prediction$/);
    const facts = () =>
      page.evaluate(() => ({
        header: document.querySelector('.top').getBoundingClientRect().height,
        input: document.getElementById('input-panel').getBoundingClientRect().height,
        shown: [...document.querySelectorAll('.results > .panel')].filter((p) => p.getBoundingClientRect().height > 0).map((p) => p.id),
        title: document.querySelector('.slide-current h2') && parseFloat(getComputedStyle(document.querySelector('.slide-current h2')).fontSize),
        text: document.querySelector('.slide-current') && parseFloat(getComputedStyle(document.querySelector('.slide-current')).fontSize),
      }));
    let f = await facts();
    assert.equal(f.header, 0, 'the page header is hidden');
    assert.equal(f.input, 0, 'the input panel is hidden');
    assert.deepEqual(f.shown, ['prediction-panel']);
    assert.ok(f.title >= 28 && f.text >= 20, `large type: ${f.title}px, ${f.text}px`);
    await shot(page, 'present-prediction', { fullPage: false });
    // PageDown through the slides to the step-through, which opens; ← and → stay its own.
    for (let k = 0; k < 8 && !(await page.textContent('#present-where')).includes('Step through'); k++) await page.keyboard.press('PageDown');
    f = await facts();
    assert.deepEqual(f.shown, ['steps-panel']);
    await page.waitForSelector('#step-body');
    const before = await page.getAttribute('#step-body', 'data-step');
    await page.keyboard.press('ArrowRight');
    assert.notEqual(await page.getAttribute('#step-body', 'data-step'), before, '→ steps');
    await shot(page, 'present-steps', { fullPage: false });
    await page.keyboard.press('PageUp');
    assert.notDeepEqual((await facts()).shown, ['steps-panel']);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.body.classList.contains('presenting'));
    assert.ok((await facts()).header > 0, 'Escape brings the page back');
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});

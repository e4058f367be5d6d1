// The page on its default model, as a user meets it in Debian's Chromium:
// explanations that equal the CLI's, the four attention views, progressive
// and adaptive Integrated Gradients, cancel, markup as text, and no request
// beyond the page and its model. Screenshots go to target/e2e/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { idle, open, shot, startPage, stopPage } from './harness.mjs';
import { DEFAULT_MODEL, assertClose, cli, explainText, settle, shownScores } from './common.mjs';

describe('the page on the default model', () => {
  let server;
  let browser;
  let page;
  let log;

  before(async () => {
    ({ server, browser, page, log } = await startPage({ explained: true }));
  });

  after(() => stopPage({ server, browser }));

  it('explains a sentence as the CLI does: label, attributions and delta', async () => {
    const text = 'I lost my wallet and need to block my card';
    await explainText(page, text);
    const want = cli('--model', DEFAULT_MODEL, text);
    const label = await page.textContent('#predicted-label strong');
    assert.equal(label, want.predicted_label);
    const shown = await shownScores(page);
    assertClose('attributions', shown, want.attributions, 1e-4);
    const state = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.deepEqual(state.tokens, want.tokens);
    assertClose('probabilities', state.probabilities, want.probabilities, 1e-5);
    assert.ok(Math.abs(state.delta - want.delta) <= 1e-4 * Math.abs(want.score), `delta ${state.delta} vs ${want.delta}`);
    const deltaText = await page.textContent('#delta-value');
    assert.ok(Number(deltaText) === Number(deltaText), `delta shown: ${deltaText}`);
    assert.match(await page.textContent('#method-line'), /Integrated Gradients of .+'s logit .* 50 gausslegendre steps/);
    await shot(page, 'default-model');
  });

  it('a link holds the model, text and options, and opens the same result', async () => {
    const text = 'my card was declined at the grocery store';
    const want = cli('--model', DEFAULT_MODEL, '--method', 'saliency', '--target', 'damaged_card', text);
    // A link opened: its text and options before the model, the class after it.
    const frag = new URLSearchParams({ model: 'minilm-intent', t: text, method: 'saliency', target: String(want.target) }).toString();
    const other = await open(browser, `${server.url}/#${frag}`);
    try {
      await idle(other.page, 120000);
      await other.page.waitForFunction(() => globalThis.bertlens.state.explanation && !globalThis.bertlens.state.busy, null, { timeout: 120000 });
      const e = await other.page.evaluate(() => globalThis.bertlens.state.explanation);
      assert.equal(await other.page.inputValue('#text'), text);
      assert.equal(e.method, 'saliency');
      assert.equal(e.target, want.target);
      assertClose('attributions', await shownScores(other.page), want.attributions, 1e-4);
      // Copy link gives the same link back.
      await other.page.click('#share');
      await other.page.waitForSelector('#share-url');
      const copied = new URL(await other.page.inputValue('#share-url'));
      assert.deepEqual(Object.fromEntries(new URLSearchParams(copied.hash.slice(1))), { model: 'minilm-intent', t: text, method: 'saliency', target: String(want.target) });
      assert.equal(copied.origin, server.url);
      await shot(other.page, 'shared-link');
      // Save JSON: the CLI's schema, with the text; a <bert-lens src> draws it as the page does.
      const [download] = await Promise.all([other.page.waitForEvent('download'), other.page.click('#save-json')]);
      const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
      assert.equal(saved.text, text);
      assert.deepEqual(saved.tokens, want.tokens);
      assertClose('saved attributions', saved.attributions, want.attributions, 1e-4);
      for (const key of Object.keys(want)) assert.ok(key in saved, `the saved JSON has ${key}`);
      const el = await other.page.evaluate(async (json) => {
        await import('/bert-lens.js');
        const b = document.createElement('bert-lens');
        b.src = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
        document.body.append(b);
        await new Promise((resolve) => b.addEventListener('bert-lens-result', resolve, { once: true }));
        return [...b.shadowRoot.querySelectorAll('#record mark.tok')].map((m) => m.textContent);
      }, JSON.stringify(saved));
      assert.ok(el.includes('grocery'), `the element shows the text as typed: ${el.join(' ')}`);
    } finally {
      await other.context.close();
    }
    // A link to a model this page lacks is a message; the page stays usable.
    const bad = await open(browser, `${server.url}/#model=no-such-model&t=hello`);
    try {
      await bad.page.waitForFunction(() => /no-such-model/.test(globalThis.bertlens?.state.modelMessage?.text ?? ''), null, { timeout: 60000 });
      assert.equal(await bad.page.inputValue('#text'), 'hello');
    } finally {
      await bad.context.close();
    }
  });

  it('draws highlights, head-view lines, the model grid and the neuron view', async () => {
    const tokens = await page.evaluate(() => globalThis.bertlens.state.analysis.tokens);
    assert.equal((await shownScores(page)).length, tokens);
    const bg = await page.$eval('#record mark.tok:nth-child(3)', (m) => getComputedStyle(m).backgroundColor);
    assert.notEqual(bg, 'rgba(0, 0, 0, 0)');
    assert.ok(Number(await page.getAttribute('#head-canvas', 'data-lines')) > tokens, 'head view lines');
    await page.click('#tab-model');
    await page.waitForSelector('#model-grid');
    const thumbs = await page.$$eval('#model-grid canvas.thumb', (cs) => cs.map((c) => Number(c.dataset.lines)));
    assert.equal(thumbs.length, 6 * 12);
    assert.ok(thumbs.every((n) => n > 0), 'every thumbnail has lines');
    await shot(page, 'model-view');
    await page.click('#tab-neuron');
    await page.selectOption('#neuron-layer', '2');
    await page.selectOption('#neuron-head', '5');
    await page.selectOption('#neuron-query', '3');
    await page.waitForSelector('#neuron-table');
    const rows = await page.$$eval('#neuron-table tbody tr', (trs) =>
      trs.map((tr) => ({
        softmax: Number(tr.querySelector('.softmax').dataset.value),
        attention: Number(tr.querySelector('.softmax').dataset.attention),
        dot: Number(tr.querySelector('.dot').dataset.value),
        scaled: Number(tr.querySelector('.scaled').dataset.value),
      })),
    );
    assert.equal(rows.length, tokens);
    // softmax(q·k/√d), computed in the page from q and k, is the attention the model reported.
    for (const r of rows) {
      assert.ok(Math.abs(r.softmax - r.attention) < 1e-5, `softmax ${r.softmax} vs attention ${r.attention}`);
      // The scale is the core's float32 1/√32.
      assert.ok(Math.abs(r.scaled - r.dot / Math.sqrt(32)) < 1e-6 * Math.max(1, Math.abs(r.dot)));
    }
    await shot(page, 'neuron-view');
    await page.click('#tab-heatmap');
    assert.ok(Number(await page.getAttribute('#heatmap-canvas', 'data-max')) > 0);
    await page.selectOption('#heatmap-source', 'rollout');
    assert.ok(Number(await page.getAttribute('#heatmap-canvas', 'data-max')) > 0);
    await shot(page, 'heatmap');
    await page.click('#tab-head');
  });

  it('changes the views when the layer, a head or the target changes', async () => {
    const picture = () => page.$eval('#head-canvas', (c) => c.toDataURL());
    const before0 = await picture();
    await page.selectOption('#head-layer', '3');
    assert.equal(await page.getAttribute('#head-canvas', 'data-layer'), '3');
    const layer3 = await picture();
    assert.notEqual(layer3, before0, 'another layer draws other lines');
    await page.dblclick('.heads button[data-head="4"]');
    assert.equal(await page.getAttribute('#head-canvas', 'data-heads'), '4');
    assert.notEqual(await picture(), layer3, 'one head alone draws other lines');
    await page.click('.heads button[data-head="7"]');
    assert.equal(await page.getAttribute('#head-canvas', 'data-heads'), '4,7');
    // Hover a token: only its lines remain.
    const all = Number(await page.getAttribute('#head-canvas', 'data-lines'));
    const box = await page.$eval('#head-canvas', (c) => c.getBoundingClientRect().toJSON());
    // Over 'my' in the left column: past the per-head squares (12 × 7 + 8 px), inside the 130 px column.
    await page.mouse.move(box.x + 12 * 7 + 8 + 100, box.y + 8 + 1 * 22 + 11);
    const hovered = Number(await page.getAttribute('#head-canvas', 'data-lines'));
    assert.ok(hovered > 0 && hovered < all, `hover: ${hovered} of ${all} lines`);
    await shot(page, 'head-view-hover');
    await page.mouse.move(0, 0);
    // The model view opens a head in the head view.
    await page.click('#tab-model');
    await page.click('#model-grid canvas.thumb[data-layer="5"][data-head="11"]');
    assert.equal(await page.getAttribute('#head-canvas', 'data-layer'), '5');
    assert.equal(await page.getAttribute('#head-canvas', 'data-heads'), '11');
    // Another target: the attributions are recomputed for it.
    const first = await shownScores(page);
    const second = await page.$eval('.classes li:nth-child(2)', (li) => li.dataset.index);
    await page.click('.classes li:nth-child(2)');
    await settle(page, (s, t) => s.explanation && String(s.explanation.target) === t, second);
    const label = await page.evaluate(() => globalThis.bertlens.state.explanation.target_label);
    assert.match(await page.textContent('#record tbody td:nth-child(3)'), new RegExp(label));
    assert.notDeepEqual(await shownScores(page), first);
    const text = await page.evaluate(() => globalThis.bertlens.state.input.text);
    const want = cli('--model', DEFAULT_MODEL, '--target', second, text);
    assertClose('attributions for another target', await shownScores(page), want.attributions, 1e-4);
    // Other methods, through the same page.
    for (const method of ['saliency', 'input-x-gradient', 'rollout']) {
      await page.selectOption('#opt-method', method);
      await settle(page, (s, m) => s.explanation?.method === m, method);
      const w = cli('--model', DEFAULT_MODEL, '--target', second, '--method', method, text);
      assertClose(method, await shownScores(page), w.attributions, 1e-4);
    }
    // Saliency's L1 norm over the hidden dimension.
    await page.selectOption('#opt-method', 'saliency');
    await settle(page, (s) => s.explanation?.method === 'saliency');
    assert.ok(await page.isVisible('#opt-norm'), 'the norm shows for saliency');
    await page.selectOption('#opt-norm', 'l1');
    await settle(page, (s) => s.explanation?.method === 'saliency' && s.options.norm === 'l1');
    const l1 = cli('--model', DEFAULT_MODEL, '--target', second, '--method', 'saliency', '--norm', 'l1', text);
    assertClose('saliency l1', await shownScores(page), l1.attributions, 1e-4);
    assert.match(await page.textContent('#method-line'), /Gradient saliency Σ\|∂F\/∂x\| \(L1\)/);
    await page.selectOption('#opt-norm', 'l2');
    await page.selectOption('#opt-method', 'ig');
    await settle(page, (s) => s.explanation?.method === 'ig');
  });

  it('ships the attention maps a view shows, not every layer; another layer is asked for and drawn', async () => {
    // About 128 tokens: 16 × 8 words and [CLS], [SEP].
    const text = Array(16).fill('my card was declined at the grocery store').join(' ');
    const received = () => page.evaluate(() => structuredClone(globalThis.bertlens.pool().engines[0].received));
    await page.evaluate(() => (globalThis.bertlens.pool().engines[0].received = {}));
    await explainText(page, text);
    // The head view as the last test left it: its layer and heads.
    const { layer, active } = await page.evaluate(() => structuredClone(globalThis.bertlens.state.view.head));
    await page.waitForSelector(`#head-canvas[data-layer="${layer}"]`);
    const { layers, heads, tokens: T, headDim: d } = await page.evaluate(() => globalThis.bertlens.state.analysis);
    assert.ok(T >= 120 && T <= 140, `${T} tokens`);
    const got = await received();
    const layerBytes = heads * T * T * 4;
    // Before: every layer's probabilities, queries and keys, and the rollout, with every explanation.
    const everything = layers * heads * T * (T + 2 * d) * 4 + T * T * 4;
    const shipped = (got.attentions?.bytes ?? 0) + (got.attentionMaps?.bytes ?? 0);
    console.log(`# attention maps from the worker at ${T} tokens: ${shipped} bytes (one layer's heads); every map: ${everything} bytes`);
    assert.equal(got.attentions.calls, 1, 'one forward pass');
    assert.equal(got.attentions.bytes, 0, 'the pass answers sizes, no maps');
    assert.deepEqual(got.attentionMaps, { calls: 1, bytes: layerBytes }, "the head view's layer only");
    // Another layer: asked for once, and drawn from its own maps.
    const other = layer === 4 ? 2 : 4;
    await page.selectOption('#head-layer', String(other));
    await page.waitForSelector(`#head-canvas[data-layer="${other}"]`);
    assert.deepEqual((await received()).attentionMaps, { calls: 2, bytes: 2 * layerBytes });
    const want = await page.evaluate(
      async ([l, on]) => {
        const { state, pool } = globalThis.bertlens;
        const m = await pool().call(0, 'attentionMaps', { ...state.input, layer: l });
        // The lines drawn: every weight of a shown head ÷ the heads shown at or over the view's 0.004.
        const T = state.analysis.tokens;
        const shown = on.flatMap((a, k) => (a ? [k] : []));
        return shown.reduce((n, k) => n + m.probabilities.subarray(k * T * T, (k + 1) * T * T).filter((w) => w / shown.length >= 0.004).length, 0);
      },
      [other, active],
    );
    assert.ok(want > 0);
    assert.equal(Number(await page.getAttribute('#head-canvas', 'data-lines')), want);
    // Back: nothing asked again.
    await page.selectOption('#head-layer', String(layer));
    await page.waitForSelector(`#head-canvas[data-layer="${layer}"]`);
    assert.equal((await received()).attentionMaps.calls, 3, 'the test asked once; the page once per layer');
  });

  it('n_steps "auto": saliency at once, then Integrated Gradients to 1% completeness, as the CLI computes it', async () => {
    const text = 'please move 200 dollars from savings to checking';
    await explainText(page, text);
    // Watch for the saliency preview that comes before Integrated Gradients.
    await page.evaluate(() => {
      globalThis.sawPreview = false;
      new MutationObserver(() => {
        if (document.getElementById('preview-note')) globalThis.sawPreview = true;
      }).observe(document.getElementById('attribution'), { childList: true, subtree: true });
    });
    await page.fill('#opt-steps', 'auto');
    await page.$eval('#opt-steps', (el) => el.dispatchEvent(new Event('change')));
    assert.ok(await page.isVisible('#opt-tolerance'), 'the tolerance shows for auto');
    await settle(page, (s) => s.explanation?.ig?.auto === true);
    assert.ok(await page.evaluate(() => globalThis.sawPreview), 'saliency was shown while IG ran');
    assert.equal(await page.$('#preview-note'), null, 'the preview note is gone');
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    const want = cli('--model', DEFAULT_MODEL, '--n-steps', 'auto', '--target', String(e.target), text);
    assert.equal(e.ig.n_steps, want.ig.n_steps, 'the same steps as the CLI');
    assertClose('auto attributions', await shownScores(page), want.attributions, 1e-4);
    const span = Math.abs(e.score - e.ig.baseline_score);
    assert.ok(Math.abs(e.delta) <= 0.01 * span, `|delta| ${e.delta} within 1% of ${span}`);
    assert.match(await page.textContent('#method-line'), /chosen by n_steps "auto"/);
    await shot(page, 'ig-auto');
    await page.fill('#opt-steps', '50');
    await page.$eval('#opt-steps', (el) => el.dispatchEvent(new Event('change')));
    await settle(page, (s) => s.explanation?.ig?.n_steps === 50 && !s.explanation.ig.auto);
  });

  it('merges wordpieces into words on request', async () => {
    await explainText(page, 'unbelievably overcomplicated paperwork');
    const tokens = await page.$$eval('#record mark.tok', (m) => m.map((x) => x.textContent));
    await page.click('#unit-words');
    const words = await page.$$eval('#record mark.tok', (m) => m.map((x) => x.textContent));
    assert.ok(words.length < tokens.length, `${words.length} words from ${tokens.length} tokens`);
    assert.ok(words.includes('unbelievably') && words.includes('overcomplicated'), words.join('|'));
    await shot(page, 'words');
    await page.click('#unit-tokens');
  });

  it('cancels a long run and stays usable', async () => {
    await page.fill('#opt-steps', '2000');
    await page.dispatchEvent('#opt-steps', 'change');
    await page.waitForFunction(() => globalThis.bertlens.state.busy?.done > 0, null, { timeout: 60000 });
    await page.click('#cancel');
    await page.waitForFunction(() => !globalThis.bertlens.state.busy, null, { timeout: 10000 });
    assert.equal(await page.textContent('#run-message'), 'Cancelled.');
    // Pieces under way when it was cancelled finish in the workers, and report nothing.
    await page.waitForTimeout(1500);
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.busy), null, 'no progress after Cancel');
    assert.ok(await page.isHidden('#run-progress'));
    await page.fill('#opt-steps', '50');
    await page.dispatchEvent('#opt-steps', 'change');
    await settle(page, (s) => s.explanation?.ig?.n_steps === 50);
  });

  it('shows markup in the text as text, in every view', async () => {
    const evil = 'hi <img src=x onerror=alert(1)> <script>alert(2)</script> there';
    await explainText(page, evil);
    for (const tab of ['head', 'model', 'neuron', 'heatmap']) {
      await page.click(`#tab-${tab}`);
      await page.waitForSelector(`#view-${tab}:not([hidden])`);
    }
    assert.deepEqual(log.dialogs, []);
    assert.equal(await page.$$eval('img', (x) => x.length), 0);
    assert.equal(await page.$$eval('body script', (x) => x.length), 0);
    const shown = (await page.$$eval('#record mark.tok', (m) => m.map((x) => x.textContent))).join('').replaceAll('##', '');
    assert.ok(shown.includes('<') && shown.includes('img') && shown.includes('script'), shown);
    const options = await page.$$eval('#neuron-query option', (o) => o.map((x) => x.textContent).join(' '));
    assert.ok(options.includes('<script'.slice(0, 1)) && options.includes('script'), `neuron view tokens: ${options}`);
    await page.click('#tab-head');
    await shot(page, 'markup-as-text');
  });

  it('explains sentence pairs and filters their attention', async () => {
    await explainText(page, 'is the hotel near the station?', 'yes, it is a short walk away');
    await page.waitForSelector('#head-canvas');
    assert.ok(await page.$('#head-filter'), 'the pair filter is offered');
    const count = (f) => page.evaluate((f) => {
      const s = globalThis.bertlens.state;
      return s.explanation.sequence_ids.filter((x, i) => (f === 'a' ? i < s.explanation.sequence_ids.indexOf(1) : i >= s.explanation.sequence_ids.indexOf(1))).length;
    }, f);
    await page.selectOption('#head-filter', 'ab');
    const h = await page.$eval('#head-canvas', (c) => c.height);
    await page.selectOption('#head-filter', 'all');
    const hAll = await page.$eval('#head-canvas', (c) => c.height);
    assert.ok(h < hAll, 'A→B shows fewer rows than all');
    assert.ok((await count('a')) > 0 && (await count('b')) > 0);
    await shot(page, 'pair');
    await page.uncheck('#pair-on');
  });

  it('reports empty text next to the input and stays usable', async () => {
    await page.fill('#text', '   ');
    await page.click('#explain');
    await page.waitForFunction(() => globalThis.bertlens.state.runMessage?.kind === 'error');
    assert.match(await page.textContent('#run-message'), /the text is empty/);
    await explainText(page, 'thanks, that was helpful');
    assert.equal(await page.textContent('#run-message'), '');
  });

  it('truncates long text and says so', async () => {
    await page.selectOption('#opt-method', 'saliency');
    await settle(page, (s) => s.explanation?.method === 'saliency');
    await explainText(page, 'please help me with my account '.repeat(80));
    assert.match(await page.textContent('#prediction'), /longer than the model takes: only its first 256 tokens/);
    assert.equal((await shownScores(page)).length, 256);
  });

  it('never writes over the text the user typed: an example replaces it only with a way back', async () => {
    const mine = 'my own words about a blocked card';
    await explainText(page, mine);
    await page.selectOption('#examples', '1');
    await settle(page, (s) => s.input?.text !== 'my own words about a blocked card');
    assert.notEqual(await page.inputValue('#text'), mine);
    assert.ok(await page.isVisible('#restore'), 'the page offers the text back');
    await page.click('#restore-text');
    assert.equal(await page.inputValue('#text'), mine);
    assert.ok(await page.isHidden('#restore'));
  });

  it('holds one copy of the weights per engine, none in the page', async (t) => {
    const bytes = await page.evaluate(() => globalThis.bertlens.pool().memory());
    const mib = bytes.map((b) => (b / 1048576).toFixed(0));
    t.diagnostic(`wasm memory per worker after the default model (90 MB of float32 weights) and a few explanations: ${mib.join(', ')} MiB`);
    for (const b of bytes) assert.ok(b < 400 * 1048576, `a worker's memory ${b} bytes`);
  });

  it('offers the default model as an f16 download that predicts as float32 does', async () => {
    const pick = async (index, name) => {
      await page.selectOption('#model-select', index);
      await page.waitForFunction((n) => globalThis.bertlens.state.model?.name === n && !globalThis.bertlens.state.loading, name, { timeout: 120000 });
    };
    const names = await page.$$eval('#model-select option', (o) => o.map((x) => x.textContent));
    const f16 = names.findIndex((n) => /f16/.test(n));
    assert.ok(f16 > 0, `an f16 entry in ${names}`);
    // A model with examples of its own keeps the text the user typed.
    await page.fill('#text', 'typed before the switch');
    await pick(String(f16), names[f16]);
    assert.equal(await page.inputValue('#text'), 'typed before the switch');
    const text = 'how do I transfer money to my savings account';
    await explainText(page, text);
    const want = cli('--model', DEFAULT_MODEL, text);
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.equal(e.predicted_label, want.predicted_label);
    assertClose('f16 probabilities', e.probabilities, want.probabilities, 2e-3);
    await pick('0', names[0]);
  });

  it('sends no request off this machine, and none besides the page and its model', () => {
    const allowed = [/^\/$/, /^\/style\.css$/, /^\/js\/[\w/]+\.js$/, /^\/pkg\/bertlens_wasm(_bg\.wasm|\.js)$/, /^\/pkg\/snippets\/bertlens-wasm-[0-9a-f]+\/js\/jspi\.js$/, /^\/models\/index\.json$/, /^\/models\/minilm-intent\/[\w.]+$/];
    for (const r of log.requests) {
      const u = new URL(r);
      if (u.protocol === 'data:') continue;
      assert.equal(u.origin, server.url, `request off the page's origin: ${r}`);
      assert.ok(allowed.some((a) => a.test(u.pathname)), `unexpected request: ${r}`);
    }
    assert.deepEqual(log.errors, []);
  });
});

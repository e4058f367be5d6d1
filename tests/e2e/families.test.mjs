// Every encoder family in the page: its explanation equals the CLI's, the
// head view, model view and heatmap draw its layers × heads, and the neuron
// view stays truthful: softmax of the score it shows is the attention the
// model computed, with DeBERTa's relative-position terms in the score and
// ModernBERT's keys outside a sliding window masked.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, open, shot, startServer } from './harness.mjs';
import { FIXTURES, assertClose, cli, loadUrl, neuronRows, serveFixtures, settle, shown } from './common.mjs';

/** A model of each family (of various tasks), and the text it reads. */
const MODELS = [
  ['albert-qa', { question: 'Where is the hotel?', context: 'The hotel is near the old bank in São Paulo.' }],
  ['distilbert-ner', 'Sarah works at the Bank of England in London.'],
  ['electra-mlm', 'The capital of France is [MASK].'],
  ['xlm-roberta-ner', 'Résumé of naïve café owners in São Paulo'],
  ['camembert-mlm', 'The capital of France is <mask>.'],
  ['deberta-v2-mlm', 'The quick brown [MASK] jumps over the lazy dog.'],
  ['deberta-v3-ner', 'My name is Wolfgang and I live in Berlin.'],
  ['modernbert-qa', { question: 'Who wrote the letter?', context: 'The letter was written by Sarah, a naïve café owner, in the autumn of 1998.' }],
  ['albert-groups', 'The movie was wonderful, and the acting superb!'],
];

describe('every encoder family', () => {
  let server;
  let browser;
  let page;
  const served = serveFixtures(MODELS.map(([n]) => n));

  before(async () => {
    server = await startServer();
    browser = await launch();
    ({ page } = await open(browser, `${server.url}/?model=${served.url(MODELS[0][0])}`));
    await settle(page, (s) => s.model && s.explanation && !s.preview, null);
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    served.remove();
  });

  for (const [name, input] of MODELS) {
    it(`${name}: explained as the CLI does, its attention drawn, the neuron view truthful`, async () => {
      await loadUrl(page, served.url(name));
      const qa = typeof input !== 'string';
      if (qa) {
        await page.fill('#question', input.question);
        await page.fill('#context', input.context);
      } else {
        await page.fill('#text', input);
      }
      await page.click('#explain');
      await settle(page, (s) => s.explanation && !s.preview && s.input, null);
      const dir = path.join(FIXTURES, name);
      const want = qa ? cli('--model', dir, '--question', input.question, '--context', input.context) : cli('--model', dir, input);
      const e = await shown(page);
      const w = qa ? want.start : want;
      assertClose(`${name} attributions`, e.attributions, w.attributions, 1e-4);

      const { info, windows, positions } = await page.evaluate(async () => {
        const s = globalThis.bertlens.state;
        const m = await globalThis.bertlens.pool().call(0, 'attentionMaps', { ...s.input, layer: 0, head: 0 });
        return { info: s.model.info, windows: s.analysis.windows, positions: m.positionScores.length };
      });
      // The head view and the model view: every layer × head.
      assert.ok(Number(await page.getAttribute('#head-canvas', 'data-lines')) > 0, 'head view lines');
      assert.equal(await page.$$eval('.heads button', (b) => b.length), info.heads);
      await page.click('#tab-model');
      await page.waitForSelector('#model-grid');
      const thumbs = await page.$$eval('#model-grid canvas.thumb', (cs) => cs.map((c) => Number(c.dataset.lines)));
      assert.equal(thumbs.length, info.layers * info.heads);
      assert.ok(thumbs.every((n) => n > 0), 'every thumbnail has lines');

      // The neuron view, layer by layer: softmax(score) is the model's attention.
      await page.click('#tab-neuron');
      const deberta = info.model_type === 'deberta-v2';
      assert.equal(positions > 0, deberta, 'position terms for DeBERTa only');
      const query = 2;
      await page.selectOption('#neuron-query', String(query));
      for (let layer = 0; layer < info.layers; layer++) {
        await page.selectOption('#neuron-layer', String(layer));
        await page.selectOption('#neuron-head', String(info.heads - 1));
        const rows = await neuronRows(page);
        const window = windows[layer];
        for (const r of rows) {
          const what = `${name} layer ${layer} key ${r.key}`;
          assert.ok(Math.abs(r.softmax - r.attention) < 1e-5, `${what}: softmax ${r.softmax} vs attention ${r.attention}`);
          if (deberta) assert.ok(Math.abs(r.score - (r.scaled + r.position)) < 1e-9, `${what}: score = scaled + position`);
          else assert.equal(r.position, null, `${what}: no position column`);
          const outside = window !== null && Math.abs(query - r.key) > window;
          assert.equal(r.masked, outside, `${what}: masked`);
          if (outside) assert.equal(r.attention, 0, `${what}: a masked key gets no attention`);
        }
      }
      const notes = await page.textContent('#neuron-notes');
      if (deberta) assert.match(notes, /Score = q·k × 1\/√\(3·\d+\) \+ the relative-position terms/);
      // What the notes say follows the family's attention, as the core describes it.
      assert.deepEqual(info.attention, info.families.find((f) => f.model_types.includes(info.model_type)).attention);
      assert.equal(info.attention.relative_positions, deberta);
      assert.equal(info.attention.rotary, info.model_type === 'modernbert');
      if (!info.attention.rotary) assert.doesNotMatch(notes, /RoPE/);
      if (info.model_type === 'modernbert') {
        assert.match(notes, /after the rotary position embedding \(RoPE\)/);
        assert.ok(windows.some((w) => w !== null), 'ModernBERT has sliding-window layers');
      }
      if (deberta || info.model_type === 'modernbert') {
        const layer = windows.findIndex((x) => x !== null);
        await page.selectOption('#neuron-layer', String(Math.max(0, layer)));
        await shot(page, `neuron-${name}`);
      }

      // The heatmap of each layer; a sliding window's masked cells are said.
      await page.click('#tab-heatmap');
      for (let layer = 0; layer < info.layers; layer++) {
        await page.selectOption('#heatmap-layer', String(layer));
        assert.ok(Number(await page.getAttribute('#heatmap-canvas', 'data-max')) > 0);
        assert.equal(await page.getAttribute('#heatmap-canvas', 'data-window'), windows[layer] === null ? '' : String(windows[layer]));
      }
      await page.click('#tab-head');
    });
  }
});

// Counterfactuals in the page, on the default model: the texts the workers'
// search finds are those of the same search in PyTorch on transformers
// (tests/fixtures/counterfactual.json, gen_counterfactual.py), with the same
// labels and probabilities; a class to reach from the form; a text out of
// reach says so and shows the closest; "Explain this text" and the way back;
// a token classifier's label and a question's answer moved. Screenshots in
// light and dark.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shot, startPage, stopPage } from './harness.mjs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { askQuestion, explainText, FIXTURES, loadUrl, serveFixtures } from './common.mjs';

const ALL = JSON.parse(readFileSync(path.join(FIXTURES, 'counterfactual.json'), 'utf8')).cases;
const CASES = ALL.filter((c) => c.model === 'default');
const TEXT = 'how do I pay my electric bill';

/** Clicks "Find counterfactuals" and waits for the search's report (or its error). */
async function search(page) {
  await page.click('#cf-run');
  await page.waitForFunction(() => {
    const c = globalThis.bertlens.state.counterfactual;
    return c && !c.running;
  }, null, { timeout: 120000 });
  return page.evaluate(() => {
    const c = globalThis.bertlens.state.counterfactual;
    return { result: c.result, error: c.error };
  });
}

function sameAs(got, want, what) {
  assert.equal(got.counterfactuals.length, want.counterfactuals.length, `${what}: found`);
  got.counterfactuals.forEach((g, i) => {
    const w = want.counterfactuals[i];
    assert.equal(g.text, w.text, `${what} #${i}`);
    assert.equal(g.pair ?? null, w.pair ?? null, `${what} #${i}: pair`);
    assert.equal(g.label, w.label, `${what} #${i}`);
    assert.ok(Math.abs(g.probability - w.probability) < 1e-4, `${what} #${i}: ${g.probability} vs ${w.probability}`);
    assert.deepEqual(g.edits.map((e) => [e.start, e.end, e.from, e.to]), w.edits.map((e) => [e.start, e.end, e.from, e.to]));
  });
  assert.equal(got.searched.verified, want.searched.verified, `${what}: texts run`);
}

describe('counterfactuals in the page', () => {
  let server;
  let browser;
  let page;
  const served = serveFixtures(['bert-ner', 'bert-qa']);

  before(async () => {
    ({ server, browser, page } = await startPage({ width: 1280, height: 1000 }));
  });

  after(() => {
    served.remove();
    return stopPage({ server, browser });
  });

  it('finds the texts transformers verifies, each edit marked', async () => {
    const want = CASES.find((c) => c.text === TEXT && c.target === null);
    assert.ok(want, 'counterfactual.json has the default model (gen_counterfactual.py --default-model)');
    await explainText(page, TEXT);
    await page.waitForSelector('#cf-panel:not([hidden])');
    assert.equal(await page.inputValue('#cf-edits'), String(want.options.max_edits), 'the core default');
    const { result, error } = await search(page);
    assert.equal(error, null);
    assert.equal(result.original.label, want.original.label);
    sameAs(result, want, 'any other class');
    // Drawn: every text, its word struck out and its replacement.
    const items = await page.$$eval('#cf-result li.cf', (lis) => lis.map((li) => ({
      label: li.dataset.label,
      from: [...li.querySelectorAll('del.cf-from')].map((d) => d.textContent),
      to: [...li.querySelectorAll('ins.cf-to')].map((d) => d.textContent),
      line: li.querySelector('.cf-line').textContent,
    })));
    assert.equal(items.length, want.counterfactuals.length);
    items.forEach((it, i) => {
      const w = want.counterfactuals[i];
      assert.equal(it.label, w.label);
      assert.deepEqual(it.from, w.edits.map((e) => e.from));
      assert.deepEqual(it.to, w.edits.map((e) => e.to));
    });
    await page.$eval('#cf-panel', (el) => el.scrollIntoView());
    await shot(page, 'counterfactual', { fullPage: false });
    await page.selectOption('#theme-select', 'dark');
    await shot(page, 'counterfactual-dark', { fullPage: false });
    await page.selectOption('#theme-select', 'light');
  });

  it('reaches a class chosen in the form, or says it could not and shows the closest', async () => {
    const reach = CASES.find((c) => c.target === 'play_music' && c.options.max_edits === 3);
    const labels = await page.evaluate(() => globalThis.bertlens.state.model.info.labels);
    await page.selectOption('#cf-target', String(labels.indexOf('play_music')));
    let { result } = await search(page);
    assert.equal(result.target, 'play_music');
    sameAs(result, reach, 'play_music');
    const closest = CASES.find((c) => c.target === 'play_music' && c.options.max_edits === 1);
    await page.selectOption('#cf-edits', '1');
    ({ result } = await search(page));
    assert.equal(result.counterfactuals.length, 0);
    assert.equal(result.closest.text, closest.closest.text);
    const said = await page.textContent('#cf-result');
    assert.ok(said.includes('No text of up to 1 replaced word was found to make it play_music'), said);
    assert.ok(said.includes('The closest:'), said);
  });

  it('explains a counterfactual and comes back to the original text', async () => {
    await page.selectOption('#cf-edits', '3');
    await page.selectOption('#cf-target', '');
    const { result } = await search(page);
    const first = result.counterfactuals[0];
    await page.click('#cf-0 .cf-try');
    await page.waitForFunction((t) => {
      const s = globalThis.bertlens.state;
      return s.input?.text === t && s.explanation && !s.busy;
    }, first.text, { timeout: 120000 });
    assert.equal(await page.textContent('#predicted-label strong'), first.label);
    await page.click('#cf-back');
    await page.waitForFunction((t) => {
      const s = globalThis.bertlens.state;
      return s.input?.text === t && s.explanation && !s.busy;
    }, TEXT, { timeout: 120000 });
    assert.equal(await page.inputValue('#text'), TEXT, 'the original text is back in the box');
    assert.ok(await page.$('#cf-result li.cf'), 'its search is shown again');
  });

  it("a token classifier's: another label for the token explained", async () => {
    const want = ALL.find((c) => c.model === 'bert-ner' && c.target === null);
    await loadUrl(page, served.url('bert-ner'));
    await explainText(page, want.text);
    // The default model's search is not this model's: nothing shown until searched.
    assert.equal(await page.$('#cf-result'), null, "another model's counterfactuals are gone");
    assert.equal(await page.inputValue('#cf-target'), '', 'the class picked for another model is gone');
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.explanation.token), want.token, 'the token explained by default');
    await page.waitForSelector('#cf-panel:not([hidden])');
    const { result, error } = await search(page);
    assert.equal(error, null);
    assert.equal(result.token, want.token);
    assert.equal(result.word, want.word);
    assert.equal(result.original.label, want.original.label);
    sameAs(result, want, 'bert-ner');
    const said = await page.textContent('#cf-result');
    assert.ok(said.includes(`The model labels “${want.word}” (token ${want.token}) ${want.original.label}`), said);
  });

  it("a question's: its answer moved to another span, the answer's words kept", async () => {
    const want = ALL.find((c) => c.model === 'bert-qa' && c.options.max_edits === 3);
    await loadUrl(page, served.url('bert-qa'));
    await askQuestion(page, want.text, want.pair);
    await page.waitForSelector('#cf-panel:not([hidden])');
    assert.equal(await page.isVisible('#cf-target'), false, 'no class to choose');
    const { result, error } = await search(page);
    assert.equal(error, null);
    assert.equal(result.original.answer.text, want.original.answer.text);
    assert.equal(result.original.answer.start, want.original.answer.start);
    sameAs(result, want, 'bert-qa');
    result.counterfactuals.forEach((g, i) => {
      assert.deepEqual([g.answer.start, g.answer.end], [want.counterfactuals[i].answer.start, want.counterfactuals[i].answer.end]);
    });
    // Drawn: the original answer underlined in the context, each new answer said.
    const items = await page.$$eval('#cf-result li.cf', (lis) => lis.map((li) => ({
      answer: li.querySelector('mark.cf-answer')?.textContent,
      said: li.querySelector('.cf-new-answer')?.textContent,
    })));
    assert.deepEqual(items, want.counterfactuals.map((c) => ({ answer: want.original.answer.text, said: `“${c.label}”` })));
    const said = await page.textContent('#cf-result');
    assert.ok(said.includes(`The model answers “${want.original.label}”`), said);
    assert.ok(said.includes('enough to move the answer to another span'), said);
    await page.$eval('#cf-panel', (el) => el.scrollIntoView());
    await shot(page, 'counterfactual-qa', { fullPage: false });
    // "Explain this text": the edited context is explained, its answer the one listed.
    const first = want.counterfactuals[0];
    await page.click('#cf-0 .cf-try');
    await page.waitForFunction((p) => {
      const s = globalThis.bertlens.state;
      return s.input?.pair === p && s.explanation && !s.busy;
    }, first.pair, { timeout: 120000 });
    assert.equal(await page.inputValue('#context'), first.pair, 'the context box holds the new context');
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.explanation.answer.text), first.label);
    await page.click('#cf-back');
    await page.waitForFunction((p) => globalThis.bertlens.state.input?.pair === p && !globalThis.bertlens.state.busy, want.pair, { timeout: 120000 });
    assert.equal(await page.inputValue('#context'), want.pair, 'the original context is back');
  });
});

// One model of each task, served as a hub folder and opened by URL:
// question answering (answer, next-best spans, start/end), token
// classification (entities, a click on a token, a click on a label),
// fill-mask (fillers per mask, a click on one) and a bare encoder
// (attention and rollout only). Every explanation equals `bertlens explain
// --json` on the same folder to 1e-4. Screenshots go to target/e2e/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, open, shot, startServer } from './harness.mjs';
import { FIXTURES, askQuestion, assertClose, cli, explainText, loadUrl, neuronRows, serveFixtures, settle, shown, shownScores } from './common.mjs';

const NAMES = ['bert-qa', 'bert-ner', 'bert-mlm', 'roberta-encoder', 'bert'];
const dir = (name) => path.join(FIXTURES, name);

/** The page's attributions and delta equal the CLI's (`want`: an Explanation or its start/end). */
function assertSame(what, e, want) {
  assertClose(`${what} attributions`, e.attributions, want.attributions, 1e-4);
  if (want.delta !== null && want.delta !== undefined) {
    assert.ok(Math.abs(e.delta - want.delta) <= 1e-4 * Math.max(1, Math.abs(want.score)), `${what} delta ${e.delta} vs ${want.delta}`);
  }
}

describe('a model of each task', () => {
  let server;
  let browser;
  let page;
  let log;
  const served = serveFixtures(NAMES);

  before(async () => {
    server = await startServer();
    browser = await launch();
    ({ page, log } = await open(browser, `${server.url}/?model=${served.url('bert-qa')}&workers=2`));
    await settle(page, (s) => s.model && s.explanation && !s.preview, null);
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    served.remove();
  });

  it('question answering: the answer in its context, the next-best spans, start and end as the CLI explains them', async () => {
    assert.ok(await page.isVisible('#question'), 'a question box');
    assert.ok(await page.isVisible('#context'), 'a context box');
    assert.ok(await page.isHidden('#text'), 'no single text box');
    const question = 'Who wrote the letter?';
    const context = 'The letter was written by Sarah, a naïve café owner, in the autumn of 1998.';
    await askQuestion(page, question, context);
    const want = cli('--model', dir('bert-qa'), '--question', question, '--context', context);
    // The answer, highlighted in the context, and the next-best spans.
    assert.equal(await page.textContent('#answer-text'), `“${want.answer.text}”`);
    assert.equal(await page.textContent('#answer-span'), want.answer.text);
    const answers = await page.evaluate(() => globalThis.bertlens.state.analysis.explanation.answers);
    assert.deepEqual(
      answers.map((a) => [a.text, a.token_start, a.token_end]),
      want.answers.map((a) => [a.text, a.token_start, a.token_end]),
    );
    assertClose('answer scores', answers.map((a) => a.score), want.answers.map((a) => a.score), 1e-5);
    const rows = await page.$$eval('#answers li .answer-label', (l) => l.map((x) => x.textContent));
    assert.deepEqual(rows, want.answers.map((a) => a.text));
    // The start, then the end (a toggle), each as the CLI computed it.
    let e = await shown(page);
    assert.equal(e.target_label, 'start');
    assert.equal(e.token, want.start.token);
    assertSame('start', e, want.start);
    assertClose('start shown', await shownScores(page), want.start.attributions, 1e-4);
    assert.match(await page.textContent('#method-line'), /the answer's start logit at/);
    await shot(page, 'task-qa');
    await page.click('#part-end');
    await settle(page, (s) => s.explanation?.target_label === 'end' && !s.preview);
    e = await shown(page);
    assert.equal(e.token, want.end.token);
    assertSame('end', e, want.end);
    assert.equal(await page.getAttribute('#part-end', 'aria-pressed'), 'true');
    await shot(page, 'task-qa-end');
    // Back to the start: already computed, shown at once.
    await page.click('#part-start');
    await settle(page, (s) => s.explanation?.target_label === 'start' && !s.preview);
    assertSame('start again', await shown(page), want.start);
    // The second-best span, explained instead.
    const second = want.answers[1];
    await page.click('#answers li[data-index="1"]');
    await settle(page, (s, t) => s.explanation?.token === t && !s.preview, second.token_start);
    const w2 = cli('--model', dir('bert-qa'), '--question', question, '--context', context, '--part', 'start', '--token', String(second.token_start));
    assertSame('second answer start', await shown(page), w2);
    assert.equal(await page.textContent('#answer-span'), second.text);
    // Versus another answer: this answer's start logit minus another's start, as the CLI's --contrast.
    assert.ok(await page.isVisible('#contrast-control'));
    const choices = await page.$$eval('#opt-contrast option', (o) => o.map((x) => x.value).filter(Boolean));
    assert.ok(choices.length > 0, 'other answers to contrast with');
    const k = Number(choices[0]);
    const versus = want.answers[k].token_start;
    assert.notEqual(versus, second.token_start);
    await page.selectOption('#opt-contrast', String(k));
    await settle(page, (s, c) => s.explanation?.contrast === c && !s.preview, versus);
    const w3 = cli('--model', dir('bert-qa'), '--question', question, '--context', context, '--part', 'start', '--token', String(second.token_start), '--contrast', String(versus));
    const e3 = await shown(page);
    assertSame('second answer versus another', e3, w3);
    assert.equal(e3.contrast_label, w3.contrast_label);
    await shot(page, 'task-qa-versus');
    // Explaining the answer contrasted with drops the contrast (it would be the answer itself).
    await page.click(`#answers li[data-index="${k}"]`);
    await settle(page, (s, t) => s.explanation?.token === t && !s.preview, versus);
    assert.equal(await page.inputValue('#opt-contrast'), '');
    assert.equal((await shown(page)).contrast ?? null, null);
    await page.selectOption('#opt-contrast', '');
  });

  it('question answering: a context longer than the model reads, read in windows as the CLI reads it', async () => {
    const question = 'where does Tom live?';
    const context = 'Anna lives in Paris. She works at the museum near the river. Tom lives in Berlin and he works at a bank. The museum opened in 1990 and the bank opened later. Anna likes cats and Tom likes dogs.';
    await askQuestion(page, question, context);
    const want = cli('--model', dir('bert-qa'), '--question', question, '--context', context);
    assert.ok(want.windows.length > 1, 'the fixture reads 64 positions: the context takes windows');
    const e = await page.evaluate(() => globalThis.bertlens.state.analysis.explanation);
    assert.deepEqual(e.windows.map((w) => [w.start, w.end, w.tokens, w.answer.text]), want.windows.map((w) => [w.start, w.end, w.tokens, w.answer.text]));
    assert.equal(e.answers[0].window, want.answer.window);
    assert.equal(await page.textContent('#answer-text'), `“${want.answer.text}”`);
    assert.deepEqual(e.input_ids, want.input_ids, "the best window's tokens");
    assertSame('start', await shown(page), want.start);
    assert.equal(await page.$$eval('#qa-windows li', (l) => l.length), want.windows.length);
    assert.equal(await page.$$eval('#qa-windows li', (l) => l.findIndex((x) => x.classList.contains('target'))), want.answer.window);
    assert.equal(await page.getAttribute('#qa-windows', 'data-window'), String(want.answer.window));
    await shot(page, 'task-qa-windows');
    // The boxes as the first question left them (a later test comes back to them).
    await askQuestion(page, 'Who wrote the letter?', 'The letter was written by Sarah, a naïve café owner, in the autumn of 1998.');
  });

  it('token classification: entities in the text with their labels; a click on a token or a label explains it', async () => {
    await loadUrl(page, served.url('bert-ner'));
    assert.ok(await page.isVisible('#text'));
    assert.ok(await page.isHidden('#question'));
    const text = 'Sarah works at the Bank of England in London.';
    await explainText(page, text);
    await settle(page, (s) => s.explanation && !s.preview);
    const want = cli('--model', dir('bert-ner'), text);
    const a = await page.evaluate(() => globalThis.bertlens.state.analysis.explanation);
    assert.deepEqual(
      a.entities.map((x) => [x.entity_group, x.word, x.start, x.end, x.tokens]),
      want.entities.map((x) => [x.entity_group, x.word, x.start, x.end, x.tokens]),
    );
    const marks = await page.$$eval('#ner-text mark.ent', (m) => m.map((x) => x.dataset.group));
    assert.deepEqual(marks, want.entities.map((x) => x.entity_group));
    const labels = await page.$$eval('#ner-text .ent-label', (m) => m.map((x) => x.textContent));
    assert.deepEqual(labels, want.entities.map((x) => x.entity_group));
    let e = await shown(page);
    assert.equal(e.token, want.token);
    assert.equal(e.target_label, want.target_label);
    assertSame('default token', e, want);
    // A click on another token explains its label.
    const token = want.tokens.length - 3;
    await page.click(`#ner-text .ner-tok[data-index="${token}"]`);
    await settle(page, (s, t) => s.explanation?.token === t && !s.preview, token);
    const w1 = cli('--model', dir('bert-ner'), '--token', String(token), text);
    e = await shown(page);
    assert.equal(e.target_label, w1.target_label);
    assertSame('clicked token', e, w1);
    assertClose('its labels', e.probabilities, w1.probabilities, 1e-5);
    assert.match(await page.textContent('#token-label'), new RegExp(`\\(${token}\\): ${w1.predicted_label}`));
    assert.equal(await page.$$eval('#ner-text .ner-tok.selected', (x) => x.map((y) => Number(y.dataset.index))).then((x) => x[0]), token);
    // A click on another of its labels explains that one.
    const other = w1.predicted === 0 ? 1 : 0;
    await page.click(`#token-classes li[data-index="${other}"]`);
    await settle(page, (s, t) => s.explanation?.target === t && !s.preview, other);
    const w2 = cli('--model', dir('bert-ner'), '--token', String(token), '--target', String(other), text);
    assert.equal(w2.target, other);
    assertSame('another label', await shown(page), w2);
    await shot(page, 'task-ner');
  });

  it('fill-mask: the fillers of each mask with their probabilities; a click on one explains it', async () => {
    await loadUrl(page, served.url('bert-mlm'));
    assert.ok(await page.isVisible('#insert-mask'));
    const text = 'I [MASK] this movie, the acting was [MASK]!';
    await explainText(page, text);
    await settle(page, (s) => s.explanation && !s.preview);
    const want = cli('--model', dir('bert-mlm'), text);
    const masks = await page.evaluate(() => globalThis.bertlens.state.analysis.explanation.masks);
    assert.equal(masks.length, 2);
    assert.deepEqual(
      masks.map((m) => [m.token, m.fill.map((f) => f.token_id)]),
      want.masks.map((m) => [m.token, m.fill.map((f) => f.token_id)]),
    );
    assertClose('filler probabilities', masks.flatMap((m) => m.fill.map((f) => f.score)), want.masks.flatMap((m) => m.fill.map((f) => f.score)), 1e-5);
    const rows = await page.$$eval('#fillers li.filler-row', (l) => l.map((x) => [Number(x.dataset.mask), Number(x.dataset.id)]));
    assert.deepEqual(rows, want.masks.flatMap((m) => m.fill.map((f) => [m.token, f.token_id])));
    assert.equal(await page.$$eval('#mask-text mark.slot', (x) => x.length), 2);
    let e = await shown(page);
    assert.equal(e.token, want.token);
    assert.equal(e.target, want.target);
    assertSame('best filler of the first mask', e, want);
    // A click on the third filler of the second mask explains it.
    const mask = want.masks[1].token;
    const id = want.masks[1].fill[2].token_id;
    await page.click(`#fillers li.filler-row[data-mask="${mask}"][data-id="${id}"]`);
    await settle(page, (s, [m, i]) => s.explanation?.token === m && s.explanation.target === i && !s.preview, [mask, id]);
    const w1 = cli('--model', dir('bert-mlm'), '--token', String(mask), '--target', String(id), text);
    assert.equal(w1.target, id);
    e = await shown(page);
    assertSame('a clicked filler', e, w1);
    assert.equal(e.target_label, w1.target_label);
    assert.ok(await page.$(`#fillers li.filler-row.target[data-mask="${mask}"][data-id="${id}"]`), 'the explained filler is marked');
    await shot(page, 'task-fill-mask');
    // Versus another filler of the same mask: the CLI's --contrast.
    const other = want.masks[1].fill[0].token_id;
    await page.selectOption('#opt-contrast', String(other));
    await settle(page, (s, c) => s.explanation?.contrast === c && !s.preview, other);
    const w2 = cli('--model', dir('bert-mlm'), '--token', String(mask), '--target', String(id), '--contrast', String(other), text);
    e = await shown(page);
    assertSame('a filler versus another', e, w2);
    assert.equal(e.contrast_label, w2.contrast_label);
    assert.match(await page.textContent('#method-line'), /minus “.+”'s at the mask/);
    // A text without a mask says how to fix it; the button puts the mask at the caret.
    await explainText(page, 'no mask in this one', null, { expectError: true });
    assert.match(await page.textContent('#run-message'), /the text has no \[MASK\] token/);
    assert.ok(await page.isVisible('#no-mask'));
    await page.focus('#text');
    await page.keyboard.press('End');
    await page.click('#insert-mask');
    assert.equal(await page.inputValue('#text'), 'no mask in this one [MASK]');
  });

  it('a bare encoder: attention views and rollout, and why the gradient methods do not apply', async () => {
    await loadUrl(page, served.url('roberta-encoder'));
    const text = 'The movie was wonderful, and the acting superb!';
    await explainText(page, text);
    const want = cli('--model', dir('roberta-encoder'), text);
    const e = await shown(page);
    assert.equal(e.method, 'rollout');
    assert.equal(want.method, 'rollout');
    assertSame('rollout', e, want);
    assertClose('rollout shown', await shownScores(page), want.attributions, 1e-4);
    assert.match(await page.textContent('#encoder-note'), /bare encoder: it has no task head/);
    assert.match(await page.textContent('#method-note'), /bare encoder \(no task head\): there is no score to explain, so Integrated Gradients, Saliency, .+ do not apply/);
    // The methods that explain a head's score are greyed out; rollout and attention flow are not.
    const disabled = await page.$$eval('#opt-method option', (o) => o.filter((x) => x.disabled).map((x) => x.value));
    const vocabulary = await page.evaluate(() => globalThis.bertlens.state.vocabulary.methods);
    assert.deepEqual(disabled, vocabulary.filter((m) => m.needs_head).map((m) => m.name));
    assert.ok(disabled.includes('ig') && disabled.includes('occlusion') && !disabled.includes('attention-flow'), disabled.join(' '));
    // Asked anyway (as a script could), the engine says so.
    const message = await page.evaluate((t) =>
      globalThis.bertlens
        .pool()
        .call(0, 'attribute', { text: t, pair: null, options: { method: 'ig' } })
        .then(
          () => null,
          (err) => err.message,
        ),
    text);
    assert.match(message, /^this model is a bare encoder \(no task head\)/);
    // The attention views.
    const info = await page.evaluate(() => globalThis.bertlens.state.model.info);
    assert.ok(Number(await page.getAttribute('#head-canvas', 'data-lines')) > 0);
    await shot(page, 'task-encoder');
    await page.click('#tab-model');
    await page.waitForSelector('#model-grid');
    const thumbs = await page.$$eval('#model-grid canvas.thumb', (cs) => cs.map((c) => Number(c.dataset.lines)));
    assert.equal(thumbs.length, info.layers * info.heads);
    await page.click('#tab-neuron');
    for (const r of await neuronRows(page)) assert.ok(Math.abs(r.softmax - r.attention) < 1e-5, `${r.softmax} vs ${r.attention}`);
    await page.click('#tab-heatmap');
    await page.selectOption('#heatmap-source', 'rollout');
    assert.ok(Number(await page.getAttribute('#heatmap-canvas', 'data-max')) > 0);
    await page.click('#tab-head');
  });

  it('keeps each task its own boxes: what was typed for one model is there when it comes back', async () => {
    await loadUrl(page, served.url('bert-qa'));
    assert.equal(await page.inputValue('#question'), 'Who wrote the letter?');
    await loadUrl(page, served.url('bert-mlm'));
    assert.equal(await page.inputValue('#text'), 'The movie was wonderful, and the acting superb!');
  });

  it('raised no uncaught error', () => {
    assert.deepEqual(
      log.errors.filter((e) => !/404/.test(e)),
      [],
    );
  });

  it('sequence classification: a text longer than the model, read all in windows (as the CLI reads it) or cut', async () => {
    await loadUrl(page, served.url('bert'));
    const review = 'the movie was great and fun but the plot was thin and the acting was poor, though the music was lovely and the ending made me smile in the end';
    const text = `${review}. ${review}`;
    await explainText(page, text);
    await settle(page, (s) => s.explanation && !s.preview && !s.busy, null);
    assert.ok(await page.isVisible('#truncated'), 'the page says the text was cut');
    await page.click('#read-windows');
    await settle(page, (s) => s.explanation?.windows && !s.preview && !s.busy, null);
    const want = cli('--model', dir('bert'), '--windows', text);
    assert.ok(want.windows.length > 1, 'the fixture reads 64 positions: the text takes windows');
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.deepEqual(e.input_ids, want.input_ids, "the whole text's tokens");
    assert.deepEqual(e.windows.map((w) => [w.start, w.end, w.tokens, w.token_range, w.predicted]), want.windows.map((w) => [w.start, w.end, w.tokens, w.token_range, w.predicted]));
    assertClose('probabilities', e.probabilities, want.probabilities, 1e-4);
    assertSame('windows', e, want);
    assert.equal(await page.isVisible('#truncated'), false, 'nothing was cut');
    assert.equal(await page.$$eval('#class-windows li', (l) => l.length), want.windows.length);
    assert.equal(await page.textContent('#predicted-label strong'), want.predicted_label);
    // Every token of the text is drawn, the last words included.
    assertClose('drawn', await shownScores(page), want.attributions, 1e-4);
    await page.$eval('#prediction', (el) => el.scrollIntoView());
    await shot(page, 'task-classified-windows', { fullPage: false });
    await page.selectOption('#theme-select', 'dark');
    await shot(page, 'task-classified-windows-dark', { fullPage: false });
    await page.selectOption('#theme-select', 'light');
    // Back to cutting it.
    await page.click('#cut-windows');
    await settle(page, (s) => s.explanation && !s.explanation.windows && !s.preview && !s.busy, null);
    assert.ok(await page.isVisible('#truncated'));
  });

  it('token classification and fill-mask: a long text read in windows, as the CLI reads it', async () => {
    const crowd = 'Anna lives in Paris with Tom and Maria works in Berlin at the bank near the river while Peter stays in London with his sister Julia and her friend Marc';
    const text = `${crowd}. ${crowd}.`;
    await loadUrl(page, served.url('bert-ner'));
    await explainText(page, text);
    await settle(page, (s) => s.explanation && !s.preview && !s.busy, null);
    assert.ok(await page.isVisible('#truncated'));
    await page.click('#read-windows');
    await settle(page, (s) => s.explanation?.windows && !s.preview && !s.busy, null);
    let want = cli('--model', dir('bert-ner'), '--windows', text);
    let e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.deepEqual(e.input_ids, want.input_ids, "the whole text's tokens");
    assert.equal(e.token, want.token);
    assert.deepEqual(e.entities.map((x) => [x.entity_group, x.start, x.end]), want.entities.map((x) => [x.entity_group, x.start, x.end]));
    assertSame('ner windows', e, want);
    // Every token of the whole text is drawn, past the model's length too.
    assert.equal(await page.$$eval('#ner-text .ner-tok', (t) => t.length), want.tokens.filter((_, i) => want.sequence_ids[i] !== null).length);
    assert.equal(await page.$$eval('#class-windows li', (l) => l.length), want.windows.length);
    // A token past the first window: explained in the windows that hold it.
    const far = want.tokens.length - 5;
    await page.click(`#ner-text .ner-tok[data-index="${far}"]`);
    await settle(page, (s, t) => s.explanation?.token === t && s.explanation.windows && !s.preview && !s.busy, far);
    want = cli('--model', dir('bert-ner'), '--windows', '--token', String(far), text);
    assertSame('a far token', await shown(page), want);
    await shot(page, 'task-ner-windows');
    // Its search for counterfactuals reads the cut text: it says why it cannot search that token.
    await page.click('#cf-run');
    assert.match(await page.textContent('#cf'), new RegExp(`token ${far} is past them`));
    // Cut again: the token past the cut is no longer focused, and the cut text is explained.
    await page.click('#cut-windows');
    await settle(page, (s) => s.explanation && !s.explanation.windows && !s.preview && !s.busy, null);
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.focus.token), null);
    assert.ok(await page.isVisible('#truncated'));
    await page.click('#read-windows');
    await settle(page, (s) => s.explanation?.windows && !s.preview && !s.busy, null);

    await loadUrl(page, served.url('bert-mlm'));
    const masked = `${crowd}. ${crowd.replace('bank', '[MASK]')}.`;
    await explainText(page, masked);
    // The choice to read long texts whole stays with the page: read in windows at once.
    await settle(page, (s) => s.explanation?.windows && !s.preview && !s.busy, null);
    // Cut, the mask past the model's length is lost, and the page says so.
    await page.click('#cut-windows');
    await page.waitForFunction(() => globalThis.bertlens.state.runMessage && !globalThis.bertlens.state.busy, null, { timeout: 120000 });
    assert.match(await page.evaluate(() => globalThis.bertlens.state.runMessage.text), /past the model's 64 tokens: truncation cut it off; read the text in windows/);
    assert.ok(await page.isVisible('#truncated'));
    assert.match(await page.textContent('#no-mask'), /cut off/);
    await page.click('#read-windows');
    await settle(page, (s) => s.explanation?.windows && !s.preview && !s.busy, null);
    want = cli('--model', dir('bert-mlm'), '--windows', masked);
    e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.equal(e.token, want.token);
    assert.deepEqual(e.fill.map((f) => f.token_id), want.fill.map((f) => f.token_id));
    assertSame('mask windows', e, want);
    assert.equal(await page.$$eval('#fillers .filler-row', (r) => r.length), want.fill.length);
    await shot(page, 'task-mlm-windows');
  });
});

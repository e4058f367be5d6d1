// The <bert-lens> element (www/bert-lens.js) in a page of its own: a saved
// explanation drawn with no engine and no model fetched, for every task;
// live elements that fetch nothing until asked, explain as the CLI does, and
// share one download; errors as events and messages. Screenshots go to
// target/e2e/element-*.png.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, binary, launch, open, shot, startServer } from './harness.mjs';
import { DEFAULT_MODEL, FIXTURES, assertClose, cli, serveFixtures } from './common.mjs';

const EMBED = path.join(ROOT, 'www/embed');
const written = [];

/** Writes www/embed/e2e-NAME (removed after the tests); returns its path under the server. */
function serve(name, content) {
  const file = path.join(EMBED, `e2e-${name}`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  written.push(file);
  return `/embed/e2e-${name}`;
}

/** A page with the element's script and `body`; every bert-lens event is recorded in window.events. */
function pageWith(name, body) {
  return serve(
    `${name}.html`,
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>${name}</title><link rel="icon" href="data:,">
<script>
  window.events = [];
  for (const type of ['bert-lens-ready', 'bert-lens-result', 'bert-lens-error']) {
    document.addEventListener(type, (ev) => window.events.push({ type, id: ev.target.id, detail: ev.detail }));
  }
</script>
<script type="module" src="../bert-lens.js"></script>
<body style="margin: 20px; font-family: sans-serif">${body}</body></html>`,
  );
}

/** Waits for an event of `type` from element `id`, and returns its detail. */
async function eventOf(page, type, id, timeout = 120000) {
  const handle = await page.waitForFunction(
    ([t, i]) => window.events.find((e) => e.type === t && e.id === i) ?? (window.events.find((e) => e.type === 'bert-lens-error' && e.id === i) && { error: window.events.find((e) => e.type === 'bert-lens-error' && e.id === i).detail }),
    [type, id],
    { timeout },
  );
  const out = await handle.jsonValue();
  if (type !== 'bert-lens-error') assert.equal(out.error, undefined, `${id} says: ${out.error}`);
  return out.detail;
}

/**
 * Presses element `id`'s *Run in your browser*; if it never comes, fails
 * with what the element says instead, and the page's errors and failed requests.
 */
async function runIn({ page, log }, id, timeout = 30000) {
  try {
    await page.locator(`#${id}`).getByRole('button', { name: /Run in your browser/ }).click({ timeout });
  } catch (e) {
    const said = await page.evaluate((i) => document.getElementById(i)?.shadowRoot?.textContent ?? '(no such element)', id).catch((x) => `(unreadable: ${x.message})`);
    throw new Error(`${id}: no Run in your browser button (${e.message.split('\n')[0]}); the element says: ${said.slice(0, 400)}; page errors: ${log.errors.join(' | ') || 'none'}; failed requests: ${log.failed.join(' | ') || 'none'}`);
  }
}

/** The scores of the element's word importance, as shown. */
const marks = (page, id) =>
  page.evaluate((i) => [...document.getElementById(i).shadowRoot.querySelectorAll('#record mark.tok')].map((m) => Number(m.dataset.score)), id);

const text = (page, id) => page.evaluate((i) => document.getElementById(i).shadowRoot.textContent, id);

const isModelFile = (u) => /\/models\/.+\.(safetensors|json)$/.test(u) && !u.endsWith('/models/index.json');
const gets = (log, pattern) => log.calls.filter((r) => r.method === 'GET' && pattern.test(r.url)).length;

describe('the <bert-lens> element', () => {
  let server;
  let browser;
  const pages = [];

  before(async () => {
    server = await startServer();
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    for (const f of written) rmSync(f, { force: true });
  });

  /** A page in a fresh context (an empty Cache API), recording each request's method too. */
  async function visit(url, opts) {
    const got = await open(browser, `${server.url}${url}`, opts);
    got.log.calls = [];
    got.page.on('request', (r) => got.log.calls.push({ url: r.url(), method: r.method() }));
    pages.push(got);
    return got;
  }

  it('draws a saved explanation without fetching the engine or a model', async () => {
    const url = pageWith(
      'src',
      `<bert-lens id="attr" src="card-declined.json" view="attribution" text="my card was declined at the grocery store"></bert-lens>
       <bert-lens id="pred" src="card-declined.json" view="prediction"></bert-lens>
       <bert-lens id="early"></bert-lens>
       <script>
         // Before bert-lens.js (a module) runs: plain properties, taken up when the element is defined.
         document.getElementById('early').src = 'card-declined.json';
         document.getElementById('early').view = 'prediction';
       </script>`,
    );
    const { page, log } = await visit(url);
    const result = await eventOf(page, 'bert-lens-result', 'attr');
    await eventOf(page, 'bert-lens-ready', 'pred');
    await eventOf(page, 'bert-lens-result', 'early');
    assert.equal(await page.getAttribute('#early', 'view'), 'prediction');
    const want = cli('--model', DEFAULT_MODEL, 'my card was declined at the grocery store');
    assertClose('attributions', await marks(page, 'attr'), want.attributions, 1e-4);
    assert.deepEqual(result.tokens, want.tokens);
    assert.match(await text(page, 'attr'), /Integrated Gradients of card_declined's logit/);
    assert.match(await text(page, 'pred'), /Predicted card_declined \(94\.6%\)/);
    // Without the text, the tokens' own spelling is shown.
    const words = await page.evaluate(() => [...document.getElementById('attr').shadowRoot.querySelectorAll('mark.tok')].map((m) => m.textContent));
    assert.deepEqual(words, want.tokens);
    // A saved explanation cannot be explained again: its classes are not buttons.
    assert.equal(await page.evaluate(() => document.getElementById('pred').shadowRoot.querySelectorAll('[role=button]').length), 0);
    const fetched = log.calls.map((r) => r.url);
    assert.ok(!fetched.some((u) => u.endsWith('.wasm')), `the engine was fetched: ${fetched.join(', ')}`);
    assert.ok(!fetched.some(isModelFile), `a model file was fetched: ${fetched.join(', ')}`);
    assert.ok(!fetched.some((u) => u.includes('/pkg/') || u.includes('worker.js')), 'nothing of the engine');
    assert.deepEqual(log.errors, []);
    await shot(page, 'element-src');
  });

  it('reflects attributes as properties and draws again when one changes', async () => {
    const { page } = pages.at(-1);
    assert.equal(await page.evaluate(() => document.getElementById('pred').view), 'prediction');
    await page.evaluate(() => (document.getElementById('pred').view = 'all'));
    assert.equal(await page.getAttribute('#pred', 'view'), 'all');
    await page.waitForFunction(() => document.getElementById('pred').shadowRoot.querySelector('#record'));
    await page.evaluate(() => document.getElementById('pred').setAttribute('view', 'heatmap'));
    await page.waitForFunction(() => /does not carry/.test(document.getElementById('pred').shadowRoot.textContent));
    await page.evaluate(() => document.getElementById('pred').setAttribute('words', ''));
    assert.equal(await page.evaluate(() => document.getElementById('pred').words), true);
    // theme="auto" follows the reader's colour scheme.
    const bg = () => page.evaluate(() => getComputedStyle(document.getElementById('pred')).backgroundColor);
    const light = await bg();
    await page.evaluate(() => (document.getElementById('pred').theme = 'auto'));
    assert.equal(await bg(), light);
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.notEqual(await bg(), light);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('draws a report of bertlens analyze (view="dataset") with no engine and no model', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'bertlens-el-'));
    let report;
    try {
      const args = ['analyze', '--model', DEFAULT_MODEL, '--data', path.join(ROOT, 'data/intents-example.csv'), '--words-top', '8'];
      args.push('--faithfulness', '--faithfulness-rows', '4', '--perturb-samples', '0', '--out', out);
      execFileSync(binary(), args, { cwd: ROOT, stdio: 'ignore' });
      report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    serve('report.json', report);
    const url = pageWith(
      'dataset',
      `<bert-lens id="set" view="dataset" src="e2e-report.json"></bert-lens>
       <bert-lens id="nolive" view="dataset" model="minilm-intent"></bert-lens>
       <bert-lens id="notreport" view="dataset" src="card-declined.json"></bert-lens>`,
    );
    const { page, log } = await visit(url);
    const got = await eventOf(page, 'bert-lens-result', 'set');
    assert.equal(got.accuracy, report.accuracy);
    const inside = (sel) => page.evaluate(([q]) => [...document.getElementById('set').shadowRoot.querySelectorAll(q)].map((e) => ({ text: e.textContent, data: { ...e.dataset } })), [sel]);
    const [acc] = await inside('#stat-accuracy');
    assert.equal(Number(acc.data.value), report.accuracy);
    // The confusions: every off-diagonal count of the report, and a click lists that cell's rows.
    const cells = await inside('#confusion-table td.off');
    const off = report.confusion.matrix.flatMap((r, i) => r.filter((c, j) => i !== j && c > 0));
    assert.deepEqual(cells.map((c) => Number(c.data.count)).sort((a, b) => a - b), off.sort((a, b) => a - b));
    assert.equal((await inside('#mistakes-table tbody tr')).length, Math.min(200, report.mistakes.length));
    // The report's mistakes, most confident first: the same order.
    assert.deepEqual((await inside('#mistakes-table tbody tr')).map((r) => Number(r.data.row)), report.mistakes.slice(0, 200));
    const big = cells.reduce((a, b) => (Number(b.data.count) > Number(a.data.count) ? b : a));
    await page.evaluate(([t, p]) => document.getElementById('set').shadowRoot.querySelector(`#confusion-table td[data-truth="${t}"][data-predicted="${p}"]`).click(), [big.data.truth, big.data.predicted]);
    await page.waitForFunction((n) => document.getElementById('set').shadowRoot.querySelectorAll('#mistakes-table tbody tr').length === n, Number(big.data.count));
    // A word filters the rows (a regular expression, as in the page), and keeps its focus as one types.
    await page.evaluate(() => [...document.getElementById('set').shadowRoot.querySelectorAll('button.link')].find((b) => b.textContent === 'every confusion').click());
    await page.locator('#set input[type=search]').pressSequentially('card');
    assert.equal(await page.evaluate(() => document.getElementById('set').shadowRoot.activeElement?.type), 'search');
    const carded = report.mistakes.filter((i) => /card/i.test(report.rows[i].text)).slice(0, 200);
    await page.waitForFunction((n) => document.getElementById('set').shadowRoot.querySelectorAll('#mistakes-table tbody tr').length === n, carded.length);
    assert.deepEqual((await inside('#mistakes-table tbody tr')).map((r) => Number(r.data.row)), carded);
    // Per class as the report says, words per class, and which method to trust (the report's means).
    assert.equal((await inside('#classes-table tbody tr')).length, report.per_class.length);
    const toward = (await inside('#words-toward li')).map((li) => li.data.word);
    const shownClass = await page.evaluate(() => document.getElementById('set').shadowRoot.querySelector('#report-words').previousElementSibling.querySelector('select').value);
    assert.deepEqual(toward, report.words[shownClass].toward.map((w) => w.word));
    const faith = await inside('#setfaith-table tbody tr');
    assert.equal(faith.length, Object.keys(report.faithfulness).length);
    for (const r of faith) assert.ok(Math.abs(Number(r.data.comprehensiveness) - report.faithfulness[r.data.method].aopc_comprehensiveness) < 1e-9, r.data.method);
    assert.equal((await inside('#setfaith-curves polyline')).length, Object.keys(report.faithfulness).length);
    // No model, no engine; the wrong uses of the view say what it takes.
    const fetched = log.calls.map((r) => r.url);
    assert.ok(!fetched.some((u) => u.endsWith('.wasm') || u.includes('/pkg/') || isModelFile(u)), `fetched: ${fetched.join(', ')}`);
    assert.match(await eventOf(page, 'bert-lens-error', 'nolive'), /report\.json that bertlens analyze writes/);
    await page.waitForFunction(() => /this src is one explanation/.test(document.getElementById('notreport').shadowRoot.textContent));
    assert.deepEqual(log.errors, []);
    await page.evaluate(() => document.getElementById('set').scrollIntoView());
    await shot(page, 'element-dataset');
  });

  it("the CLI's self-contained HTML files (explain --html, analyze's report.html) draw with the element, offline", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bertlens-html-'));
    try {
      const text = 'my card was declined at the grocery store';
      const want = JSON.parse(execFileSync(binary(), ['explain', '--model', DEFAULT_MODEL, '--json', '--html', path.join(dir, 'explained.html'), text], { cwd: ROOT, encoding: 'utf8' }));
      const rows = readFileSync(path.join(ROOT, 'data/intents-example.csv'), 'utf8').split('\n').slice(0, 61).join('\n');
      writeFileSync(path.join(dir, 'set.csv'), rows);
      execFileSync(binary(), ['analyze', '--model', DEFAULT_MODEL, '--data', path.join(dir, 'set.csv'), '--out', dir], { cwd: ROOT, stdio: 'ignore' });
      const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
      const context = await browser.newContext({ offline: true, viewport: { width: 1100, height: 900 } });
      try {
        for (const [file, name] of [['explained.html', 'html-explain'], ['report.html', 'html-report']]) {
          const page = await context.newPage();
          const requests = [];
          const errors = [];
          page.on('request', (r) => requests.push(r.url()));
          page.on('pageerror', (e) => errors.push(String(e)));
          page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
          await page.goto(`file://${path.join(dir, file)}`);
          const root = () => page.evaluate(() => document.getElementById('result').shadowRoot?.textContent ?? '');
          if (file === 'explained.html') {
            await page.waitForFunction(() => document.getElementById('result').shadowRoot?.querySelector('#record mark.tok'), null, { timeout: 20000 });
            const got = await page.evaluate(() => [...document.getElementById('result').shadowRoot.querySelectorAll('#record mark.tok')].map((m) => Number(m.dataset.score)));
            assertClose('attributions', got, want.attributions, 1e-6);
            assert.match(await root(), /Predicted card_declined/);
            // The text as typed: the words of the sentence, not the vocabulary's pieces.
            assert.match(await root(), /grocery/);
          } else {
            await page.waitForFunction(() => document.getElementById('result').shadowRoot?.querySelector('#stat-accuracy'), null, { timeout: 20000 });
            const acc = await page.evaluate(() => Number(document.getElementById('result').shadowRoot.querySelector('#stat-accuracy').dataset.value));
            assert.equal(acc, report.accuracy);
            assert.equal(await page.evaluate(() => document.getElementById('result').shadowRoot.querySelectorAll('#mistakes-table tbody tr').length), report.mistakes.length);
          }
          assert.deepEqual(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('blob:')), [], 'nothing but the file itself');
          assert.deepEqual(errors, []);
          await shot(page, `element-${name}`);
          await page.close();
        }
      } finally {
        await context.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('draws a saved explanation of every task', async () => {
    const qa = cli('--model', path.join(FIXTURES, 'bert-qa'), '--question', 'Where is the hotel?', '--context', 'The hotel is near the old bank in Paris.');
    const ner = cli('--model', path.join(FIXTURES, 'bert-ner'), 'My name is Wolfgang and I live in Berlin.');
    const mlm = cli('--model', path.join(FIXTURES, 'bert-mlm'), 'The capital of France is [MASK].');
    serve('qa.json', qa);
    serve('ner.json', ner);
    serve('mlm.json', mlm);
    const url = pageWith(
      'tasks',
      `<bert-lens id="qa" src="e2e-qa.json" view="all"></bert-lens>
       <bert-lens id="ner" src="e2e-ner.json" view="all" text="My name is Wolfgang and I live in Berlin."></bert-lens>
       <bert-lens id="mlm" src="e2e-mlm.json" view="all" theme="dark"></bert-lens>`,
    );
    const { page, log } = await visit(url, { height: 1400 });
    for (const id of ['qa', 'ner', 'mlm']) await eventOf(page, 'bert-lens-result', id);
    assertClose('qa attributions', await marks(page, 'qa'), qa.attributions, 1e-4);
    assert.equal(await page.evaluate(() => document.getElementById('qa').shadowRoot.querySelector('#answer-span').textContent), qa.answer.text);
    assertClose('ner attributions', await marks(page, 'ner'), ner.attributions, 1e-4);
    const entities = await page.evaluate(() => document.getElementById('ner').shadowRoot.querySelectorAll('#ner-text mark.ent').length);
    assert.equal(entities > 0, ner.entities.length > 0, 'the entities are marked in the text');
    assertClose('mlm attributions', await marks(page, 'mlm'), mlm.attributions, 1e-4);
    assert.ok(await page.evaluate(() => document.getElementById('mlm').shadowRoot.querySelector('mark.slot')), 'the mask is marked');
    assert.ok(!log.calls.some((r) => r.url.endsWith('.wasm') || isModelFile(r.url)));
    // Nothing can be explained again: no buttons, no 'click to' hints.
    for (const id of ['qa', 'ner', 'mlm']) {
      assert.equal(await page.evaluate((i) => document.getElementById(i).shadowRoot.querySelectorAll('[role=button], [tabindex]').length, id), 0, id);
      assert.doesNotMatch(await text(page, id), /Click/, id);
    }
    assert.deepEqual(log.errors, []);
    await shot(page, 'element-tasks');
  });

  it('says what is wrong with a src, as an event and a message', async () => {
    serve('not-json.json', 'this is not json');
    serve('not-explanation.json', { hello: 'world' });
    const url = pageWith(
      'bad',
      `<bert-lens id="missing" src="no-such-file.json"></bert-lens>
       <bert-lens id="text" src="e2e-not-json.json"></bert-lens>
       <bert-lens id="other" src="e2e-not-explanation.json"></bert-lens>
       <bert-lens id="none"></bert-lens>
       <bert-lens id="nomodel" model="no-such-model" text="hello"></bert-lens>`,
    );
    const { page } = await visit(url);
    const cases = {
      missing: /no-such-file\.json: the server answered 404/,
      text: /is not JSON \(expected the output of bertlens explain --json\)/,
      other: /is not an explanation of bertlens explain --json: it lacks task, tokens/,
      none: /Give the element a src .* or a model/,
      nomodel: /“no-such-model” is not a model: .*\/embed\/no-such-model\/config\.json answered 404/,
    };
    for (const [id, pattern] of Object.entries(cases)) {
      const detail = await eventOf(page, 'bert-lens-error', id);
      assert.match(detail, pattern);
      const alert = await page.evaluate((i) => document.getElementById(i).shadowRoot.querySelector('[role=alert]')?.textContent, id);
      assert.equal(alert, detail);
    }
    await shot(page, 'element-errors');
  });

  it('fetches nothing until in view, asks before downloading, and explains as the CLI does', async () => {
    const sentence = 'please let me talk to a real person';
    const url = pageWith(
      'live',
      `<div style="height: 1500px">Scroll on.</div>
       <bert-lens id="live" model="minilm-intent" text="${sentence}" view="all"></bert-lens>`,
    );
    const { page, log } = await visit(url);
    await page.waitForTimeout(500);
    const early = log.calls.map((r) => r.url);
    assert.ok(!early.some((u) => u.endsWith('.wasm') || u.includes('/models/')), `fetched before it was in view: ${early.join(', ')}`);
    await page.evaluate(() => document.getElementById('live').scrollIntoView());
    const button = page.locator('#live').getByRole('button', { name: /Run in your browser \(\d+ MB\)/ });
    await button.waitFor({ timeout: 30000 });
    assert.match(await text(page, 'live'), /Downloads MiniLM-L6 intent classifier \(\d+ MB\) and the bertlens engine \([\d.]+ MB\)/);
    assert.equal(gets(log, /model\.safetensors$/), 0, 'no download before the button');
    await shot(page, 'element-live-ask');
    await button.focus();
    await page.keyboard.press('Enter');
    const result = await eventOf(page, 'bert-lens-result', 'live');
    const want = cli('--model', DEFAULT_MODEL, sentence);
    assertClose('attributions', result.attributions, want.attributions, 1e-4);
    assertClose('shown', await marks(page, 'live'), want.attributions, 1e-4);
    assert.equal(result.predicted_label, want.predicted_label);
    assert.match(await text(page, 'live'), new RegExp(`Predicted ${want.predicted_label}`));
    await shot(page, 'element-live');
    // A class is a button: Enter on another explains it.
    const second = want.probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0])[1][1];
    await page.locator('#live').locator(`li.class-row[data-index="${second}"]`).press('Enter');
    await page.waitForFunction((t) => window.events.filter((e) => e.type === 'bert-lens-result').at(-1).detail.target === t, second, { timeout: 120000 });
    assert.equal(await page.getAttribute('#live', 'target'), String(second));
    // The heatmap, live: the forward pass's attention, asked for when shown.
    await page.evaluate(() => (document.getElementById('live').view = 'heatmap'));
    await page.waitForFunction(() => Number(document.getElementById('live').shadowRoot.querySelector('#heatmap-canvas')?.dataset.max) > 0, null, { timeout: 120000 });
    await page.locator('#live').locator('#heatmap-source').selectOption('rollout');
    await page.waitForFunction(() => document.getElementById('live').shadowRoot.querySelector('#heatmap-source').value === 'rollout');
    await shot(page, 'element-live-heatmap');
    await page.evaluate(() => (document.getElementById('live').view = 'all'));
    const other = await page.evaluate(() => window.events.filter((e) => e.type === 'bert-lens-result').at(-1).detail);
    assertClose('second class', other.attributions, cli('--model', DEFAULT_MODEL, '--target', String(second), sentence).attributions, 1e-4);
    // contrast="…": the second class against the predicted one, as `--contrast` gives it.
    const predicted = want.predicted;
    await page.evaluate((c) => document.getElementById('live').setAttribute('contrast', String(c)), predicted);
    await page.waitForFunction((c) => window.events.filter((e) => e.type === 'bert-lens-result').at(-1).detail.contrast === c, predicted, { timeout: 120000 });
    const versus = await page.evaluate(() => window.events.filter((e) => e.type === 'bert-lens-result').at(-1).detail);
    const wantVersus = cli('--model', DEFAULT_MODEL, '--target', String(second), '--contrast', String(predicted), sentence);
    assertClose('second class versus the predicted', versus.attributions, wantVersus.attributions, 1e-4);
    assert.match(await text(page, 'live'), new RegExp(`minus ${want.predicted_label}'s`));
    assert.deepEqual(log.errors, []);
  });

  it('a live counterfactual view: the edits marked, as transformers verifies them; a click explains one', async () => {
    const want = JSON.parse(readFileSync(path.join(FIXTURES, 'counterfactual.json'), 'utf8')).cases.find((c) => c.model === 'default' && c.target === null);
    const url = pageWith('counterfactual', `<bert-lens id="cf" model="minilm-intent" text="${want.text}" view="prediction,counterfactual" method="saliency"></bert-lens>`);
    const { page, log } = await visit(url);
    await runIn({ page, log }, 'cf');
    await eventOf(page, 'bert-lens-result', 'cf');
    const shown = () => page.evaluate(() => [...document.getElementById('cf').shadowRoot.querySelectorAll('li.cf')].map((li) => ({
      text: li.dataset.text,
      label: li.dataset.label,
      from: [...li.querySelectorAll('del.cf-from')].map((d) => d.textContent),
      to: [...li.querySelectorAll('ins.cf-to')].map((d) => d.textContent),
    })));
    await page.waitForFunction(() => document.getElementById('cf').shadowRoot.querySelector('li.cf'), null, { timeout: 120000 });
    assert.deepEqual(await shown(), want.counterfactuals.map((c) => ({ text: c.text, label: c.label, from: c.edits.map((e) => e.from), to: c.edits.map((e) => e.to) })));
    await shot(page, 'element-counterfactual');
    // "Explain this text": the element's text becomes the counterfactual's, explained.
    const first = want.counterfactuals[0];
    await page.evaluate(() => { window.events.length = 0; });
    await page.evaluate(() => document.getElementById('cf').shadowRoot.querySelector('li.cf .cf-try').click());
    const e = await eventOf(page, 'bert-lens-result', 'cf');
    assert.equal(await page.getAttribute('#cf', 'text'), first.text);
    assert.equal(e.predicted_label ?? e.labels[e.predicted], first.label);
    assert.deepEqual(log.errors, []);
  });

  it("a live counterfactual view of a question: its answer moved, the context's edits marked; a click explains one", async () => {
    const want = JSON.parse(readFileSync(path.join(FIXTURES, 'counterfactual.json'), 'utf8')).cases.find((c) => c.model === 'bert-qa' && c.options.max_edits === 3);
    const fixtures = serveFixtures(['bert-qa']);
    try {
      const url = pageWith('cf-qa', `<bert-lens id="cfqa" model="../${fixtures.url('bert-qa')}" question="${want.text}" context="${want.pair}" view="counterfactual" method="saliency"></bert-lens>`);
      const { page, log } = await visit(url);
      await runIn({ page, log }, 'cfqa');
      await eventOf(page, 'bert-lens-result', 'cfqa');
      await page.waitForFunction(() => document.getElementById('cfqa').shadowRoot.querySelector('li.cf'), null, { timeout: 120000 });
      const shown = await page.evaluate(() => [...document.getElementById('cfqa').shadowRoot.querySelectorAll('li.cf')].map((li) => ({
        pair: li.dataset.pair,
        label: li.dataset.label,
        answer: li.querySelector('mark.cf-answer')?.textContent,
      })));
      assert.deepEqual(shown, want.counterfactuals.map((c) => ({ pair: c.pair, label: c.label, answer: want.original.answer.text })));
      // "Explain this text": the element's context becomes the counterfactual's, its answer the one listed.
      const first = want.counterfactuals[0];
      await page.evaluate(() => { window.events.length = 0; });
      await page.evaluate(() => document.getElementById('cfqa').shadowRoot.querySelector('li.cf .cf-try').click());
      const e = await eventOf(page, 'bert-lens-result', 'cfqa');
      assert.equal(await page.getAttribute('#cfqa', 'context'), first.pair);
      assert.equal(await page.getAttribute('#cfqa', 'question'), first.text);
      assert.equal(e.answer.text, first.label);
      assert.deepEqual(log.errors.filter((x) => !/status of 404/.test(x)), []);
      // Its workers are not needed by the tests after it (two cores in CI).
      await page.close();
    } finally {
      fixtures.remove();
    }
  });

  it('windows: a text longer than the model read whole, as the CLI reads it; Cut the text instead removes the attribute', async () => {
    const fixtures = serveFixtures(['bert']);
    try {
      const review = 'the movie was great and fun but the plot was thin and the acting was poor, though the music was lovely and the ending made me smile in the end';
      const long = `${review}. ${review}`;
      const url = pageWith('windows', `<bert-lens id="win" model="../${fixtures.url('bert')}" text="${long}" view="all" method="saliency" windows></bert-lens>`);
      const { page, log } = await visit(url);
      await runIn({ page, log }, 'win');
      const e = await eventOf(page, 'bert-lens-result', 'win');
      const want = cli('--model', path.join(FIXTURES, 'bert'), '--windows', '--method', 'saliency', long);
      assert.ok(want.windows.length > 1, 'the fixture reads 64 positions: the text takes windows');
      assert.deepEqual(e.input_ids, want.input_ids, "the whole text's tokens");
      assert.deepEqual(e.windows.map((w) => [w.start, w.end, w.tokens, w.token_range, w.predicted]), want.windows.map((w) => [w.start, w.end, w.tokens, w.token_range, w.predicted]));
      assertClose('probabilities', e.probabilities, want.probabilities, 1e-4);
      assertClose('attributions', e.attributions, want.attributions, 1e-4);
      // Every token is drawn, and the windows are listed under the prediction.
      assertClose('drawn', await marks(page, 'win'), want.attributions, 1e-4);
      const root = (sel) => page.locator('#win').locator(sel);
      assert.equal(await root('#class-windows li').count(), want.windows.length);
      assert.equal(await root('#truncated').count(), 0, 'nothing was cut');
      await shot(page, 'element-windows');
      // Cut the text instead: the attribute goes, and the text is explained as cut.
      await page.evaluate(() => { window.events.length = 0; });
      await root('#cut-windows').click();
      const cut = await eventOf(page, 'bert-lens-result', 'win');
      assert.equal(await page.evaluate(() => document.getElementById('win').hasAttribute('windows')), false);
      assert.equal(cut.windows, undefined);
      assert.equal(cut.truncated, true);
      await root('#truncated').waitFor();
      // …and Read all of it, in windows, sets it again.
      await page.evaluate(() => { window.events.length = 0; });
      await root('#read-windows').click();
      const again = await eventOf(page, 'bert-lens-result', 'win');
      assert.equal(again.windows.length, want.windows.length);
      assert.equal(await page.evaluate(() => document.getElementById('win').windows), true);
      assert.deepEqual(log.errors.filter((x) => !/status of 404/.test(x)), []);
      await page.close();
    } finally {
      fixtures.remove();
    }
  });

  it('three live elements share one download of the model', async () => {
    const url = pageWith(
      'three',
      ['my card was declined', 'book a table for four', 'what is the weather in Lisbon']
        .map((t, i) => `<bert-lens id="e${i}" model="${i === 2 ? '../models/minilm-intent/' : 'minilm-intent'}" text="${t}" method="saliency"></bert-lens>`)
        .join('\n'),
    );
    const { page, log, context } = await visit(url);
    await runIn({ page, log }, 'e1');
    for (const id of ['e0', 'e1', 'e2']) await eventOf(page, 'bert-lens-result', id);
    assert.equal(gets(log, /\/model\.safetensors$/), 1, 'one download of the weights');
    assert.equal(gets(log, /\.wasm$/), 1, 'one download of the engine');
    const want = cli('--model', DEFAULT_MODEL, '--method', 'saliency', 'book a table for four');
    assertClose('saliency', await marks(page, 'e1'), want.attributions, 1e-4);
    assert.deepEqual(log.errors, []);
    await shot(page, 'element-three');
    // The next visit finds the model in the Cache API: no button, no download.
    const again = await context.newPage();
    const calls = [];
    again.on('request', (r) => calls.push(r.url()));
    await again.goto(`${server.url}${url}`);
    await again.waitForFunction(() => window.events.filter((e) => e.type === 'bert-lens-result').length === 3, null, { timeout: 120000 });
    assert.equal(calls.filter((u) => u.endsWith('/model.safetensors')).length, 0, 'the weights came from the cache');
    await again.close();
  });

  it('the example page: saved figures drawn, themed by custom properties, live ones waiting below', async () => {
    const { page, log } = await visit('/embed/');
    await page.waitForFunction(() => ['saved', 'themed', 'dark'].every((id) => document.getElementById(id).shadowRoot.querySelector('#record')));
    const colour = (id) =>
      page.evaluate((i) => getComputedStyle(document.getElementById(i).shadowRoot.querySelector('#bar-chart rect.pos')).fill, id);
    assert.notEqual(await colour('saved'), await colour('themed'), '--bert-lens-positive changes the bars');
    const bg = (id) => page.evaluate((i) => getComputedStyle(document.getElementById(i)).backgroundColor, id);
    assert.notEqual(await bg('saved'), await bg('dark'), 'theme="dark"');
    // The live figures are below the fold: nothing of the engine yet.
    assert.ok(!log.calls.some((r) => r.url.endsWith('.wasm') || isModelFile(r.url)));
    // Keyboard: the first live figure's button is reachable with Tab.
    await page.evaluate(() => document.getElementById('live').scrollIntoView());
    await page.locator('#live').getByRole('button', { name: /Run in your browser/ }).waitFor({ timeout: 30000 });
    assert.deepEqual(log.errors, []);
    await shot(page, 'element-docs');
    // In a narrow column, Captum's record becomes a list of its columns.
    await page.setViewportSize({ width: 420, height: 900 });
    await page.waitForFunction(() => getComputedStyle(document.getElementById('saved').shadowRoot.querySelector('#record thead')).display === 'none');
    await page.locator('#saved').screenshot({ path: path.join(ROOT, 'target/e2e/element-narrow.png') });
  });

  it('a live question-answering figure: question and context, its answers as buttons', async () => {
    const fixtures = serveFixtures(['bert-qa']);
    try {
      const question = 'Where is the hotel?';
      const context = 'The hotel is near the old bank in Paris.';
      const url = pageWith(
        'live-qa',
        `<bert-lens id="qa" model="../${fixtures.url('bert-qa')}" question="${question}" context="${context}" view="all" n-steps="20"></bert-lens>`,
      );
      const { page, log } = await visit(url);
      await runIn({ page, log }, 'qa');
      const first = await eventOf(page, 'bert-lens-result', 'qa');
      const want = cli('--model', path.join(FIXTURES, 'bert-qa'), '--question', question, '--context', context, '--part', 'start', '--n-steps', '20');
      assert.equal(first.answer.text, want.answer.text);
      assertClose('start attributions', first.attributions, want.attributions, 1e-4);
      // The third answer (another start token than the first's), by keyboard.
      const second = want.answers[2];
      assert.notEqual(second.token_start, want.answer.token_start);
      await page.locator('#qa').locator('li.answer-row[data-index="2"]').press('Enter');
      await page.waitForFunction((t) => window.events.filter((e) => e.type === 'bert-lens-result').at(-1).detail.token === t, second.token_start, { timeout: 120000 });
      const other = await page.evaluate(() => window.events.filter((e) => e.type === 'bert-lens-result').at(-1).detail);
      const w2 = cli('--model', path.join(FIXTURES, 'bert-qa'), '--question', question, '--context', context, '--part', 'start', '--token', String(second.token_start), '--n-steps', '20');
      assertClose('second answer', other.attributions, w2.attributions, 1e-4);
      assert.equal(await page.evaluate(() => document.getElementById('qa').shadowRoot.querySelector('li.answer-row.target').dataset.index), '2');
      // A folder read as a model hub: the optional files it lacks answer 404.
      assert.deepEqual(log.errors.filter((e) => !/status of 404/.test(e)), []);
      await shot(page, 'element-live-qa');
    } finally {
      fixtures.remove();
    }
  });

  it('live attention views: head, model, neuron and the step-through, set by layer, head and token; interactive', async () => {
    const sentence = 'my card was declined';
    const url = pageWith(
      'views',
      [
        `<bert-lens id="head" model="minilm-intent" text="${sentence}" view="head" layer="2" head="0,3" method="saliency"></bert-lens>`,
        `<bert-lens id="model" model="minilm-intent" text="${sentence}" view="model" method="saliency"></bert-lens>`,
        `<bert-lens id="neuron" model="minilm-intent" text="${sentence}" view="neuron" layer="1" head="2" token="3" method="saliency"></bert-lens>`,
        `<bert-lens id="steps" model="minilm-intent" text="${sentence}" view="steps" layer="4" head="5" token="2" method="saliency" interactive exports></bert-lens>`,
      ].join('\n'),
    );
    const { page, log } = await visit(url);
    // Four elements load on a page beside the earlier tests' (one cold CI run waited over 30 s).
    await runIn({ page, log }, 'head', 90000);
    const root = (id, sel) => page.locator(`#${id}`).locator(sel);
    for (const id of ['head', 'model', 'neuron', 'steps']) {
      await page.locator(`#${id}`).scrollIntoViewIfNeeded();
      await eventOf(page, 'bert-lens-result', id);
    }
    // The head view at layer 2 with heads 0 and 3 on; the model view's 6 × 12 thumbnails; the neuron view's query.
    await root('head', '#head-canvas').waitFor();
    assert.equal(await root('head', '#head-layer').inputValue(), '2');
    const on = await page.evaluate(() => [...document.getElementById('head').shadowRoot.querySelectorAll('.heads button')].map((b) => b.getAttribute('aria-pressed')));
    assert.deepEqual(on.map((p, k) => (p === 'true' ? k : -1)).filter((k) => k >= 0), [0, 3]);
    await root('model', 'canvas.thumb').first().waitFor();
    assert.equal(await page.evaluate(() => document.getElementById('model').shadowRoot.querySelectorAll('canvas.thumb').length), 72);
    assert.equal(await root('neuron', '#neuron-query').inputValue(), '3');
    // The model's own attention, asked of the worker that keeps the element's pass.
    const attention = (id, layer, head, query) =>
      page.evaluate(
        async ([id, layer, head, query]) => {
          const el = document.getElementById(id);
          const [text, pair] = el.live.shownTexts();
          const t = el.live.analysis.tokens;
          const m = await el.live.model.run((pool) => pool.call(0, 'attentionMaps', { text, pair: pair.trim() ? pair : null, layer, head }));
          return Array.from(m.probabilities.subarray(query * t, (query + 1) * t));
        },
        [id, layer, head, query],
      );
    await root('neuron', 'td.softmax').first().waitFor();
    const neuron = {
      shown: await page.evaluate(() => [...document.getElementById('neuron').shadowRoot.querySelectorAll('td.softmax')].map((td) => Number(td.dataset.value))),
      model: await attention('neuron', 1, 2, 3),
    };
    neuron.shown.forEach((v, j) => assert.ok(Math.abs(v - neuron.model[j]) <= 1e-5, `neuron softmax ${j}`));
    // The step-through: its softmax equals the element's own attention to 1e-5.
    await root('steps', '[data-step=softmax]').first().click();
    await page.waitForFunction(() => document.getElementById('steps').shadowRoot.querySelector('#step-body[data-step=softmax]'), null, { timeout: 60000 });
    const steps = {
      shown: await page.evaluate(() => [...document.getElementById('steps').shadowRoot.querySelectorAll('#step-body td.softmax')].map((td) => Number(td.dataset.value))),
      model: await attention('steps', 4, 5, 2),
    };
    assert.equal(steps.shown.length, steps.model.length);
    steps.shown.forEach((v, j) => assert.ok(Math.abs(v - steps.model[j]) <= 1e-5, `steps softmax ${j}: ${v} vs ${steps.model[j]}`));
    await shot(page, 'element-views');
    // A new token attribute: the view starts again there.
    await page.evaluate(() => document.getElementById('steps').setAttribute('token', '1'));
    await page.waitForFunction(() => document.getElementById('steps').shadowRoot.querySelector('#steps-token')?.value === '1');
    // interactive: the reader's own text, explained on Explain.
    await root('steps', 'textarea[name=text]').fill('where is my new card');
    await root('steps', 'button[type=submit]').click();
    await page.waitForFunction(() => window.events.filter((e) => e.type === 'bert-lens-result' && e.id === 'steps').at(-1)?.detail.tokens.includes('where'), null, { timeout: 120000 });
    assert.equal(await page.getAttribute('#steps', 'text'), 'where is my new card');
    assert.ok(await root('steps', '[part=exports] [data-export=png]').isVisible(), 'exports shows its buttons');
    // A list of views, and the rollout: each drawn in turn.
    await page.evaluate(() => (document.getElementById('model').view = 'prediction head rollout'));
    await page.waitForFunction(() => {
      const r = document.getElementById('model').shadowRoot;
      return r.querySelector('[part=prediction]') && r.querySelector('#head-canvas') && r.querySelector('#heatmap-source')?.value === 'rollout';
    });
    assert.deepEqual(log.errors, []);
  });
});

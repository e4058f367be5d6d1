// The dataset workbench on the default model: data/intents-example.csv
// read (papaparse, in a worker), run through the workers, and its accuracy
// and confusion matrix held to scikit-learn's goldens
// (tests/fixtures/analysis/intents-example.json); a confusion cell and a
// misclassified row explained; the nearest rows held to `bertlens analyze
// --neighbours`; bad input answered with a message. Screenshots go to target/e2e/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, binary, idle, launch, open, shot, startServer } from './harness.mjs';
import { DEFAULT_MODEL, FIXTURES } from './common.mjs';

const DATA = path.join(ROOT, 'data/intents-example.csv');
const GOLDEN = JSON.parse(readFileSync(path.join(FIXTURES, 'analysis/intents-example.json'), 'utf8'));

/** The workbench's state, as plain data. */
const dataset = (page) =>
  page.evaluate(() => {
    const d = globalThis.bertlens.state.dataset;
    return {
      source: d.source,
      columns: d.columns,
      rows: d.table?.rows.length ?? null,
      message: d.message,
      unmatched: d.labels?.unmatched ?? null,
      done: d.run?.done ?? null,
      predicted: d.run ? [...d.run.predicted] : null,
      metrics: d.run?.metrics ?? null,
    };
  });

/** Reads pasted rows into the workbench and waits until they are read. */
async function paste(page, text) {
  await page.evaluate(() => (document.getElementById('dataset-paste-box').open = true));
  await page.fill('#dataset-paste', text);
  await page.click('#dataset-paste-read');
  await page.waitForFunction(() => {
    const d = globalThis.bertlens.state.dataset;
    return d.source === 'the pasted rows' && !d.parsing;
  });
}

/** Runs the set loaded and waits for the core's metrics. */
async function run(page) {
  await page.click('#dataset-run');
  await page.waitForFunction(
    () => {
      const d = globalThis.bertlens.state.dataset;
      return d.message?.kind === 'error' || (d.run && !d.run.running);
    },
    null,
    { timeout: 180000 },
  );
}

describe('the dataset workbench', () => {
  let server;
  let browser;
  let page;
  let log;

  before(async () => {
    server = await startServer();
    browser = await launch();
    ({ page, log } = await open(browser, `${server.url}/`, { width: 1280, height: 1000 }));
    await idle(page, 120000);
  });

  after(async () => {
    await browser?.close();
    server?.stop();
  });

  it('reads the example set, runs it, and gives scikit-learn accuracy and confusion matrix', async () => {
    await page.click('#mode-dataset');
    await page.setInputFiles('#dataset-file', DATA);
    await page.waitForFunction(() => globalThis.bertlens.state.dataset.table);
    let d = await dataset(page);
    assert.equal(d.rows, GOLDEN.rows);
    assert.deepEqual(d.columns, { text: 0, pair: -1, label: 1 });
    assert.deepEqual(d.unmatched, []);
    await run(page);
    d = await dataset(page);
    assert.equal(d.message, null, `the page says: ${d.message?.text}`);
    assert.equal(d.done, GOLDEN.rows);
    assert.deepEqual(d.predicted, GOLDEN.predicted);
    const m = d.metrics;
    const sk = GOLDEN.sklearn;
    assert.ok(Math.abs(m.accuracy - sk.accuracy) < 1e-12, `accuracy ${m.accuracy} vs ${sk.accuracy}`);
    assert.deepEqual(m.confusion.indices, sk.labels);
    assert.deepEqual(m.confusion.matrix, sk.matrix);
    m.per_class.forEach((c, i) => {
      assert.ok(Math.abs(c.precision - sk.precision[i]) < 1e-12 && Math.abs(c.recall - sk.recall[i]) < 1e-12 && Math.abs(c.f1 - sk.f1[i]) < 1e-12, c.label);
      assert.equal(c.support, sk.support[i]);
    });
    assert.ok(Math.abs(m.macro_avg.f1 - sk.macro.f1) < 1e-12);
    assert.ok(Math.abs(m.weighted_avg.f1 - sk.weighted.f1) < 1e-12);
    // As shown.
    assert.equal(Number(await page.getAttribute('#stat-accuracy', 'data-value')), m.accuracy);
    assert.equal(await page.textContent('#stat-accuracy'), `${(100 * sk.accuracy).toFixed(1)}%`);
    const wrong = sk.matrix.flat().reduce((a, x) => a + x, 0) - sk.matrix.reduce((a, row, i) => a + row[i], 0);
    assert.equal(Number(await page.getAttribute('#stat-wrong', 'data-value')), wrong);
    // Every off-diagonal count of the golden matrix is a cell of the page's table.
    const cells = await page.$$eval('#confusion-table td.off', (tds) => tds.map((td) => [Number(td.dataset.truth), Number(td.dataset.predicted), Number(td.dataset.count)]));
    const want = [];
    sk.matrix.forEach((row, i) => row.forEach((n, j) => i !== j && n > 0 && want.push([sk.labels[i], sk.labels[j], n])));
    assert.deepEqual(cells.sort(), want.sort());
    assert.equal(await page.$$eval('#mistakes-table tbody tr', (trs) => trs.length), wrong);
    await shot(page, 'workbench');
  });

  it('lists misclassified rows confident first, and filters them', async () => {
    const probs = await page.$$eval('#mistakes-table tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.row)));
    const p = probs.map((r) => GOLDEN.probability[r]);
    for (let k = 1; k < p.length; k++) assert.ok(p[k - 1] >= p[k] - 1e-6, `sorted by confidence at ${k}`);
    await page.fill('#filter-query', 'card');
    const texts = await page.$$eval('#mistakes-table td.text', (tds) => tds.map((td) => td.textContent));
    assert.ok(texts.length > 0 && texts.length < probs.length);
    assert.ok(texts.every((t) => /card/i.test(t)));
    await page.click('#filter-clear');
    await page.selectOption('#filter-sort', 'loss');
    assert.equal(await page.$$eval('#mistakes-table tbody tr', (trs) => trs.length), probs.length);
  });

  it('a confusion cell lists its rows, and a row is explained in the usual views', async () => {
    const cell = await page.$eval('#top-confusions button', (b) => [Number(b.dataset.truth), Number(b.dataset.predicted)]);
    await page.click('#top-confusions button');
    const rows = await page.$$eval('#mistakes-table tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.row)));
    const csv = readFileSync(DATA, 'utf8').trim().split('\n').slice(1);
    const labels = await page.evaluate(() => globalThis.bertlens.state.model.info.labels);
    assert.ok(rows.length > 0);
    for (const r of rows) {
      assert.equal(GOLDEN.predicted[r], cell[1]);
      assert.equal(csv[r].slice(csv[r].lastIndexOf(',') + 1), labels[cell[0]]);
    }
    await shot(page, 'workbench-cell');
    const text = await page.textContent(`#mistakes-table tr[data-row="${rows[0]}"] td.text`);
    await page.click(`#mistakes-table tr[data-row="${rows[0]}"]`);
    await page.waitForFunction((t) => {
      const s = globalThis.bertlens.state;
      return s.input?.text === t && s.explanation && !s.busy && !s.preview;
    }, text, { timeout: 120000 });
    assert.equal(await page.inputValue('#text'), text);
    assert.equal(await page.textContent('#predicted-label strong'), labels[cell[1]]);
    assert.equal(await page.inputValue('#true-label'), String(cell[0]));
    // Its nearest rows, as `bertlens analyze --neighbours` finds them.
    await page.waitForSelector('#neighbours-table tbody tr');
    const near = await page.$$eval('#neighbours-table tbody tr', (trs) => trs.map((tr) => ({ row: Number(tr.dataset.row), similarity: Number(tr.dataset.similarity) })));
    const out = mkdtempSync(path.join(tmpdir(), 'bertlens-wb-'));
    try {
      execFileSync(binary(), ['analyze', '--model', DEFAULT_MODEL, '--data', DATA, '--method', 'none', '--neighbours', String(near.length), '--out', out], { cwd: ROOT, stdio: 'ignore' });
      const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
      const want = report.rows[rows[0]].neighbours;
      assert.deepEqual(near.map((n) => n.row), want.map((n) => n.row));
      near.forEach((n, k) => assert.ok(Math.abs(n.similarity - want[k].similarity) < 1e-5, `similarity ${n.similarity} vs ${want[k].similarity}`));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    assert.ok(!near.some((n) => n.row === rows[0]), 'the row itself is left out');
    await shot(page, 'workbench-explained');
  });

  it('answers bad input with a message and stays usable', async () => {
    await page.click('#mode-dataset');
    await paste(page, '');
    let d = await dataset(page);
    assert.match(await page.textContent('#dataset-message'), /has no rows/);
    assert.equal(d.rows, 0);
    await paste(page, 'id,intent\n1,balance\n2,greeting\n');
    assert.match(await page.textContent('#dataset-message'), /pick the column that holds the text/);
    assert.ok(await page.isDisabled('#dataset-run'));
    await paste(page, 'text,label\nwhat is my balance,balance_inquiry_nope\nhello there,not_a_class\nwhat is the weather,not_a_class\n');
    d = await dataset(page);
    assert.deepEqual(
      d.unmatched.map((u) => [u.label, u.count]),
      [['not_a_class', 2], ['balance_inquiry_nope', 1]],
    );
    assert.match(await page.textContent('#dataset-unmatched'), /3 rows carry a label that is none of the model's/);
    await run(page);
    d = await dataset(page);
    assert.equal(d.done, 3);
    assert.equal(d.metrics, null);
    await shot(page, 'workbench-bad-labels');
    // And a good set after it runs as before.
    await paste(page, 'sentence\tintent\nmy card was declined at the grocery store\tcard_declined\n');
    await run(page);
    d = await dataset(page);
    assert.equal(d.metrics.support, 1);
    assert.deepEqual(log.errors, []);
  });
});

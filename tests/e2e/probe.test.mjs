// The workbench's probes on the default model: tests/fixtures/analysis/
// probe-set.csv read, its `tense` column probed on every layer in the
// workers, and the accuracies held to scikit-learn's
// (tests/fixtures/probe.json, gen_probe.py); the curve and the table as
// drawn, light and dark; a set that cannot be probed says why.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { shot, startPage, stopPage } from './harness.mjs';
import { FIXTURES } from './common.mjs';

const SET = path.join(FIXTURES, 'analysis/probe-set.csv');
const CASE = JSON.parse(readFileSync(path.join(FIXTURES, 'probe.json'), 'utf8')).cases.find((c) => c.model === 'default' && c.label_column === 'tense');

/** Clicks "Probe every layer" and waits until the probe is done. */
async function probe(page) {
  await page.click('#probe-run');
  await page.waitForFunction(() => {
    const p = globalThis.bertlens.state.dataset.probe;
    return p && !p.running;
  }, null, { timeout: 180000 });
  return page.evaluate(() => {
    const p = globalThis.bertlens.state.dataset.probe;
    return { report: p.report, error: p.error, column: p.column };
  });
}

describe('probes in the workbench', () => {
  let server;
  let browser;
  let page;

  before(async () => {
    ({ server, browser, page } = await startPage({ width: 1280, height: 1000 }));
  });

  after(() => stopPage({ server, browser }));

  it("probes every layer of the default model as scikit-learn's logistic regression does", async () => {
    assert.ok(CASE, 'probe.json has the default model (gen_probe.py --default-model)');
    await page.click('#mode-dataset');
    await page.setInputFiles('#dataset-file', SET);
    await page.waitForFunction(() => globalThis.bertlens.state.dataset.table);
    const columns = await page.evaluate(() => globalThis.bertlens.state.dataset.table.columns);
    await page.selectOption('#col-label', String(columns.indexOf('tense')));
    await page.waitForSelector('#probe-box:not([hidden])');
    const { report, error, column } = await probe(page);
    assert.equal(error, null);
    assert.equal(column, 'tense');
    for (const key of ['n', 'n_test', 'skipped']) assert.equal(report[key], CASE[key], key);
    assert.deepEqual(report.labels, CASE.labels);
    assert.ok(Math.abs(report.majority_accuracy - CASE.majority_accuracy) < 1e-12);
    assert.equal(report.layers.length, CASE.layers.length);
    report.layers.forEach((l, i) => {
      const w = CASE.layers[i];
      assert.equal(l.layer, w.layer);
      for (const key of ['accuracy', 'train_accuracy', 'control_accuracy']) {
        assert.ok(Math.abs(l[key] - w[key]) < 1e-12, `layer ${i}: ${key} ${l[key]} vs ${w[key]}`);
      }
    });
    // As drawn: the held-out curve's values, the table's rows, the verdict.
    const values = JSON.parse(await page.getAttribute('#probe-plot polyline[data-curve="accuracy"]', 'data-values'));
    assert.deepEqual(values, CASE.layers.map((l) => +l.accuracy.toFixed(6)));
    assert.equal(await page.$$eval('#probe-table tbody tr', (trs) => trs.length), CASE.layers.length);
    const best = Math.max(...CASE.layers.map((l) => l.accuracy));
    const first = CASE.layers.find((l) => l.accuracy === best).layer;
    assert.match(await page.textContent('#probe-verdict'), new RegExp(`“tense” is most linearly readable at layer ${first}:`));
    await page.$eval('#probe-box', (el) => el.scrollIntoView());
    await shot(page, 'probe');
    await page.selectOption('#theme-select', 'dark');
    await shot(page, 'probe-dark');
    await page.selectOption('#theme-select', 'light');
  });

  it('reads the first token with the other pooling, and a set of one label says why it cannot be probed', async () => {
    await page.selectOption('#probe-pool', 'cls');
    const { report } = await probe(page);
    assert.equal(report.options.pool, 'cls');
    assert.equal(report.n, CASE.n);
    await page.evaluate(() => (document.getElementById('dataset-paste-box').open = true));
    const rows = ['text,label', ...Array.from({ length: 12 }, (_, i) => `sentence number ${i},same`)].join('\n');
    await page.fill('#dataset-paste', rows);
    await page.click('#dataset-paste-read');
    await page.waitForFunction(() => globalThis.bertlens.state.dataset.source === 'the pasted rows' && globalThis.bertlens.state.dataset.table);
    const { error } = await probe(page);
    assert.match(error, /at least two labels/);
    assert.match(await page.textContent('#probe-error'), /at least two labels/);
  });
});

// The dataset workbench on the default model: data/intents-example.csv
// read (papaparse, in a worker), run through the workers, and its accuracy
// and confusion matrix held to scikit-learn's goldens
// (tests/fixtures/analysis/intents-example.json); a confusion cell and a
// misclassified row explained; the nearest rows held to `bertlens analyze
// --neighbours`; bad input answered with a message. Screenshots go to target/e2e/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, binary, open, shot, startPage, stopPage } from './harness.mjs';
import { DEFAULT_MODEL, FIXTURES, explainText } from './common.mjs';

const DATA = path.join(ROOT, 'data/intents-example.csv');
const GOLDEN = JSON.parse(readFileSync(path.join(FIXTURES, 'analysis/intents-example.json'), 'utf8'));

let report = null;
/** `bertlens analyze` of the example set (saliency words, 8 nearest rows), run once. */
function cliReport() {
  if (report) return report;
  const out = mkdtempSync(path.join(tmpdir(), 'bertlens-wb-'));
  try {
    const args = ['analyze', '--model', DEFAULT_MODEL, '--data', DATA, '--neighbours', '8', '--words-top', '12'];
    args.push('--faithfulness', '--faithfulness-rows', '8', '--perturb-samples', '0', '--anchors', '8', '--out', out);
    execFileSync(binary(), args, { cwd: ROOT, stdio: 'ignore' });
    report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return report;
}

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
    ({ server, browser, page, log } = await startPage({ width: 1280, height: 1000 }));
  });

  after(() => stopPage({ server, browser }));

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
    const want = cliReport().rows[rows[0]].neighbours;
    assert.deepEqual(near.map((n) => n.row), want.map((n) => n.row));
    near.forEach((n, k) => assert.ok(Math.abs(n.similarity - want[k].similarity) < 1e-5, `similarity ${n.similarity} vs ${want[k].similarity}`));
    assert.ok(!near.some((n) => n.row === rows[0]), 'the row itself is left out');
    await shot(page, 'workbench-explained');
    // The set's vectors went to worker 0 once: another row's lookup names them, and carries no vectors.
    const sent = () => page.evaluate(() => structuredClone(globalThis.bertlens.pool().engines[0].sent));
    const before = await sent();
    const n = await page.evaluate(() => globalThis.bertlens.state.dataset.run.predicted.filter((p) => p >= 0).length);
    const dim = await page.evaluate(() => globalThis.bertlens.state.dataset.run.dim);
    assert.equal(before.keepVectors.calls, 1);
    assert.equal(before.keepVectors.bytes, n * dim * 4 + n * 4, 'the vectors and their row numbers, once');
    assert.equal(before.nearest.bytes, 0, 'a lookup by key');
    // A typed text, then the row again (from the set's view, as before).
    const lookup = async (t, go) => {
      await page.evaluate(() => (globalThis.bertlens.state.dataset.neighbours = null));
      await go();
      await page.waitForFunction((t) => globalThis.bertlens.state.dataset.neighbours?.text === t && globalThis.bertlens.state.dataset.neighbours.rows, t, { timeout: 120000 });
    };
    const typed = 'how do I order a new card';
    await lookup(typed, () => explainText(page, typed));
    await lookup(text, async () => {
      await page.click('#mode-dataset');
      await page.click(`#mistakes-table tr[data-row="${rows[0]}"]`);
    });
    await page.waitForFunction(() => !globalThis.bertlens.state.busy, null, { timeout: 120000 });
    const after = await sent();
    assert.equal(after.keepVectors.calls, 1, 'no second copy of the vectors');
    assert.equal(after.nearest.calls, before.nearest.calls + 2);
    assert.equal(after.nearest.bytes, 0);
  });

  it('tabulates the faithfulness of every method on the explained row, as bertlens analyze does', async () => {
    const row = await page.evaluate(() => globalThis.bertlens.state.dataset.explaining);
    assert.ok(row < 8, `row ${row} is among those the CLI evaluates`);
    await page.click('#faith-run');
    await page.waitForSelector('#faithfulness-table tbody tr', { timeout: 120000 });
    const got = await page.$$eval('#faithfulness-table tbody tr', (trs) =>
      trs.map((tr) => ({ method: tr.dataset.method, c: Number(tr.dataset.comprehensiveness), s: Number(tr.dataset.sufficiency) })),
    );
    const want = cliReport().rows[row].faithfulness.methods;
    assert.deepEqual(got.map((g) => g.method).sort(), Object.keys(want).sort());
    for (const g of got) {
      assert.ok(Math.abs(g.c - want[g.method].aopc_comprehensiveness) < 1e-4, `${g.method} comprehensiveness ${g.c} vs ${want[g.method].aopc_comprehensiveness}`);
      assert.ok(Math.abs(g.s - want[g.method].aopc_sufficiency) < 1e-4, `${g.method} sufficiency ${g.s} vs ${want[g.method].aopc_sufficiency}`);
    }
    // The anchor of its prediction: words of the text, with alibi's precision threshold.
    // Its deletion curves (every point: n tokens removed one by one) and the methods' agreement.
    const rowWant = cliReport().rows[row].faithfulness;
    const pts = await page.$$eval('#faith-curves polyline', (ls) => Object.fromEntries(ls.map((l) => [l.dataset.method, JSON.parse(l.dataset.points)])));
    for (const [m, w] of Object.entries(rowWant.methods)) {
      assert.equal(pts[m].length, w.deletion_curve.length, m);
      pts[m].forEach((p, k) => assert.ok(Math.abs(p - w.deletion_curve[k]) < 1e-4, `${m} curve point ${k}`));
    }
    const agree = await page.$$eval('#faith-agreement tbody tr', (trs) => trs.map((tr) => [tr.dataset.a, tr.dataset.b, tr.dataset.spearman]));
    assert.equal(agree.length, rowWant.agreement.length);
    agree.forEach(([a, b, rho], k) => {
      assert.deepEqual([a, b], [rowWant.agreement[k].a, rowWant.agreement[k].b]);
      if (rowWant.agreement[k].spearman !== null) assert.ok(Math.abs(Number(rho) - rowWant.agreement[k].spearman) < 1e-4, `${a}·${b}`);
    });
    await page.click('#anchor-run');
    await page.waitForSelector('#anchor-result', { timeout: 180000 });
    const a = await page.evaluate(() => globalThis.bertlens.state.anchor.result);
    const text = await page.evaluate(() => globalThis.bertlens.state.input.text);
    assert.equal(a.predicted_label, await page.textContent('#predicted-label strong'));
    assert.ok(a.words.every((w) => text.includes(w.word)), JSON.stringify(a.words));
    if (a.success) assert.ok(a.precision >= 0.95 - 1e-9);
    // The anchor bertlens analyze --anchors finds for that row.
    const cliAnchor = cliReport().rows[row].anchor;
    assert.deepEqual(a.words.map((w) => w.word), cliAnchor.words.map((w) => w.word));
    assert.ok(Math.abs(a.precision - cliAnchor.precision) < 1e-9 && Math.abs(a.coverage - cliAnchor.coverage) < 1e-9, `${a.precision} ${a.coverage} vs ${cliAnchor.precision} ${cliAnchor.coverage}`);
    assert.equal(await page.$$eval('#anchor-result mark.anchor-word', (ms) => ms.length), a.words.length);
    await page.$eval('#faithfulness-panel', (el) => el.scrollIntoView());
    await shot(page, 'workbench-faithfulness', { fullPage: false });
  });

  it("evaluates typed text with its own seed, not the random baseline of the set's row 0", async () => {
    const text = 'is there a fee for sending money abroad from my phone';
    const csv = readFileSync(DATA, 'utf8');
    assert.ok(!csv.includes(text), 'the text is no row of the set');
    await explainText(page, text);
    await page.click('#faith-run');
    await page.waitForFunction((t) => globalThis.bertlens.state.faithfulness?.input.text === t && !globalThis.bertlens.state.faithfulness.running, text, { timeout: 180000 });
    const { f, own, rowZero } = await page.evaluate(async (t) => {
      const { state, pool } = globalThis.bertlens;
      const f = state.faithfulness;
      // The random method alone, with the text's seed and with a set's (0), as row 0.
      const random = (seed) => pool().call(0, 'faithfulness', { text: t, pair: null, row: 0, options: { methods: ['random'], fractions: [0.01, 0.05, 0.1, 0.2, 0.5], infidelity: { n_perturb_samples: 0 }, sensitivity: { n_perturb_samples: 0 }, seed } });
      return { f: { row: f.row, seed: f.seed, random: f.result.methods.random, error: f.error }, own: (await random(f.seed)).methods.random, rowZero: (await random(0)).methods.random };
    }, text);
    assert.equal(f.error, null);
    assert.equal(f.row, null, 'no row of the set');
    assert.ok(f.seed > 0);
    // (The page evaluates every method in one batch, this call the random one alone: floats differ in the 7th digit.)
    const apart = (a, b) => Math.max(...a.map((x, k) => Math.abs(x - b[k])));
    assert.equal(f.random.deletion_curve.length, own.deletion_curve.length);
    assert.ok(apart(f.random.deletion_curve, own.deletion_curve) < 1e-4, "the page's random baseline is the text's seed's");
    assert.ok(apart(own.deletion_curve, rowZero.deletion_curve) > 1e-3, "and not row 0's");
  });

  it('shows words per class as bars, as bertlens analyze reports them', async () => {
    await page.click('#mode-dataset');
    await page.click('#words-run');
    await page.waitForFunction(() => {
      const w = globalThis.bertlens.state.dataset.words;
      return w && !w.running;
    }, null, { timeout: 180000 });
    const got = await page.evaluate(() => globalThis.bertlens.state.dataset.words.byClass);
    const want = cliReport().words;
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const [name, c] of Object.entries(want)) {
      assert.equal(got[name].rows, c.rows, name);
      assert.equal(got[name].misclassified_rows, c.misclassified_rows, name);
      for (const key of ['toward', 'misclassified']) {
        assert.deepEqual(got[name][key].map((w) => [w.word, w.count]), c[key].map((w) => [w.word, w.count]), `${name} ${key}`);
        got[name][key].forEach((w, k) => assert.ok(Math.abs(w.total - c[key][k].total) <= 1e-4 * Math.max(1, Math.abs(c[key][k].total)), `${name} ${w.word}`));
      }
    }
    // The class shown first has the most misclassified rows; its bars are its words.
    const shown = await page.inputValue('#words-class');
    const most = Math.max(...Object.values(want).map((c) => c.misclassified_rows));
    assert.equal(want[shown].misclassified_rows, most);
    const bars = await page.$$eval('#words-toward li', (lis) => lis.map((li) => li.dataset.word));
    assert.deepEqual(bars, want[shown].toward.map((w) => w.word));
    await page.selectOption('#words-class', 'card_declined');
    const bars2 = await page.$$eval('#words-toward li', (lis) => lis.map((li) => li.dataset.word));
    assert.deepEqual(bars2, want.card_declined.toward.map((w) => w.word));
    await page.$eval('#dataset-words', (el) => el.scrollIntoView());
    await shot(page, 'workbench-words');
  });

  it('tabulates and plots the faithfulness of every method over rows of the set, as bertlens analyze does', async () => {
    await page.click('#mode-dataset');
    await page.selectOption('#setfaith-scope', 'first');
    await page.fill('#setfaith-limit', '8');
    assert.equal(await page.textContent('#setfaith-run'), 'Evaluate every method on 8 rows');
    await page.click('#setfaith-run');
    await page.waitForFunction(() => {
      const f = globalThis.bertlens.state.dataset.faith;
      return f && !f.running;
    }, null, { timeout: 300000 });
    const f = await page.evaluate(() => {
      const x = globalThis.bertlens.state.dataset.faith;
      return { rows: x.rows, summary: x.summary, error: x.error, errors: x.errors.size };
    });
    assert.equal(f.error, null);
    assert.equal(f.errors, 0);
    assert.deepEqual(f.rows, [0, 1, 2, 3, 4, 5, 6, 7]);
    const want = cliReport();
    const close = (a, b, what) => assert.ok((a === null && b === null) || Math.abs(a - b) < 1e-4, `${what}: ${a} vs ${b}`);
    assert.equal(f.summary.rows, 8);
    assert.deepEqual(Object.keys(f.summary.methods).sort(), Object.keys(want.faithfulness).sort());
    for (const [m, w] of Object.entries(want.faithfulness)) {
      const g = f.summary.methods[m];
      for (const key of ['aopc_comprehensiveness', 'aopc_sufficiency', 'deletion_auc']) close(g[key], w[key], `${m} ${key}`);
      assert.equal(g.deletion_curve.length, 11);
      g.deletion_curve.forEach((p, k) => close(p, w.deletion_curve[k], `${m} deletion curve at ${10 * k}%`));
      g.by_fraction.forEach((x, k) => close(x.comprehensiveness, w.by_fraction[k].comprehensiveness, `${m} comprehensiveness at ${x.fraction}`));
    }
    assert.equal(f.summary.agreement.length, want.agreement.length);
    f.summary.agreement.forEach((a, k) => {
      const w = want.agreement[k];
      assert.deepEqual([a.a, a.b, a.rows], [w.a, w.b, w.rows]);
      close(a.spearman, w.spearman, `${a.a}·${a.b} Spearman`);
      close(a.kendall, w.kendall, `${a.a}·${a.b} Kendall`);
    });
    // What the user sees: the table (most comprehensive first), one curve a method, every pair's agreement.
    const table = await page.$$eval('#setfaith-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.method, Number(tr.dataset.comprehensiveness)]));
    const methods = Object.keys(want.faithfulness).length; // the core's methods (attention flow among them) and random
    assert.equal(table.length, methods);
    table.slice(1).forEach(([, c], k) => assert.ok(c <= table[k][1], 'sorted by comprehensiveness'));
    const curves = await page.$$eval('#setfaith-curves polyline', (ls) => ls.map((l) => [l.dataset.method, l.getAttribute('points').split(' ').length]));
    assert.deepEqual(curves.map(([m]) => m).sort(), Object.keys(want.faithfulness).sort());
    assert.ok(curves.every(([, n]) => n === 11));
    assert.equal(await page.$$eval('#setfaith-agreement tbody tr', (trs) => trs.length), want.agreement.length);
    assert.match(await page.textContent('#setfaith-verdict'), /most comprehensive/);
    await page.$eval('#dataset-faithfulness', (el) => el.scrollIntoView());
    await shot(page, 'workbench-set-faithfulness', { fullPage: false });
    // Removed tokens replaced by the mask token, as bertlens analyze --removal mask.
    await page.selectOption('#setfaith-removal', 'mask');
    await page.fill('#setfaith-limit', '3');
    await page.click('#setfaith-run');
    await page.waitForFunction(() => {
      const x = globalThis.bertlens.state.dataset.faith;
      return x && !x.running && x.removal === 'mask';
    }, null, { timeout: 300000 });
    const masked = await page.evaluate(() => globalThis.bertlens.state.dataset.faith.summary);
    const out = mkdtempSync(path.join(tmpdir(), 'bertlens-mask-'));
    try {
      const first = readFileSync(DATA, 'utf8').split('\n').slice(0, 4).join('\n');
      writeFileSync(path.join(out, 'set.csv'), first);
      execFileSync(binary(), ['analyze', '--model', DEFAULT_MODEL, '--data', path.join(out, 'set.csv'), '--faithfulness', '--removal', 'mask', '--perturb-samples', '0', '--out', out], { cwd: ROOT, stdio: 'ignore' });
      const wantMask = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')).faithfulness;
      for (const [m, w] of Object.entries(wantMask)) {
        close(masked.methods[m].aopc_comprehensiveness, w.aopc_comprehensiveness, `${m} masked comprehensiveness`);
        close(masked.methods[m].aopc_sufficiency, w.aopc_sufficiency, `${m} masked sufficiency`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    assert.match(await page.textContent('#setfaith-summary'), /replaced by the mask token/);
  });

  it('shows rows as they arrive, and a cancelled run keeps what arrived', async () => {
    await page.click('#mode-dataset');
    const body = readFileSync(DATA, 'utf8').trim().split('\n').slice(1);
    await paste(page, ['text,label', ...body, ...body, ...body, ...body].join('\n'));
    await page.click('#dataset-run');
    await page.waitForFunction(() => globalThis.bertlens.state.dataset.run?.done > 0);
    await page.click('#dataset-cancel');
    await page.waitForFunction(() => !globalThis.bertlens.state.dataset.run.running);
    const run = await page.evaluate(() => {
      const r = globalThis.bertlens.state.dataset.run;
      return { done: r.done, n: r.n, cancelled: r.cancelled, metrics: r.metrics };
    });
    assert.equal(run.n, 4 * body.length);
    assert.ok(run.cancelled && run.done > 0 && run.done < run.n, JSON.stringify({ ...run, metrics: undefined }));
    // The metrics of the rows that arrived.
    assert.equal(run.metrics.support, run.done);
    assert.match(await page.textContent('#dataset-progress-text'), /\(cancelled\)/);
    assert.ok((await page.$$eval('#mistakes-table tbody tr', (trs) => trs.length)) > 0);
  });

  it('answers bad input with a message and stays usable', async () => {
    await page.click('#mode-dataset');
    await paste(page, '');
    let d = await dataset(page);
    assert.equal(await page.textContent('#dataset-message'), 'Not loaded: the pasted text is empty (no header, no rows).');
    assert.equal(d.rows, null);
    await paste(page, 'id,intent\n1,balance\n2,greeting\n');
    assert.match(await page.textContent('#dataset-message'), /pick the column that holds the text/);
    assert.ok(await page.isDisabled('#dataset-run'));
    await paste(page, 'text,label\nwhat is my balance,balance_inquiry_nope\nhello there,not_a_class\nwhat is the weather,not_a_class\n');
    // The labels are matched to the classes (in a worker) once the rows are read.
    await page.waitForFunction(() => globalThis.bertlens.state.dataset.labels);
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
    // And a good set after it (dropped onto the page) runs as before.
    await page.evaluate((tsv) => {
      const dt = new DataTransfer();
      dt.items.add(new File([tsv], 'dropped.tsv', { type: 'text/tab-separated-values' }));
      document.getElementById('dataset-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, 'sentence\tintent\nmy card was declined at the grocery store\tcard_declined\n');
    await page.waitForFunction(() => globalThis.bertlens.state.dataset.source === 'dropped.tsv' && globalThis.bertlens.state.dataset.table);
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.model.name), 'MiniLM-L6 intent classifier', 'the model stays');
    await run(page);
    d = await dataset(page);
    assert.equal(d.metrics.support, 1);
    assert.deepEqual(log.errors, []);
  });

  it("reads a big file off the page's thread", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bertlens-wb-'));
    const file = path.join(dir, 'big.tsv');
    const lines = ['utterance\tintent'];
    for (let i = 0; i < 200000; i++) lines.push(`row ${i}: is there a lot of "sugar" in orange juice, or not\tnutrition_info`);
    writeFileSync(file, lines.join('\n'));
    try {
      // The longest gap between two frames while the file is read.
      await page.evaluate(() => {
        globalThis.frameGap = 0;
        let last = performance.now();
        const tick = (t) => {
          globalThis.frameGap = Math.max(globalThis.frameGap, t - last);
          last = t;
          if (!globalThis.stopFrames) requestAnimationFrame(tick);
        };
        globalThis.stopFrames = false;
        requestAnimationFrame(tick);
      });
      await page.click('#mode-dataset');
      const t0 = Date.now();
      await page.setInputFiles('#dataset-file', file);
      await page.waitForFunction(() => globalThis.bertlens.state.dataset.table?.rows.length === 200000, null, { timeout: 60000 });
      const ms = Date.now() - t0;
      const gap = await page.evaluate(() => ((globalThis.stopFrames = true), globalThis.frameGap));
      console.log(`200000 rows (${(lines.join('\n').length / 1e6).toFixed(1)} MB TSV) read in ${ms} ms; longest frame gap ${gap.toFixed(0)} ms`);
      assert.ok(gap < 1500, `the page froze for ${gap} ms`);
      assert.deepEqual((await dataset(page)).columns, { text: 0, pair: -1, label: 1 });
      assert.match(await page.textContent('#dataset-source'), /big\.tsv: 200000 rows, 2 columns \(TSV\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

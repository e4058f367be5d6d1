// The workbench half of `make bench`: a labelled set of ~20-token rows (two
// sentences of data/intents-example.csv to a row, three in every other one,
// labelled as the first),
// through the page's own workbench in Debian's Chromium:
//   - 1,000 rows predicted (the Run button to the last row in), with 1 and
//     `--workers` workers; words per class by saliency over them; a probe of
//     every layer on their labels (the intents);
//   - 10,000 rows read and predicted, the tab's memory sampled meanwhile (the
//     memory of the renderer process that runs the page, its workers and
//     their wasm);
// and `bertlens analyze` (prediction + saliency) and `bertlens probe` over the
// 1,000 rows natively.
//
//   node tests/bench/dataset.mjs --workers 2 --out target/bench [--rows 1000] [--big 10000]
//
// Prints one JSON object. A benchmark: nothing here passes or fails on a time.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, idle, launch, open, startServer } from '../e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
    rows: { type: 'string', default: '1000' },
    big: { type: 'string', default: '10000' },
    model: { type: 'string', default: 'www/models/minilm-intent' },
    out: { type: 'string', default: 'target/bench' },
  },
});
const out = path.resolve(ROOT, values.out);
mkdirSync(out, { recursive: true });

/** Rows of data/intents-example.csv paired up: row i is sentence i and sentence 7i + 3 (mod n). */
function makeSet(n) {
  const lines = readFileSync(path.join(ROOT, 'data/intents-example.csv'), 'utf8').trim().split('\n').slice(1);
  const rows = lines.map((l) => {
    const at = l.lastIndexOf(',');
    return { text: l.slice(0, at).replace(/^"|"$/g, '').replace(/""/g, '"'), label: l.slice(at + 1) };
  });
  const csv = ['text,label'];
  for (let i = 0; i < n; i++) {
    const a = rows[i % rows.length];
    const b = rows[(7 * i + 3) % rows.length];
    const c = i % 2 ? ` ${rows[(13 * i + 5) % rows.length].text}` : '';
    csv.push(`"${`${a.text} ${b.text}${c}`.replace(/"/g, '""')}",${a.label}`);
  }
  const file = path.join(out, `rows-${n}.csv`);
  writeFileSync(file, csv.join('\n') + '\n');
  return file;
}

/**
 * The tab's memory: the resident and the proportional set size (shared pages
 * split among their users) of Chromium's largest renderer process, the one
 * that runs the page and its dedicated workers (one tab is open).
 */
function tabMemory() {
  const ps = execFileSync('ps', ['-eo', 'pid=,rss=,args='], { encoding: 'utf8' });
  const renderers = ps
    .split('\n')
    .filter((l) => /chrom/.test(l) && l.includes('--type=renderer'))
    .map((l) => l.trim().split(/\s+/).map(Number))
    .sort((a, b) => b[1] - a[1]);
  if (!renderers.length) return { rss: 0, pss: 0 };
  const [pid, rss] = renderers[0];
  let pss = 0;
  try {
    pss = 1024 * Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]);
  } catch {
    // not Linux: RSS only
  }
  return { rss: 1024 * rss, pss };
}

/** Opens the page with `workers` workers, the default model loaded, in the workbench. */
async function workbench(browser, server, workers) {
  const { page, context } = await open(browser, `${server.url}/?workers=${workers}`);
  await idle(page, 180000);
  await page.waitForFunction(() => globalThis.bertlens.state.model && !globalThis.bertlens.state.busy, null, { timeout: 180000 });
  await page.click('#mode-dataset');
  return { page, context };
}

/**
 * Clicks button `id` and waits until `state.dataset[key]` (the run, or the
 * words per class) is done: the seconds, the rows done, and the accuracy or
 * the classes.
 */
function timedClick(page, id, key) {
  return page.evaluate(
    ([id, key]) =>
      new Promise((resolve) => {
        const t = performance.now();
        document.getElementById(id).click();
        const poll = () => {
          const x = globalThis.bertlens.state.dataset[key];
          if (x && !x.running) {
            const best = x.report ? Math.max(...x.report.layers.map((l) => l.accuracy)) : null;
            resolve({ seconds: (performance.now() - t) / 1000, rows: x.done, accuracy: x.metrics?.accuracy ?? best, classes: x.byClass ? Object.keys(x.byClass).length : (x.report?.labels.length ?? null), error: x.error ?? null });
          } else setTimeout(poll, 20);
        };
        poll();
      }),
    [id, key],
  );
}

/** Reads `file` into the workbench and runs it; seconds from the click on Run to the last row. */
async function runSet(page, file) {
  await page.setInputFiles('#dataset-file', file);
  await page.waitForFunction(() => {
    const d = globalThis.bertlens.state.dataset;
    return d.table && !d.parsing && !document.getElementById('dataset-run').disabled;
  }, null, { timeout: 120000 });
  return timedClick(page, 'dataset-run', 'run');
}

const small = makeSet(Number(values.rows));
const big = makeSet(Number(values.big));
const workerCounts = [...new Set([1, Number(values.workers)])];
const result = { rows: Number(values.rows), big_rows: Number(values.big), page: [], memory: null, cli: null };

// The CLI first, alone on the machine: prediction + saliency (analyze's default method).
{
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bertlens-bench-'));
  const t = performance.now();
  execFileSync(path.join(ROOT, 'target/release/bertlens'), ['analyze', '--model', values.model, '--data', small, '--out', dir], { cwd: ROOT, stdio: 'ignore' });
  const seconds = (performance.now() - t) / 1000;
  const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  const tokens = report.rows.map((r) => r.tokens.length);
  result.tokens_mean = tokens.reduce((a, b) => a + b, 0) / tokens.length;
  result.cli = { threads: os.availableParallelism?.() ?? os.cpus().length, seconds, rows_per_s: report.rows.length / seconds, accuracy: report.accuracy };
  const p = performance.now();
  const probe = JSON.parse(execFileSync(path.join(ROOT, 'target/release/bertlens'), ['probe', '--model', values.model, '--data', small, '--json'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  result.cli.probe = { seconds: (performance.now() - p) / 1000, layers: probe.layers.length, labels: probe.labels.length, best_accuracy: Math.max(...probe.layers.map((l) => l.accuracy)) };
}

const server = await startServer();
const browser = await launch();
try {
  for (const workers of workerCounts) {
    const { page, context } = await workbench(browser, server, workers);
    const run = await runSet(page, small);
    const words = await timedClick(page, 'words-run', 'words');
    const probe = await timedClick(page, 'probe-run', 'probe');
    result.page.push({ workers, predict: run, words_saliency: words, probe });
    await context.close();
  }
  // 10,000 rows with the most workers, the tab's memory sampled every 200 ms.
  const workers = Number(values.workers);
  const { page, context } = await workbench(browser, server, workers);
  const before = tabMemory();
  const peak = { ...before };
  const sample = () => {
    const m = tabMemory();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.pss = Math.max(peak.pss, m.pss);
  };
  const sampler = setInterval(sample, 200);
  const run = await runSet(page, big);
  clearInterval(sampler);
  sample();
  const wasm = await page.evaluate(async () => {
    const pool = globalThis.bertlens.pool();
    const sizes = await Promise.all(Array.from({ length: pool.size }, (_, i) => pool.call(i, 'memory')));
    return sizes.reduce((a, b) => a + b, 0);
  });
  const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
  result.memory = { workers, predict: run, tab_before: before, tab_peak: peak, wasm_memory_bytes: wasm, page_js_heap_bytes: heap };
  await context.close();
} finally {
  await browser.close();
  server.stop();
}
console.log(JSON.stringify(result));

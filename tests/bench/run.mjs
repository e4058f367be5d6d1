// `make bench`: in one run on this machine, the default model at ~20 and
// ~120 tokens: forward pass, saliency and Integrated Gradients (50
// gausslegendre steps, batched), natively (1 and all threads), in headless
// Chromium (1 worker, and one per core) and with Captum + PyTorch (1 and all
// threads) when the reference venv exists (`make bench-ref`). Prints a
// markdown table: medians over the runs after a warm-up, ratios to Captum at
// the same thread count, achieved GFLOP/s, peak memory and the wasm's size.
// It is a benchmark: nothing here passes or fails on a time.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { ROOT } from '../e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'www/models/minilm-intent' },
    tokens: { type: 'string', default: '20,120' },
    runs: { type: 'string', default: '5' },
    'n-steps': { type: 'string', default: '50' },
    venv: { type: 'string', default: path.join(os.homedir(), '.cache/bertlens/venv-ref') },
    out: { type: 'string', default: 'target/bench' },
  },
});
const cores = os.availableParallelism?.() ?? os.cpus().length;
const threadCounts = [...new Set([1, cores])];
const out = path.resolve(ROOT, values.out);
mkdirSync(out, { recursive: true });
const run = (cmd, args) => JSON.parse(execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] }));
const common = ['--runs', values.runs, '--n-steps', values['n-steps']];

const engines = [];
for (const t of threadCounts) {
  console.error(`bench: native, ${t} thread(s)`);
  engines.push({ kind: 'native', ...run('target/release/bertlens', ['bench', '--model', values.model, '--threads', String(t), '--tokens', values.tokens, ...common]) });
}
const texts = engines[0].results.map((r) => r.text);
const textsFile = path.join(out, 'texts.json');
writeFileSync(textsFile, JSON.stringify(texts));
for (const w of threadCounts) {
  console.error(`bench: Chromium, ${w} worker(s)`);
  engines.push({ kind: 'browser', ...run('node', ['tests/bench/browser.mjs', '--workers', String(w), '--texts', textsFile, ...common]) });
}
// The CLI's counterfactual search of the first text: the whole process (the model's load included).
const cfStart = performance.now();
const cfCli = run('target/release/bertlens', ['counterfactual', '--model', values.model, '--json', texts[0]]);
const cfCliMs = performance.now() - cfStart;
console.error(`bench: the workbench, 1,000 and 10,000 rows (page, ${cores} worker(s); CLI analyze)`);
const dataset = run('node', ['tests/bench/dataset.mjs', '--workers', String(cores), '--model', values.model, '--out', values.out]);
const python = path.join(values.venv, 'bin/python');
if (existsSync(python)) {
  for (const t of threadCounts) {
    console.error(`bench: Captum, ${t} thread(s)`);
    engines.push({ kind: 'captum', ...run(python, ['tests/bench/captum_bench.py', '--model', values.model, '--threads', String(t), '--texts', textsFile, ...common]) });
  }
  console.error(`bench: transformers + Captum over ${dataset.rows} rows, ${cores} thread(s)`);
  dataset.reference = run(python, ['tests/bench/captum_bench.py', '--model', values.model, '--threads', String(cores), '--rows', path.join(out, `rows-${dataset.rows}.csv`)]);
  console.error(`bench: transformers + scikit-learn's probe over ${dataset.rows} rows, ${cores} thread(s)`);
  dataset.probe_reference = run(python, ['tests/bench/probe_bench.py', '--model', values.model, '--threads', String(cores), '--rows', path.join(out, `rows-${dataset.rows}.csv`)]);
} else {
  console.error(`bench: no reference venv at ${values.venv} (make bench-ref): Captum is left out`);
}
writeFileSync(path.join(out, 'results.json'), JSON.stringify({ engines, dataset }, null, 1));

// FLOPs of the model at t tokens: linear layers 2·(4h² + 2h·I) per token and
// layer, attention 2·2·t·h; the input-only backward pass repeats the linear
// products once and the attention products twice.
const cfg = JSON.parse(readFileSync(path.join(ROOT, values.model, 'config.json'), 'utf8'));
const [h, I, L] = [cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers];
const fwd = (t) => 2 * t * L * (4 * h * h + 2 * h * I + 2 * t * h);
const bwd = (t) => 2 * t * L * (4 * h * h + 2 * h * I + 4 * t * h);
const flops = {
  forward_ms: (t) => fwd(t),
  saliency_ms: (t) => fwd(t) + bwd(t),
  ig_ms: (t) => Number(values['n-steps']) * (fwd(t) + bwd(t)) + 2 * fwd(t),
  // Each interval's 6 points, plus forward passes at the interval ends.
  ig_auto_ms: (t, r) => r.auto_steps * (fwd(t) + bwd(t)) + (r.auto_steps / 3 + 1) * fwd(t),
};

const captum = (threads) => engines.find((e) => e.kind === 'captum' && e.threads === threads);
const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
const rows = [];
const header = ['work', 'tokens', 'engine', 'threads', 'median', 'vs Captum, same threads (IG auto: vs Captum IG-' + values['n-steps'] + ')', 'GFLOP/s'];
const works = [
  ['forward_ms', 'forward'],
  ['saliency_ms', 'saliency'],
  ['ig_ms', `IG-${values['n-steps']}`],
  // n_steps "auto" at 1% tolerance, against Captum's fixed steps: the time a user waits for a trustworthy answer.
  ['ig_auto_ms', 'IG auto (1%)', 'ig_ms'],
];
for (const [key, label, refKey = key] of works) {
  for (let k = 0; k < texts.length; k++) {
    for (const e of engines) {
      const r = e.results[k];
      if (r[key] === undefined) continue;
      const ref = captum(e.threads)?.results[k]?.[refKey];
      rows.push([
        label,
        r.tokens,
        e.kind === 'browser' ? 'wasm, Chromium' : e.kind === 'native' ? 'bertlens native' : 'Captum + PyTorch',
        e.kind === 'browser' ? `${e.threads} worker${e.threads > 1 ? 's' : ''}` : e.threads,
        key === 'ig_auto_ms' ? `${fmtMs(r[key])} (${r.auto_steps} steps)` : fmtMs(r[key]),
        ref ? `${(r[key] / ref).toFixed(2)}×` : '–',
        (flops[key](r.tokens, r) / (r[key] / 1000) / 1e9).toFixed(1),
      ]);
    }
  }
}
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const wasm = readFileSync(path.join(ROOT, 'www/pkg/bertlens_wasm_bg.wasm'));
const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
const lines = [
  `bertlens bench: ${path.basename(values.model)}, ${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${new Date().toISOString().slice(0, 10)}`,
  '',
  table,
  '',
  'Memory: ' +
    engines
      .map((e) =>
        e.kind === 'browser'
          ? `wasm, ${e.threads} worker(s): ${mb(e.wasm_memory_bytes.total)} wasm memory (${e.wasm_memory_bytes.per_worker.map(mb).join(' + ')})`
          : `${e.kind === 'native' ? 'native' : 'Captum'}, ${e.threads} thread(s): ${mb(e.peak_rss_bytes)} peak RSS`,
      )
      .join('; '),
  ...engines
    .filter((e) => e.kind === 'browser' && e.wasm_memory_after_load_bytes)
    .slice(0, 1)
    .map(
      (e) =>
        'Wasm memory of one instance after loading the default model: ' +
        Object.entries(e.wasm_memory_after_load_bytes)
          .map(([v, m]) => `${v} weights: ${mb(m.after_load)} (load ${fmtMs(m.load_ms)}), ${mb(m.after_predict)} after a prediction, ${mb(m.after_saliency)} after saliency`)
          .join('; '),
    ),
  `wasm: ${mb(wasm.length)} raw, ${mb(gzipSync(wasm, { level: 9 }).length)} gzipped`,
  ...engines
    .filter((e) => e.kind === 'browser')
    .map(
      (e) =>
        `Page, ${e.threads} worker(s): cold start with the model cached: prediction ${fmtMs(e.cold_start_ms.prediction)}, first attribution ${fmtMs(e.cold_start_ms.first_attribution)}, final ${fmtMs(e.cold_start_ms.final)}; click on Explain to saliency on screen: ${fmtMs(e.click_to_saliency_ms)} (median)`,
    ),
  `Counterfactuals of the ${engines[0].results[0].tokens}-token text (any other class): ` +
    engines
      .filter((e) => e.kind === 'browser' && e.counterfactual)
      .map((e) => `page, worker 0 of ${e.threads}: ${fmtMs(e.counterfactual.first.ms)} the first time (the vocabulary's whole words found), ${fmtMs(e.counterfactual.again.ms)} again`)
      .join('; ') +
    `; CLI, the whole process (model load included): ${fmtMs(cfCliMs)}; ${cfCli.searched.verified} texts run, ${cfCli.counterfactuals.length} found`,
  '',
  `Workbench, ${dataset.rows} rows of ${dataset.tokens_mean.toFixed(1)} tokens on average: ` +
    dataset.page
      .map((p) => `page, ${p.workers} worker(s): predictions ${p.predict.seconds.toFixed(1)} s (${(p.predict.rows / p.predict.seconds).toFixed(0)} rows/s), words per class by saliency ${p.words_saliency.seconds.toFixed(1)} s`)
      .join('; ') +
    `; CLI \`bertlens analyze\` (prediction + saliency), ${dataset.cli.threads} threads: ${dataset.cli.rows_per_s.toFixed(1)} rows/s` +
    (dataset.reference
      ? `; transformers + Captum Saliency, ${dataset.reference.threads} threads: ${dataset.reference.rows_per_s.toFixed(1)} rows/s (bertlens ${(dataset.cli.rows_per_s / dataset.reference.rows_per_s).toFixed(2)}× its rate)`
      : ''),
  `Probes, every layer on the ${dataset.rows} rows' labels (${dataset.cli.probe.labels} intents, every 5th row held out, with the control task): ` +
    dataset.page.map((p) => `page, ${p.workers} worker(s): ${p.probe.seconds.toFixed(1)} s`).join('; ') +
    `; CLI \`bertlens probe\`, ${dataset.cli.threads} threads: ${dataset.cli.probe.seconds.toFixed(1)} s (best layer ${(100 * dataset.cli.probe.best_accuracy).toFixed(1)}%)` +
    (dataset.probe_reference
      ? `; transformers + scikit-learn, ${dataset.probe_reference.threads} threads: ${dataset.probe_reference.seconds.toFixed(1)} s (features ${dataset.probe_reference.features_seconds.toFixed(1)} s, fits ${dataset.probe_reference.fit_seconds.toFixed(1)} s; bertlens CLI ${(dataset.cli.probe.seconds / dataset.probe_reference.seconds).toFixed(2)}× its time)`
      : ''),
  `Workbench, ${dataset.memory.predict.rows} rows in the page (${dataset.memory.workers} workers): predicted in ${dataset.memory.predict.seconds.toFixed(1)} s; the tab's memory (Chromium's renderer process with the page's workers) peaked at ${mb(dataset.memory.tab_peak.rss)} resident, ${mb(dataset.memory.tab_peak.pss)} proportional (${mb(dataset.memory.tab_before.rss)} and ${mb(dataset.memory.tab_before.pss)} with the model loaded, before the set); wasm memory ${mb(dataset.memory.wasm_memory_bytes)}, the page's JS heap ${dataset.memory.page_js_heap_bytes ? mb(dataset.memory.page_js_heap_bytes) : '—'}`,
];
writeFileSync(path.join(out, 'table.md'), lines.join('\n') + '\n');
console.log(lines.join('\n'));

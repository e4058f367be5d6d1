// Models from files, folders and URLs, and bad ones: each bad model is a
// message beside the model picker, and the model in use stays.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, idle, launch, open, shot, startServer } from './harness.mjs';
import { FIXTURES, assertClose, explainText, golden, loadUrl, serveFixtures } from './common.mjs';

/**
 * Cuts `dir`'s model.safetensors into two shards with their index, as
 * transformers' save_pretrained(max_shard_size=…) lays them out.
 */
function shard(dir) {
  const file = path.join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const data = bytes.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const halves = [names.slice(0, names.length >> 1), names.slice(names.length >> 1)];
  const weightMap = {};
  halves.forEach((part, i) => {
    const shardName = `model-0000${i + 1}-of-00002.safetensors`;
    const head = {};
    const chunks = [];
    let at = 0;
    for (const name of part) {
      const { dtype, shape, data_offsets: [a, b] } = header[name];
      head[name] = { dtype, shape, data_offsets: [at, at + b - a] };
      chunks.push(data.subarray(a, b));
      at += b - a;
      weightMap[name] = shardName;
    }
    let json = Buffer.from(JSON.stringify(head));
    json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(path.join(dir, shardName), Buffer.concat([size, json, ...chunks]));
  });
  writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: data.length }, weight_map: weightMap }));
  rmSync(file);
}

describe('models from files and URLs, and bad ones', () => {
  let server;
  let browser;
  let page;
  let log;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bertlens-e2e-'));
  // The ALBERT fixture without its tokenizer.json: sentencepiece's spiece.model only.
  const slowDir = path.join(ROOT, 'www/models/e2e-albert-slow');
  const served = serveFixtures(['bert', 'bert-qa']);
  const shardedDir = path.join(ROOT, 'www/models/e2e-bert-qa-sharded');

  before(async () => {
    cpSync(path.join(FIXTURES, 'bert-qa'), shardedDir, { recursive: true });
    shard(shardedDir);
    cpSync(path.join(FIXTURES, 'albert'), slowDir, { recursive: true });
    rmSync(path.join(slowDir, 'tokenizer.json'));
    server = await startServer();
    browser = await launch();
    ({ page, log } = await open(browser, `${server.url}/?model=${served.url('bert')}`));
    await idle(page, 120000);
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    served.remove();
    rmSync(slowDir, { recursive: true, force: true });
    rmSync(shardedDir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  const fixtureFiles = (name, ...files) => files.map((f) => path.join(FIXTURES, name, f));
  const modelName = () => page.textContent('#model-name');

  async function loadFiles(files) {
    const before = await page.evaluate(() => globalThis.bertlens.state.loading);
    assert.equal(before, null);
    await page.setInputFiles('#model-files', files);
    await page.waitForFunction(() => !globalThis.bertlens.state.loading && !globalThis.bertlens.state.busy, null, { timeout: 60000 });
  }

  it('opens ?model=URL at start', async () => {
    assert.match(await modelName(), /e2e-bert/);
    assert.equal(await page.textContent('#model-message'), '');
  });

  it('loads a Hugging Face folder from files and matches transformers', async () => {
    await loadFiles(fixtureFiles('bert', 'config.json', 'tokenizer.json', 'model.safetensors'));
    assert.equal(await page.textContent('#model-message'), '');
    const g = golden('bert').cases[0];
    await explainText(page, g.text);
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.deepEqual(e.input_ids, g.input_ids);
    assertClose('probabilities', e.probabilities, g.probabilities, 1e-5);
    assert.deepEqual(e.labels, ['negative', 'neutral', 'positive']);
    await shot(page, 'fixture-bert');
  });

  it("loads a seed's .pt checkpoint with its head spec", async () => {
    await loadFiles(fixtureFiles('seed-mean-mlp', 'config.json', 'tokenizer.json', 'model.pt', 'head.json'));
    const g = golden('seed-mean-mlp').cases[0];
    await explainText(page, g.text);
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assertClose('probabilities', e.probabilities, g.probabilities, 1e-5);
    assert.deepEqual(e.labels, ['business', 'sci_tech', 'sports', 'world']);
  });

  it('loads a folder whose tokenizer is in slow files only (sentencepiece), from files and from a URL', async () => {
    const g = golden('albert').cases[0];
    const files = ['config.json', 'tokenizer_config.json', 'spiece.model', 'model.safetensors'].map((f) => path.join(slowDir, f));
    await loadFiles(files);
    assert.equal(await page.textContent('#model-message'), '');
    await explainText(page, g.text);
    let e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.deepEqual(e.input_ids, g.input_ids);
    assertClose('probabilities', e.probabilities, g.probabilities, 1e-5);
    await loadUrl(page, `${server.url}/models/e2e-albert-slow`);
    await explainText(page, g.text);
    e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.deepEqual(e.input_ids, g.input_ids);
    // The URL loader looked for the family's slow files before any other.
    const asked = log.requests.filter((r) => r.includes('e2e-albert-slow/')).map((r) => r.split('/').pop());
    assert.ok(asked.includes('spiece.model'), asked.join(' '));
    assert.ok(!asked.includes('vocab.txt'), `no need to look for vocab.txt: ${asked.join(' ')}`);
  });

  it("asks a URL for the slow tokenizer files the core reads, as the core's vocabulary lists them", async () => {
    // The page's list of tokenizer files is the core's.
    const names = await page.evaluate(async () => [(await import('./js/models.js')).TOKENIZER_FILES, globalThis.bertlens.state.vocabulary.tokenizer_files.names]);
    assert.deepEqual(names[0], names[1]);
    // ModernBERT's tokenizer is read from tokenizer.json only: without it, no slow file is asked for.
    const dir = path.join(ROOT, 'www/models/e2e-modernbert-slow');
    cpSync(path.join(FIXTURES, 'modernbert'), dir, { recursive: true });
    rmSync(path.join(dir, 'tokenizer.json'));
    try {
      const url = `${server.url}/models/e2e-modernbert-slow/`;
      await page.fill('#model-url', url);
      await page.click('#url-form button');
      await page.waitForFunction(() => !globalThis.bertlens.state.loading && globalThis.bertlens.state.modelMessage);
      // Its tokenizer_config.json names transformers 5's TokenizersBackend, read from tokenizer.json alone.
      assert.match(await page.textContent('#model-message'), /tokenizer_class "TokenizersBackend", which bertlens reads only from tokenizer\.json, and the folder has none/);
      const asked = log.requests.filter((r) => r.includes('e2e-modernbert-slow/')).map((r) => r.split('/').pop());
      for (const f of ['vocab.json', 'merges.txt', 'vocab.txt', 'spiece.model', 'spm.model', 'sentencepiece.bpe.model']) {
        assert.ok(!asked.includes(f), `${f} was asked for: ${asked.join(' ')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads a picked folder, its own files and not its subfolders\'', async () => {
    const d = path.join(tmp, 'ner-folder');
    cpSync(path.join(FIXTURES, 'bert-ner'), d, { recursive: true });
    // A checkpoint folder inside, whose weights must not be taken for the model's.
    mkdirSync(path.join(d, 'checkpoint-500'));
    writeFileSync(path.join(d, 'checkpoint-500', 'model.safetensors'), 'not weights');
    await page.setInputFiles('#model-folder', d);
    await page.waitForFunction(() => !globalThis.bertlens.state.loading && !globalThis.bertlens.state.busy, null, { timeout: 60000 });
    assert.equal(await page.textContent('#model-message'), '');
    assert.equal(await modelName(), 'ner-folder');
    assert.match(await page.textContent('#model-summary'), /BertForTokenClassification \(token classification\)/);
  });

  it('loads a sharded checkpoint, from a URL through its index and from files', async () => {
    const g = golden('bert-qa').cases[0];
    const check = async () => {
      await page.fill('#question', g.question);
      await page.fill('#context', g.context);
      await page.click('#explain');
      await page.waitForFunction((q) => { const s = globalThis.bertlens.state; return !s.busy && s.input?.text === q && s.analysis; }, g.question, { timeout: 60000 });
      const a = await page.evaluate(() => globalThis.bertlens.state.analysis.explanation);
      assert.equal(a.answer.text, g.answer.text);
      assert.ok(Math.abs(a.answer.score - g.answer.score) < 1e-5, `${a.answer.score} vs ${g.answer.score}`);
    };
    await loadUrl(page, `${server.url}/models/e2e-bert-qa-sharded`);
    const asked = log.requests.filter((r) => r.includes('e2e-bert-qa-sharded/')).map((r) => r.split('/').pop());
    assert.ok(asked.includes('model-00001-of-00002.safetensors') && asked.includes('model-00002-of-00002.safetensors'), asked.join(' '));
    await check();
    const files = ['config.json', 'tokenizer.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    await loadFiles(files.map((f) => path.join(shardedDir, f)));
    assert.equal(await page.textContent('#model-message'), '');
    await check();
  });

  it('loads a model from a URL laid out like a model hub', async () => {
    await loadUrl(page, `${server.url}/models/e2e-bert`);
    assert.match(await modelName(), /e2e-bert/);
    const g = golden('bert').cases[1];
    await explainText(page, g.text);
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assertClose('probabilities', e.probabilities, g.probabilities, 1e-5);
  });

  it('opens a Hugging Face Hub address from its listing: no failed request, no console error', async () => {
    // The hub, emulated from the BERT fixture (nothing leaves the machine): its files, its API's listing.
    const dir = path.join(FIXTURES, 'bert');
    const names = readdirSync(dir).filter((n) => n !== 'expected.json');
    const cors = { 'access-control-allow-origin': '*' };
    const asked = [];
    const HUB = 'https://huggingface.co/**';
    await page.route(HUB, (route) => {
      const at = new URL(route.request().url()).pathname;
      asked.push(at);
      if (at === '/api/models/e2e/bert/tree/main') return route.fulfill({ json: names.map((n) => ({ type: 'file', path: n, size: 1 })), headers: cors });
      const file = /^\/e2e\/bert\/resolve\/main\/([^/]+)$/.exec(at)?.[1];
      if (file && names.includes(file)) return route.fulfill({ body: readFileSync(path.join(dir, file)), headers: cors });
      return route.fulfill({ status: 404, body: 'not found', headers: cors });
    });
    const errors = [];
    const failed = [];
    const onConsole = (m) => m.type() === 'error' && errors.push(m.text());
    const onResponse = (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`);
    const onFailed = (r) => failed.push(`failed: ${r.url()}`);
    page.on('console', onConsole);
    page.on('response', onResponse);
    page.on('requestfailed', onFailed);
    try {
      await loadUrl(page, 'https://huggingface.co/e2e/bert');
    } finally {
      page.off('console', onConsole);
      page.off('response', onResponse);
      page.off('requestfailed', onFailed);
      await page.unroute(HUB);
    }
    assert.deepEqual(errors, [], 'no error in the console');
    assert.deepEqual(failed, [], 'no failed request');
    // The listing, then the files it lists (config.json first, before the listing is read).
    assert.deepEqual(asked.sort(), ['/api/models/e2e/bert/tree/main', ...names.map((n) => `/e2e/bert/resolve/main/${n}`)].sort());
    const g = golden('bert').cases[1];
    await explainText(page, g.text);
    assertClose('probabilities', (await page.evaluate(() => globalThis.bertlens.state.explanation)).probabilities, g.probabilities, 1e-5);

    // A host with no listing: a tokenizer_config.json with added_tokens_decoder means the legacy
    // special_tokens_map.json and added_tokens.json are not read, so not looked for either.
    const modern = path.join(ROOT, 'www/models/e2e-bert-modern');
    cpSync(dir, modern, { recursive: true });
    try {
      writeFileSync(path.join(modern, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'BertTokenizer', added_tokens_decoder: {} }));
      const from = log.requests.length;
      await loadUrl(page, `${server.url}/models/e2e-bert-modern/`);
      const probed = log.requests.slice(from).filter((r) => r.includes('e2e-bert-modern/')).map((r) => r.split('/').pop());
      assert.ok(probed.includes('tokenizer_config.json'), probed.join(' '));
      assert.ok(!probed.includes('special_tokens_map.json') && !probed.includes('added_tokens.json'), probed.join(' '));
    } finally {
      rmSync(modern, { recursive: true, force: true });
    }
  });

  it('shows what the core says about how the files were read', async () => {
    const d = path.join(tmp, 'bare');
    cpSync(path.join(FIXTURES, 'bert-qa'), d, { recursive: true });
    const config = JSON.parse(readFileSync(path.join(d, 'config.json'), 'utf8'));
    writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...config, architectures: ['BertModel'] }));
    await loadFiles(['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => path.join(d, f)));
    assert.ok(await page.isVisible('#model-warnings'));
    assert.match(await page.textContent('#model-warnings'), /the weights hold tensors bertlens does not use \(qa_outputs/);
    await shot(page, 'model-warnings');
    await loadUrl(page, `${server.url}/models/e2e-bert`);
    assert.ok(await page.isHidden('#model-warnings'), 'the next model has no warnings');
  });

  const copy = (name, edit) => {
    const d = path.join(tmp, name);
    cpSync(path.join(FIXTURES, 'bert'), d, { recursive: true });
    edit?.(d);
    return d;
  };
  const three = (d) => ['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => path.join(d, f));
  const bad = [
    [
      'a corrupt safetensors',
      () =>
        three(
          copy('corrupt', (d) => {
            const w = readFileSync(path.join(d, 'model.safetensors'));
            writeFileSync(path.join(d, 'model.safetensors'), w.subarray(0, w.length - 5000));
          }),
        ),
      /model\.safetensors is not a valid safetensors file: the file is truncated/,
    ],
    [
      'an unsupported model type',
      () => three(copy('gpt2', (d) => writeFileSync(path.join(d, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 32 })))),
      /unsupported model_type "gpt2" in config\.json; bertlens supports: bert, roberta, xlm-roberta, camembert, distilbert, albert, electra, deberta-v2, modernbert/,
    ],
    [
      'an architecture that is not a task bertlens explains',
      () =>
        three(
          copy('multiple-choice', (d) => {
            const c = JSON.parse(readFileSync(path.join(d, 'config.json'), 'utf8'));
            writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...c, architectures: ['BertForMultipleChoice'] }));
          }),
        ),
      /BertForMultipleChoice is not a task bertlens explains/,
    ],
    [
      'a tokenizer.json that is not JSON',
      () => three(copy('badtok', (d) => writeFileSync(path.join(d, 'tokenizer.json'), '<html>not found</html>'))),
      /tokenizer\.json is not valid JSON/,
    ],
    [
      'a folder with TensorFlow weights only',
      () => {
        const d = copy('tf', (dir) => {
          rmSync(path.join(dir, 'model.safetensors'));
          writeFileSync(path.join(dir, 'tf_model.h5'), Buffer.alloc(4096, 1));
        });
        return ['config.json', 'tokenizer.json', 'tf_model.h5'].map((f) => path.join(d, f));
      },
      /it holds TensorFlow weights \(tf_model\.h5\) but no weights \(model\.safetensors, pytorch_model\.bin, or a \.pt\/\.pth checkpoint\); convert them/,
    ],
    ['a missing tokenizer', () => fixtureFiles('bert', 'config.json', 'model.safetensors'), /has no tokenizer \(tokenizer\.json, vocab\.txt, vocab\.json \+ merges\.txt, or a sentencepiece model/],
  ];

  for (const [what, files, message] of bad) {
    it(`says what is wrong with ${what} and keeps the model in use`, async () => {
      const before = await modelName();
      await loadFiles(files());
      const msg = await page.textContent('#model-message');
      assert.match(msg, message);
      assert.match(msg, new RegExp(`still ${before.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.equal(await modelName(), before);
      await explainText(page, 'the hotel was near the station');
      assert.equal(await page.textContent('#run-message'), '');
      await shot(page, `bad-${what.replace(/\W+/g, '-')}`);
    });
  }

  it('a wrong URL is a message, not a crash', async () => {
    await page.fill('#model-url', `${server.url}/models/nowhere`);
    await page.click('#url-form button');
    await page.waitForFunction(() => !globalThis.bertlens.state.loading, null, { timeout: 30000 });
    assert.match(await page.textContent('#model-message'), /nowhere\/config\.json: the server answered 404/);
  });

  it('raised no uncaught error', () => {
    // 404s (the wrong URL above, optional files a hub folder may lack) are the browser's network log, not page errors.
    assert.deepEqual(
      log.errors.filter((e) => !/404/.test(e)),
      [],
    );
  });
});

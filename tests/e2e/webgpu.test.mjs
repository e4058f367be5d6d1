// The page on WebGPU: Chromium's software adapter (SwiftShader) runs the
// engine's kernels, and every number is held to the CPU engine's (the same
// page with ?device=cpu). Without an adapter, the same explanation comes
// from the CPU with a one-line notice. Numbers only: SwiftShader is no
// measure of speed.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { idle, launch, open, shot, startServer } from './harness.mjs';
import { assertClose, settle } from './common.mjs';

// Short, and a cheap first explanation: SwiftShader takes seconds a pass.
const TEXT = 'book a table';
const LINK = `#model=minilm-intent&t=${encodeURIComponent(TEXT)}&method=saliency`;

/** An explanation computed through the page's pool (its workers, its device). */
function run(page, options) {
  return page.evaluate(
    async ([text, options]) => {
      const pool = globalThis.bertlens.pool();
      const req = { text, pair: null, options };
      const kind = globalThis.bertlens.state.vocabulary.methods.find((m) => m.name === options.method).kind;
      if (options.method === 'ig') return pool.integratedGradients(req);
      if (kind === 'perturbation') return pool.perturbation(req);
      return pool.call(0, 'attribute', req);
    },
    [TEXT, options],
  );
}

const CASES = [
  { method: 'ig', n_steps: 4 },
  { method: 'input-x-gradient', output: 'probability' },
  { method: 'occlusion' },
  { method: 'smoothgrad', nt_samples: 2, seed: 7 },
];

describe('WebGPU in the page (SwiftShader)', () => {
  let server;
  let browser;
  let plain;

  before(async () => {
    server = await startServer();
    browser = await launch({ webgpu: true });
    plain = await launch();
  });

  after(async () => {
    await browser?.close();
    await plain?.close();
    server?.stop();
  });

  it('runs attribution on WebGPU with the CPU engine’s numbers, and says where it runs', async () => {
    const { page: gpu, log } = await open(browser, `${server.url}/?device=webgpu${LINK}`);
    const { page: cpu } = await open(browser, `${server.url}/?device=cpu${LINK}`);
    await idle(gpu, 180000);
    await idle(cpu, 180000);
    const device = await gpu.evaluate(() => globalThis.bertlens.pool().device);
    assert.equal(device.kind, 'webgpu', `placed: ${JSON.stringify(device)}`);
    assert.match(device.adapter, /swiftshader/i);
    assert.match(await gpu.textContent('#device-status'), /WebGPU · .*swiftshader/i);
    assert.match(await cpu.textContent('#device-status'), /CPU · \d+ worker/);
    assert.equal(await gpu.inputValue('#device-select'), 'webgpu');
    for (const options of CASES) {
      const [g, c] = [await run(gpu, options), await run(cpu, options)];
      const what = options.method;
      assert.equal(g.device.kind, 'webgpu', `${what}: computed on ${JSON.stringify(g.device)}`);
      assert.equal(c.device.kind, 'cpu');
      assert.equal(g.predicted, c.predicted);
      assertClose(`${what} probabilities`, g.probabilities, c.probabilities, 1e-5);
      const scale = Math.max(...c.attributions.map(Math.abs));
      assertClose(`${what} attributions`, g.attributions.map((x) => x / scale), c.attributions.map((x) => x / scale), 1e-4);
    }
    // The page's own run (the link's) was on the GPU too.
    await settle(gpu, (s, t) => s.input?.text === t && s.explanation && !s.preview, TEXT);
    assert.equal(await gpu.evaluate(() => globalThis.bertlens.state.explanation.device.kind), 'webgpu');
    await shot(gpu, 'webgpu-page');
    assert.deepEqual(log.errors, []);
  });

  it('changes device from the menu, the text and the view kept', async () => {
    const { page } = await open(browser, `${server.url}/?device=cpu${LINK}`);
    await idle(page, 180000);
    await page.fill('#text', 'what I typed stays');
    await page.selectOption('#device-select', 'webgpu');
    await page.waitForFunction(() => globalThis.bertlens.pool().device?.kind === 'webgpu', null, { timeout: 60000 });
    assert.equal(await page.inputValue('#text'), 'what I typed stays');
    await page.selectOption('#device-select', 'cpu');
    await page.waitForFunction(() => globalThis.bertlens.pool().device?.kind === 'cpu', null, { timeout: 60000 });
    assert.match(await page.textContent('#device-status'), /CPU · \d+ worker/);
  });

  it('without an adapter, computes on the CPU and says why in one line', async () => {
    const { page, log } = await open(plain, `${server.url}/?device=webgpu${LINK}`);
    await idle(page, 180000);
    const device = await page.evaluate(() => globalThis.bertlens.pool().device);
    assert.equal(device.kind, 'cpu');
    assert.match(device.notice, /computed on the CPU/);
    assert.match(await page.textContent('#device-notice'), /computed on the CPU/);
    const e = await run(page, { method: 'ig', n_steps: 8 });
    await shot(page, 'webgpu-fallback', { fullPage: false, clip: { x: 0, y: 0, width: 1280, height: 180 } });
    assert.equal(e.device.kind, 'cpu');
    assert.equal(e.attributions.length, e.tokens.length);
    assert.deepEqual(log.errors, []);
  });

  it('<bert-lens device="webgpu"> computes on WebGPU and reports it in bert-lens-result', async () => {
    const { page, log } = await open(browser, `${server.url}/embed/`);
    await page.evaluate((text) => {
      const el = document.createElement('bert-lens');
      el.id = 'on-gpu';
      globalThis.gpuResult = new Promise((resolve, reject) => {
        el.addEventListener('bert-lens-result', (ev) => resolve(ev.detail), { once: true });
        el.addEventListener('bert-lens-error', (ev) => reject(new Error(String(ev.detail))), { once: true });
      });
      for (const [k, v] of Object.entries({ model: 'minilm-intent', device: 'webgpu', method: 'saliency', text })) el.setAttribute(k, v);
      // First on the page: a live figure runs once it is in view (and asks before downloading).
      document.body.prepend(el);
      scrollTo(0, 0);
    }, TEXT);
    await page.locator('#on-gpu').getByRole('button', { name: /Run in your browser/ }).click({ timeout: 60000 });
    const detail = await page.evaluate(() => globalThis.gpuResult);
    assert.equal(detail.device.kind, 'webgpu');
    assert.match(detail.device.adapter, /swiftshader/i);
    const cpu = await (await open(browser, `${server.url}/?device=cpu${LINK}`)).page;
    await idle(cpu, 180000);
    const want = await run(cpu, { method: 'saliency' });
    assertClose('the element on WebGPU', detail.attributions, want.attributions, 1e-4);
    await shot(page, 'webgpu-element');
    assert.deepEqual(log.errors, []);
  });
});

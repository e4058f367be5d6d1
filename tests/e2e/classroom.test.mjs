// Classroom mode: walking the Integrated-Gradients path on the default
// model. The walk's running sum ends on the attribution panel's values and
// its delta on the explanation's; another quadrature rule samples other
// points; the <bert-lens> element draws view="ig-path" live and says that a
// saved explanation does not carry it. Screenshots go to target/e2e/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, open, shot, startPage, stopPage } from './harness.mjs';
import { explainText, settle, shownScores } from './common.mjs';
import { runningSums as sumsOf } from '../../www/js/views/igpath.js';

const TEXT = 'I lost my wallet and need to block my card';

/** The walk's running sums per token, at the point the slider is on. */
const runningSums = (root) =>
  root.$$eval('#igpath-table tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.running)));

/** A number the walk shows (its data-value). */
const shownNumber = (root, cls) => root.$eval(`.${cls}`, (el) => Number(el.dataset.value));

const AXE = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules/axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations within `selector`. */
async function violations(page, selector) {
  if (!(await page.evaluate(() => Boolean(globalThis.axe)))) await page.addScriptTag({ content: AXE });
  return page.evaluate(async (sel) => {
    const result = await globalThis.axe.run(sel, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  }, selector);
}

/** A screenshot of the walk's panel alone. */
async function panelShot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator('#igpath-panel').boundingBox();
  return shot(page, name, { clip: box });
}

/** Waits until the walk has a result for `integration` and is not computing. */
function walked(page, integration) {
  return page.waitForFunction(
    (i) => {
      const w = globalThis.bertlens.state.igPath;
      if (w?.error) return { error: w.error };
      return w && !w.running && w.result?.integration === i && { ok: true };
    },
    integration,
    { timeout: 180000 },
  );
}

describe('the walk’s arithmetic', () => {
  it('runningSums adds each point’s weighted contributions in order', () => {
    const p = { alphas: [0.25, 0.75], weights: [0.5, 0.5], tokens: 2, contributions: [1, -2, 3, 4] };
    const sums = sumsOf(p);
    assert.deepEqual(sums.map((r) => Array.from(r)), [[0.5, -1], [2, 1]]);
  });
});

describe('classroom: walking the Integrated-Gradients path', () => {
  let server;
  let browser;
  let page;
  let log;

  before(async () => {
    ({ server, browser, page, log } = await startPage({ width: 1280, height: 1000, explained: true }));
  });

  after(() => stopPage({ server, browser }));

  it('ends on the attribution panel’s attributions and delta', async () => {
    await page.selectOption('#opt-integration', 'gausslegendre');
    await page.fill('#opt-steps', '20');
    await page.$eval('#opt-steps', (el) => el.dispatchEvent(new Event('change')));
    await explainText(page, TEXT);
    await settle(page, (s) => s.explanation?.ig?.n_steps === 20 && s.explanation.ig.integration === 'gausslegendre' && !s.preview);
    // Collapsed until asked for: a button that says what it costs.
    assert.equal(await page.locator('#igpath-panel .igpath').count(), 0);
    assert.match(await page.textContent('#igpath-cost'), /20 backward passes/);
    await page.click('#igpath-run');
    const out = await (await walked(page, 'gausslegendre')).jsonValue();
    assert.equal(out.error, undefined, `the walk says: ${out.error}`);
    const slider = page.locator('#igpath-k');
    assert.equal(await slider.getAttribute('max'), '19');
    assert.equal(await page.locator('label[for="igpath-k"]').count(), 1);
    assert.match(await slider.getAttribute('aria-valuetext'), /^point 1 of 20: α = /);
    // The keyboard moves it: to the end.
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => globalThis.bertlens.state.igPath.k === 1);
    await page.keyboard.press('End');
    await page.waitForFunction(() => globalThis.bertlens.state.igPath.k === 19);
    assert.match(await slider.getAttribute('aria-valuetext'), /^point 20 of 20: α = /);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'igpath-k', 'the slider keeps the focus');
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    const running = await runningSums(page);
    const panel = await shownScores(page);
    assert.equal(running.length, e.attributions.length);
    running.forEach((r, i) => {
      assert.ok(Math.abs(r - e.attributions[i]) <= 1e-5, `token ${i}: running sum ${r}, explanation ${e.attributions[i]}`);
      assert.ok(Math.abs(r - panel[i]) <= 1e-5, `token ${i}: running sum ${r}, attribution panel ${panel[i]}`);
    });
    const delta = await shownNumber(page, 'igpath-delta');
    const sum = await shownNumber(page, 'igpath-sum');
    const span = await shownNumber(page, 'igpath-span');
    assert.ok(Math.abs(delta - e.delta) <= 1e-5, `walk's delta ${delta}, explanation's ${e.delta}`);
    assert.ok(Math.abs(span - (e.score - e.ig.baseline_score)) <= 1e-5, `F(x) − F(x′): ${span}`);
    assert.ok(Math.abs(sum - span - delta) <= 1e-9);
    assert.match(await page.textContent('.igpath-end'), /the attributions shown above, and the delta is theirs/);
    // Twenty points on the curve, the chosen one marked; a fine curve of 41.
    assert.equal(await page.locator('#igpath-plot circle[data-alpha]').count(), 20);
    assert.equal(await page.locator('#igpath-plot circle[data-alpha].selected').count(), 1);
    const curve = await page.getAttribute('#igpath-plot polyline.igpath-curve', 'points');
    assert.equal(curve.trim().split(/\s+/).length, 41);
    // Halfway, the sum is not there yet and says so.
    await page.keyboard.press('Home');
    await page.waitForFunction(() => globalThis.bertlens.state.igPath.k === 0);
    const first = await shownNumber(page, 'igpath-sum');
    await panelShot(page, 'classroom-igpath-start');
    await page.locator('#igpath-k').focus();
    assert.ok(Math.abs(first - sum) > 1e-3 * Math.max(1, Math.abs(sum)), `after one point ${first}, after all ${sum}`);
    await page.keyboard.press('End');
    await page.waitForFunction(() => globalThis.bertlens.state.igPath.k === 19);
    await panelShot(page, 'classroom-igpath');
    assert.deepEqual(await violations(page, '#igpath-panel'), [], 'axe-core on the walk');
  });

  it('another rule samples the path at other points', async () => {
    const before = await page.evaluate(() => globalThis.bertlens.state.igPath.result.alphas);
    await page.selectOption('#igpath-rule', 'riemann_right');
    const out = await (await walked(page, 'riemann_right')).jsonValue();
    assert.equal(out.error, undefined, `the walk says: ${out.error}`);
    const w = await page.evaluate(() => globalThis.bertlens.state.igPath);
    assert.equal(w.result.alphas.length, 20);
    assert.ok(Math.abs(w.result.alphas.at(-1) - 1) < 1e-12, 'riemann_right ends at α = 1');
    assert.ok(w.result.alphas.every((a, i) => Math.abs(a - (i + 1) / 20) < 1e-12));
    assert.ok(before.every((a) => !w.result.alphas.some((b) => Math.abs(a - b) < 1e-9)), 'the rules share no point');
    assert.equal(await page.inputValue('#igpath-rule'), 'riemann_right');
    // Its running sum ends on its own attributions, and its delta is not Gauss–Legendre's.
    await page.locator('#igpath-k').focus();
    await page.keyboard.press('End');
    await page.waitForFunction(() => globalThis.bertlens.state.igPath.k === 19);
    const running = await runningSums(page);
    running.forEach((r, i) => assert.ok(Math.abs(r - w.result.attributions[i]) <= 1e-5, `token ${i}`));
    const e = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.ok(Math.abs(w.result.delta - e.delta) > 1e-6, `riemann_right delta ${w.result.delta}, gausslegendre ${e.delta}`);
    assert.ok(Math.abs((await shownNumber(page, 'igpath-delta')) - w.result.delta) <= 1e-5);
    assert.match(await page.textContent('.igpath-end'), /20 riemann_right steps \(the explanation above uses 20 gausslegendre steps\)/);
    // Fewer steps: the select walks again with 5.
    await page.selectOption('#igpath-steps', '5');
    await page.waitForFunction(() => {
      const x = globalThis.bertlens.state.igPath;
      return !x.running && x.result.alphas.length === 5;
    }, null, { timeout: 180000 });
    assert.equal(await page.locator('#igpath-plot circle[data-alpha]').count(), 5);
    await panelShot(page, 'classroom-igpath-riemann');
    // The dark theme: the plot and the numbers follow it, and stay accessible.
    await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
    await panelShot(page, 'classroom-igpath-dark');
    assert.deepEqual(await violations(page, '#igpath-panel'), [], 'axe-core on the walk, dark');
    await page.evaluate(() => delete document.documentElement.dataset.theme);
    assert.deepEqual(log.errors, []);
  });

  it('the element draws view="ig-path" live, and says a saved explanation does not carry it', async () => {
    const file = path.join(ROOT, 'www/embed/e2e-classroom.html');
    writeFileSync(
      file,
      `<!doctype html><html lang="en"><meta charset="utf-8"><title>classroom</title><link rel="icon" href="data:,">
<script>
  window.events = [];
  for (const type of ['bert-lens-result', 'bert-lens-error']) {
    document.addEventListener(type, (ev) => window.events.push({ type, id: ev.target.id, detail: ev.detail }));
  }
</script>
<script type="module" src="../bert-lens.js"></script>
<body style="margin: 20px; font-family: sans-serif">
  <bert-lens id="saved" src="card-declined.json" view="ig-path"></bert-lens>
  <bert-lens id="walk" model="minilm-intent" text="${TEXT}" view="ig-path" n-steps="10"></bert-lens>
</body></html>`,
    );
    try {
      const { page: p, log: l } = await open(browser, `${server.url}/embed/e2e-classroom.html`);
      await p.waitForFunction(() => document.getElementById('saved').shadowRoot?.textContent.includes('does not carry'), null, { timeout: 30000 });
      const run = p.locator('#walk').getByRole('button', { name: /Run in your browser/ });
      await run.waitFor({ timeout: 30000 });
      await run.click();
      await p.waitForFunction(() => window.events.some((e) => e.id === 'walk'), null, { timeout: 180000 });
      const ev = await p.evaluate(() => window.events.find((e) => e.id === 'walk'));
      assert.equal(ev.type, 'bert-lens-result', `the element says: ${ev.detail}`);
      const walk = p.locator('#walk');
      await walk.locator('.igpath').waitFor({ timeout: 30000 });
      assert.equal(await walk.locator('#igpath-plot circle[data-alpha]').count(), 10);
      // It opens on the last point: the running sum is the explanation's attributions.
      const running = await walk.locator('#igpath-table tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.running)));
      running.forEach((r, i) => assert.ok(Math.abs(r - ev.detail.attributions[i]) <= 1e-5, `token ${i}: ${r} vs ${ev.detail.attributions[i]}`));
      await walk.locator('#igpath-k').focus();
      await p.keyboard.press('Home');
      assert.match(await walk.locator('#igpath-k').getAttribute('aria-valuetext'), /^point 1 of 10/);
      await shot(p, 'classroom-element');
      assert.deepEqual(l.errors, []);
    } finally {
      rmSync(file, { force: true });
    }
  });
});

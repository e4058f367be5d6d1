// Accessibility: axe-core (injected from node_modules, no network) on the
// page with an explanation (each attention view), the dataset workbench, the
// dark theme and the colour-blind palette, and on the embed example (the
// <bert-lens> elements' open shadow roots included): no serious or critical
// violation. The views by keyboard: the tabs, the head view (tokens, heads,
// its live region), the model view's thumbnails, the heatmap. Screenshots go
// to target/e2e/a11y-*.png.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, open, shot, startPage, stopPage } from './harness.mjs';
import { assertAccessible, explainText } from './common.mjs';

const SET = readFileSync(path.join(ROOT, 'data/intents-example.csv'), 'utf8').split('\n').slice(0, 41).join('\n');
const TEXT = 'my card was declined at the grocery store';

/** A screenshot of the element `selector` only (target/e2e/NAME.png). */
async function shotOf(page, name, selector) {
  const clip = await page.$eval(selector, (e) => {
    const r = e.getBoundingClientRect();
    return { x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height };
  });
  return shot(page, name, { clip });
}

/** The page's background and text colours, as computed. */
const colours = (page) => page.evaluate(() => ({ bg: getComputedStyle(document.documentElement).backgroundColor, ink: getComputedStyle(document.body).color }));

/** Relative luminance (WCAG) of `rgb(r, g, b)`. */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map((c) => {
    const v = Number(c) / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The hue (degrees) of `rgb(r, g, b)`. */
function hue(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map((c) => Number(c) / 255);
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  if (d === 0) return 0;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

describe('accessibility', () => {
  let server;
  let browser;
  let page;
  let log;

  before(async () => {
    ({ server, browser, page, log } = await startPage({ width: 1280, height: 1000 }));
    await explainText(page, TEXT);
  });

  after(() => stopPage({ server, browser }));

  it('the page with an explanation, in each attention view: no serious or critical axe violation', async () => {
    for (const tab of ['head', 'model', 'neuron', 'heatmap']) {
      await page.click(`#tab-${tab}`);
      await page.waitForSelector(`#view-${tab}:not([hidden]) > *`);
      await assertAccessible(page, `the page, ${tab} view`);
    }
    await page.click('#tab-head');
    assert.deepEqual(log.errors, []);
  });

  it('the tabs, the head view, the model view and the heatmap work from the keyboard', async () => {
    // Tabs: one Tab stop, arrows move and open.
    await page.focus('#tab-head');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-model');
    assert.equal(await page.isVisible('#view-model'), true);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.isVisible('#view-head'), true);

    // Head view: the canvas takes focus; arrows move between tokens as a hover does.
    const all = Number(await page.getAttribute('#head-canvas', 'data-lines'));
    await page.focus('#head-canvas');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const hover = await page.evaluate(() => globalThis.bertlens.state.view.head.hover);
    assert.deepEqual(hover, { side: 'left', index: 2 });
    assert.ok(Number(await page.getAttribute('#head-canvas', 'data-lines')) < all, 'one token’s lines only');
    const said = await page.textContent('#head-live');
    assert.match(said, /^token 'card': strongest attention to '.+' \(\d\.\d\d\)$/);
    assert.equal(await page.getAttribute('#head-live', 'aria-live'), 'polite');
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await page.evaluate(() => globalThis.bertlens.state.view.head.hover), { side: 'right', index: 2 });
    assert.match(await page.textContent('#head-live'), /^token 'card' \(key\): most attention from/);
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.view.head.hover), null);
    assert.equal(Number(await page.getAttribute('#head-canvas', 'data-lines')), all);
    await page.keyboard.press('ArrowDown');
    await shotOf(page, 'a11y-head-keyboard', '#view-head');

    // Heads: one Tab stop; arrows move, Enter toggles and keeps the focus, Shift+Enter isolates.
    const heads = await page.$$eval('.heads button', (bs) => bs.map((b) => b.tabIndex));
    assert.equal(heads.filter((t) => t === 0).length, 1, 'one Tab stop in the heads');
    await page.focus('.heads button[tabindex="0"]');
    const first = Number(await page.evaluate(() => document.activeElement.dataset.head));
    await page.keyboard.press('ArrowRight');
    const k = first + 1;
    assert.equal(await page.evaluate(() => Number(document.activeElement.dataset.head)), k);
    const before = await page.getAttribute('#head-canvas', 'data-heads');
    await page.keyboard.press('Enter');
    assert.notEqual(await page.getAttribute('#head-canvas', 'data-heads'), before);
    assert.equal(await page.evaluate(() => Number(document.activeElement.dataset.head)), k, 'the focus stays on the head');
    assert.equal(await page.getAttribute(`.heads button[data-head="${k}"]`, 'aria-pressed'), before.split(',').includes(String(k)) ? 'false' : 'true');
    await page.keyboard.press('Shift+Enter');
    assert.equal(await page.getAttribute('#head-canvas', 'data-heads'), String(k));
    await page.keyboard.press(' ');
    await page.keyboard.press('Shift+Enter'); // every head back
    await page.keyboard.press('Shift+Enter');
    assert.equal((await page.getAttribute('#head-canvas', 'data-heads')).split(',').length, 12);

    // Model view: one Tab stop, arrows move, Enter opens the head in the head view.
    await page.click('#tab-model');
    await page.focus('#model-grid canvas.thumb[tabindex="0"]');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await page.evaluate(() => ({ ...document.activeElement.dataset, lines: undefined })), { layer: '1', head: '1', lines: undefined });
    await page.keyboard.press('Enter');
    assert.equal(await page.isVisible('#view-head'), true);
    assert.equal(await page.getAttribute('#head-canvas', 'data-layer'), '1');
    assert.equal(await page.getAttribute('#head-canvas', 'data-heads'), '1');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'head-canvas');

    // Neuron view: a key becomes the query by keyboard; the focus stays on it.
    await page.click('#tab-neuron');
    await page.focus('#neuron-table button.tok-pick[data-key="4"]');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.view.neuron.query), 4);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.key), '4');
    // The layer select redraws the view: the focus stays on it.
    await page.focus('#neuron-layer');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'neuron-layer');

    // Heatmap: arrows move a cell cursor whose value the live line says.
    await page.click('#tab-heatmap');
    await page.focus('#heatmap-canvas');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.match(await page.textContent('#heatmap-tip'), /^my → my: \d/);
    assert.equal(await page.isVisible('.heat-cursor'), true);
    await page.click('#tab-head');
    // Back to every head on layer 0, for what follows.
    await page.selectOption('#head-layer', '0');
    assert.deepEqual(log.errors, []);
  });

  it('the dataset workbench, with a small set run: no serious or critical axe violation', async () => {
    await page.click('#mode-dataset');
    await page.evaluate(() => (document.getElementById('dataset-paste-box').open = true));
    await page.fill('#dataset-paste', SET);
    await page.click('#dataset-paste-read');
    await page.waitForFunction(() => {
      const d = globalThis.bertlens.state.dataset;
      return d.source === 'the pasted rows' && !d.parsing && d.table;
    });
    await page.click('#dataset-run');
    await page.waitForFunction(
      () => {
        const d = globalThis.bertlens.state.dataset;
        return d.message?.kind === 'error' || (d.run && !d.run.running);
      },
      null,
      { timeout: 180000 },
    );
    await page.waitForSelector('#dataset-results:not([hidden])');
    await assertAccessible(page, 'the dataset workbench');
    await page.click('#mode-text');
    assert.deepEqual(log.errors, []);
  });

  it('has a dark theme: the system’s, or the header’s toggle, remembered', async () => {
    // How much ink the head view's lines put between the token columns (alpha summed, in pixels).
    const lineInk = () =>
      page.$eval('#head-canvas', (c) => {
        const r = c.width / c.getBoundingClientRect().width;
        const xL = 12 * 7 + 8 + 130; // the heads' squares and the query column (12 heads)
        const d = c.getContext('2d').getImageData(Math.round((xL + 10) * r), 0, Math.round(150 * r), c.height).data;
        let sum = 0;
        for (let i = 3; i < d.length; i += 4) sum += d[i] / 255;
        return sum / (r * r);
      });
    await page.click('#tab-head');
    await page.waitForSelector('#head-canvas');
    // Every head shown: where weight ÷ heads made the lines faint.
    // (Each click redraws the picker: the next one is looked up anew.)
    while (await page.$('.heads button[aria-pressed="false"]')) await page.click('.heads button[aria-pressed="false"]');
    assert.equal((await page.getAttribute('#head-canvas', 'data-heads')).split(',').length, 12);
    await shotOf(page, 'a11y-light-head-lines', '#attention-panel');
    const lightInk = await lineInk();
    const light = await colours(page);
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await page.inputValue('#theme-select'), 'auto');
    const dark = await colours(page);
    assert.ok(luminance(dark.bg) < 0.05 && luminance(dark.ink) > 0.6, `auto follows the system: ${JSON.stringify(dark)}`);
    await page.selectOption('#theme-select', 'light');
    assert.deepEqual(await colours(page), light);
    assert.equal(await page.evaluate(() => [document.documentElement.dataset.theme, localStorage.getItem('bertlens.theme')].join()), 'light,light');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.selectOption('#theme-select', 'dark');
    assert.deepEqual(await colours(page), dark);
    await page.click('#tab-head');
    // On the dark background the same lines are drawn brighter, as light: not weight ÷ heads.
    const darkInk = await lineInk();
    assert.ok(darkInk > 2 * lightInk, `the lines' ink: ${darkInk} in the dark, ${lightInk} in the light`);
    await shotOf(page, 'a11y-dark-head-lines', '#attention-panel');
    await page.focus('#head-canvas');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await shot(page, 'a11y-dark');
    const drawn = { head: '#head-canvas', model: '#model-grid', neuron: '#neuron-table', heatmap: '#heatmap-canvas' };
    for (const tab of ['head', 'model', 'neuron', 'heatmap']) {
      await page.click(`#tab-${tab}`);
      await page.waitForSelector(drawn[tab]);
      await shotOf(page, `a11y-dark-${tab}`, '#attention-panel');
      await assertAccessible(page, `the page in the dark, ${tab} view`);
    }
    await page.click('#tab-head');
    await page.click('#mode-dataset');
    await shot(page, 'a11y-dark-workbench');
    await assertAccessible(page, 'the dataset workbench in the dark');
    await page.click('#mode-text');
    // Remembered: a new visit in the same browser starts dark.
    const again = await page.context().newPage();
    await again.goto(`${server.url}/`);
    assert.equal(await again.evaluate(() => document.documentElement.dataset.theme), 'dark');
    assert.equal(await again.inputValue('#theme-select'), 'dark');
    await again.close();
    await page.selectOption('#theme-select', 'auto');
    assert.deepEqual(await colours(page), light);
  });

  it('has a colour-blind-safe palette (blue/orange) besides Captum’s green/red', async () => {
    const mark = () => page.$$eval('#record mark.tok', (ms) => ms.map((m) => [Number(m.dataset.score), getComputedStyle(m).backgroundColor]));
    const bar = (cls) => page.$eval(`#bar-chart rect.${cls}`, (r) => getComputedStyle(r).fill).catch(() => null);
    const strongest = (ms) => ms.reduce((a, b) => (b[0] > a[0] ? b : a));
    const captum = strongest(await mark());
    assert.ok(Math.abs(hue(captum[1]) - 120) < 5, `Captum's green: ${captum[1]}`);
    await page.selectOption('#palette-select', 'colorblind');
    // What was drawn changes at once.
    const blue = strongest(await mark());
    assert.ok(Math.abs(hue(blue[1]) - 210) < 8, `positive is blue: ${blue[1]}`);
    assert.ok(Math.abs(hue(await bar('pos')) - 210) < 8, 'positive bars are blue');
    const negative = await bar('neg');
    if (negative) assert.ok(Math.abs(hue(negative) - 30) < 8, `negative bars are orange: ${negative}`);
    await shot(page, 'a11y-palette');
    await page.click('#mode-dataset');
    await shot(page, 'a11y-palette-workbench');
    await page.click('#mode-text');
    await assertAccessible(page, 'the page with the colour-blind palette');
    // Drawn anew with it, and remembered.
    await explainText(page, 'please cancel my card, it was declined');
    const drawn = await page.$$eval('#record mark.tok', (ms) => ms.map((m) => [Number(m.dataset.score), m.style.backgroundColor]));
    assert.ok(Math.abs(hue(strongest(drawn)[1]) - 210) < 8, `drawn blue: ${strongest(drawn)[1]}`);
    assert.equal(await page.evaluate(() => localStorage.getItem('bertlens.palette')), 'colorblind');
    await page.selectOption('#theme-select', 'dark');
    await shot(page, 'a11y-palette-dark');
    await assertAccessible(page, 'the colour-blind palette in the dark');
    await page.selectOption('#theme-select', 'auto');
    await page.selectOption('#palette-select', 'captum');
    await explainText(page, TEXT);
    assert.deepEqual(strongest(await mark()), captum, "Captum's colours exactly, again");
    assert.deepEqual(log.errors, []);
  });

  it('honours prefers-reduced-motion', async () => {
    await page.emulateMedia({ reducedMotion: 'reduce' });
    const still = await page.evaluate(() => [...document.querySelectorAll('*')].every((e) => {
      const s = getComputedStyle(e);
      return s.animationName === 'none' && ['0s', ''].includes(s.transitionDuration.split(',')[0].trim());
    }));
    assert.ok(still, 'no animation or transition');
    await page.emulateMedia({ reducedMotion: 'no-preference' });
  });

  it('the embed example: no serious or critical axe violation, light or dark', async () => {
    const { page: doc, log: docLog, context } = await open(browser, `${server.url}/embed/index.html`, { width: 1000, height: 900 });
    await doc.waitForFunction(() => ['saved', 'themed', 'dark'].every((id) => document.getElementById(id)?.shadowRoot?.querySelector('#record')));
    await doc.evaluate(() => document.getElementById('live').scrollIntoView());
    await doc.locator('#live').getByRole('button', { name: /Run in your browser/ }).waitFor({ timeout: 30000 });
    await assertAccessible(doc, 'the embed example');
    await doc.emulateMedia({ colorScheme: 'dark' });
    await assertAccessible(doc, 'the embed example, the system dark');
    // palette="colorblind" on an element: blue and orange (styles.js only).
    await doc.evaluate(() => document.getElementById('saved').setAttribute('palette', 'colorblind'));
    const fill = await doc.evaluate(() => getComputedStyle(document.getElementById('saved').shadowRoot.querySelector('#bar-chart rect.pos')).fill);
    assert.ok(Math.abs(hue(fill) - 210) < 10, `palette="colorblind": ${fill}`);
    await doc.evaluate(() => document.getElementById('dark').setAttribute('palette', 'colorblind'));
    await assertAccessible(doc, 'the embed example, colour-blind palette');
    await shot(doc, 'a11y-embed');
    // The live figures run: the head view and the step-through inside elements, each checked.
    await doc.emulateMedia({ colorScheme: 'light' });
    await doc.locator('#live').getByRole('button', { name: /Run in your browser/ }).click();
    for (const id of ['heads', 'steps']) {
      await doc.evaluate((i) => document.getElementById(i).scrollIntoView(), id);
      await doc.waitForFunction((i) => document.getElementById(i).shadowRoot.querySelector('#head-canvas, #step-body'), id, { timeout: 120000 });
    }
    for (const step of ['qkv', 'softmax', 'context', 'ffn']) {
      await doc.locator('#steps').locator(`button[data-step=${step}]`).click();
      await doc.waitForFunction((s) => document.getElementById('steps').shadowRoot.querySelector(`#step-body[data-step=${s}]`), step);
      await assertAccessible(doc, `the embed example's step-through, step ${step}`);
    }
    await doc.evaluate(() => (document.getElementById('heads').view = 'model neuron ig-path'));
    await doc.waitForFunction(() => document.getElementById('heads').shadowRoot.querySelector('canvas.thumb') && document.getElementById('heads').shadowRoot.querySelector('#neuron-table') && document.getElementById('heads').shadowRoot.querySelector('.igpath-slider'), null, { timeout: 120000 });
    await assertAccessible(doc, 'the embed example, live model, neuron and ig-path views');
    assert.deepEqual(docLog.errors, []);
    await context.close();
  });
});

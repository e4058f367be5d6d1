// Exports, as a user makes them: every view of the page and of <bert-lens>
// as SVG (parsed, and drawn by the browser as an image), PNG at 2× (its
// header read, then decoded and its pixels looked at), the attribution
// record as a self-contained HTML page (opened from disk with every request
// but file: refused) and the JSON (drawn again through src). The files land
// in target/e2e/exports/; look at them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHOTS, startPage, stopPage } from './harness.mjs';
import { DEFAULT_MODEL, assertClose, cli, explainText, shownScores } from './common.mjs';

const OUT = path.join(SHOTS, 'exports');

/** Clicks `selector`, which downloads a file; saves it in OUT; resolves to {name, bytes}. */
async function downloaded(page, selector) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const bytes = readFileSync(await d.path());
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, d.suggestedFilename()), bytes);
  return { name: d.suggestedFilename(), bytes };
}

/** An SVG export parsed as XML and drawn as an image, by the browser. */
function svgFacts(page, svg) {
  return page.evaluate(async (svg) => {
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    const error = doc.querySelector('parsererror');
    if (error) return { error: error.textContent };
    const root = doc.documentElement;
    const img = new Image();
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
    await img.decode();
    return {
      name: root.localName,
      ns: root.namespaceURI,
      width: Number(root.getAttribute('width')),
      height: Number(root.getAttribute('height')),
      drawn: [img.naturalWidth, img.naturalHeight],
      text: root.textContent,
      images: [...root.getElementsByTagName('img')].map((i) => i.getAttribute('src').slice(0, 21)),
      // Each canvas image's pixels per CSS pixel.
      ratios: await Promise.all(
        [...root.getElementsByTagName('img')].map(async (i) => {
          const im = new Image();
          im.src = i.getAttribute('src');
          await im.decode();
          return im.naturalWidth / parseFloat(i.style.width);
        }),
      ),
      scripts: root.getElementsByTagName('script').length,
    };
  }, svg);
}

/** A PNG's size from its header (IHDR), and its pixels as the browser decodes them. */
async function pngFacts(page, bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  const header = { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  const decoded = await page.evaluate(async (b64) => {
    const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
    const bmp = await createImageBitmap(blob);
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(bmp, 0, 0);
    const px = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    const colours = new Set();
    let ink = 0;
    let green = 0;
    let blue = 0;
    let dark = 0;
    for (let i = 0; i < px.length; i += 4 * 7) {
      const [r, g, b] = [px[i], px[i + 1], px[i + 2]];
      colours.add((r >> 4) * 256 + (g >> 4) * 16 + (b >> 4));
      if (r + g + b < 300) ink++;
      if (r + g + b < 120) dark++;
      if (g > r + 60 && g > b + 60) green++;
      if (b > r + 60 && b > g + 20) blue++;
    }
    const n = px.length / 4 / 7;
    return { width: bmp.width, height: bmp.height, colours: colours.size, ink, green, blue, darkShare: dark / n };
  }, bytes.toString('base64'));
  assert.equal(decoded.width, header.width);
  return { ...header, ...decoded };
}

/** Opens an HTML export from disk, every request but file: refused; resolves to what it shows and asked for. */
async function openOffline(browser, file, read) {
  const context = await browser.newContext({ offline: true });
  const requests = [];
  await context.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.request().url().startsWith('file:') ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(pathToFileURL(file).href);
    return { ...(await page.evaluate(read)), requests, errors };
  } finally {
    await context.close();
  }
}

/** In an HTML export: the record's scores, the JSON it carries, and whether any script ran. */
const readExport = () => ({
  scores: [...document.querySelectorAll('mark.tok')].map((m) => Number(m.dataset.score)),
  tokens: [...document.querySelectorAll('mark.tok')].map((m) => m.textContent),
  json: JSON.parse(document.getElementById('bertlens-explanation')?.textContent ?? 'null'),
  text: document.body.textContent,
  background: getComputedStyle(document.querySelector('.bertlens-export')).backgroundColor,
});

describe('exports', () => {
  let server;
  let browser;
  let page;
  let log;
  const text = 'my card was declined at the <b>shop</b>';
  let want;

  before(async () => {
    want = cli('--model', DEFAULT_MODEL, text);
    ({ server, browser, page, log } = await startPage({ explained: true }));
    await explainText(page, text);
    assertClose('attributions', await shownScores(page), want.attributions, 1e-4);
  });

  after(() => stopPage({ server, browser }));

  it('the attribution record: SVG, PNG at 2× and an HTML page that opens offline', async () => {
    const svg = await downloaded(page, '#attribution-panel [data-export=svg]');
    assert.match(svg.name, /^bertlens-attribution-my-card-was-declined-at-the-b-shop-b\.svg$/);
    const s = await svgFacts(page, svg.bytes.toString('utf8'));
    assert.equal(s.error, undefined, `the SVG parses: ${s.error}`);
    assert.equal(s.name, 'svg');
    assert.equal(s.ns, 'http://www.w3.org/2000/svg');
    assert.deepEqual(s.drawn, [s.width, s.height], 'the browser draws it at its size');
    assert.ok(s.width > 600 && s.height > 150, `${s.width}×${s.height}`);
    for (const t of want.tokens.filter((t) => !t.startsWith('['))) assert.ok(s.text.includes(t), `the SVG shows ${t}`);
    assert.ok(s.text.includes(want.predicted_label));
    assert.equal(s.scripts, 0);
    // The text's markup is text, escaped: no <b> element in the export.
    assert.ok(/&lt;/.test(svg.bytes.toString('utf8')) && !/<b>shop/.test(svg.bytes.toString('utf8')));

    const png = await downloaded(page, '#attribution-panel [data-export=png]');
    const p = await pngFacts(page, png.bytes);
    assert.equal(p.width, 2 * s.width, 'PNG at twice the SVG width');
    assert.equal(p.height, 2 * s.height);
    assert.ok(p.ink > 100, 'the PNG has text');
    assert.ok(p.green > 100, 'and the green of positive attributions');

    const html = await downloaded(page, '#attribution-panel [data-export=html]');
    const file = path.join(OUT, html.name);
    const shown = await openOffline(browser, file, readExport);
    assert.deepEqual(shown.errors, []);
    assert.deepEqual(
      shown.requests.filter((u) => !u.startsWith('file:')),
      [],
      'the HTML asks for nothing',
    );
    assertClose('the HTML record', shown.scores, want.attributions, 1e-4);
    assert.equal(shown.json.text, text);
    assertClose('the JSON inside the HTML', shown.json.attributions, want.attributions, 1e-4);
    assert.ok(!/<b>shop<\/b>/.test(html.bytes.toString('utf8').split('bertlens-explanation')[0]), 'the text is escaped');
  });

  it('the prediction and every attention view: SVG and PNG', async () => {
    const pred = await downloaded(page, '#prediction-panel [data-export=svg]');
    const s = await svgFacts(page, pred.bytes.toString('utf8'));
    assert.equal(s.error, undefined);
    assert.ok(s.text.includes(want.predicted_label));
    for (const tab of ['head', 'model', 'neuron', 'heatmap']) {
      await page.click(`#tab-${tab}`);
      await page.waitForFunction((t) => !document.getElementById(`view-${t}`).hidden && document.getElementById(`view-${t}`).childElementCount > 0, tab);
      const svg = await downloaded(page, '#attention-panel [data-export=svg]');
      assert.equal(svg.name, `bertlens-attention-${tab}-my-card-was-declined-at-the-b-shop-b.svg`);
      const f = await svgFacts(page, svg.bytes.toString('utf8'));
      assert.equal(f.error, undefined, `${tab}: ${f.error}`);
      assert.deepEqual(f.drawn, [f.width, f.height]);
      // Canvases travel as PNG images.
      for (const src of f.images) assert.equal(src, 'data:image/png;base64', `${tab}: a canvas as an image`);
      if (tab === 'head') assert.ok(f.images.length >= 1, 'the head view’s lines are in the SVG');
      // The canvases are drawn again at 2× for the export (the screen here is 1×).
      if (tab !== 'neuron') for (const r of f.ratios) assert.ok(Math.abs(r - 2) < 0.05, `${tab}: a canvas at ${r}× in the export`);
      const png = await downloaded(page, '#attention-panel [data-export=png]');
      const p = await pngFacts(page, png.bytes);
      assert.equal(p.width, 2 * f.width, tab);
      assert.ok(p.colours > 8, `${tab}: the PNG is not blank (${p.colours} colours)`);
    }
    await page.click('#tab-head');
    assert.deepEqual(log.errors, []);
  });

  it('<bert-lens exports>: buttons and methods give the same files; the JSON goes back through src', async () => {
    const got = await page.evaluate(async (json) => {
      await import('/bert-lens.js');
      const b = document.createElement('bert-lens');
      b.setAttribute('exports', '');
      b.setAttribute('view', 'all');
      b.id = 'exported';
      b.src = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
      document.body.prepend(b);
      await new Promise((r) => b.addEventListener('bert-lens-result', r, { once: true }));
      return { svg: b.toSvg(), html: b.toHtml(), hasButtons: !b.shadowRoot.querySelector('[part=exports]').hidden };
    }, JSON.stringify({ ...want, text }));
    assert.ok(got.hasButtons, 'exports shows the buttons');
    const s = await svgFacts(page, got.svg);
    assert.equal(s.error, undefined);
    assert.ok(s.text.includes(want.predicted_label) && s.text.includes('declined'));
    const png = await downloaded(page, '#exported >> [data-export=png]');
    assert.match(png.name, /^bertlens-all-my-card-was-declined/);
    const p = await pngFacts(page, png.bytes);
    assert.equal(p.width, 2 * s.width);
    assert.ok(p.green > 100);
    const file = path.join(OUT, 'element.html');
    writeFileSync(file, got.html);
    const shown = await openOffline(browser, file, readExport);
    assert.deepEqual(shown.requests.filter((u) => !u.startsWith('file:')), []);
    assertClose('the element’s HTML', shown.scores, want.attributions, 1e-4);
    // The JSON an export carries draws the same through src.
    const again = await page.evaluate(async (json) => {
      const b = document.createElement('bert-lens');
      b.src = URL.createObjectURL(new Blob([JSON.stringify(json)], { type: 'application/json' }));
      document.body.prepend(b);
      await new Promise((r) => b.addEventListener('bert-lens-result', r, { once: true }));
      return [...b.shadowRoot.querySelectorAll('mark.tok')].map((m) => Number(m.dataset.score));
    }, shown.json);
    assertClose('again through src', again, want.attributions, 1e-4);
    await page.evaluate(() => document.querySelectorAll('bert-lens').forEach((b) => b.remove()));
  });

  it('an export shows the theme and palette shown: dark, blue/orange', async () => {
    await page.selectOption('#theme-select', 'dark');
    await page.selectOption('#palette-select', 'colorblind');
    try {
      const svg = await downloaded(page, '#attribution-panel [data-export=svg]');
      const s = await svgFacts(page, svg.bytes.toString('utf8'));
      assert.equal(s.error, undefined);
      const png = await downloaded(page, '#attribution-panel [data-export=png]');
      const p = await pngFacts(page, png.bytes);
      assert.ok(p.darkShare > 0.5, `a dark background (${(100 * p.darkShare).toFixed(0)}% dark pixels)`);
      assert.ok(p.blue > 100, `blue for positive attributions (${p.blue})`);
      assert.ok(p.green < 20, `no Captum green (${p.green})`);
    } finally {
      await page.selectOption('#theme-select', 'light');
      await page.selectOption('#palette-select', 'captum');
    }
  });
});

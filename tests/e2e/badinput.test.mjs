// Bad input that used to get through, in Debian's Chromium on the default
// model: a shared link with options the page does not have (the defaults
// are used and a notice names each value; Explain works), an n_steps over
// the core's cap (the field says so and nothing runs; what was typed stays),
// and labelled sets with bad rows (reported by line; not loaded, or loaded
// without them, as the user chooses). Screenshots go to target/e2e/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { idle, open, shot, startPage, stopPage } from './harness.mjs';
import { assertAccessible, settle } from './common.mjs';

const MODEL = 'MiniLM-L6 intent classifier';

/** Takes a screenshot in the light theme and in the dark one, each checked by axe-core. */
async function shots(page, name, options = {}) {
  for (const theme of ['light', 'dark']) {
    await page.selectOption('#theme-select', theme);
    await shot(page, `${name}-${theme}`, options);
    await assertAccessible(page, `${name}, ${theme}`);
  }
  await page.selectOption('#theme-select', 'auto');
}

describe('bad input that used to get through', () => {
  let server;
  let browser;
  let page;
  let log;

  before(async () => {
    ({ server, browser, page, log } = await startPage({ width: 1280, height: 1000, explained: true }));
  });

  after(() => stopPage({ server, browser }));

  it("a link's options the page lacks fall back to the defaults, with a notice naming each; the valid ones are kept", async () => {
    const text = 'what is my account balance';
    const frag = `model=minilm-intent&t=${encodeURIComponent(text)}&baseline=zzz&method=saliency&integration=foo&n_steps=5000&tolerance=0.3&layer=embeddings&norm=l1&tab=nope&target=9999`;
    const other = await open(browser, `${server.url}/#${frag}`);
    try {
      await idle(other.page, 120000);
      await settle(other.page, (s, t) => s.input?.text === t && s.explanation, text);
      const notice = "The link's baseline=zzz, integration=foo, n_steps=5000, tolerance=0.3, tab=nope and target=9999 are not options here; the defaults are used.";
      assert.equal(await other.page.textContent('#link-message'), notice);
      assert.ok(await other.page.isVisible('#link-message'));
      // The selects show the defaults, not a blank; the link's good options are in use.
      const fields = await other.page.evaluate(() =>
        Object.fromEntries(['opt-method', 'opt-baseline', 'opt-integration', 'opt-steps', 'opt-tolerance', 'opt-layer', 'opt-norm', 'opt-target'].map((id) => [id, document.getElementById(id).value])),
      );
      assert.deepEqual(fields, {
        'opt-method': 'saliency',
        'opt-baseline': 'pad',
        'opt-integration': 'gausslegendre',
        'opt-steps': '50',
        'opt-tolerance': '0.01',
        'opt-layer': 'embeddings',
        'opt-norm': 'l1',
        'opt-target': '',
      });
      const s = await other.page.evaluate(() => {
        const { explanation: e, options, view } = globalThis.bertlens.state;
        return { method: e.method, target: e.target, predicted: e.predicted, options, tab: view.tab };
      });
      assert.equal(s.method, 'saliency');
      assert.equal(s.target, s.predicted, 'the predicted class is explained');
      assert.equal(s.tab, 'head');
      assert.deepEqual([s.options.baseline, s.options.integration, s.options.n_steps, s.options.tolerance, s.options.layer, s.options.norm], ['pad', 'gausslegendre', 50, 0.01, 'embeddings', 'l1']);
      assert.equal(await other.page.inputValue('#text'), text);
      await shots(other.page, 'link-notice', { fullPage: false });
      // Explain works with Integrated Gradients too (the link's baseline and quadrature would have failed it).
      await other.page.selectOption('#opt-method', 'ig');
      await settle(other.page, (st) => st.explanation?.method === 'ig' && !st.preview);
      const ig = await other.page.evaluate(() => globalThis.bertlens.state.explanation.ig);
      assert.deepEqual([ig.integration, ig.n_steps], ['gausslegendre', 50]);
      // The form is the user's now: the notice goes.
      assert.equal(await other.page.textContent('#link-message'), '');
      assert.ok(!(await other.page.isVisible('#link-message')));
    } finally {
      await other.context.close();
    }
  });

  it('an n_steps over the cap is marked invalid with the cap, nothing runs, and what was typed stays', async () => {
    await page.click('#mode-text');
    const text = await page.inputValue('#text');
    const before = await page.evaluate(() => globalThis.bertlens.state.explanation);
    assert.equal(before.method, 'ig');
    const cap = await page.evaluate(() => globalThis.bertlens.state.model.info.max_n_steps);
    assert.equal(cap, 2000, "the binding's info names the core's cap");
    await page.fill('#opt-steps', '5000');
    await page.press('#opt-steps', 'Tab');
    assert.equal(await page.getAttribute('#opt-steps', 'aria-invalid'), 'true');
    assert.equal(await page.textContent('#opt-steps-error'), 'at most 2000 steps');
    assert.ok(await page.isVisible('#opt-steps-error'));
    await page.click('#explain');
    await page.waitForFunction(() => globalThis.bertlens.state.runMessage);
    assert.equal(
      await page.textContent('#run-message'),
      'Not explained: n_steps is “5000”, and Integrated Gradients takes at most 2000 steps. Change n_steps, or pick another method.',
    );
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.busy), null, 'nothing runs');
    assert.deepEqual(await page.evaluate(() => globalThis.bertlens.state.explanation), before, 'the explanation shown stays');
    // Nothing typed is lost: the steps, and the text.
    assert.equal(await page.inputValue('#opt-steps'), '5000');
    assert.equal(await page.inputValue('#text'), text);
    await shots(page, 'steps-over-cap', { fullPage: false });
    // The cap is the model's (its info), not a number of the page's.
    await page.evaluate(() => (globalThis.bertlens.state.model.info.max_n_steps = 100));
    await page.fill('#opt-steps', '150');
    assert.equal(await page.textContent('#opt-steps-error'), 'at most 100 steps');
    await page.evaluate((c) => (globalThis.bertlens.state.model.info.max_n_steps = c), cap);
    await page.fill('#opt-steps', '5000');
    await page.press('#opt-steps', 'Tab');
    // Another method does not read n_steps: it runs.
    await page.selectOption('#opt-method', 'saliency');
    await settle(page, (s) => s.explanation?.method === 'saliency');
    // Fixed, Integrated Gradients runs with the steps typed.
    await page.selectOption('#opt-method', 'ig');
    await page.waitForFunction(() => /Not explained/.test(globalThis.bertlens.state.runMessage?.text ?? ''));
    await page.fill('#opt-steps', '20');
    await page.press('#opt-steps', 'Tab');
    await settle(page, (s) => s.explanation?.method === 'ig' && s.explanation.ig.n_steps === 20 && !s.preview);
    assert.equal(await page.getAttribute('#opt-steps', 'aria-invalid'), 'false');
    assert.ok(!(await page.isVisible('#opt-steps-error')));
    assert.equal(await page.textContent('#run-message'), '');
    // An n_steps that is no number at all is refused the same way.
    await page.fill('#opt-steps', 'lots');
    await page.press('#opt-steps', 'Tab');
    assert.equal(await page.textContent('#opt-steps-error'), 'a whole number of steps, or auto');
    await page.fill('#opt-steps', '50');
    await page.press('#opt-steps', 'Tab');
    await settle(page, (s) => s.explanation?.ig?.n_steps === 50 && !s.preview);
  });

  /** The workbench's state and what it shows. */
  const workbench = () =>
    page.evaluate(() => {
      const d = globalThis.bertlens.state.dataset;
      const text = (id) => document.getElementById(id)?.textContent ?? null;
      return {
        rows: d.table?.rows.length ?? null,
        bad: text('bad-rows-text'),
        list: [...document.querySelectorAll('#bad-rows-list li')].map((li) => li.textContent),
        message: document.getElementById('dataset-message').textContent,
        source: text('dataset-source'),
        badShown: !document.getElementById('dataset-bad-rows').hidden,
      };
    });

  /** Reads pasted rows into the workbench and waits until they are read. */
  async function paste(text) {
    await page.evaluate(() => (document.getElementById('dataset-paste-box').open = true));
    await page.fill('#dataset-paste', text);
    await page.click('#dataset-paste-read');
    await page.waitForFunction(() => !globalThis.bertlens.state.dataset.parsing);
  }

  it('a set with ragged rows: stop lists them by line and loads nothing; skip loads the rest and says which were left out', async () => {
    await page.click('#mode-text');
    await page.fill('#text', 'my own sentence, typed before');
    await page.click('#mode-dataset');
    assert.equal(await page.inputValue('#dataset-bad-mode'), 'stop');
    const set = [
      'text,label',
      'what is my balance,balance',
      'how do i reset my pin,pin_change,extra',
      'good morning',
      '"where is my card',
      'it never came",card_arrival',
      'what is the weather like,weather',
    ].join('\n');
    await paste(set);
    let w = await workbench();
    assert.equal(w.rows, null, 'the set is not loaded');
    assert.equal(w.bad, 'Not loaded: the pasted text has 2 bad rows (lines 3 and 4). Fix them, or set Bad rows to “skip” to load the other 3 rows.');
    assert.deepEqual(w.list, ['line 3: 3 fields where the header has 2', 'line 4: 1 field where the header has 2']);
    assert.ok(w.badShown);
    assert.ok(await page.isHidden('#dataset-columns'));
    // The model, the text typed and the rows pasted stay.
    assert.equal(await page.textContent('#model-name'), MODEL);
    assert.equal(await page.inputValue('#dataset-paste'), set);
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.text), 'my own sentence, typed before');
    await shots(page, 'workbench-bad-rows');
    // Skip: the same rows, loaded without the bad ones, at once.
    await page.selectOption('#dataset-bad-mode', 'skip');
    await page.waitForFunction(() => globalThis.bertlens.state.dataset.table);
    w = await workbench();
    assert.equal(w.rows, 3);
    assert.equal(w.bad, '2 bad rows of the pasted text were skipped (lines 3 and 4); the other 3 rows are loaded.');
    assert.deepEqual(w.list, ['line 3: 3 fields where the header has 2', 'line 4: 1 field where the header has 2']);
    assert.match(w.source, /the pasted rows: 3 rows, 2 columns \(CSV\)/);
    const texts = await page.evaluate(() => globalThis.bertlens.state.dataset.table.rows.map((r) => r[0]));
    assert.deepEqual(texts, ['what is my balance', 'where is my card\nit never came', 'what is the weather like']);
    await shots(page, 'workbench-skipped-rows');
    // The rows loaded run; the notice of the skipped ones stays.
    await page.click('#dataset-run');
    await page.waitForFunction(() => {
      const d = globalThis.bertlens.state.dataset;
      return d.message?.kind === 'error' || (d.run && !d.run.running);
    }, null, { timeout: 120000 });
    assert.equal(await page.evaluate(() => globalThis.bertlens.state.dataset.run.done), 3);
    assert.equal((await workbench()).bad, '2 bad rows of the pasted text were skipped (lines 3 and 4); the other 3 rows are loaded.');
  });

  it('an unterminated quote is one bad row to the end of the file; text after a closing quote too', async () => {
    await page.click('#mode-dataset');
    await page.selectOption('#dataset-bad-mode', 'skip');
    await paste('text,label\nhello there,greeting\n"what is my balance,balance\nthanks a lot,thanks\nbye now,goodbye\n');
    let w = await workbench();
    assert.equal(w.rows, 1, 'the three lines the quote swallowed are not rows');
    assert.equal(w.bad, '1 bad row of the pasted text was skipped (lines 3–5); the other 1 row is loaded.');
    assert.deepEqual(w.list, ['line 3: a quote opened here is never closed (lines 3–5, to the end of the file, were read as one field)']);
    // A file, in stop mode.
    await page.selectOption('#dataset-bad-mode', 'stop');
    await page.setInputFiles('#dataset-file', { name: 'quotes.csv', mimeType: 'text/csv', buffer: Buffer.from('text,label\nhi,greeting\n"book" a flight,travel\nbye,goodbye\n') });
    await page.waitForFunction(() => globalThis.bertlens.state.dataset.source === 'quotes.csv' && !globalThis.bertlens.state.dataset.parsing);
    w = await workbench();
    assert.equal(w.rows, null);
    assert.equal(w.bad, 'Not loaded: quotes.csv has 1 bad row (lines 3–4). Fix it, or set Bad rows to “skip” to load the other 1 row.');
    assert.deepEqual(w.list, ['line 3: a quoted field is followed by text after its closing quote, and runs on to the end of the file (lines 3–4 were read as one row)']);
  });

  it('JSON Lines: a line that is not a JSON object is a bad row', async () => {
    await page.click('#mode-dataset');
    await page.selectOption('#dataset-bad-mode', 'stop');
    await paste('{"text":"hi","label":"greeting"}\n[1, 2]\n{"text":"bye","label":"goodbye"}\n{"text": oops}\n');
    const w = await workbench();
    assert.equal(w.rows, null);
    assert.equal(w.bad, 'Not loaded: the pasted text has 2 bad rows (lines 2 and 4). Fix them, or set Bad rows to “skip” to load the other 2 rows.');
    assert.equal(w.list[0], 'line 2: an array, not a JSON object');
    assert.match(w.list[1], /^line 4: not JSON \(.+\)$/);
  });

  it('a header with no rows is an error, not an empty set', async () => {
    await page.click('#mode-dataset');
    await paste('text,label\n\n');
    const w = await workbench();
    assert.equal(w.rows, null);
    assert.equal(w.message, 'Not loaded: the pasted text has a header but no rows.');
    assert.ok(!w.badShown);
    assert.ok(await page.isHidden('#dataset-results'));
    assert.equal(await page.textContent('#model-name'), MODEL);
    assert.deepEqual(log.errors, []);
  });
});

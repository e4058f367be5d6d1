// Bad input that used to get through, in Node with no browser: a link's
// options checked against what the page has, the cap on Integrated
// Gradients steps, and the workbench's CSV/TSV/JSON Lines reader (the parse
// worker itself, run here with the vendored papaparse) with its bad rows
// put in words by line.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { fromFragment, ignoredNotice, knownTarget } from '../../www/js/share.js';
import { MAX_N_STEPS, stepCap, stepsError, parseSteps, stepsField, formProblem } from '../../www/js/state.js';
import { badRowText, badLines, outcome, SHOWN } from '../../www/js/badrows.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What the page's form has, as its <option>s say (index.html), for a link's options. */
const FORM = {
  method: ['ig', 'saliency', 'input-x-gradient', 'rollout'],
  integration: ['gausslegendre', 'riemann_left', 'riemann_right', 'riemann_middle', 'riemann_trapezoid'],
  baseline: ['pad', 'pad-all', 'mask', 'zero'],
  layer: ['', 'embeddings', 'word-embeddings'],
  tab: ['head', 'model', 'neuron', 'heatmap'],
};
const accepts = (k, v) => (k === 'n_steps' ? stepsError(v, MAX_N_STEPS) === null : k in FORM ? FORM[k].includes(v) : true);

describe('a link with options the page does not have', () => {
  it('keeps the options it has, and lists the others in the order of the link', () => {
    const link = fromFragment('#model=minilm-intent&t=hi&baseline=zzz&method=saliency&integration=foo&n_steps=5000&tab=nope&stpes=3', accepts);
    assert.deepEqual(link.model, { id: 'minilm-intent' });
    assert.deepEqual(link.fields, { text: 'hi' });
    assert.deepEqual(link.options, { method: 'saliency' });
    assert.equal(link.tab, null);
    assert.deepEqual(link.ignored, [
      ['baseline', 'zzz'],
      ['integration', 'foo'],
      ['n_steps', '5000'],
      ['tab', 'nope'],
      ['stpes', '3'],
    ]);
    // What it has is read as before.
    const good = fromFragment('#model=minilm-intent&n_steps=auto&layer=&tab=neuron&words=1', accepts);
    assert.deepEqual([good.options, good.tab, good.words, good.ignored], [{ n_steps: 'auto', layer: '' }, 'neuron', true, []]);
    assert.equal(fromFragment('#n_steps=20', accepts).options.n_steps, 20);
  });

  it('names each ignored value in one notice', () => {
    assert.equal(ignoredNotice([]), '');
    assert.equal(ignoredNotice([['baseline', 'zzz']]), "The link's baseline=zzz is not an option here; the default is used.");
    assert.equal(
      ignoredNotice([['baseline', 'zzz'], ['integration', 'foo']]),
      "The link's baseline=zzz and integration=foo are not options here; the defaults are used.",
    );
    assert.equal(
      ignoredNotice([['method', 'x'], ['norm', 'l3'], ['target', '999']]),
      "The link's method=x, norm=l3 and target=999 are not options here; the defaults are used.",
    );
    assert.match(ignoredNotice([['t', 'x'.repeat(500)]]), /^The link's t=x{40}… is not/);
  });

  it("takes a link's class only when the model has it", () => {
    const info = { task: 'sequence-classification', labels: ['a', 'b', 'c'] };
    assert.ok(knownTarget(info, ''));
    assert.ok(knownTarget(info, '2'));
    for (const t of ['3', '-1', '1.5', 'b', ' 1']) assert.ok(!knownTarget(info, t), t);
    assert.ok(!knownTarget({ task: 'question-answering', labels: ['start', 'end'] }, '0'));
  });
});

describe('the cap on Integrated Gradients steps', () => {
  it("is the model's max_n_steps once a model is loaded, 2000 before", () => {
    assert.equal(stepCap({ model: null }), 2000);
    assert.equal(stepCap({ model: { info: { max_n_steps: 300 } } }), 300);
    assert.equal(stepCap({ model: { info: {} } }), MAX_N_STEPS);
  });

  it('refuses what the core would refuse, in a few words for the field', () => {
    assert.equal(stepsError('2000', 2000), null);
    assert.equal(stepsError(' auto ', 2000), null);
    assert.equal(stepsError('2001', 2000), 'at most 2000 steps');
    assert.equal(stepsError('150', 100), 'at most 100 steps');
    assert.equal(stepsError('0', 2000), 'at least 1 step');
    for (const v of ['', 'abc', '12.5', '-3', '1e3']) assert.equal(stepsError(v, 2000), 'a whole number of steps, or auto', v);
    assert.equal(parseSteps(' 300 '), 300);
    assert.equal(parseSteps('AUTO'), 'auto');
  });

  it('keeps what was typed, and refuses to run Integrated Gradients on it', () => {
    const s = { model: { info: { task: 'sequence-classification', max_n_steps: 2000 } }, stepsTyped: '5000', options: { method: 'ig', n_steps: 50 } };
    assert.deepEqual(stepsField(s), { text: '5000', error: 'at most 2000 steps' });
    assert.equal(
      formProblem(s),
      'Not explained: n_steps is “5000”, and Integrated Gradients takes at most 2000 steps. Change n_steps, or pick another method.',
    );
    // Saliency does not read n_steps; the option in use shows when nothing is being typed.
    assert.equal(formProblem({ ...s, options: { method: 'saliency', n_steps: 50 } }), null);
    assert.deepEqual(stepsField({ ...s, stepsTyped: null }), { text: '50', error: null });
    // A model with a smaller cap refuses steps the option holds.
    assert.match(formProblem({ ...s, stepsTyped: null, options: { method: 'ig', n_steps: 500 }, model: { info: { task: 'sequence-classification', max_n_steps: 100 } } }), /at most 100 steps/);
  });
});

/** The parse worker (a classic worker script) in a VM context with the vendored papaparse: text in, its Table out. */
function parseWorker() {
  const papa = [path.join(ROOT, 'www/vendor/papaparse.min.js'), path.join(ROOT, 'node_modules/papaparse/papaparse.min.js')].find(existsSync);
  assert.ok(papa, 'papaparse is not vendored: run make vendor');
  const ctx = { console };
  ctx.self = ctx;
  ctx.importScripts = () => vm.runInContext(readFileSync(papa, 'utf8'), ctx);
  vm.createContext(ctx);
  vm.runInContext(readFileSync(path.join(ROOT, 'www/js/parse-worker.js'), 'utf8'), ctx);
  let id = 0;
  return (text, name = 'set.csv') =>
    new Promise((resolve, reject) => {
      const mine = ++id;
      ctx.postMessage = (m) => {
        if (m.id !== mine || m.progress) return;
        if ('error' in m) reject(new Error(m.error));
        else resolve(JSON.parse(JSON.stringify(m.result))); // out of the VM's realm, for deepEqual
      };
      ctx.onmessage({ data: { id: mine, type: 'parse', payload: { text, name } } });
    });
}

describe('the workbench reads bad rows by their lines in the file', () => {
  const parse = parseWorker();
  const texts = (t) => t.bad.map(badRowText);

  it('a row with more or fewer fields than the header', async () => {
    const t = await parse('text,label\na,b\nc,d,e\nf\ng,h\n');
    assert.deepEqual(t.rows, [['a', 'b'], ['g', 'h']]);
    assert.deepEqual(texts(t), ['line 3: 3 fields where the header has 2', 'line 4: 1 field where the header has 2']);
    assert.equal(t.badCount, 2);
  });

  it('an unterminated quote: the rows it swallows are one bad row, to the end of the file', async () => {
    const t = await parse('text,label\na,b\n"c,d\ne,f\ng,h\ni,j\n');
    assert.deepEqual(t.rows, [['a', 'b']]);
    assert.deepEqual(texts(t), ['line 3: a quote opened here is never closed (lines 3–6, to the end of the file, were read as one field)']);
    const last = await parse('text,label\na,b\nc,"d');
    assert.deepEqual(texts(last), ['line 3: a quote opened here is never closed']);
    // A quote with nothing but spaces after it is not an empty line.
    const blank = await parse('text,label\na,b\n"  \n\n');
    assert.deepEqual([blank.rows.length, texts(blank)], [1, ['line 3: a quote opened here is never closed (lines 3–4, to the end of the file, were read as one field)']]);
  });

  it('text after a closing quote: the row runs on to where a quote closes, or to the end', async () => {
    let t = await parse('text,label\na,b\nc,d\n"e"x,f\ng,h\n');
    assert.deepEqual(t.rows, [['a', 'b'], ['c', 'd']]);
    assert.deepEqual(texts(t), ['line 4: a quoted field is followed by text after its closing quote, and runs on to the end of the file (lines 4–5 were read as one row)']);
    t = await parse('text,label\n"e"x,f\ng,h\n"i" ,j\nk,l\nm,n,o\n');
    assert.deepEqual(t.rows, [['k', 'l']]);
    assert.deepEqual(texts(t), ['line 2: a quoted field is followed by text after its closing quote (lines 2–4 were read as one row)', 'line 6: 3 fields where the header has 2']);
  });

  it('counts the lines of quoted fields, empty lines and \\r\\n', async () => {
    let t = await parse('text,label\n\n"two\nlines",a\n"three\r\nlines\nhere",b\n\n  \n,\nx,y,z\n');
    assert.deepEqual(t.rows, [['two\nlines', 'a'], ['three\r\nlines\nhere', 'b']]);
    assert.deepEqual(texts(t), ['line 11: 3 fields where the header has 2']);
    t = await parse('text,label\r\na,b\r\n"c\r\nd",e\r\nf\r\n');
    assert.deepEqual(texts(t), ['line 5: 1 field where the header has 2']);
    t = await parse('text\tlabel\na\tb\tc\n"d\te"\tf\n', 'set.tsv');
    assert.deepEqual([t.format, t.rows, texts(t)], ['tsv', [['d\te', 'f']], ['line 2: 3 fields where the header has 2']]);
  });

  it('finds lines past papaparse’s first chunk (1 MiB), with quoted fields over two lines before it and across it', async () => {
    const CHUNK = 1 << 20;
    let text = 'text,label\n';
    let line = 2; // the line the next row starts on
    let across = false;
    for (let i = 0; text.length < CHUNK + 5000; i++) {
      // Every 50th row over two lines, and the one that the chunk's end cuts.
      const plain = `row ${i} is a line of forty characters or so,x\n`;
      const quoted = `"row ${i} is quoted, and it runs over\ntwo lines",x\n`;
      const cut = !across && text.length + plain.length > CHUNK;
      if (cut) assert.ok(text.length < CHUNK && text.length + quoted.length > CHUNK);
      across ||= cut;
      text += cut || i % 50 === 7 ? quoted : plain;
      line += cut || i % 50 === 7 ? 2 : 1;
    }
    assert.ok(across);
    const ragged = line;
    text += 'a,b,c\nd,e\n"f"g,h\ni,j\n';
    const t = await parse(text);
    assert.deepEqual(t.rows.at(-1), ['d', 'e']);
    assert.ok(t.rows.some((r) => r[0].endsWith('runs over\ntwo lines')));
    assert.deepEqual(texts(t), [
      `line ${ragged}: 3 fields where the header has 2`,
      `line ${ragged + 2}: a quoted field is followed by text after its closing quote, and runs on to the end of the file (lines ${ragged + 2}–${ragged + 3} were read as one row)`,
    ]);
  });

  it('a header and no rows, an empty file, a header that is not a row', async () => {
    assert.deepEqual(await parse('text,label\n\n'), { format: 'csv', columns: ['text', 'label'], rows: [], bad: [], badCount: 0 });
    assert.deepEqual((await parse('')).columns, []);
    const t = await parse('"text,label\na,b\n');
    assert.deepEqual(t.bad, [{ line: 1, end: 2, kind: 'quote-open', header: true }]);
  });

  it('JSON Lines: a line that is not a JSON object', async () => {
    const t = await parse('{"text":"a","label":"b"}\n[1]\n{bad\n\n42\n{"text":"c"}\n', 'set.jsonl');
    assert.deepEqual(t.rows, [['a', 'b'], ['c', '']]);
    const said = texts(t);
    assert.equal(said[0], 'line 2: an array, not a JSON object');
    assert.match(said[1], /^line 3: not JSON \(.+\)$/);
    assert.equal(said[2], 'line 5: a number, not a JSON object');
  });
});

describe('what the workbench does with bad rows', () => {
  const table = (good, bad) => ({ format: 'csv', columns: ['text', 'label'], rows: Array.from({ length: good }, () => ['a', 'b']), bad, badCount: bad.length });
  const field = (line) => ({ line, end: line, kind: 'fields', fields: 3, expected: 2 });

  it('lists lines, a span as a span, the first few and how many more', () => {
    assert.equal(badLines([field(4)], 1), 'line 4');
    assert.equal(badLines([{ line: 3, end: 6, kind: 'quote-open' }], 1), 'lines 3–6');
    assert.equal(badLines([field(4), field(6), { line: 9, end: 12 }], 3), 'lines 4, 6 and 9–12');
    const many = Array.from({ length: 12 }, (_, i) => field(i + 2));
    assert.equal(badLines(many, 12), 'lines 2, 3, 4, 5, 6 and 7 more');
  });

  it('stop: nothing is loaded, and the message names the lines and what to do', () => {
    const o = outcome(table(7, [field(4), field(6), { line: 9, end: 12, kind: 'quote-open' }]), 'stop', 'data.csv');
    assert.equal(o.load, false);
    assert.deepEqual(o.message, {
      kind: 'error',
      text: 'Not loaded: data.csv has 3 bad rows (lines 4, 6 and 9–12). Fix them, or set Bad rows to “skip” to load the other 7 rows.',
    });
    assert.deepEqual(o.list, [
      'line 4: 3 fields where the header has 2',
      'line 6: 3 fields where the header has 2',
      'line 9: a quote opened here is never closed (lines 9–12, to the end of the file, were read as one field)',
    ]);
    const many = outcome(table(1, Array.from({ length: 9 }, (_, i) => field(i + 2))), 'stop', 'the pasted text');
    assert.equal(many.list.length, SHOWN + 1);
    assert.equal(many.list.at(-1), '… and 4 more bad rows');
    assert.equal(many.message.text, 'Not loaded: the pasted text has 9 bad rows (lines 2, 3, 4, 5, 6 and 4 more). Fix them, or set Bad rows to “skip” to load the other 1 row.');
  });

  it('skip: the rest is loaded, and the message says which were left out', () => {
    const o = outcome(table(7, [field(4)]), 'skip', 'data.csv');
    assert.equal(o.load, true);
    assert.deepEqual(o.message, { kind: 'warning', text: '1 bad row of data.csv was skipped (line 4); the other 7 rows are loaded.' });
    assert.deepEqual(outcome(table(7, []), 'stop', 'data.csv'), { load: true, message: null, list: [] });
  });

  it('a set with nothing to load is refused whatever the choice', () => {
    for (const mode of ['stop', 'skip']) {
      assert.deepEqual(outcome(table(0, []), mode, 'data.csv').message, { kind: 'error', text: 'Not loaded: data.csv has a header but no rows.' });
      assert.equal(outcome({ columns: [], rows: [], bad: [], badCount: 0 }, mode, 'data.csv').message.text, 'Not loaded: data.csv is empty (no header, no rows).');
      const all = outcome(table(0, [field(2), field(3)]), mode, 'data.csv');
      assert.deepEqual([all.load, all.message.text], [false, 'Not loaded: every row of data.csv is bad (lines 2 and 3).']);
      const header = outcome({ columns: ['x'], rows: [], bad: [{ line: 1, end: 2, kind: 'quote-open', header: true }], badCount: 1 }, mode, 'data.csv');
      assert.equal(header.message.text, 'Not loaded: the header of data.csv is broken: line 1: a quote opened here is never closed (lines 1–2, to the end of the file, were read as one field).');
    }
  });
});

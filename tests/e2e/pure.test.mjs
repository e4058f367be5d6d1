// The page's pure functions in Node, no browser: how tokens cut a text,
// what options each task sends the core, the neuron view's arithmetic.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { textPieces, tokenLabels } from '../../www/js/tokens.js';
import { coreOptions, currentInput } from '../../www/js/state.js';
import { exampleFields, typedIn, defaultExamples } from '../../www/js/task.js';
import { neuronData, scaleText } from '../../www/js/views/neuronview.js';
import { guessColumns, matcher, mistakes, confusions, problem, faithRows } from '../../www/js/table.js';
import { emptyDataset } from '../../www/js/state.js';
import { curveArea } from '../../www/js/views/faithfulness.js';
import { textSeed } from '../../www/js/dataset.js';
import { toFragment, fromFragment } from '../../www/js/share.js';
import { state as pageState } from '../../www/js/state.js';
import * as colors from '../../www/js/colors.js';
import { strongest, describeHover, moveHover, lineOpacity, DARK_FLOOR } from '../../www/js/views/headview.js';

/** An explanation's token fields for `text`, cut at `spans` ([a, b) in characters). */
function tokenized(text, spans) {
  return {
    tokens: ['[CLS]', ...spans.map(([a, b]) => Array.from(text).slice(a, b).join('')), '[SEP]'],
    offsets: [[0, 0], ...spans, [0, 0]],
    sequence_ids: [null, ...spans.map(() => 0), null],
    word_ids: [null, ...spans.map((_, i) => i), null],
  };
}

describe('the pure functions of the page', () => {
  it('textPieces spells the text again, gaps and all, even across code points', () => {
    const text = 'São  Paulo, naïve!';
    const e = tokenized(text, [[0, 3], [5, 10], [10, 11], [12, 17], [17, 18]]);
    const pieces = textPieces(e, text, 0);
    assert.equal(pieces.map((p) => p.text ?? p.gap).join(''), text);
    assert.deepEqual(
      pieces.filter((p) => p.token !== undefined).map((p) => p.token),
      [1, 2, 3, 4, 5],
    );
  });

  it('tokenLabels shows a token of spaces alone as the vocabulary spells it', () => {
    const text = 'a b';
    const e = { ...tokenized(text, [[0, 1], [1, 2], [2, 3]]), tokens: ['[CLS]', 'a', '▁', 'b', '[SEP]'] };
    assert.deepEqual(tokenLabels(e, [text, '']), ['[CLS]', 'a', '▁', 'b', '[SEP]']);
  });

  it('sends each task what it explains: a class, a token, a mask and its filler, a part of an answer', () => {
    const base = {
      text: 'x',
      pair: 'y',
      pairOn: true,
      question: 'q?',
      context: 'c.',
      options: { method: 'ig', target: '2', n_steps: 50, tolerance: 0.01, integration: 'gausslegendre', baseline: 'pad', layer: '', output: 'logit', norm: 'l1', rollout_row: '' },
      focus: { token: 4, filler: 117, answer: 1, part: 'end' },
      analysis: { explanation: { answers: [{ token_start: 1, token_end: 2 }, { token_start: 5, token_end: 7 }] } },
    };
    const of = (task) => coreOptions({ ...base, model: { info: { task } } });
    assert.equal(of('sequence-classification').target, 2);
    assert.equal(of('sequence-classification').token, undefined);
    assert.deepEqual([of('token-classification').token, of('token-classification').target], [4, 2]);
    assert.deepEqual([of('fill-mask').token, of('fill-mask').target], [4, 117]);
    assert.deepEqual([of('question-answering').part, of('question-answering').token], ['end', 7]);
    assert.equal(of('encoder').method, 'rollout', 'a bare encoder is explained by rollout');
    assert.equal(of('sequence-classification').norm, 'l1');
    assert.deepEqual(currentInput({ ...base, model: { info: { task: 'question-answering' } } }), { text: 'q?', pair: 'c.' });
    assert.deepEqual(currentInput({ ...base, model: { info: { task: 'token-classification' } } }), { text: 'x', pair: null });
    assert.deepEqual(currentInput({ ...base, model: { info: { task: 'sequence-classification' } } }), { text: 'x', pair: 'y' });
  });

  it("an example fills a task's boxes; only typed text counts as the user's", () => {
    const [qa] = defaultExamples('question-answering');
    assert.deepEqual(Object.keys(exampleFields(qa, 'question-answering')), ['question', 'context']);
    assert.match(defaultExamples('fill-mask', '<mask>')[0], /<mask>/);
    const fields = exampleFields('an example', 'sequence-classification');
    assert.equal(typedIn({ text: '' }, fields), false);
    assert.equal(typedIn({ text: 'an example' }, fields), false);
    assert.equal(typedIn({ text: 'mine' }, fields), true);
  });

  it('the neuron view adds the position terms, masks keys outside the window, and its softmax sums to 1', () => {
    const T = 4;
    const d = 2;
    const a = { heads: 1, tokens: T, headDim: d, scale: 1 / Math.sqrt(3 * d), windows: [null, 1] };
    // One head's maps, as the neuron view asks for them (layer 1: the windowed one).
    const m = {
      layer: 1,
      head: 0,
      queries: Float32Array.from([1, 0, 0, 1, 1, 1, 0.5, -1]),
      keys: Float32Array.from([1, 2, -1, 0, 0.5, 0.5, 2, 1]),
      positionScores: Float32Array.from({ length: T * T }, (_, i) => i / 10),
    };
    const n = neuronData(a, m, 0);
    assert.equal(scaleText(a.scale, d), '1/√(3·2)');
    assert.equal(scaleText(1 / Math.sqrt(8), 8), '1/√8');
    assert.deepEqual(n.masked, [false, false, true, true]);
    assert.deepEqual(n.softmax.slice(2), [0, 0]);
    assert.ok(Math.abs(n.softmax[0] + n.softmax[1] - 1) < 1e-12);
    assert.ok(Math.abs(n.scores[1] - (n.dots[1] * a.scale + 0.1)) < 1e-7);
  });
});

describe('a shared link', () => {
  it('holds the model, the boxes and the options that are not the defaults, and reads back', () => {
    const s = structuredClone({ ...pageState, cache: null, dataset: null });
    s.model = { source: { id: 'minilm-intent' }, info: { task: 'sequence-classification' } };
    Object.assign(s, { text: 'a & b = c?', pair: 'second #text', pairOn: true });
    Object.assign(s.options, { method: 'saliency', target: '3', n_steps: 'auto', norm: 'l1' });
    s.view.words = true;
    const frag = toFragment(s);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(frag)), { model: 'minilm-intent', t: 'a & b = c?', p: 'second #text', method: 'saliency', n_steps: 'auto', norm: 'l1', target: '3', words: '1' });
    const back = fromFragment(`#${frag}`);
    assert.deepEqual(back.model, { id: 'minilm-intent' });
    assert.deepEqual(back.fields, { text: 'a & b = c?', pair: 'second #text', pairOn: true });
    assert.deepEqual(back.options, { method: 'saliency', n_steps: 'auto', norm: 'l1', target: '3' });
    assert.equal(back.words, true);
    // Question answering: the question and the context; a model by URL; files from disk: no link.
    s.model = { source: { url: 'https://example.org/m/' }, info: { task: 'question-answering' } };
    Object.assign(s, { question: 'who?', context: 'me.' });
    const qa = fromFragment(toFragment(s));
    assert.deepEqual([qa.model, qa.fields], [{ url: 'https://example.org/m/' }, { question: 'who?', context: 'me.' }]);
    s.model.source = null;
    assert.equal(toFragment(s), null);
    assert.equal(fromFragment('#n_steps=20').options.n_steps, 20);
  });
});

describe('the dataset workbench, read by pure functions', () => {
  /** A set of 4 rows run: truth, predicted, p(predicted), loss. */
  function ran() {
    const ds = emptyDataset();
    ds.source = 'set.csv';
    ds.table = { format: 'csv', columns: ['utterance', 'intent'], rows: [['a b c', 'x'], ['card declined', 'y'], ['my card', 'y'], ['hello there you', 'x']] };
    ds.columns = guessColumns(ds.table.columns);
    ds.labels = { indices: Int32Array.from([0, 1, 1, 0]), unmatched: [] };
    ds.run = { n: 4, predicted: Int32Array.from([0, 0, 2, 1]), probability: Float32Array.from([0.9, 0.4, 0.8, 0.6]), loss: Float32Array.from([0.1, 2, 1, 3]) };
    return ds;
  }

  it('guesses columns by name, as bertlens analyze does', () => {
    assert.deepEqual(guessColumns(['id', 'utterance', 'intent']), { text: 1, pair: -1, label: 2 });
    assert.deepEqual(guessColumns(['only']), { text: 0, pair: -1, label: -1 });
    assert.deepEqual(guessColumns(['id', 'intent']), { text: -1, pair: -1, label: 1 });
  });

  it('says what stops a set from running', () => {
    const ds = ran();
    assert.equal(problem(ds), null);
    ds.columns = { ...ds.columns, text: -1 };
    assert.match(problem(ds), /pick the column that holds the text/);
    ds.table = { ...ds.table, rows: [] };
    assert.match(problem(ds), /has no rows/);
  });

  it('sorts mistakes by confidence or loss, and filters them', () => {
    const ds = ran();
    assert.deepEqual(mistakes(ds), [2, 3, 1]);
    ds.view.sort = 'loss';
    assert.deepEqual(mistakes(ds), [3, 1, 2]);
    ds.view.query = 'card';
    assert.deepEqual(mistakes(ds), [1, 2]);
    ds.view.query = '^my';
    assert.deepEqual(mistakes(ds), [2]);
    ds.view = { ...ds.view, query: '', maxWords: '2', cell: [1, 0] };
    assert.deepEqual(mistakes(ds), [1]);
    assert.ok(matcher('(unclosed')('an (unclosed paren'), 'a bad regular expression is a substring');
  });

  it('picks the rows whose faithfulness is evaluated', () => {
    const ds = ran();
    assert.deepEqual(faithRows(ds, 'mistakes', 2), [2, 3], 'the first misclassified rows, most confident first');
    assert.deepEqual(faithRows(ds, 'mistakes', 50), [2, 3, 1]);
    assert.deepEqual(faithRows(ds, 'all', 50), [0, 1, 2, 3]);
    assert.deepEqual(faithRows(ds, 'all', 2), [0, 2], 'spread evenly: rows ⌊k·n/limit⌋');
    assert.deepEqual(faithRows(ds, 'first', 3), [0, 1, 2], 'as bertlens analyze --faithfulness-rows 3');
    ds.run.predicted[1] = -1; // a row that could not be run is left out
    assert.deepEqual(faithRows(ds, 'first', 3), [0, 2]);
    assert.deepEqual(faithRows({ ...ds, run: null }, 'all', 3), []);
  });

  it('measures the area under a deletion curve as the core does', () => {
    assert.equal(curveArea([1]), null);
    assert.ok(Math.abs(curveArea([1, 0.5, 0]) - 0.5) < 1e-12);
    assert.ok(Math.abs(curveArea([0.9, 0.3, 0.2, 0.1]) - (0.6 + 0.25 + 0.15) / 3) < 1e-12);
  });

  it('cuts the confusion matrix to the classes with an error', () => {
    const c = confusions({ labels: ['a', 'b', 'c', 'd'], indices: [0, 1, 5, 7], matrix: [[3, 0, 0, 0], [0, 2, 1, 0], [0, 2, 4, 0], [0, 0, 0, 1]] });
    assert.deepEqual(c.classes, [1, 5]);
    assert.deepEqual(c.matrix, [[2, 1], [2, 4]]);
    assert.deepEqual(c.cells, [{ truth: 5, predicted: 1, count: 2 }, { truth: 1, predicted: 5, count: 1 }]);
  });
});

describe('palettes and the head view by keyboard', () => {
  it("keeps Captum's colours by default, and switches to blue/orange", () => {
    assert.equal(colors.getPalette(), 'captum');
    assert.equal(colors.importanceColor(1), 'hsl(120, 75%, 50%)');
    assert.equal(colors.importanceColor(-0.5), 'hsl(0, 75%, 80%)');
    assert.equal(colors.importanceColor(0.333), 'hsl(120, 75%, 84%)', 'lightness truncated as int()');
    assert.equal(colors.POSITIVE, 'hsl(120, 60%, 38%)');
    assert.equal(colors.setPalette('colorblind'), 'colorblind');
    assert.equal(colors.importanceColor(1), 'hsl(210, 75%, 55%)');
    assert.equal(colors.importanceColor(-1), 'hsl(30, 90%, 60%)');
    assert.equal(colors.importanceColor(0), 'hsl(30, 90%, 100%)', 'white at zero, as Captum');
    assert.equal(colors.POSITIVE, 'hsl(210, 70%, 42%)', 'a live binding');
    assert.equal(colors.NEGATIVE, 'hsl(30, 90%, 48%)');
    assert.equal(colors.setPalette('anything'), 'captum');
    assert.equal(colors.importanceColor(1), 'hsl(120, 75%, 50%)');
    assert.equal(colors.NEGATIVE, 'hsl(0, 70%, 50%)');
  });

  it('writes a head number in black or white, whichever reads on its colour', () => {
    assert.equal(colors.inkOn('#ffffff'), '#000');
    assert.equal(colors.inkOn('#1f77b4'), '#fff');
    assert.equal(colors.inkOn('#bcbd22'), '#000');
    assert.equal(colors.inkOn('hsl(10, 55%, 45%)'), '#fff');
  });

  // Three tokens, one layer, two heads: head 0 looks at the next token, head 1 at the first.
  const T = 3;
  const att = new Float32Array(2 * T * T);
  for (let i = 0; i < T; i++) {
    att[i * T + ((i + 1) % T)] = 0.8;
    att[i * T + i] = 0.2;
    att[T * T + i * T] = 1;
  }
  const data = { labels: ['[CLS]', 'card', '[SEP]'], att, layers: 1, heads: 2, tokens: T, segments: [0, 0, 0] };
  const view = { layer: 0, active: [true, true], hover: null, filter: 'all' };

  it("finds where a token attends most, over the heads shown", () => {
    assert.deepEqual(strongest(data, view, { side: 'left', index: 1 }), { index: 0, weight: 0.5 });
    const one = { ...view, active: [true, false] };
    assert.equal(strongest(data, one, { side: 'left', index: 1 }).index, 2);
    assert.ok(Math.abs(strongest(data, one, { side: 'left', index: 1 }).weight - 0.8) < 1e-6);
    assert.equal(strongest(data, view, { side: 'right', index: 0 }).index, 2, 'a key: the query attending to it most');
    assert.equal(strongest(data, { ...view, active: [false, false] }, { side: 'left', index: 1 }), null);
    assert.equal(describeHover(data, one, { side: 'left', index: 1 }), "token 'card': strongest attention to '[SEP]' (0.80)");
    assert.match(describeHover(data, view, { side: 'right', index: 1 }), /^token 'card' \(key\): most attention from '\[CLS\]' \(0\.40\)$/);
    assert.equal(describeHover(data, { ...view, active: [false, false] }, { side: 'left', index: 0 }), "token '[CLS]': no head is shown");
    assert.equal(describeHover(data, view, null), '');
  });

  it('moves between tokens and columns with the arrow keys', () => {
    const at = (hover, key) => moveHover(data, view, hover, key);
    assert.deepEqual(at(null, 'ArrowDown'), { side: 'left', index: 0 });
    assert.deepEqual(at({ side: 'left', index: 0 }, 'ArrowDown'), { side: 'left', index: 1 });
    assert.deepEqual(at({ side: 'left', index: 2 }, 'ArrowDown'), { side: 'left', index: 2 }, 'stays at the end');
    assert.deepEqual(at({ side: 'left', index: 0 }, 'ArrowUp'), { side: 'left', index: 0 });
    assert.deepEqual(at({ side: 'left', index: 1 }, 'ArrowRight'), { side: 'right', index: 1 });
    assert.deepEqual(at({ side: 'right', index: 1 }, 'ArrowLeft'), { side: 'left', index: 1 });
    assert.deepEqual(at({ side: 'right', index: 0 }, 'End'), { side: 'right', index: 2 });
    assert.equal(at({ side: 'left', index: 1 }, 'Escape'), null);
    assert.equal(at({ side: 'left', index: 1 }, 'a'), undefined, 'not the view’s key');
    // A sentence pair, A → B: the columns hold different tokens.
    const pair = { ...data, segments: [0, 0, 1] };
    assert.deepEqual(moveHover(pair, { ...view, filter: 'ab' }, { side: 'left', index: 1 }, 'ArrowRight'), { side: 'right', index: 2 });
  });

  it('draws the head view lines readable on a dark background: the same lines, scaled to the strongest, as light', () => {
    // 2 heads of 2 tokens; every line shown.
    const att = Float32Array.from([0.9, 0.1, 0.5, 0.5, 0.006, 0.994, 0.3, 0.7]);
    const all = () => true;
    const light = lineOpacity(att, 2, [0, 1], [0, 1], [0, 1], all, false);
    const dark = lineOpacity(att, 2, [0, 1], [0, 1], [0, 1], all, true);
    assert.equal(light.blend, 'source-over');
    assert.equal(dark.blend, 'lighter');
    // Light: bertviz's weight ÷ active heads.
    assert.ok(Math.abs(light.of(0.5) - 0.25) < 1e-12);
    // Dark: against the strongest line (0.994), at least the floor; the faint ones drawn there too.
    assert.ok(Math.abs(dark.of(0.5) - 0.5 / att[5]) < 1e-12);
    assert.equal(dark.of(att[5]), 1);
    assert.equal(dark.of(0.02), DARK_FLOOR);
    assert.ok(dark.of(0.1) > 2 * light.of(0.1), 'a weak line is brighter on dark than ÷ heads');
    // The same lines in both themes: too faint for one (÷ heads) is too faint for both.
    for (const w of att) assert.equal(light.of(w) === 0, dark.of(w) === 0, `weight ${w}`);
    assert.equal(dark.of(0.006), 0);
    // Hovering a token: the strongest of its own lines sets the scale.
    const row1 = lineOpacity(att, 2, [0, 1], [0, 1], [0, 1], (i) => i === 1, true);
    assert.equal(row1.of(att[7]), 1);
    assert.equal(colors.isLight('rgb(230, 233, 239)'), true);
    assert.equal(colors.isLight('rgb(29, 35, 48)'), false);
    assert.equal(colors.isLight('#1d2330'), false);
  });

  it("seeds typed text's faithfulness by FNV-1a of its UTF-8 text, NUL and pair: never 0, the seed of a set's rows", () => {
    // FNV-1a 32 of the bytes, as Python computes it: 'a' NUL; 'a' NUL 'b'; 'café' NUL (UTF-8).
    assert.equal(textSeed('a'), 723832900);
    assert.equal(textSeed('a', 'b'), 284404690);
    assert.equal(textSeed('café', null), 86991595);
    assert.equal(textSeed('a', ''), textSeed('a'), 'no pair and an empty pair are one input');
    assert.notEqual(textSeed('ab'), textSeed('a', 'b'), 'the NUL keeps text and pair apart');
    assert.ok(['', 'x', 'my card was declined'].every((t) => textSeed(t) > 0));
  });
});

describe("the page's modules", () => {
  it('import one another without a cycle', () => {
    const root = fileURLToPath(new URL('../../www/js/', import.meta.url));
    const files = [];
    const walk = (d) => readdirSync(d).forEach((f) => (statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : f.endsWith('.js') && files.push(path.join(d, f))));
    walk(root);
    const imports = new Map(
      files.map((f) => [
        f,
        [...readFileSync(f, 'utf8').matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)].map((m) => path.join(path.dirname(f), m[1])).filter((d) => d.startsWith(root)),
      ]),
    );
    assert.ok(imports.get(path.join(root, 'main.js')).length > 5, 'the imports are read');
    const seen = new Map();
    const cycles = [];
    const visit = (f, stack) => {
      seen.set(f, 'open');
      stack.push(f);
      for (const d of imports.get(f) ?? []) {
        if (seen.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => path.relative(root, x)).join(' → '));
        else if (!seen.has(d)) visit(d, stack);
      }
      stack.pop();
      seen.set(f, 'done');
    };
    for (const f of files) if (!seen.has(f)) visit(f, []);
    assert.deepEqual(cycles, []);
  });
});

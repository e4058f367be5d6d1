// The <bert-lens> element's pure functions in Node, no browser: reading a
// saved explanation, and its text rebuilt when the page does not give it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './harness.mjs';
import { asExplanation, rebuildText, textsOf } from '../../www/js/element/present.js';

const saved = JSON.parse(readFileSync(path.join(ROOT, 'www/embed/card-declined.json'), 'utf8'));

describe('the pure functions of <bert-lens>', () => {
  it('takes the JSON of bertlens explain --json and says what else lacks', () => {
    assert.equal(asExplanation(saved), saved);
    assert.throws(() => asExplanation([1, 2], 'x.json'), /x\.json is not an explanation: expected the JSON object/);
    assert.throws(() => asExplanation({ task: 'fill-mask', tokens: [] }, 'x.json'), /lacks offsets, sequence_ids, word_ids, attributions/);
    assert.throws(() => asExplanation({ ...saved, attributions: [1] }, 'x.json'), /attributions and tokens differ in number/);
  });

  it('rebuilds the text from the tokens at their offsets', () => {
    assert.equal(rebuildText(saved, 0), 'my card was declined at the grocery store');
    const e = {
      tokens: ['[CLS]', 'un', '##believ', '##able', '!', '[SEP]', 'Ġok', '[SEP]'],
      offsets: [[0, 0], [0, 2], [2, 8], [8, 12], [12, 13], [0, 0], [0, 2], [0, 0]],
      sequence_ids: [null, 0, 0, 0, 0, null, 1, null],
    };
    assert.equal(rebuildText(e, 0), 'unbelievable!');
    assert.deepEqual(textsOf(e), ['unbelievable!', 'ok']);
    // Given texts win (they keep the case and the spaces the tokens lost).
    assert.deepEqual(textsOf(e, { text: 'Unbelievable!', pair: 'OK' }), ['Unbelievable!', 'OK']);
  });
});

// Pure data transforms shared by the views: how a token is shown, which
// sentence of a pair it belongs to, and tokens merged into words.

/**
 * Each token as the user typed it: its span of the text, `##`-prefixed when
 * it continues a word, or the vocabulary's spelling for special tokens and
 * tokens that cover only spaces.
 * @param {import('./types.js').Explanation} e
 * @param {[string, string]} texts  the text and the pair ('' when none)
 * @returns {string[]}
 */
export function tokenLabels(e, texts) {
  const chars = texts.map((t) => Array.from(t ?? ''));
  return e.tokens.map((tok, i) => {
    const seq = e.sequence_ids[i];
    const [a, b] = e.offsets[i];
    if (seq === null || seq === undefined || b <= a) return tok;
    const span = chars[seq].slice(a, b).join('');
    // A token of spaces alone (SentencePiece's ▁, byte-level BPE's Ġ) shows as itself.
    if (!span.trim()) return tok;
    const continues = i > 0 && e.word_ids[i] !== null && e.word_ids[i] === e.word_ids[i - 1];
    return continues ? `##${span}` : span;
  });
}

/**
 * 0 for tokens of the first text of a pair (and [CLS], and the separator
 * after it), 1 from the first token of the second text on.
 * @returns {number[]}
 */
export function segments(e) {
  const bStart = e.sequence_ids.indexOf(1);
  return e.tokens.map((_, i) => (bStart >= 0 && i >= bStart ? 1 : 0));
}

/** Whether the input is a sentence pair. */
export function isPair(e) {
  return e.sequence_ids.includes(1);
}

/**
 * The units a view shows: one per token, or (words) one per word with the
 * wordpieces' scores summed and each special token on its own. `norm` is
 * each unit's score divided by the L2 norm of all units' scores (the scale
 * of Captum's `visualize_text` colours).
 * @param {import('./types.js').Explanation} e
 * @param {string[]} labels  from tokenLabels
 * @param {boolean} words
 * @returns {{label: string, score: number, norm: number, tokens: [number, number], special: boolean}[]}
 */
export function units(e, labels, words) {
  const out = [];
  if (!words) {
    e.attributions.forEach((score, i) => {
      out.push({ label: labels[i], score, tokens: [i, i + 1], special: e.sequence_ids[i] === null });
    });
  } else {
    for (let i = 0; i < e.tokens.length; ) {
      const w = e.word_ids[i];
      let j = i + 1;
      if (w !== null && e.sequence_ids[i] !== null) {
        while (j < e.tokens.length && e.word_ids[j] === w) j++;
      }
      let score = 0;
      for (let k = i; k < j; k++) score += e.attributions[k];
      const label = labels.slice(i, j).map((l, k) => (k > 0 ? l.replace(/^##/, '') : l)).join('');
      out.push({ label, score, tokens: [i, j], special: e.sequence_ids[i] === null });
      i = j;
    }
  }
  const norm = Math.hypot(...out.map((u) => u.score)) || 1;
  for (const u of out) u.norm = u.score / norm;
  return out;
}

/** A number for people: 3 significant digits, exponent when tiny. */
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e5) return x.toExponential(digits - 1).replace('e', 'e');
  return x.toFixed(Math.max(0, digits - 1 - Math.floor(Math.log10(a))));
}

/** A probability as a percentage. */
export function pct(p) {
  const v = p * 100;
  return `${v >= 99.95 || v < 0.05 ? v.toFixed(v === 0 ? 0 : 2) : v.toFixed(1)}%`;
}

/**
 * The text of one sequence cut at its tokens: `{token: i, text}` for each
 * of its tokens (its span of the text; '' when it has none of its own) and
 * `{gap: text}` between them, so that the pieces spell the text again.
 * @param {import('./types.js').Explanation} e
 * @param {string} text  the text of sequence `seq`
 * @param {0|1} seq
 * @returns {({token: number, text: string} | {gap: string})[]}
 */
export function textPieces(e, text, seq) {
  const chars = Array.from(text ?? '');
  const out = [];
  let pos = 0;
  e.tokens.forEach((_, i) => {
    if (e.sequence_ids[i] !== seq) return;
    const [a, b] = e.offsets[i];
    const from = Math.max(a, pos);
    if (from > pos) out.push({ gap: chars.slice(pos, from).join('') });
    out.push({ token: i, text: chars.slice(from, Math.max(from, b)).join('') });
    pos = Math.max(pos, b);
  });
  if (pos < chars.length) out.push({ gap: chars.slice(pos).join('') });
  return out;
}

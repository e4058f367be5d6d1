// A labelled set as a table, read by pure functions of `state.dataset`
// (see dataset.js for what changes it): its columns, the rows as picked,
// what stops it from running, and, once it has run, the misclassified rows
// that pass the filters and the confusions.

/** Column names taken for the text and the label, as `bertlens analyze` takes them. */
const TEXT_NAMES = ['text', 'sentence', 'utterance', 'query', 'question', 'review', 'content'];
const LABEL_NAMES = ['label', 'labels', 'intent', 'class', 'category', 'target', 'y'];
const PAIR_NAMES = ['pair', 'text_pair', 'sentence2', 'text_b', 'hypothesis'];

/** The columns a table's header names: text and label by their usual names. */
export function guessColumns(columns) {
  const find = (names) => columns.findIndex((c) => names.includes(c.trim().toLowerCase()));
  const text = columns.length === 1 ? 0 : find(TEXT_NAMES);
  return { text, pair: find(PAIR_NAMES), label: find(LABEL_NAMES) };
}

/** The last `picked`: a set is read again only when its table or its columns change (render calls it often). */
let last = null;

/** The picked columns as arrays of strings (`pairs`/`labels` null when not picked). */
export function picked(ds) {
  const { table, columns } = ds;
  if (last && last.table === table && last.columns === columns) return last.value;
  const col = (c) => (c < 0 || !table ? null : table.rows.map((r) => (r[c] ?? '').trim()));
  const value = table && columns.text >= 0 ? { texts: col(columns.text), pairs: col(columns.pair), labels: col(columns.label) } : { texts: [], pairs: null, labels: null };
  last = { table, columns, value };
  return value;
}

/** What is wrong with the set as picked, for the user; null when it can run. */
export function problem(ds) {
  if (!ds.table) return null;
  if (!ds.table.rows.length) return `${ds.source} has no rows${ds.table.columns.length ? ' below its header' : ' (an empty file?)'}.`;
  if (ds.columns.text < 0) {
    return `No column of ${ds.source} is named ${TEXT_NAMES.slice(0, 4).join(', ')}…: pick the column that holds the text.`;
  }
  const { texts } = picked(ds);
  if (texts.every((t) => !t)) return `The column “${ds.table.columns[ds.columns.text]}” is empty in every row: pick the column that holds the text.`;
  return null;
}

/** Words in a text (for the length filter). */
const wordCount = (t) => (t.match(/\S+/g) ?? []).length;

/** A filter's text as a case-insensitive regular expression, or a plain substring when it is not one. */
export function matcher(query) {
  const q = query.trim();
  if (!q) return () => true;
  try {
    const re = new RegExp(q, 'i');
    return (t) => re.test(t);
  } catch {
    const low = q.toLowerCase();
    return (t) => t.toLowerCase().includes(low);
  }
}

/**
 * The misclassified rows that pass the view's filters, sorted: by
 * confidence (p of the predicted class, "confident and wrong" first) or by
 * loss (−ln p of the true class, largest first); ties by row.
 * @returns {number[]} row indices
 */
export function mistakes(ds) {
  const run = ds.run;
  if (!run || !ds.labels) return [];
  const { texts } = picked(ds);
  const v = ds.view;
  const truth = ds.labels.indices;
  const match = matcher(v.query);
  const min = v.minWords === '' ? 0 : Number(v.minWords);
  const max = v.maxWords === '' ? Infinity : Number(v.maxWords);
  const out = [];
  for (let i = 0; i < run.n; i++) {
    const t = truth[i];
    const p = run.predicted[i];
    if (t < 0 || p < 0 || t === p) continue;
    if (v.cell && (v.cell[0] !== t || v.cell[1] !== p)) continue;
    if (v.truth !== '' && Number(v.truth) !== t) continue;
    if (v.predicted !== '' && Number(v.predicted) !== p) continue;
    const words = wordCount(texts[i]);
    if (words < min || words > max || !match(texts[i])) continue;
    out.push(i);
  }
  const key = v.sort === 'loss' ? (i) => run.loss[i] : (i) => run.probability[i];
  return out.sort((a, b) => key(b) - key(a) || a - b);
}

/**
 * The confusion matrix cut to the classes that have an error (as a true or
 * a predicted class), and the off-diagonal cells, most frequent first.
 * @param {{labels: string[], indices: number[], matrix: number[][]}} confusion  the core's
 */
export function confusions(confusion) {
  const k = confusion.indices.length;
  const involved = new Set();
  const cells = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const c = confusion.matrix[i][j];
      if (i !== j && c > 0) {
        involved.add(i).add(j);
        cells.push({ truth: confusion.indices[i], predicted: confusion.indices[j], count: c });
      }
    }
  }
  cells.sort((a, b) => b.count - a.count || a.truth - b.truth || a.predicted - b.predicted);
  const slots = [...involved].sort((a, b) => a - b);
  return {
    slots,
    classes: slots.map((s) => confusion.indices[s]),
    matrix: slots.map((i) => slots.map((j) => confusion.matrix[i][j])),
    cells,
  };
}

/** The class whose words are shown first: the one with the most misclassified rows (then the most rows). */
export function defaultWordsClass(byClass) {
  let best = null;
  for (const [name, c] of Object.entries(byClass)) {
    if (!best || c.misclassified_rows > best[1].misclassified_rows || (c.misclassified_rows === best[1].misclassified_rows && c.rows > best[1].rows)) best = [name, c];
  }
  return best?.[0] ?? '';
}


/**
 * The rows whose faithfulness is evaluated: the misclassified rows the
 * filters show, in their order (`scope` 'mistakes'); every row that ran
 * ('all'), at most `limit`, spread evenly over the rows when there are more
 * (row ⌊k·n/limit⌋ for k < limit, so that a set sorted by class is sampled
 * across its classes); or the rows before row `limit` ('first', as
 * `bertlens analyze --faithfulness-rows` picks them).
 * @returns {number[]} row indices
 */
export function faithRows(ds, scope, limit) {
  const run = ds.run;
  if (!run) return [];
  let rows = [];
  if (scope === 'mistakes') rows = mistakes(ds);
  else for (let i = 0; i < run.n; i++) if (run.predicted[i] >= 0) rows.push(i);
  const n = rows.length;
  const k = Math.max(1, Math.floor(Number(limit) || 0));
  if (scope === 'first') return rows.filter((i) => i < k);
  if (n <= k) return rows;
  if (scope === 'mistakes') return rows.slice(0, k);
  return Array.from({ length: k }, (_, j) => rows[Math.floor((j * n) / k)]);
}

/**
 * Words per class as the rows of a CSV: class, which list (`toward`: over the
 * rows predicted as the class; `misclassified`: over those whose true label
 * is another), word, total and mean attribution, count.
 */
export function wordsTable(byClass, method) {
  const out = [['class', 'list', 'word', 'total', 'mean', 'count', 'method']];
  for (const name of Object.keys(byClass).sort()) {
    for (const list of ['toward', 'misclassified']) {
      for (const w of byClass[name][list]) out.push([name, list, w.word, w.total, w.mean, w.count, method]);
    }
  }
  return out;
}

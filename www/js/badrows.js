// The rows of a labelled set that could not be read as rows (parse-worker.js
// finds them: a row with more or fewer fields than the header, a quote that
// is never closed or is followed by text, a JSON Lines line that is not an
// object), in words with their lines in the file; and what the workbench does
// with a set that has them, as the user chose: stop (load nothing, say which
// lines) or skip (load the other rows, say which were left out). Pure.

/** Bad rows named one by one; the rest are counted. */
export const SHOWN = 5;

/** What the user may choose to do with bad rows (the workbench's “Bad rows” select). */
export const BAD_ROWS = ['stop', 'skip'];

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Where a row is: “line 4”, or “lines 4–6” for a row over lines. */
export function linesOf(b) {
  return b.end > b.line ? `lines ${b.line}–${b.end}` : `line ${b.line}`;
}

/**
 * A bad row in words, from the line it starts on: “line 4: 3 fields where
 * the header has 2”.
 * @param {{line: number, end: number, kind: string, fields?: number, expected?: number, eof?: boolean, detail?: string}} b
 */
export function badRowText(b) {
  const where = `line ${b.line}`;
  const over = b.end > b.line;
  switch (b.kind) {
    case 'fields':
      return `${where}: ${plural(b.fields, 'field')} where the header has ${b.expected}`;
    case 'quote-open':
      return `${where}: a quote opened here is never closed${over ? ` (lines ${b.line}–${b.end}, to the end of the file, were read as one field)` : ''}`;
    case 'quote-text':
      return `${where}: a quoted field is followed by text after its closing quote${
        b.eof ? `, and runs on to the end of the file (lines ${b.line}–${b.end} were read as one row)` : over ? ` (lines ${b.line}–${b.end} were read as one row)` : ''
      }`;
    case 'not-json':
      return `${where}: not JSON (${b.detail})`;
    case 'not-object':
      return `${where}: ${b.detail}, not a JSON object`;
    default:
      return `${where}: not a row`;
  }
}

/** “lines 4, 6 and 9–12”, or for more than SHOWN “lines 4, 6, 9–12, 15, 20 and 7 more”. */
export function badLines(bad, count) {
  const spans = bad.slice(0, SHOWN).map((b) => (b.end > b.line ? `${b.line}–${b.end}` : String(b.line)));
  const more = count - spans.length;
  const one = spans.length === 1 && more === 0;
  const word = one && bad[0].end === bad[0].line ? 'line' : 'lines';
  const list = more > 0 ? `${spans.join(', ')} and ${more} more` : spans.length > 1 ? `${spans.slice(0, -1).join(', ')} and ${spans.at(-1)}` : spans[0];
  return `${word} ${list}`;
}

/**
 * What the workbench does with a parsed set (parse-worker.js's Table) that
 * `name` names (“data.csv”, “the pasted text”), as `mode` says ('stop' or
 * 'skip'): {load: whether the table is loaded, message: {kind, text} | null,
 * list: the bad rows in words (the first SHOWN, then how many more)}.
 * A set with no header or no rows is not loaded either.
 * @param {{columns: string[], rows: string[][], bad: object[], badCount: number}} table
 * @param {'stop'|'skip'} mode
 * @param {string} name
 */
export function outcome(table, mode, name) {
  const n = table.badCount;
  const good = table.rows.length;
  const list = table.bad.slice(0, SHOWN).map(badRowText);
  if (n > SHOWN) list.push(`… and ${plural(n - SHOWN, 'more bad row')}`);
  const refuse = (text) => ({ load: false, message: { kind: 'error', text: `Not loaded: ${text}` }, list });
  if (table.bad[0]?.header) return refuse(`the header of ${name} is broken: ${badRowText(table.bad[0])}.`);
  if (!table.columns.length && !n) return refuse(`${name} is empty (no header, no rows).`);
  if (!good && !n) return refuse(`${name} has a header but no rows.`);
  const lines = badLines(table.bad, n);
  if (!good) return refuse(`every row of ${name} is bad (${lines}).`);
  if (!n) return { load: true, message: null, list: [] };
  if (mode === 'skip') {
    return {
      load: true,
      message: { kind: 'warning', text: `${plural(n, 'bad row')} of ${name} ${n === 1 ? 'was' : 'were'} skipped (${lines}); the other ${plural(good, 'row')} ${good === 1 ? 'is' : 'are'} loaded.` },
      list,
    };
  }
  return refuse(`${name} has ${plural(n, 'bad row')} (${lines}). Fix ${n === 1 ? 'it' : 'them'}, or set Bad rows to “skip” to load the other ${plural(good, 'row')}.`);
}

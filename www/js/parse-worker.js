// A classic Web Worker that reads a labelled set off the page's thread, so
// that a big file does not freeze it: CSV and TSV by papaparse (vendored
// into www/vendor/ at build time: `make vendor`), JSON Lines one object a
// line, plain text one row a line. papaparse is a UMD script, hence a
// classic worker and importScripts.
//
// In: `{id, type: 'parse', payload: {file?: File, text?: string, name: string}}`.
// Out: `{id, progress: {loaded, total}}` while reading, then
// `{id, result: Table}` or `{id, error}`, where
// `Table = {format: 'csv'|'tsv'|'jsonl'|'text', columns: string[], rows: string[][],
//           bad: BadRow[], badCount: number}`:
// the rows that are read well, in order, and the bad ones left out of them
// (the first MAX_BAD of them described, badCount all of them), which the page
// (badrows.js) reports by line and then loads without, or refuses. A BadRow is
// `{line, end, kind, fields?, expected?, eof?, detail?}`: its first and last
// line in the file (1-based; a quoted field that runs over lines makes them
// differ), and what is wrong: 'fields' (`fields` where the header has
// `expected`), 'quote-open' (a quote never closed: the row runs to the end of
// the file), 'quote-text' (text after a quoted field's closing quote; `eof`
// when the field then runs to the end of the file), 'not-json' (`detail`: the
// parser's words), 'not-object' (`detail`: what the line is instead); with
// `header: true` when the bad row is the header (then nothing is read).

importScripts('../vendor/papaparse.min.js');

/** Bad rows described at most; the rest are counted. */
const MAX_BAD = 1000;

/** The format of a file by its name, or of pasted text by its first line. */
function formatOf(name, sample) {
  const ext = /\.([a-z]+)$/i.exec(name ?? '')?.[1]?.toLowerCase();
  if (ext === 'tsv' || ext === 'tab') return 'tsv';
  if (ext === 'jsonl' || ext === 'ndjson' || ext === 'json') return 'jsonl';
  if (ext === 'txt') return 'text';
  if (ext === 'csv') return 'csv';
  const first = sample.split(/\r?\n/).find((l) => l.trim()) ?? '';
  if (first.trim().startsWith('{')) return 'jsonl';
  if (first.includes('\t')) return 'tsv';
  return 'csv';
}

/** The rows read well and the bad ones, as they are found. */
function collector() {
  const out = { rows: [], bad: [], badCount: 0 };
  out.addBad = (b) => {
    out.badCount++;
    if (out.bad.length < MAX_BAD) out.bad.push(b);
  };
  return out;
}

/** What a value is, when a JSON object was wanted. */
function jsonKind(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? 'a string' : typeof v === 'number' ? 'a number' : 'true or false';
}

/** Every line of a JSON Lines text as an object (or a bad row); the columns are their keys, in order of appearance. */
function jsonLines(text) {
  const columns = [];
  const seen = new Set();
  const objects = [];
  const got = collector();
  text.split(/\r\n|\r|\n/).forEach((line, n) => {
    if (!line.trim()) return;
    let v;
    try {
      v = JSON.parse(line);
    } catch (e) {
      got.addBad({ line: n + 1, end: n + 1, kind: 'not-json', detail: e.message });
      return;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      got.addBad({ line: n + 1, end: n + 1, kind: 'not-object', detail: jsonKind(v) });
      return;
    }
    for (const k of Object.keys(v)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
    objects.push(v);
  });
  const cell = (x) => (x === undefined || x === null ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x));
  return { columns, rows: objects.map((o) => columns.map((c) => cell(o[c]))), bad: got.bad, badCount: got.badCount };
}

/** Whether a field holds nothing but white space. */
const blank = (field) => !field.trim();

/** Line breaks in a field: \r\n, \n or \r, each one. */
const breaks = (field) => (field.includes('\n') || field.includes('\r') ? field.match(/\r\n|\r|\n/g).length : 0);

/**
 * Reads papaparse's rows, chunk by chunk, into rows read well and bad rows
 * with their lines in the file. papaparse is given no header and keeps empty
 * lines, so that every line of the file is in some row: a row starts on the
 * line after the last one's end, and ends as many lines later as its fields
 * hold line breaks. Its errors name a row by its index in the chunk.
 */
function tableReader() {
  const got = collector();
  let header = null;
  let headerBad = null;
  let seen = 0; // rows before this chunk
  let line = 1; // where the next row starts
  const quotes = new Map(); // row index in the file → papaparse's error codes
  got.add = (data, errors) => {
    // An error can be reported for the row a chunk ends in, and again when the next chunk reads it.
    for (const e of errors) {
      if (e.type !== 'Quotes') continue;
      const at = seen + e.row;
      if (!quotes.has(at)) quotes.set(at, new Set());
      quotes.get(at).add(e.code);
    }
    for (const r of data) {
      const codes = quotes.size ? quotes.get(seen) : undefined;
      if (codes) quotes.delete(seen);
      seen++;
      const open = Boolean(codes?.has('MissingQuotes'));
      let n = 0;
      for (const f of r) n += breaks(f);
      // A row's last field may end on the file's last line break (a quote never closed runs over
      // it), or on the \r of a \r\n when papaparse took \n for the line end: neither is a line.
      if (n && (open ? /(\r\n|\r|\n)$/ : /\r$/).test(r[r.length - 1])) n--;
      const start = line;
      line += n + 1;
      let bad = null;
      if (codes?.has('InvalidQuotes')) bad = { line: start, end: start + n, kind: 'quote-text', eof: open };
      else if (open) bad = { line: start, end: start + n, kind: 'quote-open' };
      // Empty lines are no rows; the header is the first row that is not empty.
      if (!bad && r.every(blank)) continue;
      if (header === null) {
        header = r;
        if (bad) headerBad = { ...bad, header: true };
        continue;
      }
      if (!bad && r.length !== header.length) bad = { line: start, end: start + n, kind: 'fields', fields: r.length, expected: header.length };
      if (bad) got.addBad(bad);
      else got.rows.push(r);
    }
  };
  got.finish = () => {
    const columns = (header ?? []).map((c, i) => c.trim() || `column ${i}`);
    if (headerBad) return { columns, rows: [], bad: [headerBad], badCount: 1 };
    return { columns, rows: got.rows, bad: got.bad, badCount: got.badCount };
  };
  return got;
}

function parseTable(input, format, onProgress) {
  return new Promise((resolve, reject) => {
    const reader = tableReader();
    const total = input.size ?? input.length;
    Papa.parse(input, {
      delimiter: format === 'tsv' ? '\t' : ',',
      skipEmptyLines: false, // tableReader skips them, and counts their lines
      chunkSize: 1 << 20,
      chunk: (results) => {
        reader.add(results.data, results.errors);
        onProgress(results.meta.cursor, total);
      },
      complete: () => resolve(reader.finish()),
      error: (e) => reject(new Error(e.message ?? String(e))),
    });
  });
}

async function parse({ file, text, name }, onProgress) {
  const sample = text ?? (file ? await file.slice(0, 4096).text() : '');
  const format = formatOf(name, sample);
  let table;
  if (format === 'jsonl') {
    table = jsonLines(text ?? (await file.text()));
  } else if (format === 'text') {
    const lines = (text ?? (await file.text())).split(/\r?\n/).filter((l) => l.trim());
    table = { columns: lines.length ? ['text'] : [], rows: lines.map((l) => [l]), bad: [], badCount: 0 };
  } else {
    table = await parseTable(text ?? file, format, onProgress);
  }
  return { format, ...table };
}

self.onmessage = async ({ data }) => {
  const { id, type, payload } = data;
  try {
    if (type !== 'parse') throw new Error(`unknown request ${type}`);
    const result = await parse(payload, (loaded, total) => self.postMessage({ id, progress: { loaded, total } }));
    self.postMessage({ id, result });
  } catch (e) {
    self.postMessage({ id, error: e?.message ?? String(e) });
  }
};

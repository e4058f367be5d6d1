// A classic Web Worker that reads a labelled set off the page's thread, so
// that a big file does not freeze it: CSV and TSV by papaparse (vendored
// into www/vendor/ at build time: `make vendor`), JSON Lines one object a
// line, plain text one row a line. papaparse is a UMD script, hence a
// classic worker and importScripts.
//
// In: `{id, type: 'parse', payload: {file?: File, text?: string, name: string}}`.
// Out: `{id, progress: {loaded, total}}` while reading, then
// `{id, result: Table}` or `{id, error}`, where
// `Table = {format: 'csv'|'tsv'|'jsonl'|'text', columns: string[], rows: string[][]}`.

importScripts('../vendor/papaparse.min.js');

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

/** Every line of a JSON Lines text as an object; the columns are their keys, in order of appearance. */
function jsonLines(text) {
  const columns = [];
  const seen = new Set();
  const objects = [];
  text.split(/\r?\n/).forEach((line, n) => {
    if (!line.trim()) return;
    let v;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${n + 1} is not JSON: ${e.message}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`line ${n + 1} is not a JSON object`);
    for (const k of Object.keys(v)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
    objects.push(v);
  });
  const cell = (x) => (x === undefined || x === null ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x));
  return { columns, rows: objects.map((o) => columns.map((c) => cell(o[c]))) };
}

function parseTable(input, format, onProgress) {
  return new Promise((resolve, reject) => {
    const rows = [];
    const total = input.size ?? input.length;
    Papa.parse(input, {
      delimiter: format === 'tsv' ? '\t' : ',',
      skipEmptyLines: 'greedy',
      chunkSize: 1 << 20,
      chunk: (results) => {
        for (const r of results.data) rows.push(r);
        onProgress(results.meta.cursor, total);
      },
      complete: () => {
        const header = rows.shift() ?? [];
        resolve({ columns: header.map((c, i) => c.trim() || `column ${i}`), rows });
      },
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
    table = { columns: ['text'], rows: lines.map((l) => [l]) };
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

// Reading a labelled set into the workbench: a file or pasted rows parsed
// off the page's thread (parse-worker.js), then loaded without its bad rows,
// or not at all, as the user chose (badrows.js says which and why).

import { state, update, emptyDataset } from './state.js';
import { outcome } from './badrows.js';
import { guessColumns } from './table.js';
import { cancelRun, matchLabels } from './dataset.js';

let parser = null;
let parseId = 0;

function parseInWorker(payload, onProgress) {
  parser ??= new Worker(new URL('./parse-worker.js', import.meta.url), { name: 'bertlens-parse' });
  const id = ++parseId;
  return new Promise((resolve, reject) => {
    const listen = ({ data }) => {
      if (data.id !== id) return;
      if (data.progress) return onProgress(data.progress);
      parser.removeEventListener('message', listen);
      if ('error' in data) reject(new Error(data.error));
      else resolve(data.result);
    };
    parser.addEventListener('message', listen);
    parser.postMessage({ id, type: 'parse', payload });
  });
}

/** The set last read: {table, name, source}, its bad rows and all, to load again when the user changes what bad rows do. */
let lastRead = null;

/**
 * Reads a labelled set (a File, or pasted text) into `state.dataset`: loaded
 * without its bad rows, or not at all, as `state.dataset.badRows` says (badrows.js).
 */
export async function loadDataset({ file, text }) {
  cancelRun();
  lastRead = null;
  const source = file ? file.name : 'the pasted rows';
  const { badRows } = state.dataset;
  const ds = Object.assign(state.dataset, { ...emptyDataset(), badRows, source, parsing: { loaded: 0, total: file?.size ?? text.length } });
  update();
  try {
    const table = await parseInWorker({ file, text, name: file?.name ?? '' }, (p) => {
      ds.parsing = p;
      update();
    });
    ds.parsing = null;
    lastRead = { table, name: file ? file.name : 'the pasted text', source };
    await useRead();
  } catch (e) {
    ds.parsing = null;
    ds.table = null;
    ds.message = { kind: 'error', text: `${source} could not be read: ${e.message}` };
  }
  update();
}

/** Loads the set last read, or refuses it, as its bad rows and the user's choice say. */
async function useRead() {
  const ds = state.dataset;
  const { table, name } = lastRead;
  const o = outcome(table, ds.badRows, name);
  // Bad rows are listed with the message; a set refused for another reason (empty) has the message alone.
  ds.bad = o.list.length ? { ...o.message, list: o.list } : null;
  ds.message = o.list.length ? null : o.message;
  ds.table = o.load ? table : null;
  ds.columns = o.load ? guessColumns(table.columns) : emptyDataset().columns;
  update();
  if (o.load) await matchLabels();
}

/** The user chose what bad rows do ('stop' or 'skip'): the set last read, if it has any, is loaded again that way. */
export async function setBadRows(mode) {
  const ds = state.dataset;
  ds.badRows = mode;
  if (!lastRead?.table.badCount || ds.parsing || ds.source !== lastRead.source) {
    update();
    return;
  }
  cancelRun();
  // What ran on the set as it was loaded before is gone with it.
  Object.assign(ds, { ...emptyDataset(), badRows: mode, source: ds.source });
  try {
    await useRead();
  } catch (e) {
    ds.message = { kind: 'error', text: e.message };
  }
  update();
}

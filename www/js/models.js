// Where a model's bytes come from: the page's own models (models/index.json),
// a base URL laid out like a model hub, or files the user picks or drops.
// Downloads report progress and are kept in the Cache API for the next visit.

import { AbortError } from './pool.js';

const CACHE = 'bertlens-models-v1';

/** The files a model folder may hold, as the core sorts them. */
export function isModelFile(name) {
  const base = name.split(/[\\/]/).pop();
  return (
    base === 'config.json' ||
    base === 'tokenizer.json' ||
    base === 'head.json' ||
    base.endsWith('.safetensors') ||
    base.endsWith('.pt') ||
    base.endsWith('.pth') ||
    base === 'pytorch_model.bin'
  );
}

async function openCache() {
  try {
    return globalThis.caches ? await caches.open(CACHE) : null;
  } catch {
    return null; // e.g. an insecure context, or storage switched off
  }
}

/** Empties the page's model cache. */
export async function clearCache() {
  if (globalThis.caches) await caches.delete(CACHE);
}

/**
 * Downloads `url` into bytes with progress, from the cache if it is there.
 * @returns {Promise<Uint8Array | null>} null when the file is absent (404) and `optional`
 */
async function download(url, { optional, cache, signal, onBytes }) {
  const hit = cache && (await cache.match(url));
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    onBytes(bytes.length, bytes.length);
    return bytes;
  }
  let res;
  try {
    res = await fetch(url, { signal, credentials: 'same-origin' });
  } catch (e) {
    if (signal?.aborted) throw new AbortError();
    throw new Error(`${url} could not be fetched (${e.message}); is the address right, and does its server allow this page (CORS)?`);
  }
  if (res.status === 404 && optional) return null;
  if (!res.ok) throw new Error(`${url}: the server answered ${res.status} ${res.statusText}`.trim());
  const total = Number(res.headers.get('content-length')) || 0;
  const chunks = [];
  let loaded = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onBytes(loaded, total);
    }
  } catch (e) {
    if (signal?.aborted) throw new AbortError();
    throw new Error(`${url}: the download broke off (${e.message})`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  if (cache) {
    const type = res.headers.get('content-type') || 'application/octet-stream';
    await cache.put(url, new Response(bytes, { headers: { 'content-type': type } })).catch(() => {});
  }
  return bytes;
}

/**
 * Downloads files relative to `base`.
 * @param {string} base  a folder URL (ends with /)
 * @param {{name: string, path?: string, optional?: boolean}[]} wanted  `path`: where to
 *   download it from, when that is not `name` (the core is given `name`)
 * @param {{signal?: AbortSignal, onProgress?: (loaded: number, total: number, name: string) => void}} opts
 * @returns {Promise<import('./types.js').ModelFile[]>}
 */
export async function fetchModel(base, wanted, { signal, onProgress } = {}) {
  const cache = await openCache();
  const progress = new Map();
  const report = (name) => (loaded, total) => {
    progress.set(name, [loaded, total]);
    let l = 0;
    let t = 0;
    for (const [a, b] of progress.values()) {
      l += a;
      t += b || a;
    }
    onProgress?.(l, t, name);
  };
  const results = await Promise.all(
    wanted.map(async ({ name, path, optional }) => {
      const url = new URL(path ?? name, base).href;
      const bytes = await download(url, { optional, cache, signal, onBytes: report(name) });
      return bytes && { name, bytes };
    }),
  );
  return results.filter(Boolean);
}

/** Weights a hub folder may hold, in the order they are looked for. */
const HUB_WEIGHTS = ['model.safetensors', 'pytorch_model.bin', 'model.pt', 'model.pth'];

/**
 * A model from a base URL laid out like a model hub: `config.json`,
 * `tokenizer.json`, the first of `model.safetensors`, `pytorch_model.bin`,
 * `model.pt`, `model.pth` that exists, and `head.json` with
 * `head.safetensors` when present.
 */
export async function fetchFromUrl(base, opts = {}) {
  let url;
  try {
    url = new URL(base, globalThis.location?.href);
  } catch {
    throw new Error(`${base} is not a URL`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new Error(`${base}: only http(s) addresses can be loaded`);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  const base_ = url.href;
  // config.json first: if it is not there, the address is not a model folder.
  const config = await fetchModel(base_, [{ name: 'config.json' }], opts);
  const head = [
    ...config,
    ...(await fetchModel(base_, [{ name: 'tokenizer.json' }, { name: 'head.json', optional: true }], opts)),
  ];
  let weights = null;
  for (const name of HUB_WEIGHTS) {
    [weights] = await fetchModel(base_, [{ name, optional: true }], opts);
    if (weights) break;
  }
  if (!weights) {
    throw new Error(`${base_} has no weights: looked for ${HUB_WEIGHTS.join(', ')}`);
  }
  const extra = head.some((f) => f.name === 'head.json')
    ? await fetchModel(base_, [{ name: 'head.safetensors', optional: true }], opts)
    : [];
  return [...head, weights, ...extra];
}

/**
 * Files the user picked (an `<input type=file multiple>` or a folder).
 * @param {Iterable<File>} fileList
 * @returns {Promise<import('./types.js').ModelFile[]>}
 */
export async function readFiles(fileList) {
  const files = [...fileList].filter((f) => isModelFile(f.webkitRelativePath || f.name));
  return Promise.all(
    files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
  );
}

/**
 * Files dropped on the page; folders are walked.
 * @param {DataTransfer} dt
 * @returns {Promise<import('./types.js').ModelFile[]>}
 */
export async function readDrop(dt) {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return readFiles(dt.files);
  const files = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      files.push(await new Promise((res, rej) => entry.file(res, rej)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  for (const e of entries) await walk(e);
  return readFiles(files);
}

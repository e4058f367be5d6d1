// Where a model's bytes come from: the page's own models (models/index.json),
// a base URL laid out like a model hub, or files the user picks or drops.
// Downloads report progress and are kept in the Cache API for the next visit.

import { AbortError } from './pool.js';

/** The Cache API store that downloaded models are kept in. */
export const MODEL_CACHE = 'bertlens-models-v1';
const CACHE = MODEL_CACHE;

/** The tokenizer's files, fast (tokenizer.json) and slow, as the core reads them. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  'spiece.model',
  'spm.model',
  'sentencepiece.bpe.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
];

/** Weights in formats the core does not read: passed by name only, so that it can say what they are. */
const FOREIGN = ['tf_model.h5', 'flax_model.msgpack', 'model.onnx', '.gguf', 'model.ckpt.index'];

const SHARD = /^(model-\d+-of-\d+\.safetensors|pytorch_model-\d+-of-\d+\.bin)$/;

const baseName = (name) => name.split(/[\\/]/).pop();

/** Whether a file is foreign weights (named to the core, never read). */
export function isForeignWeights(name) {
  const base = baseName(name);
  return FOREIGN.some((f) => base === f || (f.startsWith('.') && base.endsWith(f)));
}

/** The files a model folder may hold, as the core sorts them. */
export function isModelFile(name) {
  const base = baseName(name);
  return (
    base === 'config.json' ||
    base === 'head.json' ||
    TOKENIZER_FILES.includes(base) ||
    base.endsWith('.safetensors') ||
    base.endsWith('.pt') ||
    base.endsWith('.pth') ||
    base === 'pytorch_model.bin' ||
    SHARD.test(base) ||
    isForeignWeights(base)
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

/**
 * Without tokenizer.json, the groups of slow files to look for, in order, as
 * the core's vocabulary (`tokenizer_files`) says it reads them: those of
 * tokenizer_config.json's `tokenizer_class` (`Fast` dropped), else of the
 * model type, else (neither known) the core's fallback order. None for a
 * model type read from tokenizer.json only, or a class the core does not
 * build (the core then says so).
 * @param {import('./types.js').TokenizerFilesInfo} info
 */
export function slowTokenizerGroups(info, modelType, tokenizerClass) {
  if (tokenizerClass) return info.by_class[tokenizerClass.replace(/Fast$/, '')] ?? [];
  return info.by_model_type[modelType] ?? info.fallback;
}

/** Weights a hub folder may hold, in the order they are looked for; an index names shards. */
const HUB_WEIGHTS = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
  'model.pt',
  'model.pth',
];

/** The shard files a `*.index.json` names (its `weight_map`'s values). */
function shardsOf(index) {
  let map;
  try {
    map = JSON.parse(new TextDecoder().decode(index.bytes)).weight_map;
  } catch {
    throw new Error(`${index.name} is not valid JSON`);
  }
  const names = [...new Set(Object.values(map ?? {}))];
  if (!names.length) throw new Error(`${index.name} names no shards (its weight_map is empty)`);
  return names;
}

/**
 * The Hugging Face Hub's form of an address: `https://huggingface.co/OWNER/NAME`,
 * `…/tree/REV[/DIR]` or `…/resolve/REV[/DIR]/`, as `{base, listing}`: the
 * folder its files download from and the API address that lists them. Null
 * for any other host.
 */
export function hubFolder(url) {
  if (!['huggingface.co', 'hf.co'].includes(url.hostname)) return null;
  const m = /^\/([^/]+)\/([^/]+?)(?:\/(?:resolve|tree|blob)\/([^/]+)(\/.*?)?)?\/?$/.exec(url.pathname);
  if (!m || ['api', 'datasets', 'spaces', 'docs'].includes(m[1])) return null;
  const [, owner, name, rev = 'main', dir = ''] = m;
  const sub = dir.replace(/^\/|\/$/g, '');
  const tail = sub ? `/${sub}` : '';
  return {
    base: `${url.origin}/${owner}/${name}/resolve/${rev}${tail}/`,
    listing: `${url.origin}/api/models/${owner}/${name}/tree/${rev}${tail}`,
    dir: sub,
  };
}

/**
 * The names of the files in a hub folder (`hubFolder`), from its listing: a
 * Set, or null when the listing cannot be read (then files are looked for).
 */
async function hubListing(hub, { signal } = {}) {
  try {
    const res = await fetch(hub.listing, { signal, credentials: 'omit' });
    if (!res.ok) return null;
    const entries = await res.json();
    if (!Array.isArray(entries)) return null;
    const prefix = hub.dir ? `${hub.dir}/` : '';
    return new Set(entries.filter((e) => e?.type === 'file' && typeof e.path === 'string' && e.path.startsWith(prefix)).map((e) => e.path.slice(prefix.length)).filter((n) => !n.includes('/')));
  } catch (e) {
    if (signal?.aborted) throw new AbortError();
    return null;
  }
}

/**
 * A model from a base URL laid out like a model hub: `config.json`, the
 * tokenizer (`tokenizer.json`, else the slow files the core reads for its
 * tokenizer class or model type, which `opts.tokenizerFiles()` gives: the
 * engine's vocabulary's `tokenizer_files`, asked for only then; with
 * `tokenizer_config.json`, and `special_tokens_map.json` and
 * `added_tokens.json` when that config has no `added_tokens_decoder`, the
 * only layout the core reads them in), the first of the weights that exists
 * (a sharded checkpoint through its index), and `head.json` with
 * `head.safetensors` when present.
 *
 * Which files exist: on the Hugging Face Hub, its listing says, and only
 * those are fetched (an absent optional file is no failed request, no error
 * in the console). Other hosts list nothing: optional files are looked for
 * (an absent one answers 404), as few as can be, stopping at the first
 * weights and tokenizer found.
 */
export async function fetchFromUrl(base, opts = {}) {
  let url;
  try {
    url = new URL(base, globalThis.location?.href);
  } catch {
    throw new Error(`${base} is not a URL`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new Error(`${base}: only http(s) addresses can be loaded`);
  const hub = hubFolder(url);
  if (hub) url = new URL(hub.base);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  const base_ = url.href;
  // config.json first: if it is not there, the address is not a model folder.
  const [config] = await fetchModel(base_, [{ name: 'config.json' }], opts);
  const listed = hub ? await hubListing(hub, opts) : null;
  // Absent from a listing: not asked for. No listing: asked for, optionally.
  const optional = (names) => fetchModel(base_, names.filter((n) => !listed || listed.has(n)).map((name) => ({ name, optional: true })), opts);
  // Unreadable: the core says what is wrong with it.
  const modelType = jsonField(config, 'model_type') ?? '';
  const files = [config, ...(await optional(['tokenizer.json', 'tokenizer_config.json', 'head.json']))];
  // The legacy layout's files, read only when tokenizer_config.json has no added_tokens_decoder.
  if (!hasAddedTokensDecoder(files.find((f) => f.name === 'tokenizer_config.json'))) {
    files.push(...(await optional(['special_tokens_map.json', 'added_tokens.json'])));
  }
  if (!files.some((f) => f.name === 'tokenizer.json')) {
    if (!opts.tokenizerFiles) throw new Error(`${base_} has no tokenizer.json, and the engine's list of the slow tokenizer files it reads was not given`);
    const tokenizerClass = jsonField(files.find((f) => f.name === 'tokenizer_config.json'), 'tokenizer_class');
    for (const group of slowTokenizerGroups(await opts.tokenizerFiles(), modelType, typeof tokenizerClass === 'string' ? tokenizerClass : null)) {
      if (listed && !group.every((n) => listed.has(n))) continue;
      const got = await optional(group);
      if (got.length === group.length) {
        files.push(...got);
        break;
      }
    }
  }
  let weights = [];
  for (const name of HUB_WEIGHTS) {
    if (listed && !listed.has(name)) continue;
    const [found] = await optional([name]);
    if (!found) continue;
    weights = name.endsWith('.index.json') ? await fetchModel(base_, shardsOf(found).map((n) => ({ name: n })), opts) : [found];
    break;
  }
  if (!weights.length) {
    throw new Error(`${base_} has no weights: looked for ${HUB_WEIGHTS.join(', ')}`);
  }
  const extra = files.some((f) => f.name === 'head.json') ? await optional(['head.safetensors']) : [];
  return [...files, ...weights, ...extra];
}

/** A field of a JSON file's top-level object (absent or unreadable: undefined). */
function jsonField(file, key) {
  if (!file) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(file.bytes))?.[key];
  } catch {
    return undefined;
  }
}

/** Whether a tokenizer_config.json file has `added_tokens_decoder` (unreadable: no). */
function hasAddedTokensDecoder(file) {
  const d = jsonField(file, 'added_tokens_decoder');
  return typeof d === 'object' && d !== null;
}

/**
 * Files the user picked (an `<input type=file multiple>` or a folder), read
 * into bytes; foreign weights are named but not read (they can be large,
 * and the core only says what they are).
 * @param {Iterable<File>} fileList
 * @returns {Promise<import('./types.js').ModelFile[]>}
 */
export async function readFiles(fileList) {
  // A picked folder's own files, not those of its subfolders (checkpoints, onnx/, …).
  const topLevel = (f) => !f.webkitRelativePath || f.webkitRelativePath.split('/').length <= 2;
  const files = [...fileList].filter((f) => topLevel(f) && isModelFile(f.webkitRelativePath || f.name));
  return Promise.all(
    files.map(async (f) => ({
      name: f.name,
      bytes: isForeignWeights(f.name) ? new Uint8Array(0) : new Uint8Array(await f.arrayBuffer()),
    })),
  );
}

/**
 * The files dropped on the page, and those directly in a dropped folder
 * (not its subfolders'). The entries are taken at once (a drop's items
 * expire when its event ends); the walk goes on after.
 * @param {DataTransfer} dt
 * @returns {Promise<File[]>}
 */
export function dropFiles(dt) {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return Promise.resolve([...dt.files]);
  const files = [];
  const walk = async (entry, depth = 0) => {
    if (entry.isFile) {
      files.push(await new Promise((res, rej) => entry.file(res, rej)));
    } else if (entry.isDirectory && depth === 0) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, depth + 1);
      }
    }
  };
  return (async () => {
    for (const e of entries) await walk(e);
    return files;
  })();
}

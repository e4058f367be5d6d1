// What every <bert-lens> of a page shares: the engine compiled once, and per
// model one download, one worker pool holding it and one queue of requests.
// A model is named by a folder URL or by an id of models/index.json (beside
// bert-lens.js); the bytes come through models.js (progress, the Cache API).

import { Pool } from '../pool.js';
import { fetchModel, fetchFromUrl, MODEL_CACHE } from '../models.js';

/** The folder of bert-lens.js: where pkg/ and models/ are. */
const ROOT = new URL('../../', import.meta.url);
const WASM = new URL('pkg/bertlens_wasm_bg.wasm', ROOT).href;

/** Workers per model: Integrated Gradients spreads over them. */
const WORKERS = Math.max(1, Math.min(2, globalThis.navigator?.hardwareConcurrency || 1));

let catalog = null;
let engine = null;
/** @type {Map<string, SharedModel>} */
const models = new Map();

function catalogEntries() {
  catalog ??= fetch(new URL('models/index.json', ROOT))
    .then((r) => (r.ok ? r.json() : { models: [] }))
    .then((j) => j.models ?? [])
    .catch(() => []);
  return catalog;
}

/** The wasm, compiled once for every pool of the page. */
function compiledEngine() {
  engine ??= WebAssembly.compileStreaming(fetch(WASM)).catch(async () => {
    const res = await fetch(WASM);
    if (!res.ok) throw new Error(`${WASM}: ${res.status} (was the wasm built? make wasm)`);
    return WebAssembly.compile(await res.arrayBuffer());
  });
  return engine;
}

/**
 * The model `spec` names (an id of models/index.json, or a folder URL
 * relative to the page), shared by every element that names it on the
 * same `device` (`auto`, `cpu`, `webgpu`; the attribute `device`).
 * @returns {Promise<SharedModel>}
 */
export async function sharedModel(spec, device) {
  device = ['cpu', 'webgpu'].includes(device) ? device : 'auto';
  const entries = await catalogEntries();
  let entry = entries.find((e) => e.id === spec);
  let base;
  if (entry) {
    base = new URL(entry.base, ROOT).href;
  } else {
    let url;
    try {
      url = new URL(spec, document.baseURI);
    } catch {
      throw new Error(`model “${spec}” is neither an id of models/index.json nor a URL`);
    }
    if (!/^https?:$/.test(url.protocol)) throw new Error(`model “${spec}”: only http(s) addresses can be loaded`);
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    base = url.href;
    // A catalog model's folder: its file list (the first entry of that folder).
    entry = entries.find((e) => new URL(e.base, ROOT).href === base);
  }
  const files = entry?.files.map((f) => (typeof f === 'string' ? { name: f } : f)) ?? null;
  const key = JSON.stringify([base, files, device]);
  if (!models.has(key)) models.set(key, new SharedModel(entry?.name ?? spec, base, files, device));
  return models.get(key);
}

export class SharedModel extends EventTarget {
  /**
   * @param {string} name
   * @param {string} base  a folder URL
   * @param {{name: string, path?: string}[] | null} files  null: looked for as on a model hub
   * @param {'auto' | 'cpu' | 'webgpu'} device  where attribution's passes run
   */
  constructor(name, base, files, device) {
    super();
    this.device = device;
    this.name = name;
    this.base = base;
    this.files = files;
    this.loading = null; // the load's promise, once asked for
    this.info = null;
    this.pool = null;
    this.progress = null; // {loaded, total}
    this.queue = Promise.resolve();
  }

  get urls() {
    const names = this.files ? this.files.map((f) => f.path ?? f.name) : ['config.json', 'tokenizer.json', 'model.safetensors'];
    return names.map((n) => new URL(n, this.base).href);
  }

  /**
   * What a first run downloads, before it is asked for: bytes of the
   * model's files and of the engine (HEAD requests), and whether the
   * model is already in the Cache API. Asked once.
   * @returns {Promise<{model: number, engine: number, cached: boolean, missing: string[]}>}  missing: files that answered 404
   */
  measure() {
    this.measured ??= (async () => {
      const missing = [];
      const size = async (url) => {
        try {
          const r = await fetch(url, { method: 'HEAD', credentials: 'same-origin' });
          if (r.status === 404) missing.push(url);
          return r.ok ? Number(r.headers.get('content-length')) || 0 : 0;
        } catch {
          return 0;
        }
      };
      let cached = false;
      try {
        const cache = globalThis.caches ? await caches.open(MODEL_CACHE) : null;
        cached = Boolean(cache) && (await Promise.all(this.urls.map((u) => cache.match(u)))).every(Boolean);
      } catch {
        cached = false;
      }
      if (cached) return { model: 0, engine: await size(WASM), cached, missing };
      const [engineBytes, ...sizes] = await Promise.all([size(WASM), ...this.urls.map(size)]);
      return { model: sizes.reduce((a, b) => a + b, 0), engine: engineBytes, cached, missing };
    })();
    return this.measured;
  }

  /**
   * Downloads the model and loads it into its pool, once however many
   * elements ask; a 'start' event, then 'progress' events while the bytes come.
   * @returns {Promise<import('../types.js').ModelInfo>}
   */
  load() {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      const onProgress = (loaded, total) => {
        this.progress = { loaded, total };
        this.dispatchEvent(new Event('progress'));
      };
      // The workers start while the files come: a folder without tokenizer.json asks
      // their engine which slow tokenizer files it reads.
      const starting = compiledEngine().then((module) => new Pool({ size: WORKERS, module, device: this.device }));
      const tokenizerFiles = async () => (await (await starting).vocabulary).tokenizer_files;
      const getFiles = (opts) => (this.files ? fetchModel(this.base, this.files, opts) : fetchFromUrl(this.base, { ...opts, tokenizerFiles }));
      let pool = null;
      try {
        const [started, files] = await Promise.all([starting, getFiles({ onProgress })]);
        pool = started;
        this.progress = null;
        this.dispatchEvent(new Event('progress'));
        this.info = await pool.load(files, this.name, () => getFiles({}));
      } catch (e) {
        (pool ?? (await starting.catch(() => null)))?.terminate();
        throw e;
      }
      this.pool = pool;
      return this.info;
    })();
    // A failed load may be asked for again.
    this.loading.catch(() => (this.loading = null));
    // The elements that offered the download go on with it.
    this.dispatchEvent(new Event('start'));
    return this.loading;
  }

  /** Runs `fn(pool)` after the requests before it (the workers hold one run's state at a time). */
  run(fn) {
    const next = this.queue.then(() => fn(this.pool));
    this.queue = next.catch(() => {});
    return next;
  }
}

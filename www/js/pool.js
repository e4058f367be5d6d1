// A pool of module workers, each with its own wasm instance and its own
// copy of the model. Worker 0 answers every request; Integrated Gradients
// spreads its steps over all of them. No SharedArrayBuffer, so the page
// needs no special headers and works on any static host. Where the model is
// placed on WebGPU (worker 0 holds the device), the GPU computes the steps
// alone: a CPU worker's share would finish last.

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class AbortError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'AbortError';
  }
}

class Engine {
  /** @param {WebAssembly.Module | undefined} module */
  constructor(module) {
    this.worker = new Worker(WORKER_URL, { type: 'module', name: 'bertlens' });
    this.pending = new Map();
    this.nextId = 1;
    /** Per request type, the typed-array bytes that crossed to the worker and back (`{calls, bytes}`). */
    this.sent = {};
    this.received = {};
    this.worker.onmessage = ({ data }) => {
      const p = this.pending.get(data.id);
      if (!p) return;
      this.pending.delete(data.id);
      const r = (this.received[p.type] ??= { calls: 0, bytes: 0 });
      r.calls++;
      r.bytes += arrayBytes(data.result);
      if ('error' in data) {
        const e = new Error(data.error);
        e.fatal = Boolean(data.fatal);
        p.reject(e);
      } else {
        p.resolve(data.result);
      }
    };
    this.worker.onerror = (ev) => {
      // The worker script itself failed (e.g. pkg/ is missing).
      ev.preventDefault?.();
      const e = new Error(`the engine could not start: ${ev.message || 'worker error'}`);
      e.fatal = true;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    /** Resolves, once the engine has started, to its vocabulary (`Vocabulary`). */
    this.ready = this.call('init', { module });
  }

  call(type, payload, transfer = []) {
    const id = this.nextId++;
    const sent = (this.sent[type] ??= { calls: 0, bytes: 0 });
    sent.calls++;
    sent.bytes += arrayBytes(payload);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, type });
      this.worker.postMessage({ id, type, payload }, transfer);
    });
  }

  terminate() {
    this.worker.terminate();
    const e = new Error('the engine was stopped');
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** The bytes of the typed arrays in an answer (itself, or its fields). */
function arrayBytes(v) {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (!v || typeof v !== 'object') return 0;
  return Object.values(v).reduce((n, x) => n + (ArrayBuffer.isView(x) ? x.byteLength : 0), 0);
}

/** The buffers of `files` that can be handed over whole (each once). */
function transferable(files) {
  const buffers = new Set();
  for (const { bytes } of files) {
    if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.byteLength > 0) buffers.add(bytes.buffer);
  }
  return [...buffers];
}

export class Pool {
  /**
   * @param {object} opts
   * @param {number} opts.size  workers (at least 1)
   * @param {WebAssembly.Module} [opts.module] the compiled wasm, shared by all workers
   * @param {'auto' | 'cpu' | 'webgpu'} [opts.device] where attribution's passes run (worker 0's GPU, or the CPU)
   */
  constructor({ size, module, device = 'auto' }) {
    this.module = module;
    this.deviceChoice = device;
    /** Where attribution's passes run (`DeviceInfo`), once a model has loaded. */
    this.device = null;
    this.engines = Array.from({ length: Math.max(1, size) }, () => new Engine(module));
    /** Gets the loaded model's files again, to load into a replacement worker. */
    this.reload = null;
    this.source = null;
  }

  /** The engine's vocabulary (`Vocabulary`: its methods, defaults and baselines), once it has started. */
  get vocabulary() {
    return this.engines[0].ready;
  }

  get size() {
    return this.engines.length;
  }

  /** The workers that compute a run's steps or inputs: worker 0 alone when it holds the GPU. */
  get computing() {
    return this.device?.kind === 'webgpu' ? [0] : this.engines.map((_, i) => i);
  }

  /** Worker 0's device, asked again after a run (a GPU fault moves it to the CPU, with a notice). */
  async refreshDevice() {
    if (this.device?.kind === 'webgpu') this.device = await this.call(0, 'device');
    return this.device;
  }

  /** Calls worker `i`; a worker whose wasm trapped is replaced and reloaded. */
  async call(i, type, payload, transfer) {
    const engine = this.engines[i];
    try {
      return await engine.call(type, payload, transfer);
    } catch (e) {
      if (e.fatal) {
        await this.replace(i);
        throw new Error(`${e.message} (the engine was restarted)`);
      }
      throw e;
    }
  }

  async replace(i) {
    this.engines[i].terminate();
    const engine = new Engine(this.module);
    this.engines[i] = engine;
    await engine.ready;
    if (this.reload) await engine.call('load', { files: await this.reload(), source: this.source });
    if (i === 0) await this.place(this.deviceChoice);
  }

  /**
   * Loads a model into every worker. If it fails, every worker keeps the
   * model it had (a worker swaps models only once the new one has loaded).
   * The last worker is handed the bytes (transferred, not copied): the page
   * keeps no copy of the weights; `reload` gets them again if a worker has
   * to be replaced.
   * @param {import('./types.js').ModelFile[]} files
   * @param {string} source
   * @param {() => Promise<import('./types.js').ModelFile[]>} reload
   * @returns {Promise<import('./types.js').ModelInfo>}
   */
  async load(files, source, reload) {
    await Promise.all(this.engines.map((e) => e.ready));
    const last = this.engines.length - 1;
    const info = await this.call(0, 'load', { files, source }, last === 0 ? transferable(files) : []);
    // The first worker checked the files; the others load what is known to work.
    await Promise.all(
      this.engines.slice(1).map((_, k) => this.call(k + 1, 'load', { files, source }, k + 1 === last ? transferable(files) : [])),
    );
    this.reload = reload;
    this.source = source;
    await this.place(this.deviceChoice);
    return info;
  }

  /**
   * Places the loaded model's attribution passes on `device` (`auto`, `cpu`,
   * `webgpu`): the GPU, when asked for and there is one, in worker 0 only
   * (one device, one upload). Answers `DeviceInfo`.
   */
  async place(device) {
    this.deviceChoice = device;
    if (this.reload) this.device = await this.call(0, 'place', { device });
    return this.device;
  }

  /** Bytes of each worker's wasm memory. */
  memory() {
    return Promise.all(this.engines.map((_, i) => this.call(i, 'memory')));
  }

  /**
   * Integrated Gradients with its steps spread over the workers. Worker 0
   * holds the input's session and the core's driver: it starts the run
   * (`IgStarted`: a serializable job and the first round) and takes each
   * round's results; every worker computes jobs (gradient sums of a few
   * points, f64) from the job alone, with no forward pass of the input.
   * Fixed steps are one round of jobs small enough that progress moves and
   * a cancel lands quickly; `n_steps: "auto"` is rounds of intervals until
   * the driver says the delta is within the tolerance. The driver adds the
   * sums in f64, in the order of the jobs, whichever worker finished first.
   * `onProgress(done, total)` as jobs arrive; for "auto" `onProgress(steps,
   * 0, progress)` after each round.
   * @returns {Promise<import('./types.js').Explanation>}
   */
  async integratedGradients({ text, pair, options }, { onProgress, signal } = {}) {
    const req = { text, pair, options };
    const aborted = new Promise((_, reject) => {
      if (signal?.aborted) reject(new AbortError());
      signal?.addEventListener('abort', () => reject(new AbortError()), { once: true });
    });
    aborted.catch(() => {});
    const computing = this.computing;
    const started = await Promise.race([this.call(0, 'igStart', { ...req, workers: computing.length }), aborted]);
    const { job, size, auto, steps } = started;
    let round = started.round;
    let done = 0;
    while (round) {
      const jobs = round.jobs;
      const sums = new Float64Array(jobs.length * size);
      let next = 0;
      const work = async (i) => {
        while (next < jobs.length && !signal?.aborted) {
          const k = next++;
          const part = await this.call(i, 'igSum', { job, options, points: jobs[k] });
          // A piece that was under way when the run was cancelled reports nothing.
          if (signal?.aborted) return;
          sums.set(part, k * size);
          done += jobs[k].alphas.length;
          if (!auto) onProgress?.(done, steps);
        }
      };
      // Worker 0 also computes the scores at an adaptive round's interval ends (forward passes only).
      const scored = round.scores_at.length ? this.call(0, 'igScores', { job, options, alphas: round.scores_at }) : new Float32Array(0);
      const [, scores] = await Promise.race([Promise.all([Promise.all(computing.map(work)), scored]), aborted]);
      if (signal?.aborted) throw new AbortError();
      const submitted = await this.call(0, 'igSubmit', { ...req, sums, scores }, [sums.buffer, scores.buffer]);
      if (signal?.aborted) throw new AbortError();
      if (submitted.progress) onProgress?.(submitted.progress.steps, 0, submitted.progress);
      round = submitted.round;
    }
    const out = await this.call(0, 'igFinish', req);
    await this.refreshDevice();
    return out;
  }

  /**
   * A perturbation method (occlusion, Shapley values) of `{text, pair,
   * options}`: worker 0 says which inputs the core scores, every worker
   * scores ranges of them, and worker 0 finds the attributions from the
   * scores. `onProgress(done, total)` as ranges come back; a cancel stops
   * handing out ranges.
   */
  async perturbation({ text, pair, options }, { onProgress, signal } = {}) {
    const req = { text, pair, options };
    const started = await this.call(0, 'perturbStart', { ...req, workers: this.computing.length });
    if (signal?.aborted) throw new AbortError();
    const { job, inputs, chunk } = started;
    const ranges = [];
    for (let from = 0; from < inputs; from += chunk) ranges.push({ job, options, from, to: Math.min(from + chunk, inputs) });
    const scores = new Float64Array(inputs);
    let done = 0;
    onProgress?.(0, inputs);
    await this.each('perturbScores', ranges, {
      signal,
      onResult: (k, part) => {
        scores.set(part, ranges[k].from);
        done += part.length;
        onProgress?.(done, inputs);
      },
    });
    const out = await this.call(0, 'perturbFinish', { ...req, scores }, [scores.buffer]);
    await this.refreshDevice();
    return out;
  }

  /**
   * Runs `payloads` (requests of `type`) over every worker, each taking the
   * next when it is done; `onResult(k, result)` as each arrives, in any
   * order. A cancel stops handing out work; what was under way is dropped.
   */
  async each(type, payloads, { onResult, signal } = {}) {
    let next = 0;
    const work = async (i) => {
      while (next < payloads.length && !signal?.aborted) {
        const k = next++;
        const result = await this.call(i, type, payloads[k]);
        if (signal?.aborted) return;
        onResult?.(k, result);
      }
    };
    const aborted = new Promise((_, reject) => {
      if (signal?.aborted) reject(new AbortError());
      signal?.addEventListener('abort', () => reject(new AbortError()), { once: true });
    });
    aborted.catch(() => {});
    const workers = type === 'perturbScores' ? this.computing : this.engines.map((_, i) => i);
    await Promise.race([Promise.all(workers.map(work)), aborted]);
    if (signal?.aborted) throw new AbortError();
  }

  terminate() {
    for (const e of this.engines) e.terminate();
  }
}

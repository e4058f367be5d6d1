// Live mode of <bert-lens>: the element's model, shared with the page's
// other elements (registry.js), is downloaded only when the element is in
// view and, unless the browser already keeps it, only when the reader asks
// (a button that says what it downloads); then the text is explained.

import { h } from '../dom.js';
import { sharedModel } from './registry.js';
import { viewList } from './present.js';
import { onDemand } from '../maps.js';

/** The views drawn from the forward pass's attention. */
const ATTENTION = ['heatmap', 'rollout', 'head', 'model', 'neuron', 'steps'];

const mb = (bytes) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

export class LiveController {
  /** @param {import('./element.js').BertLens} el */
  constructor(el) {
    this.el = el;
    this.model = null;
    this.info = null;
    this.visible = false;
    this.run = 0; // the latest explanation asked for
    this.observer = null;
    this.onProgress = () => this.showProgress();
    this.scheduled = false;
    /** Within the text: the token, filler or answer a click chose; {} the core's default. */
    this.focus = {};
  }

  /** Explains another token (token classification), filler (fill-mask) or answer (question answering). */
  focusOn(focus) {
    this.focus = focus;
    // A token's own label, not the target another token had.
    if ('token' in focus && !('target' in focus) && this.el.target !== null) this.el.removeAttribute('target');
    else this.schedule(() => this.explain());
  }

  /** Waits until the element is in view. */
  start() {
    this.el.status('bertlens runs the model in your browser once this is in view.', 'info');
    this.observer = new IntersectionObserver((entries) => {
      if (!entries.some((x) => x.isIntersecting)) return;
      this.observer.disconnect();
      this.visible = true;
      this.prepare();
    });
    this.observer.observe(this.el);
  }

  disconnect() {
    this.observer?.disconnect();
    this.model?.removeEventListener('progress', this.onProgress);
    this.run++;
  }

  /** An attribute changed: a new model starts over, anything else explains again. */
  changed(name) {
    if (name === 'model') {
      this.model?.removeEventListener('progress', this.onProgress);
      this.model = null;
      this.focus = {};
      this.info = null;
      this.run++;
      if (this.visible) this.schedule(() => this.prepare());
    } else if (name === 'view') {
      // What a live view draws beyond the explanation is asked for only when it is shown.
      if (this.info && this.missing()) this.schedule(() => this.explain());
    } else if (this.info) {
      if (['text', 'pair', 'question', 'context'].includes(name)) this.focus = {};
      this.schedule(() => this.explain());
    }
  }

  /** Whether the view shown draws what the last run did not compute: the attention, or the IG path. */
  missing() {
    return (this.shows(ATTENTION) && !this.analysis) || (this.shows(['ig-path']) && !this.igPath) || (this.shows(['lens']) && !this.lens) || (this.shows(['counterfactual']) && !this.counterfactual);
  }

  /** Whether the element shows any of `views` (its view may be a list). */
  shows(views) {
    return viewList(this.el.view).some((v) => views.includes(v));
  }

  /**
   * The step-through's numbers for a layer and query token of the text
   * shown (one forward pass), then the figure drawn again; asked for by the
   * view when its layer or token changes.
   */
  async fetchSteps(layer, token) {
    const key = `${this.run}:${layer}:${token}`;
    if (this.stepsKey === key || !this.explained) return;
    this.stepsKey = key;
    const [text, pair] = this.explained;
    try {
      const s = await this.model.run((pool) => pool.call(0, 'steps', { text, pair: pair.trim() ? pair : null, layer, token }));
      if (this.stepsKey !== key) return;
      this.steps = s;
      this.stepsError = null;
    } catch (err) {
      if (this.stepsKey !== key) return;
      this.stepsError = err.message;
    }
    this.el.draw();
  }

  /** Once, after the attributes changed in this task. */
  schedule(fn) {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      fn();
    });
  }

  /** The texts of the explanation shown (the attributes may have changed since). */
  shownTexts() {
    return this.explained ?? null;
  }

  /** The texts to explain: [text, pair] or, for question answering, [question, context]. */
  texts() {
    const el = this.el;
    return this.info?.task === 'question-answering' ? [el.question ?? '', el.context ?? ''] : [el.text ?? '', el.pair ?? ''];
  }

  async prepare() {
    const el = this.el;
    const run = ++this.run;
    let model;
    try {
      model = await sharedModel(el.model, el.device);
    } catch (e) {
      return el.fail(e.message);
    }
    if (run !== this.run) return;
    this.model = model;
    model.addEventListener('progress', this.onProgress);
    if (!model.loading && !model.info) {
      el.status('Measuring the download…', 'info');
      const size = await model.measure();
      if (run !== this.run) return;
      const config = new URL('config.json', model.base).href;
      if (size.missing.includes(config)) {
        return el.fail(`“${el.model}” is not a model: ${config} answered 404 (give a model folder's URL, or an id of models/index.json).`);
      }
      // Another element may have started it meanwhile.
      if (!size.cached && !model.loading && !model.info) return this.offer(size, run);
    }
    this.load(run);
  }

  /** The button that starts the download, saying what it downloads. */
  offer(size, run) {
    // Pressing the button of any element of this model starts this one too.
    this.model.addEventListener('start', () => run === this.run && this.load(run), { once: true });
    const total = size.model + size.engine;
    const what = `${this.model.name} (${size.model ? mb(size.model) : 'size unknown'}) and the bertlens engine (${mb(size.engine)})`;
    const button = h(
      'button',
      { type: 'button', class: 'primary', part: 'run-button', onclick: () => this.load(run) },
      `Run in your browser (${total ? mb(total) : 'size unknown'})`,
    );
    this.el.status(
      '',
      'info',
      h(
        'div',
        { class: 'run' },
        button,
        h('p', { class: 'muted' }, `Downloads ${what} once; your browser keeps them for the next visit. The text never leaves your machine.`),
      ),
    );
  }

  showProgress() {
    const p = this.model?.progress;
    if (!p || this.info) return;
    const bar = h('progress', { part: 'progress', max: p.total || undefined, value: p.total ? p.loaded : undefined, 'aria-label': `downloading ${this.model.name}` });
    const text = p.total ? `Downloading ${this.model.name}: ${mb(p.loaded)} of ${mb(p.total)}` : `Downloading ${this.model.name}…`;
    this.el.status('', 'info', h('div', { class: 'progress' }, bar, h('span', null, text)));
  }

  async load(run) {
    if (this.loadingRun === run) return;
    this.loadingRun = run;
    const el = this.el;
    el.status(`Loading ${this.model.name}…`, 'info');
    this.showProgress();
    try {
      this.info = await this.model.load();
    } catch (e) {
      if (run === this.run) el.fail(`${this.model.name} could not be loaded: ${e.message}`);
      return;
    }
    if (run !== this.run) return;
    el.emit('bert-lens-ready', null);
    this.explain();
  }

  /** The options the core takes, from the attributes. */
  options() {
    const el = this.el;
    const asked = el.method || this.info.default_method.head;
    const needsHead = this.info.methods.find((m) => m.name === asked)?.needs_head !== false;
    const opts = { method: this.info.task === 'encoder' && needsHead ? this.info.default_method.encoder : asked };
    const steps = el.nSteps;
    if (steps) opts.n_steps = steps.trim() === 'auto' ? 'auto' : Math.max(1, Math.round(Number(steps)) || 50);
    const target = el.target;
    if (target !== null && target !== '') opts.target = /^\d+$/.test(target) ? Number(target) : target;
    // Why the target rather than this: a class, a label, a filler (question answering: a token).
    const contrast = el.contrast;
    if (contrast !== null && contrast !== '') opts.contrast = /^\d+$/.test(contrast) ? Number(contrast) : contrast;
    const f = this.focus;
    if (f.token !== undefined) opts.token = f.token;
    if (f.target !== undefined) opts.target = f.target;
    // windows: a text longer than the model read whole, in windows of the model's own
    // length (the first is what the attention views read), as the page's form does.
    if (el.windows && ['sequence-classification', 'token-classification', 'fill-mask'].includes(this.info.task)) {
      opts.windows = true;
      opts.max_length = this.info.max_tokens;
    }
    if (this.info.task === 'question-answering') {
      opts.part = 'start';
      const answer = f.answer ? this.el.result?.answers?.[f.answer] : null;
      if (answer) opts.token = answer.token_start;
    }
    return opts;
  }

  /** The counterfactual search of `input` as `{result, error}` (its error is the view's, not the element's). */
  async counterfactuals(input, run, e) {
    const task = this.info.task;
    if (!['sequence-classification', 'token-classification', 'question-answering'].includes(task)) {
      return { result: null, error: `The counterfactual view searches a classifier's prediction, a token classifier's label of a token, or a question's answer; this model is a ${task} model.` };
    }
    // A token classifier: the label of the token explained.
    const options = task === 'token-classification' ? { token: e.token } : {};
    try {
      const result = await this.model.run((pool) => (run === this.run ? pool.call(0, 'counterfactuals', { text: input.text, pair: input.pair, options }) : null));
      return { result, error: null };
    } catch (err) {
      return { result: null, error: err.message };
    }
  }

  async explain() {
    const el = this.el;
    const [text, pair] = this.texts();
    if (!text.trim()) {
      const what = this.info.task === 'question-answering' ? 'a question and a context (the question and context attributes)' : 'a text (the text attribute)';
      return el.fail(`Nothing to explain: give the element ${what}.`);
    }
    const run = ++this.run;
    const input = { text, pair: pair.trim() ? pair : null, options: this.options() };
    el.status('Explaining…', 'info');
    try {
      // The attention views draw the forward pass's attention: asked for only when shown.
      const analysis = this.shows(ATTENTION) ? await this.model.run((pool) => (run === this.run ? pool.call(0, 'attentions', input) : null)) : null;
      if (run !== this.run) return;
      // A long text read in windows: the core explains each window (in one worker) and stitches
      // them. Whether the text is longer than the model: the forward pass says (its prediction).
      const windows = Boolean(input.options.windows) && !input.pair;
      const cut = windows && (analysis ? analysis.explanation : await this.model.run((pool) => (run === this.run ? pool.call(0, 'predict', input) : null)));
      if (run !== this.run) return;
      const windowed = Boolean(cut?.truncated);
      const e = await this.model.run((pool) => {
        if (run !== this.run) return null; // asked again meanwhile
        const method = this.info.methods?.find((m) => m.name === input.options.method);
        if (windowed) {
          el.status(`${method?.label ?? input.options.method}, window by window…`, 'info');
          return pool.call(0, 'attribute', input);
        }
        const onProgress = (unit) => (done, total) => {
          if (run !== this.run || !total) return;
          const bar = h('progress', { part: 'progress', max: total, value: done, 'aria-label': method.label });
          el.status('', 'info', h('div', { class: 'progress' }, bar, h('span', null, `${method.label}: ${unit} ${done} of ${total}`)));
        };
        if (method?.kind === 'perturbation') return pool.perturbation(input, { onProgress: onProgress('input') });
        if (input.options.method !== 'ig') return pool.call(0, 'attribute', input);
        return pool.integratedGradients(input, { onProgress: onProgress('step') });
      });
      if (run !== this.run || !e) return;
      // The walk along the Integrated Gradients path (a backward pass per point), when shown.
      const path = this.shows(['ig-path']) ? await this.model.run((pool) => (run === this.run ? pool.call(0, 'igPath', { ...input, options: { ...input.options, method: 'ig' } }) : null)) : null;
      // The lens on every layer (one forward pass), when shown.
      const lens = this.shows(['lens']) ? await this.model.run((pool) => (run === this.run ? pool.call(0, 'lens', input) : null)) : null;
      // What would change the prediction (the core's search, its defaults), when shown.
      const cf = this.shows(['counterfactual']) ? await this.counterfactuals(input, run, e) : null;
      if (run !== this.run) return;
      this.explained = [text, pair];
      // Its maps come a view at a time, from the worker that keeps this pass.
      this.analysis = analysis && onDemand(analysis, (what) => this.model.run((pool) => pool.call(0, 'attentionMaps', { text, pair: input.pair, ...what })));
      this.igPath = path;
      this.lens = lens;
      this.counterfactual = cf;
      this.steps = null;
      this.stepsError = null;
      this.stepsKey = null;
      el.status('');
      el.show(e);
    } catch (err) {
      if (run === this.run) el.fail(err.message);
    }
  }
}

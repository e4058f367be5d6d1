// <bert-lens>: an explanation embedded in any page, in a shadow root.
//
//   src mode   <bert-lens src="explanation.json" view="attribution">
//              draws a saved `bertlens explain --json`; no engine, no model.
//   live mode  <bert-lens model="minilm-intent" text="my card was declined">
//              computes it in the browser (live.js, imported only then).
//   a set      <bert-lens view="dataset" src="report.json">
//              draws a report of `bertlens analyze` (report.js): accuracy,
//              confusions, mistakes, words per class, faithfulness.
//
// Attributes are reflected as properties; changing one draws again. Events:
// bert-lens-ready, bert-lens-result (detail: the explanation), bert-lens-error
// (detail: the message). Every string shown is a text node (dom.js).

import { h, fill } from '../dom.js';
import { styleSheet } from './styles.js';
import { viewSheet } from '../views/css.js';
import { present, asExplanation, textsOf as textsFrom } from './present.js';
import { exportBar, toSvg, toPng, toHtml, slug } from '../export.js';
import { viewState } from './attention.js';

/** Attributes, as properties by their camel-cased names. */
export const ATTRIBUTES = [
  'src',
  'view',
  'theme',
  'words',
  'exports',
  'interactive',
  'model',
  'device',
  'text',
  'pair',
  'question',
  'context',
  'method',
  'n-steps',
  'target',
  'contrast',
  'layer',
  'head',
  'token',
  'windows',
];

/** Attributes that change what the engine computes (live mode). */
const LIVE = ['model', 'device', 'text', 'pair', 'question', 'context', 'method', 'n-steps', 'target', 'contrast', 'windows'];

const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

export class BertLens extends HTMLElement {
  static observedAttributes = ATTRIBUTES;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [styleSheet(), viewSheet()];
    this.els = {
      status: h('div', { part: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
      body: h('div', { part: 'body', class: 'body' }),
    };
    this.els.exports = exportBar({
      target: () => (this.result || this.report ? this.els.body : null),
      name: () => this.exportName(),
      html: () => ({ note: 'Exported from a <bert-lens> element.', json: this.result }),
      onError: (m) => this.status(m, 'error'),
    });
    this.els.exports.setAttribute('part', 'exports');
    this.els.exports.hidden = true;
    this.els.form = h('form', { part: 'form', class: 'reader-form', hidden: true, onsubmit: (ev) => (ev.preventDefault(), this.submitForm()) });
    root.append(this.els.status, this.els.form, this.els.exports, this.els.body);
    /** @type {object | null} the explanation shown */
    this.result = null;
    /** @type {{report: object, view: object, present: Function} | null} a report of bertlens analyze shown */
    this.report = null;
    this.showAll = false;
    this.heatmap = { layer: 0, source: 'mean' };
    /** Which src the result is of (a newer load replaces an older one). */
    this.loadedSrc = null;
    this.live = null; // live.js's controller, in live mode
    this.attention = null; // the attention views' state (attention.js), from layer, head and token
    this.scheduled = false;
  }

  connectedCallback() {
    // A property set before the element was defined shadows its accessor: set it again through it.
    for (const name of ATTRIBUTES) {
      const prop = camel(name);
      if (Object.prototype.hasOwnProperty.call(this, prop)) {
        const v = this[prop];
        delete this[prop];
        this[prop] = v;
      }
    }
    if (!this.hasAttribute('role')) this.setAttribute('role', 'figure');
    this.refresh();
  }

  disconnectedCallback() {
    // Put back in a page, it waits to be in view again (the model stays loaded, shared).
    this.live?.disconnect();
    this.live = null;
  }

  attributeChangedCallback(name, old, value) {
    if (old === value) return;
    if (name === 'src') this.loadedSrc = null;
    // The attention views start again from the attributes.
    if (['layer', 'head', 'token'].includes(name)) this.attention = null;
    if (LIVE.includes(name) || name === 'view') this.live?.changed(name);
    this.refresh();
  }

  /** Draws again once, after the attributes set in this task. */
  refresh() {
    if (this.scheduled || !this.isConnected) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.update();
    });
  }

  /** A file name for an export of what is shown: the view and the text. */
  exportName() {
    const text = this.result?.text ?? this.live?.shownTexts()?.[0] ?? this.text ?? this.question;
    return this.report ? 'report' : `${slug(this.view, 'attribution')}-${slug(text)}`;
  }

  /** What is shown, as an SVG document (a string); null before anything is. */
  toSvg() {
    return this.result || this.report ? toSvg(this.els.body, { title: `bertlens: ${this.exportName()}` }).svg : null;
  }

  /** What is shown, as a PNG at `scale`× (a Blob); null before anything is. */
  async toPng(scale = 2) {
    return this.result || this.report ? toPng(this.els.body, { title: `bertlens: ${this.exportName()}`, scale }) : null;
  }

  /** What is shown, as a self-contained HTML page (a string) with the explanation's JSON; null before anything is. */
  toHtml() {
    return this.result || this.report ? toHtml(this.els.body, { title: `bertlens: ${this.exportName()}`, json: this.result }) : null;
  }

  /**
   * `interactive`, live: the reader's own text and options, above the
   * figure; Explain sets the attributes, which explain again. Drawn once
   * the model's task is known, and kept while the reader types.
   */
  drawForm() {
    const form = this.els.form;
    const info = this.live?.info;
    const show = this.interactive && Boolean(info);
    form.hidden = !show;
    if (!show || form.dataset.task === info.task) return;
    form.dataset.task = info.task;
    const qa = info.task === 'question-answering';
    const field = (name, label, value, multiline) =>
      h(
        'label',
        { class: 'field' },
        h('span', null, label),
        multiline
          ? h('textarea', { name, rows: 2, spellcheck: 'false', maxlength: 20000 }, value ?? '')
          : h('input', { name, type: 'text', value: value ?? '', spellcheck: 'false', maxlength: 20000 }),
      );
    const gradients = info.task !== 'encoder';
    fill(
      form,
      qa ? [field('question', 'Question', this.question), field('context', 'Context', this.context, true)] : field('text', 'Text', this.text, true),
      h(
        'div',
        { class: 'row' },
        gradients
          ? h(
              'label',
              { class: 'control' },
              'Method ',
              h(
                'select',
                { name: 'method' },
                // The engine's methods, as it describes them (its info()).
                (info.methods ?? []).map((m) => h('option', { value: m.name, title: m.description, selected: (this.method || info.default_method.head) === m.name }, m.label)),
              ),
            )
          : null,
        gradients ? h('label', { class: 'control' }, 'n_steps ', h('input', { name: 'n-steps', type: 'text', size: 4, inputmode: 'numeric', value: this.nSteps ?? '50' })) : null,
        h('button', { type: 'submit', class: 'primary' }, 'Explain'),
      ),
    );
  }

  /** The reader's text and options, into the attributes (which explain again). */
  submitForm() {
    const data = new FormData(this.els.form);
    for (const [name, value] of data) {
      if (typeof value === 'string' && this.getAttribute(name) !== value) this.setAttribute(name, value);
    }
  }

  update() {
    this.els.exports.hidden = !this.hasAttribute('exports');
    this.drawForm();
    // A name for assistive technology, unless the page gave one.
    if (!this.hasAttribute('aria-label') || this.namedByUs) {
      this.namedByUs = true;
      this.setAttribute('aria-label', this.view === 'dataset' ? 'bertlens: a report of a labelled set' : this.src ? 'bertlens: a saved explanation' : `bertlens: ${this.model || 'no model'} explains a text`);
    }
    if (this.src) {
      this.live?.disconnect();
      this.live = null;
      if (this.loadedSrc !== this.src) this.loadSrc(this.src);
      else this.draw();
    } else if (this.view === 'dataset') {
      this.live?.disconnect();
      this.live = null;
      this.fail('view="dataset" draws a report of a labelled set: give src the report.json that bertlens analyze writes (to run a set in the browser, open bertlens\'s page and its workbench).');
    } else if (this.model) {
      if (!this.live) this.startLive();
      else this.draw();
    } else {
      this.fail('Give the element a src (a saved explanation, bertlens explain --json) or a model to run.');
    }
  }

  async loadSrc(src) {
    this.loadedSrc = src;
    this.result = null;
    this.report = null;
    this.status('Loading the explanation…');
    fill(this.els.body);
    let url;
    try {
      url = new URL(src, document.baseURI);
    } catch {
      return this.fail(`src “${src}” is not a URL.`);
    }
    let json;
    try {
      const res = await fetch(url, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`${src}: the server answered ${res.status} ${res.statusText}`.trim());
      const text = await res.text();
      try {
        json = JSON.parse(text);
      } catch {
        throw new Error(`${src} is not JSON (expected the output of bertlens explain --json)`);
      }
      if ('confusion' in json && 'per_class' in json) {
        const { isReport, presentReport, emptyReportView } = await import('./report.js');
        if (!isReport(json)) throw new Error(`${src} is not a complete report of bertlens analyze`);
        if (this.loadedSrc !== src) return;
        this.report = { report: json, view: emptyReportView(), present: presentReport };
        this.draw();
        this.emit('bert-lens-ready', null);
        this.emit('bert-lens-result', json);
        return;
      }
      json = asExplanation(json, src);
    } catch (e) {
      if (this.loadedSrc !== src) return; // replaced by a newer src
      const msg = e instanceof TypeError ? `${src} could not be fetched (${e.message})` : e.message;
      return this.fail(msg);
    }
    if (this.loadedSrc !== src) return;
    this.show(json);
    this.emit('bert-lens-ready', null);
  }

  /** Shows an explanation (src or live) and says so. */
  show(e, { preview = false } = {}) {
    this.result = e;
    this.preview = preview;
    this.draw();
    if (!preview) this.emit('bert-lens-result', e);
  }

  /** The texts the explanation is of, as the attributes give them. */
  givenTexts() {
    const qa = this.result?.task === 'question-answering';
    return qa ? { text: this.question ?? undefined, pair: this.context ?? undefined } : { text: this.text ?? undefined, pair: this.pair ?? undefined };
  }

  draw() {
    if (this.report) {
      this.status('');
      const { report, view, present: draw } = this.report;
      draw(this.els.body, report, view);
      return;
    }
    this.drawForm();
    const e = this.result;
    if (!e) return;
    if (!this.live) this.status('');
    const view = this.view || 'attribution';
    if (view === 'dataset') {
      fill(
        this.els.body,
        h('p', { class: 'message error', role: 'note' }, 'view="dataset" draws a report of a labelled set: give src the report.json that bertlens analyze writes (this src is one explanation).'),
      );
      return;
    }
    present(
      this.els.body,
      {
        e,
        view,
        texts: this.live?.shownTexts() ?? textsFrom(e, this.givenTexts()),
        words: this.words,
        showAll: this.showAll,
        preview: this.preview,
        answer: this.live?.focus?.answer,
        live: Boolean(this.live),
        analysis: this.live?.analysis,
        igPath: this.live?.igPath,
        lens: this.live?.lens,
        counterfactual: this.live?.counterfactual,
        steps: this.live?.steps,
        stepsError: this.live?.stepsError,
        attention: (this.attention ??= viewState({ layer: this.layer, head: this.head, token: this.token })),
        features: this.live?.info?.attention,
        heatmap: this.heatmap,
        maxTokens: this.live?.info?.max_tokens,
        activation: this.live?.info?.output,
      },
      {
        onShowAll: (v) => ((this.showAll = v), this.draw()),
        onHeatmap: (v) => ((this.heatmap = v), this.draw()),
        redraw: () => this.draw(),
        onSteps: (layer, token) => this.live?.fetchSteps?.(layer, token),
        onView: (v) => this.setAttribute('view', v),
        // Live, a click explains another class, token, filler or answer.
        ...(this.live?.info && {
          onTarget: (i) => this.setAttribute('target', String(i)),
          onToken: (i) => this.live.focusOn({ token: i }),
          // A counterfactual's text becomes the element's (and is explained).
          onText: (c) => {
            const qa = this.live.info.task === 'question-answering';
            if (c.pair != null) this.setAttribute(qa ? 'context' : 'pair', c.pair);
            this.setAttribute(qa ? 'question' : 'text', c.text);
          },
          onFiller: (mask, id) => this.live.focusOn({ token: mask, target: id }),
          onAnswer: (k) => this.live.focusOn({ answer: k }),
          // A text longer than the model: read whole in windows, or cut.
          onWindows: this.live.info.task !== 'question-answering' && !(this.pair ?? '').trim() ? (on) => (this.windows = on) : null,
        }),
      },
    );
  }

  /** A line above the view (what is happening), or nothing. */
  status(text, kind = 'info', ...extra) {
    fill(this.els.status, text ? h('p', { class: `message ${kind}` }, text) : null, ...extra);
  }

  fail(message) {
    this.result = null;
    this.report = null;
    fill(this.els.body);
    fill(this.els.status, h('p', { class: 'message error', part: 'error', role: 'alert' }, message));
    this.emit('bert-lens-error', message);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  async startLive() {
    this.live = { shownTexts: () => null, disconnect() {}, changed() {} }; // until live.js is in
    this.result = null; // a saved explanation shown before is not this model's
    this.report = null;
    fill(this.els.body);
    try {
      const { LiveController } = await import('./live.js');
      if (!this.isConnected || this.src) return;
      this.live = new LiveController(this);
      this.live.start();
    } catch (e) {
      this.fail(`The engine could not be loaded: ${e.message}`);
    }
  }
}


// Attributes as properties: strings, `words` a boolean, `nSteps` "auto" or a number.
for (const name of ATTRIBUTES) {
  const prop = camel(name);
  const boolean = ['words', 'exports', 'interactive', 'windows'].includes(name);
  Object.defineProperty(BertLens.prototype, prop, {
    get() {
      return boolean ? this.hasAttribute(name) : this.getAttribute(name);
    },
    set(v) {
      if (boolean ? !v : v === null || v === undefined) this.removeAttribute(name);
      else this.setAttribute(name, boolean ? '' : String(v));
    },
    enumerable: true,
    configurable: true,
  });
}

// Building DOM without innerHTML: every string a user or a model supplies
// (text, tokens, labels, file names, error messages) becomes a text node.

/**
 * `h('div', {class: 'x', onclick: f}, child, 'text', [more])`.
 * Attributes starting with `on` are listeners; `style` may be an object;
 * `dataset` an object of data-* values. Children may be nodes, strings,
 * numbers, arrays of those, or null/false (skipped).
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The same as `h`, in the SVG namespace. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'style' && typeof v === 'object') {
      for (const [prop, val] of Object.entries(v)) {
        if (prop.startsWith('--')) el.style.setProperty(prop, val);
        else el.style[prop] = val;
      }
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled') {
      el[k] = v;
      if (k !== 'value' && v) el.setAttribute(k, '');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/**
 * The attributes that make an element a button calling `fn` (click, Enter,
 * Space), with `title`; none when `fn` is null: the element only shows
 * (a saved explanation, which cannot be explained again).
 * @param {(() => void) | null} fn
 */
export function pressable(fn, title) {
  if (!fn) return {};
  return {
    role: 'button',
    tabindex: 0,
    title,
    onclick: fn,
    onkeydown: (ev) => (ev.key === 'Enter' || ev.key === ' ') && (ev.preventDefault(), fn()),
  };
}

/** Replaces the children of `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ratioOverride = null;

/**
 * Runs `fn` with canvases drawn at `ratio` pixels per CSS pixel instead of
 * the screen's (an export at 2×), and returns what it returns.
 */
export function atRatio(ratio, fn) {
  const was = ratioOverride;
  ratioOverride = ratio;
  try {
    return fn();
  } finally {
    ratioOverride = was;
  }
}

/**
 * A canvas sized for `width`×`height` CSS pixels at the device's pixel
 * ratio, with its 2D context scaled so that drawing is in CSS pixels.
 */
export function hiDpiCanvas(canvas, width, height) {
  const ratio = ratioOverride ?? (globalThis.devicePixelRatio || 1);
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

/**
 * A guard for redrawing: `changed(key, deps)` is true the first time and
 * whenever one of `deps` differs (by ===) from the last call with `key`.
 */
export function memo() {
  const last = new Map();
  return (key, deps) => {
    const old = last.get(key);
    if (old && old.length === deps.length && old.every((d, i) => d === deps[i])) return false;
    last.set(key, deps);
    return true;
  };
}

/** A table's header row; the columns whose index is in `numeric` are right-aligned, as their numbers. */
export function tableHead(names, numeric = []) {
  return h('thead', null, h('tr', null, names.map((x, i) => h('th', { class: numeric.includes(i) ? 'num' : null }, x))));
}

/** Saves `content` as a file named `name` (a download; nothing leaves the machine). */
export function download(name, content, type) {
  const url = URL.createObjectURL(content instanceof Blob ? content : new Blob([content], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Rows as CSV (RFC 4180): fields with a comma, quote or line break quoted;
 * a text field a spreadsheet would run as a formula (=, +, -, @) is
 * prefixed with ' (OWASP's advice against CSV injection).
 */
export function toCsv(rows) {
  const field = (v) => {
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
    let s = String(v ?? '');
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

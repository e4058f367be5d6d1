// Exports of a view as the reader sees it, in the theme and palette it shows:
//
//   SVG   the view's DOM in a <foreignObject>, with the stylesheet that styles
//         it and the theme's resolved custom properties inline; canvases (the
//         head view's lines) become PNG images. Opens in any browser, offline.
//   PNG   that SVG drawn at 2× on a canvas.
//   HTML  a self-contained page: the same DOM and stylesheet, the text
//         escaped by the serializer, nothing fetched; optionally the
//         explanation's JSON (bertlens explain --json) alongside.
//
// The page and <bert-lens> share this; nothing here knows a view.

import { h, download, atRatio } from './dom.js';

const XHTML = 'http://www.w3.org/1999/xhtml';
const SVG = 'http://www.w3.org/2000/svg';
/** The class of an export's outermost element, standing in for the page's <body> or the element's :host. */
const ROOT = 'bertlens-export';

/** The rules of the stylesheets that style `node`: its shadow root's, or the document's. */
function cssOf(node) {
  const root = node.getRootNode();
  const shadow = typeof ShadowRoot !== 'undefined' && root instanceof ShadowRoot;
  const sheets = shadow ? [...root.adoptedStyleSheets, ...root.styleSheets] : [...document.styleSheets, ...document.adoptedStyleSheets];
  let text = '';
  for (const sheet of sheets) {
    try {
      for (const rule of sheet.cssRules) text += `${rule.cssText}\n`;
    } catch {
      // a cross-origin sheet cannot be read; it styles nothing of ours
    }
  }
  // In the export there is no host: its rules style the outermost element.
  if (shadow) text = text.replace(/:host\(((?:[^()]|\([^()]*\))*)\)/g, `.${ROOT}$1`).replace(/:host\b/g, `.${ROOT}`);
  return text;
}

/** The custom properties the stylesheet uses, resolved where `node` is (the theme it shows). */
function customProperties(node, css) {
  const style = getComputedStyle(node);
  const names = new Set(css.match(/--[\w-]+/g) ?? []);
  const out = [];
  for (const name of names) {
    const v = style.getPropertyValue(name).trim();
    if (v) out.push(`${name}: ${v}`);
  }
  return out;
}

/**
 * The colour scheme `node` is drawn in, light or dark: what its theme's
 * `light-dark()` colours resolve to there, measured, since color-scheme
 * itself computes to the list it was given ("light dark").
 */
function usedScheme(node) {
  const probe = h('span', { style: 'color: light-dark(rgb(0, 0, 0), rgb(255, 255, 255)); display: none' });
  (node.shadowRoot ?? node).append(probe);
  const dark = getComputedStyle(probe).color === 'rgb(255, 255, 255)';
  probe.remove();
  return dark ? 'dark' : 'light';
}

/** The element `node` is drawn on: its parent, or its shadow root's host. */
function parentOf(node) {
  return node.parentElement ?? (node.getRootNode().host || null);
}

/** The colour behind `node`: the first ancestor's background that is not transparent. */
function backgroundOf(node) {
  for (let n = node; n; n = parentOf(n)) {
    const bg = getComputedStyle(n).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(bg)) return bg;
  }
  return 'white';
}

/**
 * A copy of `node` as it is shown: canvases as images (at `scale` pixels per
 * CSS pixel where the view can draw them so), the current values of form
 * controls as attributes, export controls left out.
 */
function snapshot(node, scale) {
  const copy = node.cloneNode(true);
  const canvases = node.querySelectorAll('canvas');
  copy.querySelectorAll('canvas').forEach((c, i) => {
    const src = canvases[i];
    let url = '';
    try {
      // A view's canvas is drawn again at the export's resolution, then as it was.
      const sharper = typeof src.redraw === 'function' && scale > (globalThis.devicePixelRatio || 1);
      if (sharper) atRatio(scale, src.redraw);
      url = src.toDataURL('image/png');
      if (sharper) src.redraw();
    } catch {
      // a tainted canvas: left blank
    }
    const img = h('img', { src: url, width: src.width, height: src.height, alt: src.getAttribute('aria-label') ?? '', class: src.getAttribute('class') ?? '' });
    img.style.cssText = `${src.style.cssText};width:${src.clientWidth}px;height:${src.clientHeight}px`;
    c.replaceWith(img);
  });
  const live = node.querySelectorAll('input, select, textarea');
  copy.querySelectorAll('input, select, textarea').forEach((c, i) => {
    const src = live[i];
    if (src instanceof HTMLSelectElement) {
      [...c.options].forEach((o, k) => o.toggleAttribute('selected', k === src.selectedIndex));
    } else if (src instanceof HTMLTextAreaElement) {
      c.textContent = src.value;
    } else if (src.type === 'checkbox' || src.type === 'radio') {
      c.toggleAttribute('checked', src.checked);
    } else {
      c.setAttribute('value', src.value);
    }
  });
  copy.querySelectorAll('[data-no-export]').forEach((n) => n.remove());
  copy.removeAttribute('hidden');
  return copy;
}

/** The outermost element of an export: the theme's properties, fonts and background of where `node` is. */
function wrap(node, css, width, scale = 2) {
  const style = getComputedStyle(node);
  const div = document.createElementNS(XHTML, 'div');
  div.setAttribute('class', ROOT);
  const host = node.getRootNode().host;
  for (const a of ['theme', 'palette']) if (host?.hasAttribute(a)) div.setAttribute(a, host.getAttribute(a));
  const props = [
    ...customProperties(node, css),
    `color-scheme: ${usedScheme(node)}`,
    `box-sizing: border-box`,
    width ? `width: ${width}px` : '',
    `padding: 12px`,
    `margin: 0`,
    `background: ${backgroundOf(node)}`,
    `color: ${style.color}`,
    `font-family: ${style.fontFamily}`,
    `font-size: ${style.fontSize}`,
    `line-height: ${style.lineHeight}`,
  ].filter(Boolean);
  div.setAttribute('style', props.join('; '));
  const sheet = document.createElementNS(XHTML, 'style');
  sheet.textContent = css;
  div.append(sheet, snapshot(node, scale));
  return div;
}

/** The document's theme attributes (data-theme, data-palette), for the export's root element. */
function rootAttributes() {
  return [...document.documentElement.attributes].filter((a) => a.name.startsWith('data-'));
}

/**
 * `node` as a standalone SVG document.
 * @param {Element} node
 * @param {{title?: string}} [opts]
 * @returns {{svg: string, width: number, height: number}}
 */
export function toSvg(node, { title = 'bertlens', scale = 2 } = {}) {
  const css = cssOf(node);
  const rect = node.getBoundingClientRect();
  const width = Math.ceil(Math.max(rect.width, node.scrollWidth)) + 24;
  // Measured as it will be drawn: the wrapped copy laid out off-screen at that width.
  const div = wrap(node, css, width, scale);
  const probe = h('div', { 'aria-hidden': 'true', style: 'position:absolute;left:-100000px;top:0;' });
  probe.append(div);
  (node.getRootNode().host ? node.getRootNode() : document.body).append(probe);
  const height = Math.ceil(div.getBoundingClientRect().height) || Math.ceil(rect.height) + 24;
  probe.remove();
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  for (const a of rootAttributes()) svg.setAttribute(a.name, a.value);
  const t = document.createElementNS(SVG, 'title');
  t.textContent = title;
  const fo = document.createElementNS(SVG, 'foreignObject');
  fo.setAttribute('x', '0');
  fo.setAttribute('y', '0');
  fo.setAttribute('width', String(width));
  fo.setAttribute('height', String(height));
  fo.append(div);
  svg.append(t, fo);
  return { svg: `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}`, width, height };
}

/**
 * `node` as a PNG at `scale`× its size on screen.
 * @returns {Promise<Blob>}
 */
export async function toPng(node, { title, scale = 2 } = {}) {
  const { svg, width, height } = toSvg(node, { title, scale });
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  await img.decode();
  const canvas = h('canvas', { width: width * scale, height: height * scale });
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0, width, height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not encode the PNG'))), 'image/png'));
}

/**
 * `node` as a self-contained HTML page: no script runs, nothing is fetched;
 * `json`, when given, rides along in a data block (bertlens explain --json).
 */
export function toHtml(node, { title = 'bertlens', note = '', json = null } = {}) {
  const css = cssOf(node);
  const div = wrap(node, css, 0);
  const attrs = rootAttributes()
    .map((a) => ` ${a.name}="${a.value.replace(/[&"<]/g, (c) => `&#${c.charCodeAt(0)};`)}"`)
    .join('');
  const esc = (s) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
  const data = json ? `\n<script type="application/json" id="bertlens-explanation">${JSON.stringify(json).replace(/</g, '\\u003c')}</script>` : '';
  return `<!doctype html>
<html lang="en"${attrs}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
</head>
<body style="margin: 0; background: ${backgroundOf(node)}">
${div.outerHTML}
${note ? `<p style="font: 12px system-ui, sans-serif; color: #667085; margin: 8px 12px">${esc(note)}</p>` : ''}${data}
</body>
</html>
`;
}

/** A file name's stem from a text: lower-case words joined by dashes. */
export function slug(text, fallback = 'view') {
  return (
    String(text ?? '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || fallback
  );
}

/**
 * The buttons that export a view: SVG, PNG (2×) and, where `html` is given,
 * a self-contained HTML page.
 * @param {{target: () => Element | null, name: () => string, title?: () => string,
 *          html?: (() => {note?: string, json?: object | null}) | null,
 *          onError?: (message: string) => void, onDone?: (file: string) => void}} o
 */
export function exportBar(o) {
  const run = (kind) => async () => {
    const node = o.target();
    if (!node || !node.isConnected) return o.onError?.('Nothing to export yet.');
    const name = `bertlens-${o.name()}`;
    const title = o.title?.() ?? name;
    try {
      if (kind === 'svg') download(`${name}.svg`, toSvg(node, { title }).svg, 'image/svg+xml');
      else if (kind === 'png') download(`${name}.png`, await toPng(node, { title }));
      else download(`${name}.html`, toHtml(node, { title, ...o.html() }), 'text/html');
      o.onDone?.(`${name}.${kind}`);
    } catch (e) {
      o.onError?.(`The ${kind.toUpperCase()} export failed: ${e.message}`);
    }
  };
  const button = (kind, label, what) => h('button', { type: 'button', class: 'link', 'data-export': kind, title: what, onclick: run(kind) }, label);
  return h(
    'span',
    { class: 'export-bar', role: 'group', 'aria-label': 'export this view', 'data-no-export': '' },
    'Export ',
    button('svg', 'SVG', 'this view as an SVG image, as shown'),
    button('png', 'PNG', 'this view as a PNG image at twice its size on screen'),
    o.html ? button('html', 'HTML', 'this view as a self-contained HTML page that opens offline') : null,
  );
}

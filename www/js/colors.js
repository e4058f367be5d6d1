// Colour scales shared by the views.

/**
 * The palettes of attributions: Captum's green/red (the default, as
 * `visualize_text` draws), or blue/orange, which readers with any common
 * colour-vision deficiency tell apart (red and green look alike to about one
 * man in twelve).
 */
export const PALETTES = ['captum', 'colorblind'];
let palette = 'captum';

/** The solid colours of positive and negative bars (live bindings: they follow setPalette). */
export let POSITIVE = 'hsl(120, 60%, 38%)';
export let NEGATIVE = 'hsl(0, 70%, 50%)';

/**
 * Chooses the palette of `importanceColor`, `POSITIVE` and `NEGATIVE`
 * (anything but 'colorblind' is Captum's); returns the one in use.
 * What was drawn before keeps its colours until it is drawn again.
 * @param {string} name
 */
export function setPalette(name) {
  palette = name === 'colorblind' ? 'colorblind' : 'captum';
  POSITIVE = palette === 'colorblind' ? 'hsl(210, 70%, 42%)' : 'hsl(120, 60%, 38%)';
  NEGATIVE = palette === 'colorblind' ? 'hsl(30, 90%, 48%)' : 'hsl(0, 70%, 50%)';
  return palette;
}

/** The palette in use: 'captum' or 'colorblind'. */
export function getPalette() {
  return palette;
}

/**
 * The colour of a normalised importance in [-1, 1]. Captum's palette is its
 * `visualize_text` colour: green for positive, red for negative (its
 * `_get_color`, lightness truncated to whole percent as Python's int()
 * does). The colour-blind one is blue for positive, orange for negative, as
 * light at full strength as black text stays readable on.
 * @param {number} w
 */
export function importanceColor(w) {
  const a = Math.max(-1, Math.min(1, Number.isFinite(w) ? w : 0));
  if (palette === 'colorblind') {
    if (a > 0) return `hsl(210, 75%, ${100 - Math.trunc(45 * a)}%)`;
    return `hsl(30, 90%, ${100 - Math.trunc(-40 * a)}%)`;
  }
  if (a > 0) return `hsl(120, 75%, ${100 - Math.trunc(50 * a)}%)`;
  return `hsl(0, 75%, ${100 - Math.trunc(-40 * a)}%)`;
}

// bertviz colours its heads with d3's schemeCategory10; twelve and more
// heads continue with Tableau's other colours.
const HEAD_COLORS = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
  '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#ad494a',
  '#637939', '#8c6d31', '#843c39', '#7b4173',
];

/** The colour of head `i`. */
export function headColor(i) {
  if (i < HEAD_COLORS.length) return HEAD_COLORS[i];
  return `hsl(${(i * 137.508) % 360}, 55%, 45%)`;
}

/**
 * Black or white, whichever reads better on `color` (`#rrggbb`; other
 * forms get white): WCAG's relative luminance against its midpoint.
 */
export function inkOn(color) {
  if (!/^#[0-9a-f]{6}$/i.test(color)) return '#fff';
  const lin = rgb(color).map((c) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  const y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  return y > 0.179 ? '#000' : '#fff';
}

/**
 * Whether a CSS colour (`rgb(r, g, b)` as computed, or `#rrggbb`) is light:
 * ink that light stands on a dark background (the dark theme).
 */
export function isLight(color) {
  const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(color ?? '');
  const c = m ? `#${m.slice(1, 4).map((v) => Number(v).toString(16).padStart(2, '0')).join('')}` : color;
  return /^#[0-9a-f]{6}$/i.test(c ?? '') && inkOn(c) === '#000';
}

/** `#rrggbb` → `[r, g, b]`. */
export function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * A sequential scale from white to a deep blue for v in [0, 1], as
 * `[r, g, b]` (heatmaps of attention probabilities).
 */
export function sequential(v) {
  const t = Math.max(0, Math.min(1, Number.isFinite(v) ? v : 0));
  // white → #08306b, through #4292c6 (a Blues ramp)
  const stops = [[255, 255, 255], [198, 219, 239], [66, 146, 198], [8, 48, 107]];
  const x = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return stops[i].map((c, k) => Math.round(c + (stops[i + 1][k] - c) * f));
}

/**
 * A diverging scale for v in [-1, 1] as `[r, g, b]`: blue for negative,
 * white at 0, orange for positive (bertviz's neuron view colours vectors so).
 */
export function diverging(v) {
  const t = Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0));
  const end = t >= 0 ? [230, 97, 1] : [33, 102, 172];
  const a = Math.abs(t);
  return [0, 1, 2].map((k) => Math.round(255 + (end[k] - 255) * a));
}

export function css([r, g, b]) {
  return `rgb(${r}, ${g}, ${b})`;
}

const ENTITY_COLORS = { PER: '#2f5fd0', LOC: '#1d8a45', ORG: '#c0650b', MISC: '#8a3fc4' };

/** The colour of an entity group (the usual four fixed, others by their name). */
export function entityColor(group) {
  if (ENTITY_COLORS[group]) return ENTITY_COLORS[group];
  let x = 0;
  for (const c of group) x = (x * 31 + c.codePointAt(0)) % 360;
  return `hsl(${x}, 55%, 40%)`;
}

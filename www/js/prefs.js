// The reader's display settings: the theme (auto follows the system's
// prefers-color-scheme, or light, or dark) and the palette of attributions
// (Captum's green/red, or a colour-blind-safe blue/orange). Both are
// remembered in localStorage and set on <html> as data-theme and
// data-palette, which style.css follows; the palette also goes to colors.js,
// which the views draw with. Canvases, which CSS does not recolour, hear of a
// new scheme by the event THEME_EVENT on document.

import { setPalette } from './colors.js';

export const THEMES = ['auto', 'light', 'dark'];
/** Dispatched on document when the colours of the page change (the theme, or the system's scheme under auto). */
export const THEME_EVENT = 'bertlens-theme';
const KEYS = { theme: 'bertlens.theme', palette: 'bertlens.palette' };

/** A stored setting, or null where storage is off (a private window, a sandboxed frame). */
function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // not remembered: the setting still holds for this visit
  }
}

/**
 * Applies a theme ('auto', 'light' or 'dark'; anything else is auto) to
 * the document; returns the one applied.
 * @param {string|null} theme
 */
export function applyTheme(theme, root = document.documentElement) {
  const t = THEMES.includes(theme) ? theme : 'auto';
  root.dataset.theme = t;
  return t;
}

/**
 * Applies a palette ('captum' or 'colorblind') to the document and to
 * colors.js; returns the one applied.
 * @param {string|null} palette
 */
export function applyPalette(palette, root = document.documentElement) {
  const p = setPalette(palette);
  root.dataset.palette = p;
  return p;
}

/**
 * Applies the remembered settings and binds the header's pickers
 * (#theme-select, #palette-select, where the page has them). `onPalette`
 * runs after the palette changes, to redraw what shows attributions.
 * @param {() => void} [onPalette]
 */
export function initPrefs(onPalette = () => {}) {
  const theme = applyTheme(load(KEYS.theme));
  const palette = applyPalette(load(KEYS.palette));
  const themeSelect = document.getElementById('theme-select');
  const paletteSelect = document.getElementById('palette-select');
  if (themeSelect) {
    themeSelect.value = theme;
    themeSelect.addEventListener('change', (ev) => {
      save(KEYS.theme, applyTheme(ev.target.value));
      document.dispatchEvent(new Event(THEME_EVENT));
    });
  }
  globalThis.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (document.documentElement.dataset.theme === 'auto') document.dispatchEvent(new Event(THEME_EVENT));
  });
  if (paletteSelect) {
    paletteSelect.value = palette;
    paletteSelect.addEventListener('change', (ev) => {
      save(KEYS.palette, applyPalette(ev.target.value));
      onPalette();
    });
  }
}

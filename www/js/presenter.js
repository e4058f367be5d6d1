// Presenter mode, for a class on a projector: the results one panel at a
// time (a "slide"), large type, high contrast, full screen, the page's
// controls hidden. Keys: PageDown / PageUp / N / P (a clicker's keys) change
// slides; ← / → stay the view's own (the step-through's steps, the head
// view's tokens); Escape ends it. The state is the page's one object
// (state.view.present); the DOM follows it here.

import { state, update } from './state.js';

/** The panels that are slides, in order, when shown. */
const SLIDES = ['prediction-panel', 'attribution-panel', 'attention-panel', 'steps-panel', 'igpath-panel', 'faithfulness-panel'];

/** The slides that can be shown now (their panel exists and is not hidden). */
export function slides() {
  return SLIDES.filter((id) => {
    const el = document.getElementById(id);
    return el && !el.hidden;
  });
}

/** Starts presenting (full screen where the browser allows it), from the first slide. */
export function startPresenting() {
  if (!state.analysis) return;
  state.view.present = { slide: 0 };
  update();
  document.documentElement.requestFullscreen?.().catch(() => {});
}

export function stopPresenting() {
  if (!state.view.present) return;
  state.view.present = null;
  update();
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
}

/** Draws presenter mode from the state: the body's class, the current slide, its counter. */
export function renderPresenter() {
  const p = state.view.present;
  document.body.classList.toggle('presenting', Boolean(p));
  const bar = document.getElementById('present-bar');
  bar.hidden = !p;
  const ids = slides();
  for (const id of SLIDES) document.getElementById(id)?.classList.remove('slide-current');
  if (!p) return;
  if (!ids.length) return stopPresenting();
  p.slide = Math.max(0, Math.min(ids.length - 1, p.slide));
  const current = document.getElementById(ids[p.slide]);
  current.classList.add('slide-current');
  // The step-through is the point of a class: open it on its slide.
  if (ids[p.slide] === 'steps-panel') {
    const details = document.getElementById('steps-details');
    if (!details.open) details.open = true;
  }
  const title = current.querySelector('h2')?.textContent ?? '';
  document.getElementById('present-where').textContent = `${p.slide + 1} / ${ids.length} · ${title}`;
}

/** The keys of presenter mode; true when the key was one. */
function onKey(ev) {
  const p = state.view.present;
  if (!p || ev.altKey || ev.ctrlKey || ev.metaKey) return false;
  if (ev.target.closest?.('input, textarea, select')) return false;
  const n = slides().length;
  const go = (k) => {
    p.slide = Math.max(0, Math.min(n - 1, k));
    update();
    // The keyboard goes with the slide: its first focusable view.
    const cur = document.querySelector('.slide-current');
    (cur?.querySelector('#step-body') ?? cur?.querySelector('[tabindex="0"], select, button:not([data-export])'))?.focus({ preventScroll: true });
  };
  switch (ev.key) {
    case 'PageDown':
    case 'n':
    case 'N':
      go(p.slide + 1);
      return true;
    case 'PageUp':
    case 'p':
    case 'P':
      go(p.slide - 1);
      return true;
    case 'Home':
      go(0);
      return true;
    case 'End':
      go(n - 1);
      return true;
    case 'Escape':
      stopPresenting();
      return true;
    case 'ArrowLeft':
    case 'ArrowRight': {
      // Nothing focused: the arrows go to the slide's step-through, if it has one.
      const steps = document.querySelector('.slide-current #steps');
      if (ev.target !== document.body || !steps) return false;
      steps.dispatchEvent(new KeyboardEvent('keydown', { key: ev.key, bubbles: true }));
      return true;
    }
    default:
      return false;
  }
}

export function bindPresenter() {
  document.getElementById('present').addEventListener('click', startPresenting);
  document.getElementById('present-prev').addEventListener('click', () => onKey({ key: 'PageUp', target: document.body }));
  document.getElementById('present-next').addEventListener('click', () => onKey({ key: 'PageDown', target: document.body }));
  document.getElementById('present-stop').addEventListener('click', stopPresenting);
  document.addEventListener('keydown', (ev) => {
    if (onKey(ev)) ev.preventDefault();
  });
  // Leaving full screen with the browser's own key ends presenting too.
  document.addEventListener('fullscreenchange', () => {
    if (!document.fullscreenElement && state.view.present?.wasFullscreen) stopPresenting();
    if (document.fullscreenElement && state.view.present) state.view.present.wasFullscreen = true;
  });
}

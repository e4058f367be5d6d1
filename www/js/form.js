// The form of attribution options: each option's field, what a field
// accepts (its own <option>s; n_steps a number of steps the core takes,
// checked as it is typed), and its events, which change `state.options`
// through the actions.

import { state, update, parseSteps, stepsError, stepCap } from './state.js';
import * as act from './actions.js';

const $ = (id) => document.getElementById(id);

/** The form's field of each option (state.options' keys); n_steps is a text field with its own checks (bindSteps). */
const OPTION_FIELDS = {
  method: 'opt-method',
  target: 'opt-target',
  contrast: 'opt-contrast',
  tolerance: 'opt-tolerance',
  integration: 'opt-integration',
  baseline: 'opt-baseline',
  layer: 'opt-layer',
  output: 'opt-output',
  norm: 'opt-norm',
  rollout_row: 'opt-row',
  nt_base: 'opt-nt-base',
};

/**
 * The number fields (perturbation methods' options): each one's field and
 * least value; `empty` means that no number is the core's default (null).
 */
const NUMBER_FIELDS = {
  window: { id: 'opt-window', min: 1 },
  stride: { id: 'opt-stride', min: 1 },
  n_samples: { id: 'opt-n-samples', min: 1, empty: true },
  seed: { id: 'opt-seed', min: 0 },
  nt_samples: { id: 'opt-nt-samples', min: 1 },
  stdevs: { id: 'opt-stdevs', min: 0, real: true },
};

/** The option a number field's text is (null: none, for an empty field that takes it), or undefined when it is no such number. */
function parseNumber(key, text) {
  const f = NUMBER_FIELDS[key];
  const t = String(text).trim();
  if (t === '' && f.empty) return null;
  if (f.real) return /^\d*\.?\d+$/.test(t) && Number(t) >= f.min ? Number(t) : undefined;
  if (!/^\d+$/.test(t) || Number(t) < f.min || !Number.isSafeInteger(Number(t))) return undefined;
  return Number(t);
}

/** Listens to the form's fields. */
export function bindForm() {
  for (const [key, id] of Object.entries(OPTION_FIELDS)) {
    const parse = key === 'tolerance' ? Number : (v) => v;
    $(id).addEventListener('change', (ev) => act.setOption(key, parse(ev.target.value)));
  }
  for (const [key, { id }] of Object.entries(NUMBER_FIELDS)) {
    $(id).addEventListener('change', (ev) => {
      const v = parseNumber(key, ev.target.value);
      // A number the option cannot take puts back the one in use.
      if (v === undefined) ev.target.value = state.options[key] ?? '';
      else act.setOption(key, v);
    });
  }
  bindSteps();
}

/**
 * The n_steps field: checked as it is typed (render marks it invalid and
 * says why: “at most 2000 steps”), taken when it is left or Enter is pressed
 * and it is a number of steps the core takes. What was typed stays in the
 * field either way; Integrated Gradients does not run on a refused value
 * (actions.js asks state.js formProblem).
 */
function bindSteps() {
  const field = $('opt-steps');
  field.addEventListener('input', () => {
    state.stepsTyped = field.value;
    update();
  });
  field.addEventListener('change', () => {
    const v = field.value;
    if (stepsError(v, stepCap())) {
      state.stepsTyped = v;
      update();
      return;
    }
    state.stepsTyped = null;
    act.setOption('n_steps', parseSteps(v));
  });
}

/**
 * Whether the page has `value` for option `key` of a link: one of its
 * field's own <option>s (the form is the list of what the page takes), a
 * number of steps the core takes, a class index (checked against the model's
 * classes once it is loaded: actions.js loadModel), or an attention tab.
 */
export function formAccepts(key, value) {
  if (key === 'n_steps') return stepsError(value, stepCap()) === null;
  if (key in NUMBER_FIELDS) return parseNumber(key, value) !== undefined;
  if (key === 'method' && !state.vocabulary) return /^[a-z][a-z-]*$/.test(value); // checked once the engine says its methods (link.js)
  if (key === 'target' || key === 'contrast') return value === '' || /^\d+$/.test(value);
  if (key === 'tab') return [...document.querySelectorAll('.tabs [data-tab]')].some((b) => b.dataset.tab === value);
  const field = $(OPTION_FIELDS[key]);
  const same = key === 'tolerance' ? (o) => Number(o.value) === Number(value) && value.trim() !== '' : (o) => o.value === value;
  return Boolean(field) && [...field.options].some((o) => !o.disabled && same(o));
}

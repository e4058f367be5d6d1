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
  tolerance: 'opt-tolerance',
  integration: 'opt-integration',
  baseline: 'opt-baseline',
  layer: 'opt-layer',
  output: 'opt-output',
  norm: 'opt-norm',
  rollout_row: 'opt-row',
};

/** Listens to the form's fields. */
export function bindForm() {
  for (const [key, id] of Object.entries(OPTION_FIELDS)) {
    const parse = key === 'tolerance' ? Number : (v) => v;
    $(id).addEventListener('change', (ev) => act.setOption(key, parse(ev.target.value)));
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
  if (key === 'target') return value === '' || /^\d+$/.test(value);
  if (key === 'tab') return [...document.querySelectorAll('.tabs [data-tab]')].some((b) => b.dataset.tab === value);
  const field = $(OPTION_FIELDS[key]);
  const same = key === 'tolerance' ? (o) => Number(o.value) === Number(value) && value.trim() !== '' : (o) => o.value === value;
  return Boolean(field) && [...field.options].some((o) => !o.disabled && same(o));
}

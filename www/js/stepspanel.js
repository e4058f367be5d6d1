// The page's step-through panel (views/steps.js): the engine's steps of the
// chosen layer and query token for the input explained, asked for when the
// panel is open and whenever the input, layer or token changes (one forward
// pass); head and step are the view's alone.

import { state, update } from './state.js';
import * as act from './actions.js';
import { tokenLabels } from './tokens.js';
import { memo } from './dom.js';
import { renderSteps } from './views/steps.js';

const $ = (id) => document.getElementById(id);
const changed = memo();

/** What the steps shown are of: the input, layer and token. */
const keyOf = (st) => (state.input ? JSON.stringify([state.model?.name, state.input.text, state.input.pair ?? null, st.layer, st.token]) : '');

async function fetchSteps(st, key) {
  st.key = key;
  st.busy = true;
  st.error = null;
  st.result = null;
  update();
  const { text, pair } = state.input;
  try {
    const s = await act.getPool().call(0, 'steps', { text, pair, layer: st.layer, token: st.token });
    if (st.key === key) st.result = s;
  } catch (e) {
    if (st.key === key) st.error = e.message;
  }
  if (st.key === key) {
    st.busy = false;
    update();
  }
}

export function renderStepsPanel() {
  const a = state.analysis;
  const panel = $('steps-panel');
  panel.hidden = !a || state.view.mode !== 'text';
  if (panel.hidden) return;
  const st = state.steps;
  const open = $('steps-details').open;
  const tokens = a.tokens;
  if (st.token >= tokens) st.token = Math.min(1, tokens - 1);
  if (st.layer >= a.layers) st.layer = 0;
  const key = keyOf(st);
  if (open && key && st.key !== key && act.getPool()) fetchSteps(st, key);
  if (!open || !changed('steps', [a, st.result, st.busy, st.error, st.head, st.step, st.layer, st.token])) return;
  const labels = tokenLabels(a.explanation, [state.input.text, state.input.pair ?? '']);
  renderSteps(
    $('steps'),
    { s: st.key === key ? st.result : null, labels, attention: state.model.info.attention, busy: st.busy, error: st.error, layers: a.layers, heads: a.heads },
    st,
    {
      onLayer: (l) => ((st.layer = l), update()),
      onHead: (k) => ((st.head = k), update()),
      onToken: (i) => ((st.token = i), update()),
      onStep: (k) => {
        st.step = k;
        update();
        // Keep the keyboard where it was: on the step's content.
        $('step-body')?.focus({ preventScroll: true });
      },
    },
  );
}

export function bindStepsPanel() {
  $('steps-details').addEventListener('toggle', () => update());
}

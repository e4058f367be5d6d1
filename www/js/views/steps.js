// The classroom's step-through of attention: for one layer, head and query
// token, the forward pass one step at a time (embeddings → q, k, v → q·kᵢ →
// ÷√d → softmax → Σ aᵢ vᵢ → output projection, residual, layer norm →
// feed-forward → the next layer), each with its real numbers, its formula and
// one sentence of explanation. The numbers are the engine's (`steps`, one
// forward pass recorded); the arithmetic between them (the dot products, the
// softmax, the weighted sum) is done here in float64, beside the model's own
// result, so a class sees that it adds up.

import { h, fill } from '../dom.js';
import { diverging, css } from '../colors.js';
import { fmt } from '../tokens.js';
import { scaleText, maskedSoftmax } from './neuronview.js';

/** The steps, in order: [id, title]. */
export const STEPS = [
  ['embeddings', 'Embeddings'],
  ['qkv', 'Query, key and value'],
  ['dots', 'q · k for every key'],
  ['scale', 'Scale'],
  ['softmax', 'Softmax'],
  ['context', 'Weighted sum of the values'],
  ['output', 'Output projection, residual, layer norm'],
  ['ffn', 'Feed-forward'],
  ['next', 'The next layer'],
];

/**
 * The arithmetic of one head for the query token, in float64, from the
 * engine's q, k, v: dot products, scores, softmax, Σ aᵢ vᵢ.
 * @param {object} s  the engine's steps (crates/core/src/steps.rs)
 * @param {number} head
 */
export function headArithmetic(s, head) {
  const { tokens: t, hidden: hd, head_dim: d } = s;
  const q = s.query.slice(head * d, (head + 1) * d);
  const keys = [];
  const values = [];
  for (let j = 0; j < t; j++) {
    keys.push(s.keys.slice(j * hd + head * d, j * hd + (head + 1) * d));
    values.push(s.values.slice(j * hd + head * d, j * hd + (head + 1) * d));
  }
  const dots = keys.map((k) => k.reduce((acc, v, c) => acc + v * q[c], 0));
  const position = s.position_scores.length ? s.position_scores.slice(head * t, (head + 1) * t) : null;
  const masked = keys.map((_, j) => s.window !== null && s.window !== undefined && Math.abs(s.token - j) > s.window);
  const scores = dots.map((v, j) => v * s.scale + (position ? position[j] : 0));
  const softmax = maskedSoftmax(scores, masked);
  const context = Array.from({ length: d }, (_, c) => values.reduce((acc, v, j) => acc + softmax[j] * v[c], 0));
  const model = s.probabilities.slice(head * t, (head + 1) * t);
  const modelContext = s.context.slice(head * d, (head + 1) * d);
  return { q, keys, values, dots, position, scores, masked, softmax, context, model, modelContext, d };
}

function maxAbs(...arrays) {
  let m = 1e-12;
  for (const a of arrays) for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** A vector's colour cells (blue negative, orange positive), its values on hover. */
function cells(v, name, scale = maxAbs(v)) {
  return h(
    'span',
    { class: 'vec', 'aria-hidden': 'true' },
    Array.from(v, (x, c) => h('span', { class: 'cell', style: { backgroundColor: css(diverging(x / scale)) }, title: `${name}[${c}] = ${fmt(x, 5)}` })),
  );
}

/** A vector as a strip of colour cells, its values on hover and in a table for screen readers. */
function strip(v, name, { scale = maxAbs(v), id = null } = {}) {
  return h(
    'div',
    { class: 'step-vector', id, dataset: { name } },
    h('span', { class: 'step-vector-name' }, name),
    cells(v, name, scale),
    h('span', { class: 'muted step-vector-size' }, `${v.length} values, |max| ${fmt(maxAbs(v), 3)}`),
    h(
      'table',
      { class: 'visually-hidden' },
      h('caption', null, `${name}: ${v.length} values`),
      h('tbody', null, h('tr', null, Array.from(v, (x) => h('td', null, fmt(x, 5))))),
    ),
  );
}

/** Per key: a bar and the number; `cols` more columns before it. */
function keyTable(labels, query, rows, head, caption) {
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'steps-keys' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'key'), head.map((x) => h('th', { scope: 'col' }, x)))),
      h(
        'tbody',
        null,
        labels.map((l, j) =>
          h('tr', { class: j === query ? 'is-query' : null, dataset: { key: j } }, h('th', { scope: 'row', class: 'tok-cell' }, l), rows(j)),
        ),
      ),
    ),
  );
}

const num = (v, attrs = {}) => h('td', { class: 'num', ...attrs }, fmt(v, 5));
/** A weight's bar: 1 is --steps-bar wide (80px; presenter mode makes it wider). */
const bar = (p) => h('span', { class: 'prob-bar', style: { width: `calc(${Math.max(0, p).toFixed(4)} * var(--steps-bar, 80px))` } });

/** What step `id` shows: [formula, one sentence, the content]. */
function stepBody(id, s, a, labels, attention) {
  const tok = labels[s.token];
  const d = a.d;
  const scaleT = scaleText(s.scale, d);
  const L = s.layer;
  switch (id) {
    case 'embeddings':
      if (L > 0) {
        return [
          `x = output of layer ${L - 1}`,
          `Layer ${L} starts from what layer ${L - 1} made of “${tok}”: a vector of ${s.hidden} numbers that already mixes in the other tokens. (Pick layer 0 to see how the first vector is built.)`,
          [strip(s.input, `x (layer ${L} input)`)],
        ];
      }
      return [
        ['e = word[“' + tok + '”]', s.position ? ' + position[' + s.token + ']' : '', s.token_type ? ' + type[segment]' : '', ';  x = LayerNorm(e)'].join(''),
        `Each token starts as a row of the word-embedding table${s.position ? ', plus a row for its position' : ''}${s.token_type ? ' and one for its segment' : ''}; the sum is layer-normalised (mean 0, variance 1, then scaled and shifted) into the vector the first layer reads.`,
        [
          strip(s.word, 'word'),
          s.position ? strip(s.position, 'position') : null,
          s.token_type ? strip(s.token_type, 'token type') : null,
          strip(s.embedding_sum, 'e = sum'),
          strip(s.embeddings, 'x = LayerNorm(e)'),
        ],
      ];
    case 'qkv': {
      const kq = a.keys[s.token];
      const vq = a.values[s.token];
      const scale = maxAbs(a.q, kq, vq);
      // Pre-norm: the projections read LN₁(x). Rotary (the family's attention, as the core
      // describes it): q and k are rotated by their position.
      const pre = s.norms === 'pre';
      const rotary = Boolean(attention?.rotary);
      const h0 = pre && s.attention_input_norm ? 'h = LayerNorm₁(x);   ' : '';
      const x = h0 ? 'h' : 'x';
      return [
        `${h0}q = ${x} W_Qᵀ + b_Q,   k = ${x} W_Kᵀ + b_K,   v = ${x} W_Vᵀ + b_V${rotary ? ';   q, k rotated (RoPE)' : ''}`,
        `Three learned projections turn “${tok}” into a query (what it looks for), a key (what it offers to others' queries) and a value (what it passes on). This head uses ${d} of the ${s.hidden} numbers of each.` +
          (pre ? ` This model normalises first${s.attention_input_norm ? '' : ' (except in its first layer, whose input is already normalised)'}.` : '') +
          (rotary ? ' It rotates q and k by an angle that grows with the token\'s position, so that q·k depends on how far apart two tokens are (rotary position embeddings).' : ''),
        [
          h0 ? strip(s.attention_residual, 'h = LayerNorm₁(x)') : null,
          strip(a.q, rotary ? 'q (rotated)' : 'q', { scale, id: 'step-q' }),
          strip(kq, rotary ? 'k (rotated)' : 'k', { scale }),
          strip(vq, 'v', { scale }),
        ],
      ];
    }
    case 'dots':
      return [
        'q · kᵢ = Σ_c q_c kᵢ,c',
        `The query of “${tok}” is compared with every token's key by a dot product: large when they point the same way.`,
        [keyTable(labels, s.token, (j) => [h('td', null, cells(a.keys[j], `k${j}`, maxAbs(...a.keys))), num(a.dots[j], { dataset: { value: a.dots[j] } })], ['key vector kᵢ', 'q · kᵢ'], 'dot products')],
      ];
    case 'scale':
      return [
        a.position ? `scoreᵢ = q · kᵢ × ${scaleT} + position termsᵢ` : `scoreᵢ = q · kᵢ × ${scaleT}`,
        `Dividing by √${d} keeps the scores from growing with the vectors' length, so the softmax does not saturate${a.position ? "; DeBERTa adds its relative-position terms here" : ''}.`,
        [
          keyTable(
            labels,
            s.token,
            (j) => [num(a.dots[j]), a.position ? num(a.position[j]) : null, num(a.scores[j], { class: 'num score', dataset: { value: a.scores[j] } })],
            ['q · kᵢ', a.position ? '+ position' : null, 'score'].filter(Boolean),
            'scores',
          ),
        ],
      ];
    case 'softmax':
      return [
        'aᵢ = exp(scoreᵢ) / Σⱼ exp(scoreⱼ)',
        `The softmax turns the scores into weights that are positive and sum to 1: how much “${tok}” attends to each token. They are the head view's line weights; the model's own are beside them.`,
        [
          keyTable(
            labels,
            s.token,
            (j) => [
              h('td', { class: 'num softmax', dataset: { value: a.softmax[j] } }, a.masked[j] ? 'masked' : [bar(a.softmax[j]), ` ${fmt(a.softmax[j], 5)}`]),
              h('td', { class: 'num attention', dataset: { value: a.model[j] } }, fmt(a.model[j], 5)),
            ],
            ['aᵢ (computed here)', "the model's attention (head view)"],
            'softmax weights and the model attention',
          ),
          h('p', { class: 'muted', id: 'softmax-check' }, `largest difference: ${Math.max(...a.softmax.map((v, j) => Math.abs(v - a.model[j]))).toExponential(1)}`),
        ],
      ];
    case 'context': {
      const diff = Math.max(...a.context.map((v, c) => Math.abs(v - a.modelContext[c])));
      const scale = maxAbs(a.context, ...a.values);
      return [
        'c = Σᵢ aᵢ vᵢ',
        `The head's output for “${tok}” is the average of every token's value, weighted by the attention: tokens it attends to more contribute more.`,
        [
          keyTable(labels, s.token, (j) => [num(a.softmax[j]), h('td', null, cells(a.values[j], `v${j}`, scale))], ['aᵢ', 'value vᵢ'], 'values and their weights'),
          strip(a.context, 'c (computed here)', { scale, id: 'step-context' }),
          strip(a.modelContext, "c (the model's)", { scale }),
          h('p', { class: 'muted' }, `largest difference: ${diff.toExponential(1)}. Every head does this; their outputs, side by side, are ${s.hidden} numbers.`),
        ],
      ];
    }
    case 'output':
      if (s.norms === 'pre') {
        return [
          'o = [c₁ … c_H] W_Oᵀ + b_O;   x₁ = x + o',
          'The heads\' outputs are concatenated and mixed by one more projection, and added back to the layer\'s input (the residual connection, so information can skip the layer). This model normalises before each block, not after: x₁ is not normalised.',
          [strip(s.context, 'all heads [c₁ … c_H]'), strip(s.attention_output, 'o'), strip(s.attention_norm, 'x₁ = x + o')],
        ];
      }
      return [
        'o = [c₁ … c_H] W_Oᵀ + b_O;   x₁ = LayerNorm(x + o)',
        `The heads' outputs are concatenated and mixed by one more projection; the layer's input is added back (the residual connection, so information can skip the layer) and the sum is layer-normalised.`,
        [strip(s.context, 'all heads [c₁ … c_H]'), strip(s.attention_output, 'o'), strip(s.attention_residual, 'x + o'), strip(s.attention_norm, 'x₁ = LayerNorm(x + o)')],
      ];
    case 'ffn':
      if (s.norms === 'pre') {
        const act = s.activation || 'act';
        return [
          s.gated ? `[a, g] = LN₂(x₁) W₁ᵀ + b₁;   y = x₁ + (${act}(a) ⊙ g) W₂ᵀ + b₂` : `y = x₁ + ${act}(LN₂(x₁) W₁ᵀ + b₁) W₂ᵀ + b₂`,
          `Each token then goes, on its own, through a feed-forward network ${s.intermediate.length} numbers wide${s.gated ? ', gated (one half of W₁\'s output, through the activation, times the other half)' : ''}; it reads x₁ layer-normalised, and its output is added back to x₁.`,
          [strip(s.ffn_residual, 'LN₂(x₁)'), strip(s.intermediate, s.gated ? `${act}(a) ⊙ g` : `${act}(…)`), strip(s.ffn_output, 'feed-forward output'), strip(s.output, 'y = x₁ + …')],
        ];
      }
      return [
        `y = LayerNorm(x₁ + ${s.activation || 'act'}(x₁ W₁ᵀ + b₁) W₂ᵀ + b₂)`,
        `Each token then goes, on its own, through a two-layer network ${s.intermediate.length} numbers wide (${s.activation || 'its activation'} in between), is added back to x₁ and layer-normalised again.`,
        [strip(s.intermediate, `${s.activation || 'act'}(x₁ W₁ᵀ + b₁)`), strip(s.ffn_output, 'feed-forward output'), strip(s.ffn_residual, 'x₁ + feed-forward'), strip(s.output, 'y = LayerNorm(…)')],
      ];
    default:
      return [
        L + 1 < s.layers ? `x (layer ${L + 1}) = y (layer ${L})` : 'the last hidden state = y',
        L + 1 < s.layers
          ? `That is layer ${L}'s output for “${tok}”, and layer ${L + 1}'s input: the same steps again, with that layer's weights.`
          : `That was the last layer: its output${s.norms === 'pre' ? ', layer-normalised once more (the final norm),' : ''} is what the task head reads (the first token's, or the mean over the tokens).`,
        [strip(s.output, `y (layer ${L} output)`)],
      ];
  }
}

/**
 * @param {HTMLElement} el
 * @param {{s: object | null, labels: string[], attention?: import('../types.js').AttentionFeatures, busy?: boolean, error?: string | null, layers: number, heads: number}} data
 *   s: the engine's steps for view.layer and view.token (null until computed)
 * @param {{layer: number, head: number, token: number, step: number}} view
 * @param {{onLayer: Function, onHead: Function, onToken: Function, onStep: Function}} actions
 */
export function renderSteps(el, data, view, actions) {
  const select = (label, id, n, value, on, names = null) =>
    h(
      'label',
      { class: 'control' },
      `${label} `,
      h('select', { id, onchange: (ev) => on(Number(ev.target.value)) }, Array.from({ length: n }, (_, i) => h('option', { value: i, selected: i === value }, names ? `${i}: ${names[i]}` : String(i)))),
    );
  const step = Math.max(0, Math.min(STEPS.length - 1, view.step));
  const go = (k) => actions.onStep(Math.max(0, Math.min(STEPS.length - 1, k)));
  const controls = h(
    'div',
    { class: 'controls' },
    select('Layer', 'steps-layer', data.layers, view.layer, actions.onLayer),
    select('Head', 'steps-head', data.heads, view.head, actions.onHead),
    select('Query token', 'steps-token', data.labels.length, view.token, actions.onToken, data.labels),
  );
  const nav = h(
    'div',
    { class: 'steps-nav', role: 'group', 'aria-label': 'steps' },
    h('button', { type: 'button', id: 'steps-prev', disabled: step === 0, onclick: () => go(step - 1), 'aria-keyshortcuts': 'ArrowLeft' }, '← previous'),
    h('button', { type: 'button', id: 'steps-next', disabled: step === STEPS.length - 1, onclick: () => go(step + 1), 'aria-keyshortcuts': 'ArrowRight' }, 'next →'),
    h(
      'ol',
      { class: 'steps-list' },
      STEPS.map(([id, title], k) =>
        h('li', null, h('button', { type: 'button', class: k === step ? 'link is-step' : 'link', 'aria-current': k === step ? 'step' : null, dataset: { step: id }, onclick: () => go(k) }, title)),
      ),
    ),
  );
  if (data.error) {
    fill(el, controls, h('p', { class: 'message error', role: 'alert' }, data.error));
    return;
  }
  if (!data.s) {
    fill(el, controls, nav, h('p', { class: 'muted' }, data.busy ? 'Computing the steps…' : 'Pick a layer, head and token.'));
    return;
  }
  const s = data.s;
  const head = Math.min(view.head, s.heads - 1);
  const a = headArithmetic(s, head);
  const [id, title] = STEPS[step];
  const [formula, sentence, content] = stepBody(id, s, a, data.labels, data.attention);
  const body = h(
    'section',
    {
      class: 'step',
      id: 'step-body',
      tabindex: '0',
      dataset: { step: id },
      'aria-label': `step ${step + 1} of ${STEPS.length}: ${title}`,
    },
    h('h3', { class: 'step-title' }, `${step + 1}. ${title}`, h('span', { class: 'muted' }, ` · layer ${s.layer}, head ${head}, “${data.labels[s.token]}”`)),
    h('p', { class: 'step-formula' }, h('code', null, formula)),
    h('p', { class: 'step-sentence' }, sentence),
    content,
  );
  const live = h('p', { class: 'visually-hidden', 'aria-live': 'polite' }, `Step ${step + 1} of ${STEPS.length}: ${title}. ${sentence}`);
  // ← and → step from anywhere in the view but its form controls (a select's arrows are its own).
  el.onkeydown = (ev) => {
    if (ev.target.closest?.('select, input, textarea') || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === 'ArrowRight') (ev.preventDefault(), go(step + 1));
    if (ev.key === 'ArrowLeft') (ev.preventDefault(), go(step - 1));
  };
  fill(el, controls, nav, body, live);
}

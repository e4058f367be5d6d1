// Token classification: the text with its entities highlighted and
// labelled; every token is a button that explains its label. Below, the
// chosen token's labels as bars.

import { h, fill, pressable } from '../dom.js';
import { pct, fmt, textPieces } from '../tokens.js';
import { entityColor } from '../colors.js';
import { renderPrediction, truncation, windowList } from './prediction.js';

/** The entity each token belongs to (index into `entities`), or -1. */
export function entityOfToken(e) {
  const of = e.tokens.map(() => -1);
  (e.entities ?? []).forEach((ent, k) => {
    for (let i = ent.tokens[0]; i < ent.tokens[1]; i++) of[i] = k;
  });
  return of;
}

function tokenButton(e, p, selected, onToken) {
  const i = p.token;
  const tl = e.token_labels?.[i];
  return h(
    'span',
    {
      ...pressable(onToken && (() => onToken(i)), `${e.tokens[i]} (token ${i}): ${tl ? `${tl.label} ${pct(tl.score)}` : ''}; click to explain its label`),
      class: `ner-tok${i === selected ? ' selected' : ''}${p.text.trim() ? '' : ' empty'}${onToken ? '' : ' static'}`,
      dataset: { index: i },
    },
    p.text.trim() ? p.text : e.tokens[i],
  );
}

/** The text, each entity's tokens (and the gaps between them) in one labelled mark. */
function markedText(e, text, selected, onToken) {
  const of = entityOfToken(e);
  const pieces = textPieces(e, text, 0);
  // A gap belongs to an entity when the tokens on both sides do.
  const entity = pieces.map((p, n) => {
    if (p.token !== undefined) return of[p.token];
    const before = pieces[n - 1]?.token;
    const after = pieces[n + 1]?.token;
    return before !== undefined && after !== undefined && of[before] === of[after] ? of[before] : -1;
  });
  const nodes = [];
  let mark = null;
  pieces.forEach((p, n) => {
    const k = entity[n];
    if (mark && k !== mark.k) {
      nodes.push(mark.el);
      mark = null;
    }
    if (k >= 0 && !mark) {
      const ent = e.entities[k];
      mark = {
        k,
        el: h('mark', {
          class: 'ent',
          style: { '--ent': entityColor(ent.entity_group) },
          dataset: { entity: k, group: ent.entity_group },
          title: `${ent.entity_group} “${ent.word}”: ${pct(ent.score)}`,
        }),
      };
    }
    const piece = p.token !== undefined ? tokenButton(e, p, selected, onToken) : p.gap;
    if (mark) mark.el.append(piece);
    else nodes.push(piece);
    if (mark && entity[n + 1] !== k) {
      mark.el.append(h('span', { class: 'ent-label' }, e.entities[k].entity_group));
    }
  });
  if (mark) nodes.push(mark.el);
  return nodes;
}

/**
 * @param {HTMLElement} el
 * @param {{e: import('../types.js').Explanation, text: string, token: number|null,
 *          labelled: import('../types.js').Explanation|null, target: number|null, maxTokens: number,
 *          tokenLabels: string[], showAll: boolean}} data
 *   `e`: the analysis; `token`: the token explained; `labelled`: an explanation of that token
 *   (its labels' probabilities), when one has arrived
 * @param {{onToken: ((i: number) => void) | null, onLabel: ((i: number, predicted: number) => void) | null, onShowAll: (v: boolean) => void}} actions
 *   onToken, onLabel null: the tokens and labels only show
 */
export function renderEntities(el, data, actions) {
  const { e } = data;
  const entities = e.entities ?? [];
  const groups = [...new Set(entities.map((x) => x.entity_group))];
  const legend = h(
    'p',
    { class: 'legend' },
    groups.length
      ? groups.map((g) => h('span', { class: 'ent-key', style: { '--ent': entityColor(g) } }, g))
      : h('span', null, 'No entity found: every token is labelled O.'),
    actions.onToken ? h('span', { class: 'muted' }, ' Click any token to explain its label.') : null,
  );
  const rows = entities.map((x, k) =>
    h(
      'tr',
      actions.onToken ? { dataset: { entity: k }, title: 'click to explain its first token', class: 'clickable', onclick: () => actions.onToken(x.tokens[0]) } : { dataset: { entity: k } },
      h('td', null, h('span', { class: 'ent-key', style: { '--ent': entityColor(x.entity_group) } }, x.entity_group)),
      h('td', null, x.word),
      h('td', { class: 'num' }, `${x.start}–${x.end}`),
      h('td', { class: 'num' }, fmt(x.score, 3)),
    ),
  );
  const list = entities.length
    ? h(
        'div',
        { class: 'table-scroll entities-scroll' },
        h(
          'table',
          { class: 'entities', id: 'entities-list' },
          h('thead', null, h('tr', null, ['entity', 'word', 'characters', 'score'].map((t) => h('th', null, t)))),
          h('tbody', null, rows),
        ),
      )
    : null;
  const t = data.token;
  const tl = t === null ? null : e.token_labels?.[t];
  const headline = h(
    'p',
    { class: 'headline', id: 'token-label' },
    t === null ? 'Click a token to see its labels' : ['Token ', h('strong', null, `“${data.tokenLabels[t]}”`), ` (${t}): `, h('strong', null, tl?.label ?? '–'), tl ? ` (${pct(tl.score)})` : ''],
  );
  const bars = h('div', { id: 'token-classes' });
  fill(
    el,
    truncation({ truncated: e.truncated, maxTokens: data.maxTokens }, actions.onWindows ?? null),
    e.windows ? windowList(e.windows, actions.onWindows ?? null, "each token's labels are the mean over the windows that hold it, and the token explained is explained in each (its label there listed)") : null,
    h('p', { class: 'ner-text', id: 'ner-text' }, markedText(e, data.text, t, actions.onToken)),
    legend,
    list,
    bars,
  );
  const l = data.labelled;
  if (l && l.token === t && l.probabilities.length) {
    renderPrediction(
      bars,
      { labels: l.labels, probabilities: l.probabilities, predicted: l.predicted, target: data.target, output: 'softmax', truncated: false, headline, noun: 'labels' },
      { showAll: data.showAll, onTarget: actions.onLabel && ((i) => actions.onLabel(i, l.predicted)), onShowAll: actions.onShowAll },
    );
  } else {
    fill(bars, headline);
  }
}

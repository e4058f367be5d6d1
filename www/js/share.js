// A shareable link: the model (a built-in entry's id, or its URL), the
// text(s), the options and the view, in the URL's fragment (after `#`),
// which the browser never sends to a server. Read back when the page opens.
// Pure: the page's state in, a fragment out, and back.

/** The options that travel in a link, as `state.options` names them. */
const OPTIONS = ['method', 'n_steps', 'tolerance', 'integration', 'baseline', 'layer', 'output', 'norm', 'rollout_row', 'target'];
/** The boxes that travel, by their short names in the fragment. */
const FIELDS = { t: 'text', p: 'pair', q: 'question', c: 'context' };

/**
 * The fragment for `s` (without `#`), or null when the model cannot be
 * named in a link (files opened from this machine).
 * @param {object} s  the page's state
 */
export function toFragment(s) {
  const source = s.model?.source;
  if (!source) return null;
  const f = new URLSearchParams();
  if (source.id) f.set('model', source.id);
  else f.set('model-url', source.url);
  const task = s.model.info.task;
  const boxes = task === 'question-answering' ? ['q', 'c'] : s.pairOn ? ['t', 'p'] : ['t'];
  for (const k of boxes) if (s[FIELDS[k]]) f.set(k, s[FIELDS[k]]);
  for (const k of OPTIONS) {
    const v = s.options[k];
    if (v !== '' && v !== null && v !== undefined && String(v) !== String(DEFAULTS[k] ?? '')) f.set(k, String(v));
  }
  if (s.view.words) f.set('words', '1');
  if (s.view.tab && s.view.tab !== 'head') f.set('tab', s.view.tab);
  return f.toString();
}

/** What a link asks for: {model: {id} | {url} | null, fields, options, words, tab}. */
export function fromFragment(hash) {
  const f = new URLSearchParams(hash.replace(/^#/, ''));
  const model = f.get('model') ? { id: f.get('model') } : f.get('model-url') ? { url: f.get('model-url') } : null;
  const fields = {};
  for (const [k, name] of Object.entries(FIELDS)) if (f.has(k)) fields[name] = f.get(k);
  if ('pair' in fields) fields.pairOn = true;
  const options = {};
  for (const k of OPTIONS) {
    if (!f.has(k)) continue;
    const v = f.get(k);
    options[k] = k === 'tolerance' ? Number(v) : k === 'n_steps' && v !== 'auto' ? Number(v) : v;
  }
  return { model, fields, options, words: f.get('words') === '1', tab: f.get('tab') };
}

/** The options a link leaves out when they have these values (the page's defaults). */
const DEFAULTS = { method: 'ig', n_steps: 50, tolerance: 0.01, integration: 'gausslegendre', baseline: 'pad', output: 'logit', norm: 'l2' };

// A shareable link: the model (a built-in entry's id, or its URL), the
// text(s), the options and the view, in the URL's fragment (after `#`),
// which the browser never sends to a server. Read back when the page opens.
// Pure: the page's state in, a fragment out, and back.

/** The options that travel in a link, as `state.options` names them. */
const OPTIONS = ['method', 'n_steps', 'tolerance', 'integration', 'baseline', 'layer', 'output', 'norm', 'rollout_row', 'window', 'stride', 'n_samples', 'seed', 'nt_base', 'nt_samples', 'stdevs', 'target', 'contrast'];
/** The options that are numbers. */
const NUMBERS = ['tolerance', 'window', 'stride', 'n_samples', 'seed', 'nt_samples', 'stdevs'];
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
    // A link carries a class's contrast; a filler's is this text's alone.
    if (k === 'contrast' && !knownTarget(s.model.info, String(v ?? ''))) continue;
    if (v !== '' && v !== null && v !== undefined && String(v) !== String(DEFAULTS[k] ?? '')) f.set(k, String(v));
  }
  if (s.view.words) f.set('words', '1');
  if (s.view.tab && s.view.tab !== 'head') f.set('tab', s.view.tab);
  return f.toString();
}

/** The keys a link may hold besides the options. */
const OTHER_KEYS = ['model', 'model-url', 'words', 'tab', ...Object.keys(FIELDS)];

/**
 * What a link asks for: {model: {id} | {url} | null, fields, options, words,
 * tab, ignored}. `accepts(key, value)` says whether the page has `value` for
 * option `key` (the page asks its form: main.js); an option it lacks, and a
 * key that is no option at all, are left out and listed in `ignored` as
 * [key, value] pairs, so that the page's defaults are used and said to be.
 * @param {string} hash
 * @param {(key: string, value: string) => boolean} [accepts]
 */
export function fromFragment(hash, accepts = () => true) {
  const f = new URLSearchParams(hash.replace(/^#/, ''));
  const model = f.get('model') ? { id: f.get('model') } : f.get('model-url') ? { url: f.get('model-url') } : null;
  const fields = {};
  for (const [k, name] of Object.entries(FIELDS)) if (f.has(k)) fields[name] = f.get(k);
  if ('pair' in fields) fields.pairOn = true;
  const options = {};
  const ignored = [];
  // In the link's order; a key given twice is read once, as URLSearchParams.get reads it.
  for (const k of new Set(f.keys())) {
    const v = f.get(k);
    if (OPTIONS.includes(k) && accepts(k, v)) options[k] = NUMBERS.includes(k) || (k === 'n_steps' && v !== 'auto') ? Number(v) : v;
    else if (OPTIONS.includes(k) || !OTHER_KEYS.includes(k) || (k === 'tab' && !accepts(k, v))) ignored.push([k, v]);
  }
  const tab = f.has('tab') && accepts('tab', f.get('tab')) ? f.get('tab') : null;
  return { model, fields, options, words: f.get('words') === '1', tab, ignored };
}

/**
 * Whether a link's `target` is a class the model has: an index of its labels,
 * for the tasks that explain a class or a label ('' is the predicted one).
 * @param {import('./types.js').ModelInfo} info
 */
export function knownTarget(info, target) {
  if (target === '') return true;
  const takes = info.task === 'sequence-classification' || info.task === 'token-classification';
  return takes && /^\d+$/.test(target) && Number(target) < info.labels.length;
}

/** At most this many characters of a value are shown in a notice. */
const SHOWN_VALUE = 40;

/**
 * The notice for what a link holds that the page does not have, e.g. “The
 * link's baseline=zzz and integration=foo are not options here; the defaults
 * are used.”; '' when nothing was ignored.
 * @param {[string, string][]} ignored
 */
export function ignoredNotice(ignored) {
  if (!ignored.length) return '';
  const shown = ignored.map(([k, v]) => `${k}=${v.length > SHOWN_VALUE ? `${v.slice(0, SHOWN_VALUE)}…` : v}`);
  const list = shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
  return shown.length === 1
    ? `The link's ${list} is not an option here; the default is used.`
    : `The link's ${list} are not options here; the defaults are used.`;
}

/** The options a link leaves out when they have these values (the page's defaults). */
const DEFAULTS = { method: 'ig', n_steps: 50, tolerance: 0.01, integration: 'gausslegendre', baseline: 'pad', output: 'logit', norm: 'l2', window: 1, stride: 1, seed: 0, nt_base: 'saliency', nt_samples: 5, stdevs: 1 };

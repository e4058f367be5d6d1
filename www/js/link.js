// The page's side of a shared link (share.js reads and writes the fragment):
// the link the page was opened with, into the state and checked against the
// form, and Copy link.

import { state } from './state.js';
import { h, fill } from './dom.js';
import { toFragment, fromFragment } from './share.js';
import { formAccepts } from './form.js';

const $ = (id) => document.getElementById(id);

/**
 * The text, options and view of a shared link, into the state before any
 * model loads; the link (or null). What the page does not have is left at its
 * default, and listed in state.linkIgnored for the notice.
 */
export function restoreLink() {
  if (location.hash.length <= 1) return null;
  const shared = fromFragment(location.hash, formAccepts);
  Object.assign(state, shared.fields);
  const { target, contrast, ...options } = shared.options;
  Object.assign(state.options, options);
  state.view.words = shared.words;
  if (shared.tab) state.view.tab = shared.tab;
  state.linkIgnored = shared.ignored;
  return shared;
}

/**
 * Once the engine has said its methods: a link's method that is none of
 * them is left at the default, and said to be.
 */
export function checkLinkMethod() {
  const m = state.options.method;
  if (state.vocabulary?.methods.some((x) => x.name === m)) return;
  state.linkIgnored = [...state.linkIgnored, ['method', m]];
  state.options.method = state.vocabulary?.default_method.head ?? 'ig';
}

/**
 * A link to the model, text and options shown, copied on request only: the
 * address bar is left alone, so that no text typed goes into the browser's
 * history (which a browser may sync) unless the user asks for a link.
 */
export async function copyLink() {
  const frag = toFragment(state);
  const status = $('share-status');
  if (frag === null) {
    fill(status, state.model ? 'This model was opened from files on this machine: a link cannot name it.' : 'Load a model first.');
    return;
  }
  const url = `${location.origin}${location.pathname}${location.search}#${frag}`;
  const copied = await navigator.clipboard?.writeText(url).then(
    () => true,
    () => false,
  );
  fill(
    status,
    copied ? 'Copied: ' : 'Copy this link: ',
    h('input', { type: 'text', readonly: true, value: url, id: 'share-url', size: 40, 'aria-label': 'link to this explanation', onfocus: (ev) => ev.target.select() }),
    ' (the text travels in the link, after #, which is never sent to a server)',
  );
}

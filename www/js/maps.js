// Attention maps on demand. A forward pass answers the prediction and the
// maps' sizes (`Analysis`); each view then asks its worker for what it
// shows (`AttentionAsk`): one layer's heads (the head view, the heatmap),
// one head with its query and key vectors (the neuron view), the rollout
// (the heatmap), every layer (the model view only). An answer is kept with
// its analysis, so a redraw, or coming back to a layer, asks nothing again.
//
// The views reach this through `analysis.maps(what, arrived)`, which
// `onDemand` gives the analysis: no import, so that the modules a saved
// figure inlines (`bertlens explain --html`) stay the same.

const ALL = JSON.stringify({ all: true });

/**
 * Gives `analysis` its `maps(what, arrived)`: the maps `what` names
 * (`{layer}`, `{layer, head}`, `{rollout: true}` or `{all: true}`; see
 * `AttentionMaps`), or null while they are on their way, then `arrived()`
 * is called once they are in (or have failed: the answer is `{error}`).
 * `ask(what)` calls the worker that holds the pass's session.
 * @returns {object} the analysis
 */
export function onDemand(analysis, ask) {
  const got = new Map();
  const maps = (what, arrived) => {
    const key = JSON.stringify(what);
    if (got.has(key)) return got.get(key);
    // A layer's heads are part of every layer's maps, when the model view has them.
    const all = got.get(ALL);
    if (all?.probabilities && Object.keys(what).length === 1 && Number.isInteger(what.layer)) {
      const n = analysis.heads * analysis.tokens * analysis.tokens;
      const m = { layer: what.layer, head: null, probabilities: all.probabilities.subarray(what.layer * n, (what.layer + 1) * n) };
      got.set(key, m);
      return m;
    }
    got.set(key, null);
    ask(what)
      .then(
        (m) => got.set(key, m),
        (e) => got.set(key, { error: e?.message ?? String(e) }),
      )
      .then(() => arrived());
    return null;
  };
  Object.defineProperty(analysis, 'maps', { value: maps, enumerable: false });
  return analysis;
}

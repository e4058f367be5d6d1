// The stylesheet of the views the page and <bert-lens> share (the attention
// views, the step-through, the IG path, the export buttons), written against
// the page's custom properties (--ink, --muted, --line, --panel, --field,
// --rule, --faint, --accent, --accent-soft, --bar, --pos, --neg): style.css
// defines them for the page, the element's :host (element/styles.js) maps
// its own onto them. One copy of these rules, adopted by both.

export const VIEW_CSS = `
/* the attention views (head, model, neuron, heatmap) */
.heads { display: inline-flex; flex-wrap: wrap; gap: 3px; }
.head {
  width: 26px; height: 22px; padding: 0; font-size: 11px; border: 2px solid var(--head); color: var(--ink);
  background: var(--field); border-radius: 4px;
}
/* On the head's colour its number is black or white, whichever reads (headview.js sets --head-ink). */
.head.on { background: var(--head); color: var(--head-ink, #fff); }
.canvas-scroll { overflow: auto; max-height: 720px; }
canvas { display: block; }
.model-grid { overflow-x: auto; }
.grid-row { display: flex; align-items: center; gap: 4px; margin-bottom: 4px; }
.grid-label { width: 56px; flex: none; font-size: 12px; color: var(--muted); }
.grid-col { width: 80px; flex: none; font-size: 11px; color: var(--muted); text-align: center; }
.thumb { border: 1px solid var(--line); border-radius: 4px; cursor: pointer; background: var(--field); flex: none; padding: 0; }
.thumb:hover, .thumb:focus { border-color: var(--accent); outline: 2px solid var(--accent-soft); }
.query-line { font-size: 14px; display: flex; flex-wrap: wrap; align-items: center; gap: 6px; }
.vec { display: inline-flex; border: 1px solid var(--line); }
.vec .cell { display: inline-block; width: 8px; height: 16px; }
.table-scroll { overflow: auto; max-height: 640px; }
/* a question's long context read in windows (views/answer.js) */
.qa-windows ol { margin: 4px 0 10px; padding-left: 26px; font-size: 13px; color: var(--muted); }
.qa-windows li.target { color: var(--ink); font-weight: 600; }
.qa-windows q { color: var(--ink); }
.windows .window-list { margin: 4px 0 10px; padding-left: 26px; font-size: 13px; color: var(--muted); }
.windows .window-list strong { color: var(--ink); font-weight: 600; }
/* counterfactuals (views/counterfactual.js): the word struck out, its replacement inserted */
.cf-list { padding-left: 22px; margin: 6px 0; }
.cf { margin: 6px 0 10px; }
.cf p { margin: 2px 0; }
.cf-line { font-size: 1.07em; }
del.cf-from { color: var(--neg); text-decoration: line-through; }
ins.cf-to { text-decoration: none; background: var(--accent-soft); box-shadow: 0 0 0 1px var(--accent); border-radius: 3px; padding: 0 3px; margin-left: 3px; color: inherit; }
.cf-sep { color: var(--muted); }
mark.cf-answer { background: transparent; color: inherit; text-decoration: underline 2px var(--accent); text-underline-offset: 3px; }
/* the lens on every layer (views/lens.js) */
table.lens-table { border-collapse: collapse; font-size: 13px; }
table.lens-table th, table.lens-table td { padding: 3px 8px; border-bottom: 1px solid var(--rule); white-space: nowrap; }
table.lens-table thead th { font-weight: 600; text-align: right; max-width: 11em; overflow: hidden; text-overflow: ellipsis; }
table.lens-table thead th:first-child, table.lens-table tbody th { text-align: left; color: var(--muted); font-weight: 500; }
table.lens-table td.lens-p { text-align: right; font-variant-numeric: tabular-nums; min-width: 4.5em; }
table.lens-table td.lens-top, table.lens-table thead th:last-child { text-align: left; max-width: none; }
table.neuron { border-collapse: collapse; font-size: 13px; }
table.neuron th, table.neuron td { padding: 2px 8px; border-bottom: 1px solid var(--rule); white-space: nowrap; text-align: left; }
table.neuron thead th { position: sticky; top: 0; background: var(--panel); font-weight: 600; }
table.neuron .tok-cell { cursor: pointer; font-weight: normal; }
table.neuron tr.is-query .tok-cell { font-weight: 700; color: var(--accent); }
table.neuron td.num { font-variant-numeric: tabular-nums; text-align: right; }
.prob-bar { display: inline-block; height: 10px; background: var(--accent); vertical-align: -1px; border-radius: 2px; }
.tip { min-height: 1.4em; }
/* the neuron view's masked keys and notes */
table.neuron tr.masked td, table.neuron tr.masked th { color: var(--faint); }
table.neuron tr.masked .vec { opacity: 0.35; }
.masked-note { font-style: italic; }
.thumb:focus-visible { outline: 3px solid var(--accent); outline-offset: 1px; }
.head:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
/* headview.js draws its tokens in the canvas's color and accent-color: the theme's. */
canvas.head-canvas { color: var(--ink); accent-color: var(--accent); }
table.neuron .tok-pick { font: inherit; color: inherit; background: none; border: none; padding: 0; cursor: pointer; text-align: left; }
table.neuron tr.is-query .tok-pick { font-weight: 700; color: var(--accent); }
.heat-wrap { position: relative; display: inline-block; }
.heat-cursor { position: absolute; outline: 2px solid #e6194b; outline-offset: 0; pointer-events: none; }
/* inside: the scrolling box around a canvas would clip an outline outside it */
canvas.head-canvas:focus-visible, canvas.heatmap:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
/* The heatmap's white-to-blue ramp reads on white only: it keeps a light card in the dark. */
canvas.heatmap { background: #fff; border-radius: 4px; }
.head-live { min-height: 1.4em; margin: 4px 0 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.export-bar { font-size: 13px; color: var(--muted); }
.export-bar button.link { font-size: 13px; }

/* the step-through (views/steps.js) */
.steps-nav { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin: 8px 0 12px; }
.steps-list { display: flex; flex-wrap: wrap; gap: 2px 4px; list-style: none; margin: 0; padding: 0; counter-reset: step; font-size: 13px; }
.steps-list li { counter-increment: step; }
.steps-list li::before { content: counter(step) '.'; color: var(--muted); }
.steps-list button.is-step { font-weight: 700; text-decoration: none; color: var(--ink); }
.step { border-top: 1px solid var(--line); padding-top: 8px; }
.step:focus-visible { outline: 2px solid var(--accent); outline-offset: 4px; }
.step-title { font-size: 16px; margin: 4px 0; }
.step-formula code { font-size: 15px; }
.step-sentence { max-width: 70ch; }
.step-vector { display: flex; align-items: center; gap: 10px; margin: 6px 0; }
.step-vector-name { flex: 0 0 15em; font-size: 13px; text-align: right; font-family: var(--mono, ui-monospace, monospace); }
.step-vector .vec { flex: 1 1 auto; display: flex; min-width: 0; height: 18px; border: 1px solid var(--line); }
.step-vector .vec .cell { flex: 1 1 0; min-width: 0; width: auto; height: 100%; border: 0; }
.step-vector-size { font-size: 12px; flex: 0 0 auto; }
.steps-keys td .vec { display: flex; width: 260px; height: 14px; }
.steps-keys td .vec .cell { flex: 1 1 0; min-width: 0; width: auto; height: 100%; }

/* IG path */
.igpath-intro { max-width: 80ch; margin: 0 0 8px; }
.igpath-controls { align-items: center; gap: 6px; margin-bottom: 6px; }
.igpath-plot, .igpath-chart { overflow-x: auto; }
svg.igpath-svg { display: block; max-width: 100%; height: auto; font-size: 12px; }
svg.igpath-svg .axis, svg.igpath-bars .axis { stroke: var(--faint); stroke-width: 1; }
svg.igpath-svg .tick { fill: var(--muted); font-variant-numeric: tabular-nums; }
svg.igpath-svg .axis-title, svg.igpath-bars .axis-title { fill: var(--muted); font-size: 12px; }
svg.igpath-svg .igpath-curve { stroke: var(--ink); stroke-width: 1.5; opacity: 0.7; }
svg.igpath-svg .igpath-point-mark { fill: var(--bar); stroke: var(--panel); stroke-width: 1; }
svg.igpath-svg .igpath-point-mark.selected { fill: var(--accent); stroke: var(--ink); stroke-width: 2; }
svg.igpath-svg .igpath-cursor { stroke: var(--accent); stroke-width: 1.5; stroke-dasharray: 4 3; }
.igpath-step { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 12px; margin: 6px 0; }
.igpath-slider { flex: 1 1 320px; max-width: 540px; accent-color: var(--accent); }
.igpath-numbers p { margin: 4px 0; font-variant-numeric: tabular-nums; }
/* The chips keep Captum's light colours in the dark too: their labels stay dark. */
svg.igpath-bars .igpath-chip { stroke: var(--line); stroke-width: 1; }
svg.igpath-bars .bar-label { fill: #1d2330; }
svg.igpath-bars .bar-label.special { fill: #667085; }
svg.igpath-bars .igpath-final { stroke: var(--ink); stroke-width: 2; }
svg.igpath-bars rect.pos { fill: var(--pos); }
svg.igpath-bars rect.neg { fill: var(--neg); }
.igpath-totals { display: flex; flex-wrap: wrap; gap: 8px 12px; margin: 6px 0; }
.igpath-card { display: flex; flex-direction: column; min-width: 12em; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; font-variant-numeric: tabular-nums; }
.igpath-card strong { font-size: 18px; }
.igpath-card-label { font-size: 12px; color: var(--muted); }
.igpath-card .muted { font-size: 12px; }
svg.igpath-svg .igpath-sum-line { stroke: light-dark(#c2410c, #fb923c); }
svg.igpath-svg .igpath-sum-mark { fill: light-dark(#c2410c, #fb923c); }
svg.igpath-svg .legend-text { fill: var(--muted); font-size: 12px; }
svg.igpath-bars .bar-value { fill: var(--muted); font-size: 11px; font-variant-numeric: tabular-nums; }
svg.igpath-bars .igpath-final { stroke: var(--ink); }
`;

let sheet = null;

/** The rules above as a constructable stylesheet, made once and adopted by the page and every element. */
export function viewSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(VIEW_CSS);
  }
  return sheet;
}

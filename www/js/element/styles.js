// The <bert-lens> element's stylesheet, in its shadow root: the rules of the
// page's style.css that its views need, written against the element's
// documented custom properties (README, "Embed it in your docs"). Every
// --bert-lens-* property falls back to the theme's value.

export const CSS = `
:host {
  /* the theme's values; a page overrides them with --bert-lens-* */
  --_ink: var(--bert-lens-text, #1d2330);
  --_muted: var(--bert-lens-muted, #667085);
  --_line: var(--bert-lens-border, #d9dee7);
  --_bg: var(--bert-lens-background, #ffffff);
  --_accent: var(--bert-lens-accent, #1a3d8f);
  --_accent-soft: var(--bert-lens-accent-soft, #e8eefc);
  --_error: var(--bert-lens-error, #b42318);
  --_error-soft: #fef3f2;
  --_warn: #93370d;
  --_track: #eef1f6;
  /*
   * Captum's visualize_text colours at full strength (-l), and darker ones
   * that light text reads on (-d, the dark theme); palette="colorblind":
   * blue and orange, which every common colour-vision deficiency tells apart.
   */
  --_pos-l: hsl(120 75% 50%);
  --_neg-l: hsl(0 75% 60%);
  --_pos-d: hsl(120 60% 28%);
  --_neg-d: hsl(0 65% 38%);
  --_pos: var(--bert-lens-positive, var(--_pos-l));
  --_neg: var(--bert-lens-negative, var(--_neg-l));
  /* the page's names for them, which the views' shared rules (views/css.js) use */
  --ink: var(--_ink);
  --muted: var(--_muted);
  --line: var(--_line);
  --panel: var(--_bg);
  --field: var(--_bg);
  --rule: color-mix(in srgb, var(--_line) 55%, var(--_bg));
  --faint: var(--_muted);
  --accent: var(--_accent);
  --accent-soft: var(--_accent-soft);
  --on-accent: var(--_bg);
  --bar: color-mix(in srgb, var(--_accent) 70%, var(--_bg));
  --pos: color-mix(in srgb, var(--_pos) 75%, black);
  --neg: color-mix(in srgb, var(--_neg) 85%, black);
  display: block;
  color: var(--_ink);
  background: var(--_bg);
  font-family: var(--bert-lens-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
  font-size: var(--bert-lens-font-size, 15px);
  line-height: 1.45;
  border: 1px solid var(--_line);
  border-radius: var(--bert-lens-radius, 8px);
  padding: 12px 16px;
  margin: 1em 0;
  contain: content;
  container-type: inline-size;
}
:host([hidden]) { display: none; }
:host([palette='colorblind']) {
  --_pos-l: hsl(210 75% 55%);
  --_neg-l: hsl(30 90% 60%);
  --_pos-d: hsl(210 70% 32%);
  --_neg-d: hsl(30 85% 32%);
}
:host([theme='dark']) {
  --_ink: var(--bert-lens-text, #e6e9ef);
  --_muted: var(--bert-lens-muted, #9aa4b2);
  --_line: var(--bert-lens-border, #3a4150);
  --_bg: var(--bert-lens-background, #161a22);
  --_accent: var(--bert-lens-accent, #8fb0ff);
  --_accent-soft: var(--bert-lens-accent-soft, #243055);
  --_error: var(--bert-lens-error, #ff8a80);
  --_error-soft: #3b1d1b;
  --_warn: #f5b971;
  --_track: #2a303c;
  --_pos: var(--bert-lens-positive, var(--_pos-d));
  --_neg: var(--bert-lens-negative, var(--_neg-d));
  color-scheme: dark;
}
@media (prefers-color-scheme: dark) {
  :host([theme='auto']) {
    --_ink: var(--bert-lens-text, #e6e9ef);
    --_muted: var(--bert-lens-muted, #9aa4b2);
    --_line: var(--bert-lens-border, #3a4150);
    --_bg: var(--bert-lens-background, #161a22);
    --_accent: var(--bert-lens-accent, #8fb0ff);
    --_accent-soft: var(--bert-lens-accent-soft, #243055);
    --_error: var(--bert-lens-error, #ff8a80);
    --_error-soft: #3b1d1b;
    --_warn: #f5b971;
    --_track: #2a303c;
    --_pos: var(--bert-lens-positive, var(--_pos-d));
    --_neg: var(--bert-lens-negative, var(--_neg-d));
    color-scheme: dark;
  }
}
* { box-sizing: border-box; }
.muted { color: var(--_muted); font-size: 0.87em; }
.warning { color: var(--_warn); }
.message { margin: 6px 0; font-size: 0.93em; }
.message:empty { display: none; }
.message.error { color: var(--_error); background: var(--_error-soft); border: 1px solid var(--_error); border-radius: 6px; padding: 6px 10px; }
.message.info { color: var(--_muted); }
button {
  font: inherit; font-size: 0.93em; color: var(--_ink); background: var(--_bg);
  border: 1px solid var(--_line); border-radius: 6px; padding: 4px 12px; cursor: pointer;
}
button:hover { border-color: var(--_accent); }
button:focus-visible, [tabindex]:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
button.primary { background: var(--_accent); color: var(--_bg); border-color: var(--_accent); font-weight: 600; padding: 6px 16px; }
button.link { border: none; background: none; color: var(--_accent); padding: 0 4px; text-decoration: underline; }
.run { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; }
.run p { margin: 0; }
.progress { display: flex; align-items: center; gap: 8px; font-size: 0.87em; color: var(--_muted); margin: 6px 0; }
.progress:empty, .progress[hidden] { display: none; }
progress { width: 180px; accent-color: var(--_accent); }
section + section { margin-top: 12px; }

/* prediction */
.headline { margin: 0 0 8px; font-size: 1.15em; }
.classes { list-style: none; margin: 0; padding: 0; }
.class-row {
  display: grid; grid-template-columns: minmax(100px, 220px) minmax(80px, 1fr) 64px 140px; gap: 10px;
  align-items: center; padding: 3px 6px; border-radius: 5px; cursor: pointer; font-size: 0.93em;
}
.class-row.static { cursor: default; }
.class-row:not(.static):hover, .class-row:focus { background: var(--_accent-soft); outline: none; }
.class-row:focus-visible, .ner-tok:focus-visible { outline: 2px solid var(--_accent); outline-offset: -2px; }
.class-row.target { background: var(--_accent-soft); }
.class-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.class-bar { height: 12px; background: var(--_track); border-radius: 3px; overflow: hidden; }
.class-bar > span { display: block; height: 100%; background: color-mix(in srgb, var(--_accent) 70%, var(--_bg)); border-radius: 3px; }
.class-row.predicted .class-bar > span { background: var(--_accent); }
.class-p { text-align: right; font-variant-numeric: tabular-nums; }
.tag { font-size: 0.73em; padding: 1px 6px; border-radius: 9px; margin-right: 4px; }
.tag-predicted { background: var(--_accent); color: var(--_bg); }
.tag-target { background: #fff3c4; color: #6b4e00; }
@container (max-width: 560px) {
  .class-row { grid-template-columns: 1fr 80px 56px; }
  .class-tags { display: none; }
}

/* attribution */
.method { margin: 0 0 4px; font-size: 0.93em; }
.method .preview { color: var(--_warn); font-style: italic; }
.delta { margin: 0 0 10px; font-size: 0.87em; color: var(--_muted); }
.delta.warning { color: var(--_warn); }
.record-scroll { overflow-x: auto; }
.record { border-collapse: collapse; width: 100%; font-size: 0.93em; margin: 6px 0; }
.record th { text-align: left; font-weight: 600; border-bottom: 1px solid var(--_line); padding: 4px 8px; }
.record td.importance { min-width: 14em; }
.record td { padding: 6px 8px; vertical-align: top; border-bottom: 1px solid var(--_line); }
.record td.importance { line-height: 2.1; overflow-wrap: anywhere; }
.record td.rec-predicted, .record td.rec-target { max-width: 240px; overflow-wrap: anywhere; }
@container (max-width: 560px) {
  /* Captum's record as a list of its columns */
  .record thead { display: none; }
  .record, .record tbody, .record tr { display: block; }
  .record td { display: block; border-bottom: none; padding: 3px 0; }
  .record td::before { content: attr(data-label); display: inline-block; width: 11em; font-weight: 600; vertical-align: top; }
  .record td.rec-predicted, .record td.rec-target { max-width: none; }
  .record td.importance::before { display: block; width: auto; line-height: 1.45; }
}
mark.tok { color: var(--_ink); padding: 2px 3px; border-radius: 3px; white-space: pre-wrap; }
mark.tok.special { font-size: 0.8em; color: color-mix(in srgb, var(--_ink) 78%, var(--_bg)); }
/* the theme's colours, --w (|score| ÷ L2 norm) of the way from none to full */
mark.tok.pos, .swatch.pos { background-color: color-mix(in srgb, var(--_pos) calc(var(--w) * 100%), transparent) !important; }
mark.tok.neg, .swatch.neg { background-color: color-mix(in srgb, var(--_neg) calc(var(--w) * 100%), transparent) !important; }
.legend { font-size: 0.87em; margin: 4px 0 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid var(--_line); vertical-align: -1px; margin-left: 6px; background-color: transparent !important; }
.swatch.pos, .swatch.neg { border-color: transparent; }
.bars-scroll { max-height: 520px; overflow: auto; }
svg.bars { display: block; max-width: 100%; height: auto; font-size: 13px; }
svg.bars .bar-label { fill: var(--_ink); }
svg.bars .bar-label.special { fill: var(--_muted); }
svg.bars .bar-value { fill: var(--_muted); font-size: 11px; font-variant-numeric: tabular-nums; }
svg.bars .axis { stroke: var(--_muted); stroke-width: 1; }
svg.bars rect.pos { fill: color-mix(in srgb, var(--_pos) 75%, black); }
svg.bars rect.neg { fill: color-mix(in srgb, var(--_neg) 85%, black); }

/* heatmap (live) */
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; margin-bottom: 6px; }
.control { font-size: 0.87em; color: var(--_muted); display: inline-flex; align-items: center; gap: 6px; }
select { font: inherit; font-size: 0.93em; color: var(--_ink); background: var(--_bg); border: 1px solid var(--_line); border-radius: 6px; padding: 2px 6px; }
.heat-wrap { position: relative; display: inline-block; }
.heat-cursor { position: absolute; outline: 2px solid #e6194b; pointer-events: none; }
.heat-cursor[hidden] { display: none; }

/* question answering */
.context { margin: 6px 0 4px; padding: 8px 12px; border-left: 3px solid var(--_line); font-size: 1em; line-height: 1.7; white-space: pre-wrap; overflow-wrap: anywhere; }
mark.answer { background: #fff1a8; box-shadow: 0 0 0 1px #e6c200; border-radius: 3px; padding: 1px 0; color: #1d2330; }
.answer-label { white-space: pre; }
.subhead { font-size: 0.93em; font-weight: 600; margin: 12px 0 4px; }

/* token classification */
.ner-text { font-size: 1.05em; line-height: 2.3; margin: 4px 0 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
.ner-tok { cursor: pointer; border-radius: 3px; padding: 1px 0; }
.ner-tok:hover, .ner-tok:focus { background: var(--_accent-soft); outline: none; }
.ner-tok.empty { font-size: 0.73em; color: var(--_muted); padding: 0 2px; }
.ner-tok.selected { outline: 2px solid var(--_accent); outline-offset: 1px; }
mark.ent { color: inherit; background: color-mix(in srgb, var(--ent) 18%, transparent); border-bottom: 2px solid var(--ent); border-radius: 4px; padding: 2px 3px; }
.ent-label, .ent-key { display: inline-block; font-size: 0.7em; font-weight: 700; color: #fff; background: var(--ent); border-radius: 3px; padding: 0 4px; margin-left: 4px; line-height: 1.5; vertical-align: 1px; }
.ent-key { margin: 0 4px 0 0; }
.entities-scroll { max-height: 220px; overflow: auto; margin: 6px 0 10px; display: inline-block; }
table.entities { border-collapse: collapse; font-size: 0.87em; margin: 0; }
table.entities th, table.entities td { padding: 3px 10px 3px 0; border-bottom: 1px solid var(--_line); text-align: left; }
table.entities th { font-weight: 600; color: var(--_muted); }
table.entities thead th { position: sticky; top: 0; background: var(--_bg); }
table.entities td.num { font-variant-numeric: tabular-nums; }
table.entities tr.clickable { cursor: pointer; }

/* fill-mask */
.mask-text { font-size: 1.05em; line-height: 2; margin: 4px 0 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
mark.slot { color: var(--_accent); background: var(--_accent-soft); border: 1px dashed var(--_accent); border-radius: 4px; padding: 1px 5px; font-weight: 600; white-space: pre; }
mark.slot.selected { border-style: solid; }
mark.slot sup { font-size: 0.67em; color: var(--_muted); margin-right: 2px; }
.mask-groups { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 4px 24px; }
.mask-group .class-row { grid-template-columns: minmax(80px, 160px) minmax(80px, 1fr) 60px 80px; }
.filler-label { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.87em; white-space: pre; }
/* view="dataset": a report of bertlens analyze */
.report h3 { font-size: 0.95em; font-weight: 600; margin: 14px 0 4px; }
.report .row { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; margin: 4px 0; }
.report select, .report input { padding: 2px 6px; }
.report select { font: inherit; font-size: 0.87em; color: var(--_ink); background: var(--_bg); border: 1px solid var(--_line); border-radius: 4px; }
button.link { border: none; background: none; color: var(--_accent); padding: 0 4px; text-decoration: underline; font: inherit; font-size: 0.87em; cursor: pointer; }
.warning { color: var(--_warn); }
.stats { display: flex; flex-wrap: wrap; gap: 10px 28px; margin: 8px 0; }
.stat { display: flex; flex-direction: column; }
.stat-k { font-size: 0.8em; color: var(--_muted); text-transform: uppercase; letter-spacing: 0.4px; }
.stat strong { font-size: 1.45em; font-variant-numeric: tabular-nums; }
.confusion-wrap { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: flex-start; }
.top-confusions { margin: 0; padding-left: 22px; font-size: 0.87em; }
.top-confusions li.selected { font-weight: 700; }
.confusion-scroll { overflow: auto; max-height: 520px; max-width: 100%; flex: 1 1 420px; border: 1px solid var(--_line); border-radius: 6px; }
table.confusion { border-collapse: collapse; font-size: 0.8em; }
table.confusion th, table.confusion td { border: 1px solid var(--_track); padding: 0; }
table.confusion thead th { position: sticky; top: 0; background: var(--_bg); z-index: 1; vertical-align: bottom; }
table.confusion th.col { height: 120px; width: 24px; }
table.confusion th.col span { display: inline-block; writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; max-height: 116px; overflow: hidden; text-overflow: ellipsis; font-weight: 500; padding: 2px 0; }
table.confusion th.corner { font-size: 0.9em; color: var(--_muted); font-weight: 500; text-align: left; padding: 4px; }
table.confusion th.row-label { position: sticky; left: 0; background: var(--_bg); text-align: right; font-weight: 500; padding: 1px 6px; white-space: nowrap; max-width: 200px; overflow: hidden; text-overflow: ellipsis; }
table.confusion td { width: 24px; height: 22px; text-align: center; font-variant-numeric: tabular-nums; }
table.confusion td.off { cursor: pointer; color: #fff; font-weight: 600; }
table.confusion td.selected { outline: 2px solid var(--_accent); outline-offset: -2px; }
.table-scroll { overflow: auto; max-height: 420px; }
table.mistakes { border-collapse: collapse; font-size: 0.87em; width: 100%; }
table.mistakes th, table.mistakes td { padding: 3px 8px; border-bottom: 1px solid var(--_track); text-align: left; vertical-align: top; }
table.mistakes thead th { position: sticky; top: 0; background: var(--_bg); font-weight: 600; color: var(--_muted); }
table.mistakes th.num { text-align: right; }
table.mistakes td.num { font-variant-numeric: tabular-nums; text-align: right; white-space: nowrap; }
table.mistakes td.label { white-space: nowrap; }
table.mistakes td.wrong { color: var(--_error); }
table.mistakes td.text { overflow-wrap: anywhere; }
table.mistakes tfoot td { font-weight: 600; border-top: 1px solid var(--_line); }
.words-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 4px 28px; }
.word-list > p { margin: 6px 0 4px; }
.word-row { display: grid; grid-template-columns: minmax(80px, 160px) minmax(80px, 1fr) 56px 36px; gap: 8px; align-items: center; padding: 2px 6px; }
.class-bar.negative > span { background: var(--_error); }
.faith-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 8px 28px; align-items: start; margin-top: 10px; }
.faith-table td.best { font-weight: 700; }
.method-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.deletion-plot { margin: 0; }
.deletion-plot svg { max-width: 100%; height: auto; display: block; }
.deletion-plot .grid { stroke: var(--_line); stroke-width: 1; }
.deletion-plot .axis { stroke: var(--_muted); stroke-width: 1; }
.deletion-plot .tick, .deletion-plot .axis-label { fill: var(--_muted); font-size: 11px; }
.deletion-plot .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 0.85em; color: var(--_muted); }

/* exports (export.js) at the top right; the reader's form (interactive) above the figure */
.export-bar[hidden] { display: none; }
.export-bar { display: flex; justify-content: flex-end; gap: 2px; margin: -4px 0 4px; }
.reader-form { display: flex; flex-direction: column; gap: 8px; margin: 0 0 12px; padding-bottom: 10px; border-bottom: 1px solid var(--_line); }
.reader-form[hidden] { display: none; }
.reader-form .field { display: flex; flex-direction: column; gap: 2px; font-size: 0.87em; color: var(--_muted); }
.reader-form textarea, .reader-form input, .reader-form select {
  font: inherit; font-size: 1rem; color: var(--_ink); background: var(--_bg); border: 1px solid var(--_line); border-radius: 6px; padding: 4px 8px;
}
.reader-form .row { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 14px; }

/* Less motion, where the reader asked for it. */
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important; scroll-behavior: auto !important; }
}
`;

let sheet = null;

/** One constructed stylesheet, adopted by every element on the page. */
export function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

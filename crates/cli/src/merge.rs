//! `bertlens merge`: shard reports into the report of the whole set; and
//! how every report is written: `report.json`, and beside a whole set's a
//! self-contained `report.html` (the report inlined, CSS and JS inline, no
//! request to anywhere) that shows its tables offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bertlens_core::analysis::Report;

/// Reads shard reports, merges them and writes the whole set's report.
pub fn run(files: &[PathBuf], out: &Path) -> Result<ExitCode, String> {
    let mut reports = Vec::with_capacity(files.len());
    for f in files {
        let text =
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let r: Report = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a bertlens report: {e}", f.display()))?;
        reports.push(r);
    }
    let report = Report::merge(reports).map_err(|e| e.to_string())?;
    let path = write_report(&report, out)?;
    eprintln!(
        "bertlens: merged {} shard(s), {} rows; accuracy {:.4}; wrote {}",
        files.len(),
        report.rows_total,
        report.accuracy,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `report.json` and `report.html` into `dir` (a shard:
/// `report-K-of-N.json` alone); returns the JSON's path.
pub fn write_report(report: &Report, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string(report).map_err(|e| e.to_string())?;
    let name = match report.shard {
        Some(s) => format!("report-{}-of-{}.json", s.index, s.count),
        None => "report.json".into(),
    };
    let path = dir.join(name);
    std::fs::write(&path, &json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if report.shard.is_none() {
        let html = dir.join("report.html");
        std::fs::write(&html, page(&json))
            .map_err(|e| format!("cannot write {}: {e}", html.display()))?;
    }
    Ok(path)
}

/// The page with the report inlined as JSON that no `</script>` can close.
pub fn page(json: &str) -> String {
    let safe = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    PAGE.replace("__REPORT__", &safe)
}

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>bertlens report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f6f6f6;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.cm td{width:1.6em;text-align:center;font-size:11px;border:1px solid #fff}.cm th.r{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:11px}
.kpi{display:inline-block;margin-right:2em}.kpi b{font-size:1.4em;display:block}
.bad{color:#b00}.w{border-radius:3px;padding:0 1px}.muted{color:#777}label{margin-right:1em}
.scroll{max-height:32em;overflow:auto;border:1px solid #eee}
</style></head><body>
<h1>bertlens report</h1><div id="summary"></div>
<h2>Per class</h2><div class="scroll" id="classes"></div>
<h2>Confusion matrix</h2><label><input type="checkbox" id="cm-all"> every class (else those with an error)</label><div class="scroll" id="cm"></div>
<h2>Mistakes</h2>
<div><label>true <select id="f-true"></select></label><label>predicted <select id="f-pred"></select></label>
<label>text (regex) <input id="f-text" size="16"></label><label>words ≥ <input id="f-min" type="number" size="3" style="width:4em"></label>
<label>≤ <input id="f-max" type="number" style="width:4em"></label>
<label>sort <select id="f-sort"><option value="confidence">confident and wrong first</option><option value="loss">by loss</option></select></label></div>
<div class="scroll" id="mistakes"></div>
<h2>Words per class</h2><label>class <select id="w-class"></select></label><div id="words"></div>
<h2 id="fh">Faithfulness</h2><div id="faith"></div>
<script type="application/json" id="report">__REPORT__</script>
<script>
"use strict";
const R = JSON.parse(document.getElementById("report").textContent);
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => { const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? "—" : String(k)));
  return e; };
const fmt = (v, d = 3) => v == null ? "—" : (typeof v === "number" ? v.toFixed(d) : String(v));
function table(head, rows, numeric = []) {
  const t = el("table"); const tr = el("tr"); let data = rows.slice();
  head.forEach((h, i) => { const th = el("th", {}, h); th.onclick = () => { const asc = th.dataset.asc !== "1";
    th.dataset.asc = asc ? "1" : "0"; data.sort((a, b) => { const x = a[i], y = b[i];
      const c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return asc ? c : -c; }); fill(); }; tr.append(th); });
  t.append(tr); const body = el("tbody"); t.append(body);
  function fill() { body.replaceChildren(...data.map(r => el("tr", {}, ...r.map((c, i) =>
    el("td", numeric.includes(i) ? { class: "n" } : {}, c instanceof Node ? c : (typeof c === "number" ? fmt(c) : c)))))); }
  fill(); return t; }
function summary() {
  const s = $("summary"); const k = (label, v) => el("span", { class: "kpi" }, el("b", {}, v), label);
  s.append(el("p", { class: "muted" }, `model ${R.model} · bertlens ${R.bertlens} · method ${R.settings.method ?? "none"}`));
  s.append(k("accuracy", fmt(R.accuracy, 4)), k("macro F1", fmt(R.macro_avg.f1, 4)), k("weighted F1", fmt(R.weighted_avg.f1, 4)),
    k("rows", R.rows_total), k("labelled", R.rows_labelled), k("mistakes", R.mistakes.length), k("failed", R.rows_failed));
  if (R.unmatched_labels.length) s.append(el("p", { class: "bad" }, "Labels that match no class: " +
    R.unmatched_labels.map(u => `${u.label} (${u.count})`).join(", ")));
}
function classes() {
  $("classes").append(table(["class", "precision", "recall", "F1", "support"],
    R.per_class.map(c => [c.label, c.precision, c.recall, c.f1, c.support]), [1, 2, 3, 4]));
}
function confusion() {
  const all = $("cm-all").checked, L = R.confusion.labels, M = R.confusion.matrix;
  let keep = L.map((_, i) => i);
  if (!all) keep = keep.filter(i => L.some((_, j) => j !== i && (M[i][j] || M[j][i])));
  const max = Math.max(1, ...M.flat());
  const t = el("table", { class: "cm" }), head = el("tr", {}, el("th", {}, "true ↓ predicted →"));
  keep.forEach(j => head.append(el("th", { class: "r" }, L[j]))); t.append(head);
  keep.forEach(i => { const tr = el("tr", {}, el("th", {}, L[i]));
    keep.forEach(j => { const v = M[i][j], a = v / max; const td = el("td", { title: `${L[i]} → ${L[j]}: ${v}` }, v || "");
      td.style.background = v ? (i === j ? `rgba(30,120,60,${0.15 + 0.85 * a})` : `rgba(190,30,30,${0.2 + 0.8 * a})`) : "";
      if (a > 0.5) td.style.color = "#fff"; tr.append(td); }); t.append(tr); });
  $("cm").replaceChildren(keep.length ? t : el("p", {}, "No errors."));
}
function painted(row) {
  const p = el("span"); if (!row.words || !row.words.length) { p.append(row.text); return p; }
  const text = [...row.text]; let at = 0; const max = Math.max(1e-9, ...row.words.map(w => Math.abs(w.attribution)));
  for (const w of row.words) { if (w.sequence !== 0) continue;
    p.append(text.slice(at, w.offsets[0]).join("")); const s = el("span", { class: "w", title: fmt(w.attribution) }, text.slice(w.offsets[0], w.offsets[1]).join(""));
    const a = w.attribution / max; s.style.background = a >= 0 ? `rgba(40,160,70,${a * 0.6})` : `rgba(200,40,40,${-a * 0.6})`;
    p.append(s); at = w.offsets[1]; }
  p.append(text.slice(at).join("")); return p; }
function options(sel, values) { sel.replaceChildren(el("option", { value: "" }, "any"), ...values.map(v => el("option", { value: v }, v))); }
function mistakes() {
  const byIndex = new Map(R.rows.map(r => [r.index, r]));
  let rows = R.mistakes.map(i => byIndex.get(i));
  const t = $("f-true").value, p = $("f-pred").value, min = +$("f-min").value || 0, max = +$("f-max").value || Infinity;
  let re = null; try { re = $("f-text").value ? new RegExp($("f-text").value, "i") : null; } catch (e) { re = null; }
  rows = rows.filter(r => (!t || r.label === t || R.labels[r.label_index] === t) && (!p || r.predicted === p)
    && (!re || re.test(r.text)) && ((r.words || []).length || r.text.split(/\s+/).length) >= min
    && ((r.words || []).length || r.text.split(/\s+/).length) <= max);
  if ($("f-sort").value === "loss") rows.sort((a, b) => (b.loss ?? 0) - (a.loss ?? 0));
  $("mistakes").replaceChildren(el("p", { class: "muted" }, `${rows.length} of ${R.mistakes.length} mistakes`),
    table(["row", "text (words coloured by attribution toward the prediction)", "true", "predicted", "p(pred)", "p(true)", "loss"],
      rows.slice(0, 500).map(r => [r.index, painted(r), R.labels[r.label_index] ?? r.label, r.predicted, r.probability, r.label_probability, r.loss]), [0, 4, 5, 6]));
}
function words() {
  const c = $("w-class").value, w = R.words[c]; if (!w) { $("words").replaceChildren(); return; }
  const t = (list) => table(["word", "total", "mean", "count"], list.map(x => [x.word, x.total, x.mean, x.count]), [1, 2, 3]);
  $("words").replaceChildren(el("p", {}, `${w.rows} rows predicted as ${c}; toward it:`), t(w.toward),
    el("p", {}, `${w.misclassified_rows} of them misclassified; the words that pulled them toward ${c}:`), t(w.misclassified));
}
function faithfulness() {
  if (!R.faithfulness) { $("fh").remove(); $("faith").remove(); return; }
  const F = R.faithfulness, m = Object.keys(F);
  $("faith").append(table(["method", "rows", "AOPC comprehensiveness ↑", "AOPC sufficiency ↓", "deletion AUC ↓", "infidelity ↓", "sensitivity-max ↓"],
    m.map(k => [k, F[k].rows, F[k].aopc_comprehensiveness, F[k].aopc_sufficiency, F[k].deletion_auc, F[k].infidelity, F[k].sensitivity_max]), [1, 2, 3, 4, 5, 6]));
  const fr = F[m[0]].by_fraction.map(f => f.fraction);
  $("faith").append(el("p", {}, "Comprehensiveness / sufficiency by fraction of the tokens:"),
    table(["method", ...fr.map(f => `${f * 100}%`)], m.map(k => [k, ...F[k].by_fraction.map(f => `${fmt(f.comprehensiveness)} / ${fmt(f.sufficiency)}`)])));
  $("faith").append(el("p", {}, "Deletion curve: p(ŷ) with 0, 10, …, 100% of the tokens removed, most important first:"),
    table(["method", ...[...Array(11).keys()].map(i => `${i * 10}%`)], m.map(k => [k, ...F[k].deletion_curve])));
  if (R.agreement) $("faith").append(el("p", {}, "Agreement between methods (mean over sentences):"),
    table(["method", "method", "Spearman", "Kendall τ-b", "rows"], R.agreement.map(a => [a.a, a.b, a.spearman, a.kendall, a.rows]), [2, 3, 4]));
}
summary(); classes(); confusion(); $("cm-all").onchange = confusion;
const truths = [...new Set(R.rows.filter(r => r.correct === false).map(r => R.labels[r.label_index]))].sort();
const preds = [...new Set(R.rows.filter(r => r.correct === false).map(r => r.predicted))].sort();
options($("f-true"), truths); options($("f-pred"), preds);
for (const id of ["f-true", "f-pred", "f-text", "f-min", "f-max", "f-sort"]) $(id).oninput = mistakes;
mistakes();
const wc = $("w-class"); wc.replaceChildren(...Object.keys(R.words).map(k => el("option", { value: k }, k))); wc.oninput = words; words();
faithfulness();
</script></body></html>
"##;

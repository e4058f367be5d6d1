//! Self-contained HTML files: a result (the JSON of `bertlens explain`, or
//! the report of `bertlens analyze`) drawn by the page's own `<bert-lens>`
//! element, whose modules are inlined here (the same files as `www/`, not a
//! second renderer) and loaded from `blob:` URLs. No request leaves the
//! file: it opens offline, from disk, and shows what the page would.

use serde_json::{Map, Value};

/// The element's modules a saved result needs, by their path under `www/`:
/// the closure of `bert-lens.js` and `js/element/report.js` under static
/// imports (held so by `the_modules_are_closed_under_imports`).
const MODULES: &[(&str, &str)] = &[
    ("bert-lens.js", include_str!("../../../www/bert-lens.js")),
    ("js/dom.js", include_str!("../../../www/js/dom.js")),
    ("js/export.js", include_str!("../../../www/js/export.js")),
    ("js/tokens.js", include_str!("../../../www/js/tokens.js")),
    ("js/task.js", include_str!("../../../www/js/task.js")),
    ("js/colors.js", include_str!("../../../www/js/colors.js")),
    ("js/table.js", include_str!("../../../www/js/table.js")),
    (
        "js/element/element.js",
        include_str!("../../../www/js/element/element.js"),
    ),
    (
        "js/element/styles.js",
        include_str!("../../../www/js/element/styles.js"),
    ),
    (
        "js/element/present.js",
        include_str!("../../../www/js/element/present.js"),
    ),
    (
        "js/element/report.js",
        include_str!("../../../www/js/element/report.js"),
    ),
    (
        "js/views/prediction.js",
        include_str!("../../../www/js/views/prediction.js"),
    ),
    (
        "js/views/answer.js",
        include_str!("../../../www/js/views/answer.js"),
    ),
    (
        "js/views/entities.js",
        include_str!("../../../www/js/views/entities.js"),
    ),
    (
        "js/views/fillers.js",
        include_str!("../../../www/js/views/fillers.js"),
    ),
    (
        "js/views/attribution.js",
        include_str!("../../../www/js/views/attribution.js"),
    ),
    (
        "js/views/headview.js",
        include_str!("../../../www/js/views/headview.js"),
    ),
    (
        "js/views/heatmap.js",
        include_str!("../../../www/js/views/heatmap.js"),
    ),
    (
        "js/views/css.js",
        include_str!("../../../www/js/views/css.js"),
    ),
    (
        "js/element/attention.js",
        include_str!("../../../www/js/element/attention.js"),
    ),
    (
        "js/views/modelview.js",
        include_str!("../../../www/js/views/modelview.js"),
    ),
    (
        "js/views/neuronview.js",
        include_str!("../../../www/js/views/neuronview.js"),
    ),
    (
        "js/views/steps.js",
        include_str!("../../../www/js/views/steps.js"),
    ),
    (
        "js/views/igpath.js",
        include_str!("../../../www/js/views/igpath.js"),
    ),
    (
        "js/views/lens.js",
        include_str!("../../../www/js/views/lens.js"),
    ),
    (
        "js/views/counterfactual.js",
        include_str!("../../../www/js/views/counterfactual.js"),
    ),
    (
        "js/views/pathplot.js",
        include_str!("../../../www/js/views/pathplot.js"),
    ),
    (
        "js/views/faithfulness.js",
        include_str!("../../../www/js/views/faithfulness.js"),
    ),
    (
        "js/views/report.js",
        include_str!("../../../www/js/views/report.js"),
    ),
];

/// JSON that no `</script>` inside it can close (`<`, `>`, `&` escaped).
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Text as HTML text or an attribute value.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page: `heading` (text), and one `<bert-lens>` with `attributes`
/// whose `src` is `result` (a JSON document).
pub fn page(heading: &str, attributes: &[(&str, &str)], result: &str) -> String {
    let modules: Map<String, Value> = MODULES
        .iter()
        .map(|(path, source)| (path.to_string(), Value::String(source.to_string())))
        .collect();
    let modules = serde_json::to_string(&modules).expect("strings serialise");
    let attrs: String = attributes
        .iter()
        .map(|(k, v)| format!(" {k}=\"{}\"", escape(v)))
        .collect();
    PAGE.replace("__HEADING__", &escape(heading))
        .replace("__ATTRIBUTES__", &attrs)
        .replace("__VERSION__", env!("CARGO_PKG_VERSION"))
        .replace("__MODULES__", &script_safe(&modules))
        .replace("__RESULT__", &script_safe(result))
}

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; connect-src blob:; img-src data: blob:">
<title>__HEADING__</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1d2330; max-width: 1200px; margin: 1em auto; padding: 0 1.5em; }
h1 { font-size: 1.3em; margin: 0.4em 0; }
.note { color: #667085; font-size: 13px; }
@media (prefers-color-scheme: dark) { body { background: #0f1218; color: #e6e9ef; } .note { color: #9aa4b2; } }
</style></head><body>
<h1>__HEADING__</h1>
<bert-lens id="result"__ATTRIBUTES__></bert-lens>
<noscript><p>This file draws its figures with JavaScript; the data is in the script element “bertlens-result”.</p></noscript>
<p class="note">Written by bertlens __VERSION__: the result and the figure's code are in this file; it opens offline and sends nothing anywhere.</p>
<script type="application/json" id="bertlens-result">__RESULT__</script>
<script type="application/json" id="bertlens-modules">__MODULES__</script>
<script type="module">
// The page's modules, each from a blob: URL, its relative imports (static and
// dynamic) pointed at the others'; one this file lacks (the live engine) stays as it is.
const sources = JSON.parse(document.getElementById('bertlens-modules').textContent);
const urls = new Map();
const resolve = (from, spec) => {
  const parts = from.split('/').slice(0, -1);
  for (const p of spec.split('/')) {
    if (p === '..') parts.pop();
    else if (p !== '.') parts.push(p);
  }
  return parts.join('/');
};
function url(path, loading = new Set()) {
  if (urls.has(path)) return urls.get(path);
  if (loading.has(path)) throw new Error(`${path} imports itself`);
  loading.add(path);
  const code = sources[path].replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\2/g, (all, pre, q, spec) => {
    const target = resolve(path, spec);
    return target in sources ? `${pre}${q}${url(target, loading)}${q}` : all;
  });
  const u = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  urls.set(path, u);
  return u;
}
const result = document.getElementById('bertlens-result').textContent;
document.getElementById('result').setAttribute('src', URL.createObjectURL(new Blob([result], { type: 'application/json' })));
await import(url('bert-lens.js'));
</script>
</body></html>
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every relative static import of a listed module is listed: the file
    /// holds all the code its figure runs.
    #[test]
    fn the_modules_are_closed_under_imports() {
        let listed: BTreeSet<&str> = MODULES.iter().map(|(p, _)| *p).collect();
        for (path, source) in MODULES {
            let specs = source
                .match_indices("from ")
                .chain(source.match_indices("import "))
                .filter_map(|(i, m)| {
                    let rest = source[i + m.len()..].trim_start();
                    let q = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
                    rest[1..].split(q).next()
                });
            for spec in specs {
                if !spec.starts_with('.') {
                    continue;
                }
                let mut parts: Vec<&str> = path.split('/').collect();
                parts.pop();
                for p in spec.split('/') {
                    match p {
                        ".." => {
                            parts.pop();
                        }
                        "." => {}
                        p => parts.push(p),
                    }
                }
                let target = parts.join("/");
                assert!(
                    listed.contains(target.as_str()),
                    "{path} imports {target}, which the HTML file lacks"
                );
            }
        }
    }

    #[test]
    fn no_script_is_closed_early() {
        let html = page(
            "a <b> & c",
            &[("text", "x\"><script>alert(1)</script>")],
            r#"{"text": "</script><script>alert(1)</script>"}"#,
        );
        assert_eq!(html.matches("</script>").count(), 3);
        assert!(html.contains("a &lt;b&gt; &amp; c"));
        assert!(html.contains("text=\"x&quot;&gt;&lt;script&gt;"));
    }
}

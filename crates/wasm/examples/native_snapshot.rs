//! What the native core computes on the fixture models, for the wasm tests
//! to compare the browser build with (`make test-wasm` runs this first):
//!
//!     cargo run -p bertlens-wasm --example native_snapshot -- target/wasm-test/native.json
//!
//! One case per model and input, with the options both sides pass (the
//! explained answer part, token or filler): the task's prediction, every
//! attention map with what entered its scores, each method's attributions
//! and Integrated Gradients with `n_steps: "auto"`.

use std::path::PathBuf;

use bertlens_core::attention_maps::attentions;
use bertlens_core::explain::{explain_tokens, ExplainOptions, Method};
use bertlens_core::{Model, ModelFiles, SaliencyNorm, Steps, Task};
use serde_json::{json, Value};

/// The models, texts and options both sides run; crates/wasm/tests/web.rs
/// embeds the same folders.
const CASES: &[(&str, &str, Option<&str>, &str)] = &[
    (
        "bert",
        "The movie was wonderful, and the acting superb!",
        None,
        "{}",
    ),
    (
        "bert",
        "Is the hotel near the station?",
        Some("Yes, it is a short walk away."),
        "{}",
    ),
    (
        "distilbert",
        "I didn't like it at all: boring plot, flat characters.",
        None,
        "{}",
    ),
    (
        "roberta",
        "The movie was wonderful, and the acting superb!",
        None,
        "{}",
    ),
    (
        "seed-mean-mlp",
        "Résumé of naïve café owners in São Paulo",
        None,
        "{}",
    ),
    // Question answering: the answer's end, as the page's end toggle asks for it.
    (
        "bert-qa",
        "Where is the hotel?",
        Some("The hotel is near the old bank in São Paulo."),
        r#"{"part": "end"}"#,
    ),
    // Token classification: a token the user clicked.
    (
        "bert-ner",
        "My name is Wolfgang and I live in Berlin.",
        None,
        r#"{"token": 20}"#,
    ),
    // Fill-mask: the second mask's top filler.
    (
        "bert-mlm",
        "I [MASK] this movie, the acting was [MASK]!",
        None,
        r#"{"token": 9}"#,
    ),
    (
        "roberta-encoder",
        "Is the hotel near the station?",
        Some("Yes, it is a short walk away."),
        "{}",
    ),
    // DeBERTa-v3: relative-position terms in the scores.
    (
        "deberta-v3-qa",
        "Who wrote the letter?",
        Some("The letter was written by Sarah, a naïve café owner, in the autumn of 1998."),
        r#"{"part": "end"}"#,
    ),
    (
        "deberta-v3-ner",
        "Sarah works at the Bank of England in London.",
        None,
        "{}",
    ),
    // ModernBERT: rotary positions and sliding windows.
    (
        "modernbert-mlm",
        "The capital of France is [MASK].",
        None,
        "{}",
    ),
    (
        "modernbert-qa",
        "Who wrote the letter?",
        Some("The letter was written by Sarah, a naïve café owner, in the autumn of 1998."),
        r#"{"part": "start"}"#,
    ),
];

/// The methods a case is attributed by, with their extra options.
fn methods(task: Task) -> Vec<(&'static str, ExplainOptions)> {
    let with = |method, norm| ExplainOptions {
        method: Some(method),
        norm,
        ..Default::default()
    };
    let mut out = vec![("rollout", with(Method::Rollout, SaliencyNorm::L2))];
    if task != Task::Encoder {
        out.extend([
            ("ig", with(Method::Ig, SaliencyNorm::L2)),
            ("saliency", with(Method::Saliency, SaliencyNorm::L2)),
            ("saliency-l1", with(Method::Saliency, SaliencyNorm::L1)),
            (
                "input-x-gradient",
                with(Method::InputXGradient, SaliencyNorm::L2),
            ),
        ]);
    }
    out
}

/// `base`'s explanation options with a method's (method, norm) over them.
fn merged(base: &Value, m: &ExplainOptions) -> ExplainOptions {
    let mut o: ExplainOptions = serde_json::from_value(base.clone()).expect("case options");
    o.method = m.method;
    o.norm = m.norm;
    o
}

/// The fields of an explanation both sides compare.
fn explained(e: &bertlens_core::Explanation) -> Value {
    let v = serde_json::to_value(e).expect("serializes");
    let keep = [
        "task",
        "attributions",
        "delta",
        "target",
        "target_label",
        "token",
        "predicted",
        "probabilities",
        "answer",
        "answers",
        "token_labels",
        "entities",
        "fill",
        "masks",
    ];
    Value::Object(
        keep.iter()
            .filter_map(|k| v.get(*k).map(|x| (k.to_string(), x.clone())))
            .collect(),
    )
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: native_snapshot OUT.json");
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut cases = Vec::new();
    for &(name, text, pair, options) in CASES {
        let base: Value = serde_json::from_str(options).expect("case options are JSON");
        let files = ModelFiles::read_dir(fixtures.join(name)).expect("fixture");
        let model = Model::load(files).expect("fixture loads");
        let texts = [text, pair.unwrap_or("")];
        let input = model.tokenize(text, pair).expect("tokenizes");
        let (att, rollout) = attentions(&model, &input).expect("forward");
        let mut by_method = serde_json::Map::new();
        for (key, m) in methods(model.task()) {
            let e = explain_tokens(&model, &input, texts, &merged(&base, &m)).expect("explains");
            by_method.insert(key.into(), explained(&e));
        }
        // n_steps "auto": the steps it chose and what it gave.
        let auto = (model.task() != Task::Encoder).then(|| {
            let mut opts = merged(&base, &ExplainOptions::default());
            opts.n_steps = Steps::Auto;
            let e = explain_tokens(&model, &input, texts, &opts).expect("explains");
            json!({
                "attributions": e.attributions,
                "delta": e.delta,
                "n_steps": e.ig.expect("an IG report").n_steps,
            })
        });
        // The step-through of the last layer for the second token.
        let layer = att.layers - 1;
        let token = 1.min(input.len() - 1);
        let steps = bertlens_core::steps::steps(&model, &input, layer, token).expect("steps");
        cases.push(json!({
            "steps": steps,
            "model": name,
            "text": text,
            "pair": pair,
            "options": base,
            "task": model.task(),
            "input_ids": input.ids,
            "attentions": att.probabilities,
            "queries": att.queries,
            "keys": att.keys,
            "position_scores": att.position_scores,
            "windows": att.windows,
            "scale": att.scale,
            "rollout": rollout.matrix,
            "methods": Value::Object(by_method),
            "ig_auto": auto,
        }));
    }
    if let Some(dir) = PathBuf::from(&out).parent() {
        std::fs::create_dir_all(dir).expect("output folder");
    }
    std::fs::write(&out, serde_json::to_string(&cases).unwrap()).expect("writes");
    eprintln!("native_snapshot: {} cases written to {out}", cases.len());
}

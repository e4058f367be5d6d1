//! What the native core computes on the fixture models, for the wasm tests
//! to compare the browser build with (`make test-wasm` runs this first):
//!
//!     cargo run -p bertlens-wasm --example native_snapshot -- target/wasm-test/native.json

use std::path::PathBuf;

use bertlens_core::attention::attentions;
use bertlens_core::explain::{explain_tokens, ExplainOptions, Method};
use bertlens_core::{Model, ModelFiles, Steps};
use serde_json::{json, Value};

/// The models and texts both sides run; crates/wasm/tests/web.rs embeds the same files.
const CASES: &[(&str, &str, Option<&str>)] = &[
    (
        "bert",
        "The movie was wonderful, and the acting superb!",
        None,
    ),
    (
        "bert",
        "Is the hotel near the station?",
        Some("Yes, it is a short walk away."),
    ),
    (
        "distilbert",
        "I didn't like it at all: boring plot, flat characters.",
        None,
    ),
    (
        "roberta",
        "The movie was wonderful, and the acting superb!",
        None,
    ),
    (
        "seed-mean-mlp",
        "Résumé of naïve café owners in São Paulo",
        None,
    ),
];

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: native_snapshot OUT.json");
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut cases = Vec::new();
    for &(name, text, pair) in CASES {
        let files = ModelFiles::read_dir(fixtures.join(name)).expect("fixture");
        let model = Model::load(files).expect("fixture loads");
        let input = model.tokenize(text, pair).expect("tokenizes");
        let prediction = model.predict(&input).expect("forward");
        let (att, rollout) = attentions(&model, &input).expect("forward");
        let mut methods = serde_json::Map::new();
        for method in [Method::Ig, Method::Saliency, Method::InputXGradient] {
            let opts = ExplainOptions {
                method: Some(method),
                ..Default::default()
            };
            let e = explain_tokens(&model, &input, [text, pair.unwrap_or("")], &opts)
                .expect("explains");
            methods.insert(
                serde_json::to_value(method)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .into(),
                json!({ "attributions": e.attributions, "delta": e.delta }),
            );
        }
        // n_steps "auto": the steps it chose and what it gave.
        let opts = ExplainOptions {
            n_steps: Steps::Auto,
            ..Default::default()
        };
        let e =
            explain_tokens(&model, &input, [text, pair.unwrap_or("")], &opts).expect("explains");
        let auto = json!({
            "attributions": e.attributions,
            "delta": e.delta,
            "n_steps": e.ig.expect("an IG report").n_steps,
        });
        cases.push(json!({
            "ig_auto": auto,
            "model": name,
            "text": text,
            "pair": pair,
            "input_ids": input.ids,
            "probabilities": prediction.probabilities,
            "attentions": att.probabilities,
            "queries": att.queries,
            "rollout": rollout.matrix,
            "methods": Value::Object(methods),
        }));
    }
    if let Some(dir) = PathBuf::from(&out).parent() {
        std::fs::create_dir_all(dir).expect("output folder");
    }
    std::fs::write(&out, serde_json::to_string(&cases).unwrap()).expect("writes");
    eprintln!("native_snapshot: {} cases written to {out}", cases.len());
}

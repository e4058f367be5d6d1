//! The real default model (all-MiniLM-L6-v2 + the rag-intent-classifier
//! LogisticRegression, built by `make model`) against the package's own
//! pipeline (sentence-transformers + scikit-learn, labels as infer.py
//! resolves them) and against Captum.
//!
//! Without `www/models/minilm-intent` these tests pass vacuously and say so,
//! unless BERTLENS_REQUIRE_DEFAULT_MODEL is set (as `make test` does).

mod common;

use std::path::PathBuf;

use bertlens_core::{Model, ModelFiles};
use common::*;

#[test]
fn predictions_match_the_packages_pipeline() {
    let Some(model) = default_model() else { return };
    let golden = expected("minilm-intent");
    assert_eq!(model.labels().len(), 157);
    for case in golden["pipeline"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let t = model.tokenize(text, None).unwrap();
        let p = model.predict(&t).unwrap();
        assert_eq!(
            model.labels()[p.predicted],
            case["intent"].as_str().unwrap(),
            "{text:?}"
        );
        let confidence = case["confidence"].as_f64().unwrap();
        assert!(
            (p.probabilities[p.predicted] as f64 - confidence).abs() < 1e-5,
            "{text:?}"
        );
        assert_close_abs(
            text,
            &p.probabilities,
            &floats(&case["probabilities"]),
            1e-5,
        );
    }
}

#[test]
fn attributions_match_captum_on_the_default_model() {
    let Some(model) = default_model() else { return };
    let n = check_attributions("minilm-intent", &model);
    assert_eq!(n, 6);
}

/// The page's half-size download: the encoder in float16, widened on load,
/// predicts what the package's pipeline predicts, with probabilities close
/// to float32's.
#[test]
fn f16_weights_predict_as_the_pipeline_does() {
    let Some(_) = default_model() else { return };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/models/minilm-intent");
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let files = ModelFiles::from_named(
        "minilm-intent (f16)",
        vec![
            ("config.json".into(), read("config.json")),
            ("tokenizer.json".into(), read("tokenizer.json")),
            ("model.safetensors".into(), read("model.f16.safetensors")),
            ("head.json".into(), read("head.json")),
            ("head.safetensors".into(), read("head.safetensors")),
        ],
    )
    .unwrap();
    let half = Model::load(files).unwrap();
    let golden = expected("minilm-intent");
    for case in golden["pipeline"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let p = half.predict(&half.tokenize(text, None).unwrap()).unwrap();
        assert_eq!(
            half.labels()[p.predicted],
            case["intent"].as_str().unwrap(),
            "{text:?}"
        );
        assert_close_abs(
            text,
            &p.probabilities,
            &floats(&case["probabilities"]),
            2e-3,
        );
    }
}

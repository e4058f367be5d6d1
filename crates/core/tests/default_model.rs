//! The real default model (all-MiniLM-L6-v2 + the rag-intent-classifier
//! LogisticRegression, built by `make model`) against the package's own
//! pipeline (sentence-transformers + scikit-learn, labels as infer.py
//! resolves them) and against Captum.
//!
//! Without `www/models/minilm-intent` these tests pass vacuously and say so,
//! unless BERTLENS_REQUIRE_DEFAULT_MODEL is set (as `make test` does).

mod common;

use std::path::PathBuf;

use bertlens_core::{Classifier, ModelFiles};
use common::*;

fn default_model() -> Option<Classifier> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/models/minilm-intent");
    if !dir.join("model.safetensors").is_file() {
        assert!(
            std::env::var_os("BERTLENS_REQUIRE_DEFAULT_MODEL").is_none(),
            "{} is missing: run `make model`",
            dir.display()
        );
        eprintln!("skipped: {} is missing (run `make model`)", dir.display());
        return None;
    }
    let files = ModelFiles::read_dir(&dir).unwrap();
    Some(Classifier::load(&files).unwrap())
}

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

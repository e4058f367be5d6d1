//! Counterfactuals against the same search written in PyTorch on
//! transformers (tests/fixtures/gen_counterfactual.py): the replaceable
//! words and whole-word vocabulary, the first-order estimates of the first
//! step, and every text found, its edits and transformers' prediction on it,
//! on the BERT fixture (a text, a pair with a target, a narrow beam), RoBERTa
//! and ModernBERT (byte-level BPE, offsets with and without the space before
//! a word), a token classifier (one token's label, tracked through
//! the edits), question answering (the answer moved to another span, its
//! tokens tracked through the edits; WordPiece and byte-level BPE) and the
//! default model (a target out of reach in one edit).

mod common;

use bertlens_core::explain::counterfactual::{
    counterfactuals, first_order, Counterfactual, CounterfactualOptions,
};
use bertlens_core::task::Answer;
use bertlens_core::{Error, Model, Target};
use common::*;
use serde_json::Value;

fn close(got: f32, want: &Value, tol: f64, what: &str) {
    let want = want.as_f64().unwrap();
    assert!(
        (got as f64 - want).abs() <= tol * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

/// A question's answer: its span, text and p(start)·p(end).
fn check_answer(got: Option<&Answer>, want: &Value, what: &str) {
    let Some(got) = got else {
        assert!(want.is_null(), "{what}: no answer, but {want}");
        return;
    };
    assert_eq!(got.text, want["text"].as_str().unwrap(), "{what}: answer");
    for (g, key) in [
        (got.start, "start"),
        (got.end, "end"),
        (got.token_start, "token_start"),
        (got.token_end, "token_end"),
    ] {
        assert_eq!(
            g as u64,
            want[key].as_u64().unwrap(),
            "{what}: answer {key}"
        );
    }
    close(got.score, &want["score"], 1e-4, what);
}

fn check_counterfactual(got: &Counterfactual, want: &Value, what: &str) {
    assert_eq!(got.text, want["text"].as_str().unwrap(), "{what}: text");
    assert_eq!(got.pair.as_deref(), want["pair"].as_str(), "{what}: pair");
    let edits = serde_json::to_value(&got.edits).unwrap();
    for (g, w) in edits
        .as_array()
        .unwrap()
        .iter()
        .zip(want["edits"].as_array().unwrap())
    {
        for key in ["start", "end", "from", "to", "token_id"] {
            assert_eq!(g[key], w[key], "{what}: edit {key}");
        }
        assert_eq!(
            g.get("sequence").and_then(Value::as_u64).unwrap_or(0),
            w["sequence"].as_u64().unwrap(),
            "{what}: edit sequence"
        );
    }
    assert_eq!(got.edits.len(), want["edits"].as_array().unwrap().len());
    assert_eq!(got.label, want["label"].as_str().unwrap(), "{what}: label");
    close(got.probability, &want["probability"], 1e-4, what);
    close(
        got.original_probability,
        &want["original_probability"],
        1e-4,
        what,
    );
    close(got.margin, &want["margin"], 1e-4, what);
    check_answer(got.answer.as_ref(), &want["answer"], what);
}

fn check(case: &Value, model: &Model) {
    let text = case["text"].as_str().unwrap();
    let pair = case["pair"].as_str();
    let target = case["target"].as_str().map(Target::from);
    let what = format!("{} {text:?} → {:?}", case["model"], case["target"]);
    let o = &case["options"];
    let size = |k: &str| o[k].as_u64().unwrap() as usize;
    let options = CounterfactualOptions {
        target: target.clone(),
        max_edits: size("max_edits"),
        beam: size("beam"),
        candidates: size("candidates"),
        count: size("count"),
        token: case["token"].as_u64().map(|t| t as usize),
    };

    let first = first_order(model, text, pair, &options, 16).unwrap();
    let want_first = case["first"].as_array().unwrap();
    assert_eq!(
        first.len(),
        want_first.len(),
        "{what}: first-order estimates"
    );
    let scale = want_first[0]["estimate"].as_f64().unwrap().abs();
    for (g, w) in first.iter().zip(want_first) {
        assert_eq!(g.word as u64, w["word"].as_u64().unwrap(), "{what}: word");
        assert_eq!(g.token_id as u64, w["token_id"].as_u64().unwrap(), "{what}");
        assert_eq!(g.to, w["to"].as_str().unwrap(), "{what}: spelling");
        let e = w["estimate"].as_f64().unwrap();
        assert!(
            (g.estimate as f64 - e).abs() <= 1e-4 * scale.max(1.0),
            "{what}: estimate of {} → {}: {} vs {e}",
            g.word,
            g.to,
            g.estimate
        );
    }

    let got = counterfactuals(model, text, pair, &options).unwrap();
    assert_eq!(
        got.original.label,
        case["original"]["label"].as_str().unwrap()
    );
    close(
        got.original.probability,
        &case["original"]["probability"],
        1e-4,
        &what,
    );
    check_answer(
        got.original.answer.as_ref(),
        &case["original"]["answer"],
        &what,
    );
    assert_eq!(got.target.as_deref(), case["target"].as_str(), "{what}");
    assert_eq!(
        got.token.map(|t| t as u64),
        case["token"].as_u64(),
        "{what}: token"
    );
    assert_eq!(got.word.as_deref(), case["word"].as_str(), "{what}: word");
    let s = &case["searched"];
    for (g, key) in [
        (got.searched.words, "words"),
        (got.searched.vocabulary, "vocabulary"),
        (got.searched.depth, "depth"),
        (got.searched.verified, "verified"),
    ] {
        assert_eq!(g as u64, s[key].as_u64().unwrap(), "{what}: searched {key}");
    }
    let want = case["counterfactuals"].as_array().unwrap();
    assert_eq!(got.counterfactuals.len(), want.len(), "{what}: found");
    for (i, (g, w)) in got.counterfactuals.iter().zip(want).enumerate() {
        check_counterfactual(g, w, &format!("{what} #{i}"));
    }
    match (&got.closest, case["closest"].is_null()) {
        (None, true) => {}
        (Some(g), false) => check_counterfactual(g, &case["closest"], &format!("{what} closest")),
        (g, _) => panic!("{what}: closest {g:?} vs {}", case["closest"]),
    }
}

fn cases(model: &str) -> Vec<Value> {
    let all = golden_file("counterfactual.json");
    let cases: Vec<Value> = all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["model"] == model)
        .cloned()
        .collect();
    assert!(!cases.is_empty(), "no {model} case");
    cases
}

#[test]
fn bert_counterfactuals_are_the_reference_search() {
    let model = load("bert");
    for case in cases("bert") {
        check(&case, &model);
    }
}

#[test]
fn byte_level_bpe_counterfactuals_are_the_reference_search() {
    // RoBERTa trims its offsets; ModernBERT's count the space before a word.
    for name in ["roberta", "modernbert"] {
        let model = load(name);
        for case in cases(name) {
            check(&case, &model);
        }
    }
}

#[test]
fn a_token_classifiers_counterfactuals_are_the_reference_search() {
    let model = load("bert-ner");
    for case in cases("bert-ner") {
        check(&case, &model);
    }
}

#[test]
fn question_answering_counterfactuals_are_the_reference_search() {
    for name in ["bert-qa", "roberta-qa"] {
        let model = load(name);
        for case in cases(name) {
            check(&case, &model);
            // Each text found answers another span than the original's.
            let r = counterfactuals(
                &model,
                case["text"].as_str().unwrap(),
                case["pair"].as_str(),
                &CounterfactualOptions {
                    max_edits: case["options"]["max_edits"].as_u64().unwrap() as usize,
                    candidates: case["options"]["candidates"].as_u64().unwrap() as usize,
                    ..Default::default()
                },
            )
            .unwrap();
            let original = r.original.answer.unwrap();
            assert!(!r.counterfactuals.is_empty(), "{name}: found none");
            for c in &r.counterfactuals {
                let a = c.answer.as_ref().unwrap();
                let shift: isize = c
                    .edits
                    .iter()
                    .filter(|e| e.sequence == 1 && e.end <= original.start)
                    .map(|e| e.to.chars().count() as isize - (e.end - e.start) as isize)
                    .sum();
                let moved = (a.start as isize - shift, a.end as isize - shift);
                assert_ne!(moved, (original.start as isize, original.end as isize));
                // The answer's words stay.
                assert!(c.edits.iter().all(|e| e.sequence == 0
                    || e.end <= original.start
                    || e.start >= original.end));
            }
        }
    }
}

#[test]
fn default_model_counterfactuals_are_the_reference_search() {
    let Some(model) = default_model() else { return };
    for case in cases("default") {
        check(&case, &model);
    }
}

#[test]
fn a_search_says_what_it_cannot_do() {
    let model = load("bert");
    let text = "the movie was great and fun";
    let predicted = counterfactuals(&model, text, None, &Default::default())
        .unwrap()
        .original
        .label;
    let already = CounterfactualOptions {
        target: Some(Target::from(predicted.as_str())),
        ..Default::default()
    };
    let e = counterfactuals(&model, text, None, &already).unwrap_err();
    assert!(e.to_string().contains("already predicts"), "{e}");
    let unknown = CounterfactualOptions {
        target: Some(Target::from("delighted")),
        ..Default::default()
    };
    assert!(matches!(
        counterfactuals(&model, text, None, &unknown),
        Err(Error::UnknownTarget { .. })
    ));
    let none = CounterfactualOptions {
        max_edits: 0,
        ..Default::default()
    };
    let e = counterfactuals(&model, text, None, &none).unwrap_err();
    assert!(e.to_string().contains("max_edits"), "{e}");
    // A sequence classifier's counterfactuals are of the whole text: no token.
    let token = CounterfactualOptions {
        token: Some(2),
        ..Default::default()
    };
    let e = counterfactuals(&model, text, None, &token).unwrap_err();
    assert!(e.to_string().contains("no token is chosen"), "{e}");
    // Nothing replaceable: digits and punctuation only.
    let r = counterfactuals(&model, "42 ?", None, &Default::default()).unwrap();
    assert_eq!(r.searched.words, 0);
    assert!(r.counterfactuals.is_empty() && r.closest.is_none());
    let mlm = load("bert-mlm");
    let e = counterfactuals(&mlm, "a [MASK] day", None, &Default::default()).unwrap_err();
    assert!(
        e.to_string().contains("this model is a fill-mask model"),
        "{e}"
    );
    // Question answering moves the answer: no class, no token, one window.
    let qa = load("bert-qa");
    let class = CounterfactualOptions {
        target: Some(Target::from("1")),
        ..Default::default()
    };
    let e = counterfactuals(&qa, "who?", Some("Anna and Tom"), &class).unwrap_err();
    assert!(e.to_string().contains("no class is chosen"), "{e}");
    let e = counterfactuals(&qa, "who?", Some("Anna and Tom"), &token).unwrap_err();
    assert!(e.to_string().contains("change its answer"), "{e}");
    let long = "Anna lives in Paris with her brother Tom. ".repeat(8);
    let e = counterfactuals(&qa, "who?", Some(&long), &Default::default()).unwrap_err();
    assert!(e.to_string().contains("longer than the model reads"), "{e}");
    let e = counterfactuals(&qa, "who?", None, &Default::default()).unwrap_err();
    assert!(
        e.to_string().contains("needs a question and a context"),
        "{e}"
    );
    // A token classifier: a special token is no token of the text.
    let ner = load("bert-ner");
    let cls = CounterfactualOptions {
        token: Some(0),
        ..Default::default()
    };
    let e = counterfactuals(&ner, "Anna lives in Paris", None, &cls).unwrap_err();
    assert!(
        e.to_string().contains("token 0 is not a token of the text"),
        "{e}"
    );
}

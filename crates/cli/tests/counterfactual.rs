//! `bertlens counterfactual` as scripts use it: the JSON report held to the
//! PyTorch search of tests/fixtures/counterfactual.json, the listing with
//! its edits marked, a question's answer moved, and the message of a model
//! it cannot search.

mod common;

use common::{repo, run, s};
use serde_json::Value;

fn counterfactual(model: &str, extra: &[&str]) -> (i32, String, String) {
    let model = repo(&format!("tests/fixtures/{model}"));
    let mut args = vec!["counterfactual", "--model", s(&model)];
    args.extend_from_slice(extra);
    run(&args, None)
}

#[test]
fn the_json_report_is_the_reference_search() {
    let g: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/counterfactual.json")).unwrap(),
    )
    .unwrap();
    let case = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "bert" && !c["target"].is_null())
        .unwrap();
    let (code, out, err) = counterfactual(
        "bert",
        &[
            "--target",
            case["target"].as_str().unwrap(),
            "--pair",
            case["pair"].as_str().unwrap(),
            "--json",
            case["text"].as_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["original"]["label"], case["original"]["label"]);
    assert_eq!(r["target"], case["target"]);
    let (got, want) = (
        r["counterfactuals"].as_array().unwrap(),
        case["counterfactuals"].as_array().unwrap(),
    );
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        for key in ["text", "pair", "label"] {
            assert_eq!(g[key], w[key], "{key}");
        }
        let (p, q) = (
            g["probability"].as_f64().unwrap(),
            w["probability"].as_f64().unwrap(),
        );
        assert!((p - q).abs() < 1e-4, "{p} vs {q}");
        assert_eq!(g["edits"][0]["to"], w["edits"][0]["to"]);
        assert_eq!(g["edits"][0]["start"], w["edits"][0]["start"]);
    }
    assert_eq!(r["searched"]["verified"], case["searched"]["verified"]);
}

#[test]
fn the_listing_marks_each_edit() {
    let (code, out, err) = counterfactual("bert", &["the movie was great and fun"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("the model predicts positive"), "{out}");
    assert!(out.contains("the movie was [great → a] and fun"), "{out}");
    assert!(out.contains("→ neutral ("), "{out}");
    // Out of reach in one edit: the closest text, said so.
    let (code, out, _) = counterfactual(
        "bert",
        &[
            "--max-edits",
            "1",
            "--candidates",
            "1",
            "--target",
            "negative",
            "a film about love and war",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("no text of up to 1 edit found (1 tried"),
        "{out}"
    );
    assert!(
        out.contains("closest:\n[a → yes] film about love and war\n    → neutral"),
        "{out}"
    );
}

#[test]
fn a_token_classifier_searches_the_label_explain_explains() {
    // No --token: the token explain picks (the first of the highest-scoring entity).
    let (code, out, err) = counterfactual("bert-ner", &["--json", "Anna lives in Paris with Tom"]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let model = repo("tests/fixtures/bert-ner");
    let (code, out, err) = run(
        &[
            "explain",
            "--model",
            s(&model),
            "--method",
            "saliency",
            "--json",
            "Anna lives in Paris with Tom",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["token"], e["token"]);
    assert_eq!(r["original"]["label"], e["target_label"]);
    assert_eq!(r["word"], "lives");
    let (_, listing, _) = counterfactual("bert-ner", &["Anna lives in Paris with Tom"]);
    assert!(
        listing.starts_with("the model labels token 7 (\"lives\") B-LOC"),
        "{listing}"
    );
}

#[test]
fn a_questions_answer_is_moved() {
    let g: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/counterfactual.json")).unwrap(),
    )
    .unwrap();
    let case = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "bert-qa")
        .unwrap();
    let (question, context) = (
        case["text"].as_str().unwrap(),
        case["pair"].as_str().unwrap(),
    );
    let (code, out, err) = counterfactual("bert-qa", &["--json", "--pair", context, question]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        r["original"]["answer"]["text"],
        case["original"]["answer"]["text"]
    );
    assert_eq!(
        r["original"]["answer"]["start"],
        case["original"]["answer"]["start"]
    );
    let (got, want) = (
        r["counterfactuals"].as_array().unwrap(),
        case["counterfactuals"].as_array().unwrap(),
    );
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        for key in ["pair", "label"] {
            assert_eq!(g[key], w[key], "{key}");
        }
        assert_eq!(g["answer"]["start"], w["answer"]["start"]);
        assert_eq!(g["answer"]["end"], w["answer"]["end"]);
    }
    let (code, listing, _) = counterfactual("bert-qa", &["--pair", context, question]);
    assert_eq!(code, 0);
    let first = &want[0];
    let answered = format!(
        "the model answers {:?} (",
        case["original"]["label"].as_str().unwrap()
    );
    assert!(listing.starts_with(&answered), "{listing}");
    let e = &first["edits"][0];
    let mark = format!(
        "[{} → {}]",
        e["from"].as_str().unwrap(),
        e["to"].as_str().unwrap()
    );
    assert!(listing.contains(&mark), "{listing}");
    let moved = format!("→ answer {:?} (", first["label"].as_str().unwrap());
    assert!(listing.contains(&moved), "{listing}");
    assert!(listing.contains("the original answer now"), "{listing}");
    // No class to reach.
    let (code, _, err) = counterfactual("bert-qa", &["--target", "1", "--pair", context, question]);
    assert_eq!(code, 1);
    assert!(err.contains("no class is chosen"), "{err}");
}

#[test]
fn a_model_it_cannot_search_is_named() {
    let (code, _, err) = counterfactual("bert-qa", &["Anna lives in Paris"]);
    assert_eq!(code, 1);
    assert!(err.contains("a question and a context"), "{err}");
    let (code, _, err) = counterfactual("bert-mlm", &["a [MASK] day"]);
    assert_eq!(code, 1);
    assert!(err.contains("this model is a fill-mask model"), "{err}");
    let (code, _, err) = counterfactual("bert", &["--max-edits", "9", "a film"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("max_edits") && err.contains("between 1 and 8"),
        "{err}"
    );
}

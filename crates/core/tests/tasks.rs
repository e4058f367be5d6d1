//! Every task on every family against transformers (logits, hidden states,
//! attentions, the pipelines' answers, entities and fillers) and Captum
//! (attributions of the answer's start and end, of a token's label, of a
//! filler at a mask), on the fixtures of tests/fixtures/generate.py.

mod common;

use bertlens_core::attention_maps::attentions;
use bertlens_core::explain::{analyze, explain_tokens, ExplainOptions};
use bertlens_core::tokenizer::Tokenized;
use bertlens_core::{Model, Task};
use common::*;
use serde_json::Value;

const FAMILIES: &[&str] = &[
    "bert",
    "distilbert",
    "roberta",
    "albert",
    "electra",
    "deberta-v3",
    "modernbert",
];

fn names(task: &str, extra: &[&str]) -> Vec<String> {
    FAMILIES
        .iter()
        .map(|f| format!("{f}-{task}"))
        .chain(extra.iter().map(|s| s.to_string()))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn offsets(v: &Value) -> Vec<(usize, usize)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o[0].as_u64().unwrap() as usize,
                o[1].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

/// The case's input as bertlens tokenizes it, held to transformers' tokens.
fn input_of(model: &Model, name: &str, case: &Value) -> Tokenized {
    let (text, pair) = text_of(case);
    let t = model.tokenize(&text, pair.as_deref()).unwrap();
    let what = format!("{name}: {text:?}");
    assert_eq!(t.ids, u32s(&case["input_ids"]), "{what}: ids");
    assert_eq!(t.tokens, strings(&case["tokens"]), "{what}: tokens");
    assert_eq!(t.offsets, offsets(&case["offsets"]), "{what}: offsets");
    assert_eq!(t.type_ids, u32s(&case["type_ids"]), "{what}: type ids");
    let special: Vec<bool> = case["special"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    assert_eq!(t.special, special, "{what}: special tokens");
    t
}

/// Attentions and rollout of the cases that have them.
fn check_attentions(name: &str, model: &Model, case: &Value, input: &Tokenized) {
    if case.get("attentions").is_none() {
        return;
    }
    let (att, rollout) = attentions(model, input).unwrap();
    let what = format!("{name}: {:?}", case["text"]);
    assert_close_abs(
        &format!("{what} attentions"),
        &att.probabilities,
        &floats(&case["attentions"]),
        1e-5,
    );
    assert_close_abs(
        &format!("{what} rollout"),
        &rollout.cls,
        &floats(&case["rollout"]["cls"]),
        1e-5,
    );
    assert_close_abs(
        &format!("{what} rollout mean"),
        &rollout.mean,
        &floats(&case["rollout"]["mean"]),
        1e-5,
    );
}

fn load_task(name: &str, task: Task) -> Model {
    let model = load(name);
    assert_eq!(model.task(), task, "{name}");
    model
}

#[test]
fn question_answering_matches_the_span_rule_and_captum() {
    let mut checked = 0;
    for name in names("qa", &[]) {
        let mut model = load_task(&name, Task::QuestionAnswering);
        for case in expected(&name)["cases"].as_array().unwrap() {
            let truncated = case["truncated"].as_bool().unwrap();
            if truncated {
                // Generated with max_length = the case's length: cut the context, never the question.
                model.limit_tokens(case["input_ids"].as_array().unwrap().len());
            }
            let input = input_of(&model, &name, case);
            assert_eq!(input.truncated, truncated, "{name}: truncated");
            let what = format!("{name}: {:?}", case["question"]);
            let context = case["context"].as_str().unwrap();
            let a = analyze(
                &model,
                &input,
                [case["question"].as_str().unwrap(), context],
                5,
                false,
            )
            .unwrap();
            let (start, end) = a.qa.clone().unwrap();
            assert_close_rel(
                &format!("{what} start logits"),
                &start,
                &floats(&case["start_logits"]),
                1e-5,
            );
            assert_close_rel(
                &format!("{what} end logits"),
                &end,
                &floats(&case["end_logits"]),
                1e-5,
            );
            let got = a.answers.unwrap();
            let want = case["answers"].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{what}: answers");
            for (g, w) in got.iter().zip(want) {
                assert_eq!(g.text, w["text"].as_str().unwrap(), "{what}");
                assert_eq!(
                    (g.start, g.end, g.token_start, g.token_end),
                    (
                        w["start"].as_u64().unwrap() as usize,
                        w["end"].as_u64().unwrap() as usize,
                        w["token_start"].as_u64().unwrap() as usize,
                        w["token_end"].as_u64().unwrap() as usize
                    ),
                    "{what}: span of {:?}",
                    g.text
                );
                assert!(
                    (g.score as f64 - w["score"].as_f64().unwrap()).abs() < 1e-5,
                    "{what}: score"
                );
            }
            check_attentions(&name, &model, case, &input);
            checked += check_attributions_of(&name, &model, case, &input);
        }
    }
    assert!(checked >= 7 * 16, "only {checked} QA attributions");
}

#[test]
fn token_classification_matches_the_pipeline_and_captum() {
    let mut checked = 0;
    for name in names("ner", &["xlm-roberta-ner"]) {
        let model = load_task(&name, Task::TokenClassification);
        let doc = expected(&name);
        assert_eq!(model.labels(), strings(&doc["labels"]), "{name}: labels");
        for case in doc["cases"].as_array().unwrap() {
            let input = input_of(&model, &name, case);
            let text = case["text"].as_str().unwrap();
            let what = format!("{name}: {text:?}");
            let a = analyze(&model, &input, [text, ""], 5, false).unwrap();
            assert_close_rel(
                &format!("{what} logits"),
                &a.token_logits.unwrap(),
                &floats(&case["logits"]),
                1e-5,
            );
            let labels = a.token_labels.unwrap();
            for (i, (g, w)) in labels
                .iter()
                .zip(case["token_labels"].as_array().unwrap())
                .enumerate()
            {
                assert_eq!(
                    g.label,
                    w["label"].as_str().unwrap(),
                    "{what}: label of token {i}"
                );
                assert!(
                    (g.score as f64 - w["score"].as_f64().unwrap()).abs() < 1e-5,
                    "{what}: score of token {i}"
                );
            }
            let entities = a.entities.unwrap();
            let want = case["entities"].as_array().unwrap();
            assert_eq!(entities.len(), want.len(), "{what}: entities {entities:?}");
            for (g, w) in entities.iter().zip(want) {
                assert_eq!(
                    g.entity_group,
                    w["entity_group"].as_str().unwrap(),
                    "{what}"
                );
                assert_eq!(g.word, w["word"].as_str().unwrap(), "{what}");
                assert_eq!(
                    (g.start, g.end),
                    (
                        w["start"].as_u64().unwrap() as usize,
                        w["end"].as_u64().unwrap() as usize
                    ),
                    "{what}: {:?}",
                    g.word
                );
                assert!(
                    (g.score as f64 - w["score"].as_f64().unwrap()).abs() < 1e-5,
                    "{what}: score"
                );
            }
            check_attentions(&name, &model, case, &input);
            checked += check_attributions_of(&name, &model, case, &input);
        }
    }
    assert!(
        checked >= 8 * 5,
        "only {checked} token-classification attributions"
    );
}

#[test]
fn fill_mask_matches_the_pipeline_and_captum() {
    let mut checked = 0;
    for name in names("mlm", &["deberta-v2-mlm", "camembert-mlm"]) {
        let model = load_task(&name, Task::FillMask);
        for case in expected(&name)["cases"].as_array().unwrap() {
            let input = input_of(&model, &name, case);
            let text = case["text"].as_str().unwrap();
            let what = format!("{name}: {text:?}");
            let a = analyze(&model, &input, [text, ""], 5, false).unwrap();
            let masks = a.masks.unwrap();
            let positions: Vec<usize> = masks.iter().map(|m| m.token).collect();
            let want_positions: Vec<usize> = u32s(&case["mask_positions"])
                .iter()
                .map(|&p| p as usize)
                .collect();
            assert_eq!(positions, want_positions, "{what}: masks");
            for (m, w) in masks.iter().zip(case["fill"].as_array().unwrap()) {
                let w = w.as_array().unwrap();
                assert_eq!(m.fill.len(), w.len(), "{what}");
                for (g, w) in m.fill.iter().zip(w) {
                    assert_eq!(
                        g.token_id,
                        w["token"].as_u64().unwrap() as u32,
                        "{what}: filler"
                    );
                    assert_eq!(
                        g.token,
                        w["token_str"].as_str().unwrap(),
                        "{what}: token_str"
                    );
                    assert!(
                        (g.score as f64 - w["score"].as_f64().unwrap()).abs() < 1e-5,
                        "{what}: score"
                    );
                }
            }
            check_attentions(&name, &model, case, &input);
            checked += check_attributions_of(&name, &model, case, &input);
        }
    }
    assert!(checked >= 9 * 5, "only {checked} fill-mask attributions");
}

#[test]
fn bare_encoders_match_transformers_hidden_states_and_attentions() {
    for name in names("encoder", &[]) {
        let model = load_task(&name, Task::Encoder);
        for case in expected(&name)["cases"].as_array().unwrap() {
            let input = input_of(&model, &name, case);
            if case.get("hidden").is_some() {
                let hidden = model.hidden_states(&input, None).unwrap();
                assert_close_rel(
                    &format!("{name}: hidden states"),
                    &hidden,
                    &floats(&case["hidden"]),
                    1e-5,
                );
            }
            check_attentions(&name, &model, case, &input);
            // Rollout is what a bare encoder explains; gradients need a head.
            let text = case["text"].as_str().unwrap();
            let e = explain_tokens(&model, &input, [text, ""], &ExplainOptions::default()).unwrap();
            assert_eq!(e.attributions.len(), input.len());
            if case.get("rollout").is_some() {
                assert_close_abs(
                    &format!("{name}: rollout"),
                    &e.attributions,
                    &floats(&case["rollout"]["cls"]),
                    1e-5,
                );
            }
        }
    }
}

/// The attributions of one case, each with its options (token, part, target).
fn check_attributions_of(name: &str, model: &Model, case: &Value, input: &Tokenized) -> usize {
    let (text, pair) = text_of(case);
    let entries = case["attributions"].as_array().into_iter().flatten();
    entries
        .map(|a| {
            check_entry(
                name,
                model,
                input,
                [&text, pair.as_deref().unwrap_or("")],
                a,
            )
        })
        .count()
}

/// A folder as the hub often has it: no tokenizer.json, only the slow
/// tokenizer's files. Every fixture that has them loads that way and
/// tokenizes every case as transformers does for the same folder
/// (tests/fixtures/tokenizers/slow-of-fixtures.json).
#[test]
fn folders_with_only_slow_tokenizer_files_load() {
    let path = fixtures().join("tokenizers/slow-of-fixtures.json");
    let goldens: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let goldens = goldens.as_object().unwrap();
    assert!(goldens.len() >= 30, "{}", goldens.len());
    for (name, golden) in goldens {
        let dir = fixtures().join(name);
        let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap() != "tokenizer.json")
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        let mut model = Model::load(bertlens_core::ModelFiles::from_named(name, files).unwrap())
            .unwrap_or_else(|e| panic!("{name} without tokenizer.json: {e}"));
        assert_ne!(model.tokenizer().source(), "tokenizer.json", "{name}");
        for case in golden["cases"].as_array().unwrap() {
            if let Some(n) = case["max_length"].as_u64() {
                model.limit_tokens(n as usize);
            }
            let (text, pair) = text_of(case);
            let t = model.tokenize(&text, pair.as_deref()).unwrap();
            let what = format!("{name} ({}): {text:?}", golden["class"]);
            assert_eq!(t.ids, u32s(&case["input_ids"]), "{what}: ids");
            assert_eq!(t.tokens, strings(&case["tokens"]), "{what}: tokens");
            assert_eq!(t.offsets, offsets(&case["offsets"]), "{what}: offsets");
        }
    }
}

/// ElectraForPreTraining (the discriminators on the hub): one logit per
/// token that it was replaced, read as token classification with the
/// labels original/replaced, whose softmax of [0, z] is sigmoid(z).
#[test]
fn the_electra_discriminator_tells_replaced_tokens() {
    let name = "electra-discriminator";
    let model = load_task(name, Task::TokenClassification);
    assert_eq!(model.labels(), ["original", "replaced"]);
    let mut checked = 0;
    for case in expected(name)["cases"].as_array().unwrap() {
        let input = input_of(&model, name, case);
        let text = case["text"].as_str().unwrap();
        let a = analyze(&model, &input, [text, ""], 5, false).unwrap();
        let logits = a.token_logits.unwrap();
        let z: Vec<f32> = logits.chunks_exact(2).map(|r| r[1] - r[0]).collect();
        assert_close_rel(
            &format!("{name}: logits"),
            &z,
            &floats(&case["logits"]),
            1e-5,
        );
        for ((l, &zi), p) in a
            .token_labels
            .unwrap()
            .iter()
            .zip(&z)
            .zip(floats(&case["probabilities"]))
        {
            let (label, score) = if zi > 0.0 {
                ("replaced", p)
            } else {
                ("original", 1.0 - p)
            };
            assert_eq!(l.label, label);
            assert!(
                (l.score as f64 - score).abs() < 1e-5,
                "{name}: {} vs {score}",
                l.score
            );
        }
        check_attentions(name, &model, case, &input);
        checked += check_attributions_of(name, &model, case, &input);
    }
    assert_eq!(checked, 8);
}

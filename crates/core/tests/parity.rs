//! bertlens against transformers and Captum on the committed fixtures
//! (tests/fixtures/generate.py): tokens, probabilities within 1e-5,
//! attentions within 1e-5, attributions within 1e-4 of the largest.

mod common;

use bertlens_core::attention_maps::attentions;
use bertlens_core::explain::{explain_tokens, ExplainOptions};
use common::*;
use serde_json::Value;

/// Every sequence classifier among the fixtures.
const MODELS: &[&str] = &[
    "bert",
    "distilbert",
    "roberta",
    "seed-mean-mlp",
    "seed-pooler-relu",
    "mean-l2-logreg",
    "albert",
    "albert-groups",
    "electra",
    "deberta-v3",
    "deberta-v2",
    "deberta-v2-conv",
    "modernbert",
    "modernbert-mean",
    "xlm-roberta",
];

/// HF numbers words per text of a pair; bertlens numbers them across both.
fn global_word_ids(case: &Value) -> Vec<Option<u32>> {
    let special: Vec<bool> = case["special"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let types = u32s(&case["type_ids"]);
    let mut out = Vec::new();
    let (mut last, mut next) = (None, 0u32);
    let mut seq = 0u32;
    for (i, w) in case["word_ids"].as_array().unwrap().iter().enumerate() {
        // RoBERTa pairs have no token types; a special token inside the input ends a text.
        if special[i] && i > 0 && last.is_some() {
            seq += 1;
        }
        match w.as_u64() {
            Some(w) if !special[i] => {
                let key = (seq.max(types[i]), w as u32);
                if last != Some(key) {
                    if last.is_some() {
                        next += 1;
                    }
                    last = Some(key);
                }
                out.push(Some(next));
            }
            _ => out.push(None),
        }
    }
    out
}

#[test]
fn tokenization_matches_transformers() {
    for name in MODELS {
        let model = load(name);
        for case in expected(name)["cases"].as_array().unwrap() {
            let (text, pair) = text_of(case);
            let t = model.tokenize(&text, pair.as_deref()).unwrap();
            assert_eq!(t.ids, u32s(&case["input_ids"]), "{name}: ids of {text:?}");
            assert_eq!(
                t.type_ids,
                u32s(&case["type_ids"]),
                "{name}: type ids of {text:?}"
            );
            let tokens: Vec<String> = case["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(t.tokens, tokens, "{name}: tokens of {text:?}");
            let offsets: Vec<(usize, usize)> = case["offsets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    (
                        o[0].as_u64().unwrap() as usize,
                        o[1].as_u64().unwrap() as usize,
                    )
                })
                .collect();
            assert_eq!(t.offsets, offsets, "{name}: offsets of {text:?}");
            assert_eq!(
                t.word_ids,
                global_word_ids(case),
                "{name}: word ids of {text:?}"
            );
            let long = t.len() == model.tokenizer().max_tokens();
            assert_eq!(t.truncated, long, "{name}: truncated flag of {text:?}");
        }
    }
}

#[test]
fn logits_and_probabilities_match_transformers() {
    for name in MODELS {
        let model = load(name);
        for case in expected(name)["cases"].as_array().unwrap() {
            let (text, pair) = text_of(case);
            let t = model.tokenize(&text, pair.as_deref()).unwrap();
            let p = model.predict(&t).unwrap();
            let what = format!("{name}: {text:?}");
            assert_close_abs(
                &format!("{what} probabilities"),
                &p.probabilities,
                &floats(&case["probabilities"]),
                1e-5,
            );
            assert_close_rel(
                &format!("{what} logits"),
                &p.logits,
                &floats(&case["logits"]),
                1e-5,
            );
            assert_eq!(
                p.predicted,
                case["predicted"].as_u64().unwrap() as usize,
                "{what}"
            );
        }
    }
}

#[test]
fn attentions_and_rollout_match_transformers() {
    let mut checked = 0;
    for name in MODELS {
        let model = load(name);
        for case in expected(name)["cases"].as_array().unwrap() {
            if case.get("attentions").is_none() {
                continue;
            }
            let (text, pair) = text_of(case);
            let t = model.tokenize(&text, pair.as_deref()).unwrap();
            let (att, rollout) = attentions(&model, &t).unwrap();
            assert_eq!(
                (att.layers, att.heads, att.tokens),
                (model.num_layers(), model.num_heads(), t.len())
            );
            assert_close_abs(
                &format!("{name}: attentions of {text:?}"),
                &att.probabilities,
                &floats(&case["attentions"]),
                1e-5,
            );
            assert_close_abs(
                &format!("{name}: rollout [CLS] row"),
                &rollout.cls,
                &floats(&case["rollout"]["cls"]),
                1e-5,
            );
            assert_close_abs(
                &format!("{name}: rollout mean row"),
                &rollout.mean,
                &floats(&case["rollout"]["mean"]),
                1e-5,
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} cases had attentions");
}

macro_rules! attribution_parity {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            let model = load($name);
            let n = check_attributions($name, &model);
            assert!(n >= 6, "{}: only {n} attributions checked", $name);
        }
    )*};
}

attribution_parity! {
    attributions_bert_match_captum => "bert",
    attributions_distilbert_match_captum => "distilbert",
    attributions_roberta_match_captum => "roberta",
    attributions_seed_mean_mlp_match_captum => "seed-mean-mlp",
    attributions_seed_pooler_relu_match_captum => "seed-pooler-relu",
    attributions_mean_l2_logreg_match_captum => "mean-l2-logreg",
    attributions_albert_match_captum => "albert",
    attributions_albert_groups_match_captum => "albert-groups",
    attributions_electra_match_captum => "electra",
    attributions_deberta_v3_match_captum => "deberta-v3",
    attributions_deberta_v2_match_captum => "deberta-v2",
    attributions_deberta_v2_conv_match_captum => "deberta-v2-conv",
    attributions_modernbert_match_captum => "modernbert",
    attributions_modernbert_mean_match_captum => "modernbert-mean",
    attributions_xlm_roberta_match_captum => "xlm-roberta",
}

#[test]
fn embeddings_layer_ig_gives_special_tokens_exactly_zero() {
    let model = load("bert");
    let t = model.tokenize("the movie was wonderful", None).unwrap();
    let e = explain_tokens(
        &model,
        &t,
        ["the movie was wonderful", ""],
        &ExplainOptions::default(),
    )
    .unwrap();
    assert_eq!(e.attributions[0], 0.0, "[CLS]");
    assert_eq!(*e.attributions.last().unwrap(), 0.0, "[SEP]");
}

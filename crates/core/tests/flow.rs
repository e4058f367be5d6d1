//! Attention flow against networkx (tests/fixtures/gen_flow.py: transformers'
//! attentions of fixture models of several families and tasks, the layered
//! graph built in networkx and its `maximum_flow_value`), through
//! `explain` as a user runs it; and the same method on a session's
//! recorded attentions, with words merged, and in a set's faithfulness.

mod common;

use std::time::Instant;

use bertlens_core::attribution::flow::{attention_flow, Sink};
use bertlens_core::explain::{explain, ExplainOptions, Method, Part, RolloutRow};
use bertlens_core::session::Session;
use bertlens_core::Task;
use common::*;
use serde_json::Value;

/// The options a golden case was generated with.
fn options_of(case: &Value) -> ExplainOptions {
    let task = case["task"].as_str().unwrap();
    ExplainOptions {
        method: Some(Method::AttentionFlow),
        // Fill-mask finds its mask; a token classifier is told which token.
        token: case["token"]
            .as_u64()
            .map(|v| v as usize)
            .filter(|_| task == "token-classification" || case["part"].is_string()),
        part: case["part"].as_str().map(|p| match p {
            "start" => Part::Start,
            _ => Part::End,
        }),
        rollout_row: case["rollout_row"].as_str().map(|r| match r {
            "mean" => RolloutRow::Mean,
            "token" => RolloutRow::Token,
            _ => RolloutRow::Cls,
        }),
        ..ExplainOptions::default()
    }
}

#[test]
fn attention_flow_matches_networkx() {
    let g = golden_file("flow.json");
    let cases = g["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let mut worst = 0f64;
    for case in cases {
        let name = case["model"].as_str().unwrap();
        let model = load(name);
        let (text, pair) = (case["text"].as_str().unwrap(), case["pair"].as_str());
        let what = format!("{name} {text:?} {pair:?}");
        assert_ids(case, &model.tokenize(text, pair).unwrap(), &what);
        assert_eq!(
            model.num_layers(),
            case["layers"].as_u64().unwrap() as usize
        );
        let e = explain(&model, text, pair, &options_of(case)).unwrap();
        assert_eq!(e.method, Method::AttentionFlow);
        assert_eq!(e.layer, None);
        assert_eq!(e.score, None);
        if let Some(t) = case["sink"].as_u64() {
            // The explained token is the position the flow goes into.
            if case["task"] != "sequence-classification" && case["task"] != "encoder" {
                assert_eq!(e.token, Some(t as usize), "{what}");
            }
        }
        let want = f64s(&case["flow"]);
        let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
        let err = e
            .attributions
            .iter()
            .zip(&want)
            .map(|(&a, &b)| (a as f64 - b).abs())
            .fold(0f64, f64::max);
        assert_eq!(e.attributions.len(), want.len(), "{what}");
        assert!(
            err <= 1e-4 * scale,
            "{what}: |flow − networkx| = {err:e} (largest {scale})\n{:?}\n{want:?}",
            e.attributions
        );
        worst = worst.max(err / scale);
    }
    eprintln!(
        "attention flow vs networkx: largest error {worst:.2e} of the largest value, {} cases",
        cases.len()
    );
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn a_session_gives_the_same_flow_and_words_merge_it() {
    let model = load("bert");
    let text = "The movie was wonderful, and the acting superb!";
    let opts = ExplainOptions {
        method: Some(Method::AttentionFlow),
        words: true,
        ..ExplainOptions::default()
    };
    let e = explain(&model, text, None, &opts).unwrap();
    let s = Session::new(&model, text, None, opts.top_k, true).unwrap();
    assert_eq!(s.attention_flow(Sink::Token(0)).unwrap(), e.attributions);
    assert!(s.attention_flow(Sink::Token(99)).is_err());
    // Words sum their wordpieces' flows.
    let words = e.words.as_ref().unwrap();
    assert!(!words.is_empty());
    for w in words {
        let sum: f32 = e.attributions[w.tokens[0]..w.tokens[1]].iter().sum();
        assert!((w.attribution - sum).abs() < 1e-6, "{w:?}");
    }
    // Nothing above 1: the capacities into any node add up to 1.
    assert!(e.attributions.iter().all(|&v| v > 0.0 && v <= 1.0 + 1e-6));
}

#[test]
fn a_bare_encoder_takes_attention_flow() {
    let model = load("bert-encoder");
    assert_eq!(model.task(), Task::Encoder);
    let opts = ExplainOptions {
        method: Some(Method::AttentionFlow),
        ..ExplainOptions::default()
    };
    let e = explain(&model, "Tiny rooms.", None, &opts).unwrap();
    assert_eq!(e.attributions.len(), e.tokens.len());
    assert_eq!(e.target, None);
    // A gradient method still needs a head.
    let ig = ExplainOptions {
        method: Some(Method::Ig),
        ..ExplainOptions::default()
    };
    assert!(explain(&model, "Tiny rooms.", None, &ig).is_err());
}

#[test]
fn the_method_parses_by_name() {
    assert_eq!(
        Method::parse("attention-flow").unwrap(),
        Method::AttentionFlow
    );
    assert!(Method::NAMES.contains(&"attention-flow"));
    assert_eq!(Method::AttentionFlow.default_layer(), None);
    let json = serde_json::to_string(&Method::AttentionFlow).unwrap();
    assert_eq!(json, "\"attention-flow\"");
}

/// 128 tokens through 6 layers of 12 heads (the default model's shape), on
/// peaked pseudo-random attention: how long one flow takes in this build
/// (the target, < 1 s, is for an optimised build; this only
/// reports, and guards against a blow-up).
#[test]
fn flow_at_128_tokens_and_6_layers() {
    let (layers, heads, t) = (6, 12, 128);
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut att = Vec::with_capacity(layers * heads * t * t);
    for _ in 0..layers * heads * t {
        let row: Vec<f64> = (0..t)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x >> 11) as f64 / (1u64 << 53) as f64 * 8.0).exp()
            })
            .collect();
        let sum: f64 = row.iter().sum();
        att.extend(row.iter().map(|v| (v / sum) as f32));
    }
    let start = Instant::now();
    let f = attention_flow(&att, layers, heads, t, Sink::Token(0));
    let took = start.elapsed();
    eprintln!("attention flow, {t} tokens × {layers} layers: {took:?}");
    assert_eq!(f.len(), t);
    assert!(f.iter().all(|&v| v > 0.0 && v <= 1.0 + 1e-6));
    assert!(took.as_secs() < 60, "{took:?}");
}

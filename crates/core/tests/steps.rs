//! The classroom's step-through against transformers: every intermediate
//! vector of a layer for a query token, as forward hooks on the reference
//! model recorded them (tests/fixtures/gen_steps.py), and the steps' own
//! arithmetic (softmax of q·k, Σ a v) against the recorded attention.

mod common;

use bertlens_core::steps::steps;
use common::*;
use serde_json::Value;

fn goldens() -> Value {
    let path = fixtures().join("steps.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Within 1e-5, or 1e-5 of the vector's largest value where that is above 1
/// (float32 sums of a few layers, in another order than PyTorch's).
fn close(what: &str, got: &[f32], want: &[f64]) {
    let scale = want.iter().fold(1f64, |m, x| m.max(x.abs()));
    assert_close_abs(what, got, want, 1e-5 * scale);
}

/// `Some(row)` of a golden that may be null.
fn maybe(v: &Value) -> Option<Vec<f64>> {
    (!v.is_null()).then(|| floats(v))
}

#[test]
fn every_step_equals_transformers_hooks() {
    let all = goldens();
    for name in ["bert", "distilbert", "roberta", "modernbert"] {
        let g = &all[name];
        let model = load(name);
        let input = model.tokenize(g["text"].as_str().unwrap(), None).unwrap();
        assert_eq!(input.ids, u32s(&g["ids"]), "{name}: ids");
        for case in g["cases"].as_array().unwrap() {
            let (layer, token) = (
                case["layer"].as_u64().unwrap() as usize,
                case["token"].as_u64().unwrap() as usize,
            );
            let s = steps(&model, &input, layer, token).unwrap();
            let what = |step: &str| format!("{name} layer {layer} token {token}: {step}");
            assert_close_abs(&what("word"), &s.word, &floats(&case["word"]), 1e-6);
            match (maybe(&case["position"]), &s.position) {
                (Some(want), Some(got)) => assert_close_abs(&what("position"), got, &want, 1e-6),
                (None, None) => {}
                (w, g) => panic!("{}: position {w:?} vs {g:?}", what("position")),
            }
            match (maybe(&case["token_type"]), &s.token_type) {
                (Some(want), Some(got)) => assert_close_abs(&what("token_type"), got, &want, 1e-6),
                (None, None) => {}
                (w, g) => panic!("{}: token type {w:?} vs {g:?}", what("token_type")),
            }
            assert_eq!(s.norms, if name == "modernbert" { "pre" } else { "post" });
            for (step, got) in [
                ("embeddings", &s.embeddings),
                ("input", &s.vectors.input),
                ("query", &s.query),
                ("keys", &s.keys),
                ("values", &s.values),
                ("probabilities", &s.probabilities),
                ("context", &s.vectors.context),
                ("attention_output", &s.vectors.attention_output),
                ("attention_residual", &s.vectors.attention_residual),
                ("attention_norm", &s.vectors.attention_norm),
                ("intermediate", &s.vectors.intermediate),
                ("ffn_output", &s.vectors.ffn_output),
                ("ffn_residual", &s.vectors.ffn_residual),
                ("output", &s.vectors.output),
            ] {
                // ModernBERT's q and k: bertlens shows them rotated, the hooks see them before.
                if case[step].is_null() {
                    continue;
                }
                close(&what(step), got, &floats(&case[step]));
            }
        }
    }
}

#[test]
fn the_steps_add_up_to_the_models_attention() {
    let model = load("bert");
    let input = model
        .tokenize("the movie was not bad at all", None)
        .unwrap();
    let s = steps(&model, &input, 1, 3).unwrap();
    let (t, h, d) = (s.tokens, s.hidden, s.head_dim);
    for head in 0..s.heads {
        let q = &s.query[head * d..(head + 1) * d];
        let scores: Vec<f64> = (0..t)
            .map(|j| {
                let k = &s.keys[j * h + head * d..j * h + (head + 1) * d];
                q.iter().zip(k).map(|(a, b)| (a * b) as f64).sum::<f64>() * s.scale as f64
            })
            .collect();
        let masked = |j: usize| s.window.is_some_and(|w| s.token.abs_diff(j) > w);
        let max = (0..t)
            .filter(|&j| !masked(j))
            .map(|j| scores[j])
            .fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = (0..t)
            .map(|j| {
                if masked(j) {
                    0.0
                } else {
                    (scores[j] - max).exp()
                }
            })
            .collect();
        let z: f64 = exps.iter().sum();
        let softmax: Vec<f64> = exps.iter().map(|v| v / z).collect();
        assert_close_abs(
            &format!("head {head}: softmax(q·k·scale)"),
            &s.probabilities[head * t..(head + 1) * t],
            &softmax,
            1e-6,
        );
        let context: Vec<f64> = (0..d)
            .map(|c| {
                (0..t)
                    .map(|j| softmax[j] * s.values[j * h + head * d + c] as f64)
                    .sum()
            })
            .collect();
        assert_close_abs(
            &format!("head {head}: Σ a v"),
            &s.vectors.context[head * d..(head + 1) * d],
            &context,
            1e-5,
        );
    }
}

#[test]
fn a_layer_or_token_out_of_range_is_an_error() {
    let model = load("bert");
    let input = model.tokenize("hello", None).unwrap();
    let e = steps(&model, &input, 9, 0).unwrap_err().to_string();
    assert!(
        e.contains("layer") && e.contains("past the last layer"),
        "{e}"
    );
    let e = steps(&model, &input, 0, 99).unwrap_err().to_string();
    assert!(
        e.contains("token") && e.contains("past the last token"),
        "{e}"
    );
}

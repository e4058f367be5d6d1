//! The lens on every layer against transformers (tests/fixtures/gen_lens.py:
//! each fixture model run with its layer stack cut to the first l layers, so
//! that its own head reads `hidden_states[l]`): class probabilities, the
//! first mask's fillers, every token's label and the best answer, per
//! layer, for every family and task.

mod common;

use bertlens_core::explain::lens::lens;
use common::*;

/// Whether `p[i]` is the largest of `p` to within `tol` (a near tie may go either way in f32).
fn is_top(p: &[f64], i: usize, tol: f64) -> bool {
    p.iter().all(|&q| q <= p[i] + tol)
}

#[test]
fn the_lens_on_every_layer_matches_transformers() {
    let g = golden_file("lens.json");
    let cases = g["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    let mut worst = 0f64;
    for case in cases {
        let name = case["model"].as_str().unwrap();
        let model = load(name);
        let (text, pair) = (case["text"].as_str().unwrap(), case["pair"].as_str());
        let what = format!("{name} {text:?}");
        let input = model.tokenize(text, pair).unwrap();
        assert_ids(case, &input, &what);
        let got = lens(&model, &input, [text, pair.unwrap_or("")], 5).unwrap();
        let want = case["layers"].as_array().unwrap();
        assert_eq!(
            got.len(),
            want.len(),
            "{what}: one reading per layer and the embeddings"
        );
        assert_eq!(got.len(), model.num_layers() + 1);
        for (l, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(g.layer, l);
            let at = format!("{what} layer {l}");
            let mut close = |a: f64, b: f64, tol: f64, of: &str| {
                worst = worst.max((a - b).abs());
                assert!((a - b).abs() <= tol, "{at} {of}: {a} vs {b}");
            };
            if let Some(p) = w.get("probabilities") {
                let p = floats(p);
                let got = g.probabilities.as_ref().expect("probabilities");
                assert_eq!(got.len(), p.len());
                for (a, b) in got.iter().zip(&p) {
                    close(*a as f64, *b, 1e-5, "probability");
                }
            } else if let Some(fill) = w.get("fill") {
                let got = g.fill.as_ref().expect("fillers");
                let fill = fill.as_array().unwrap();
                assert_eq!(got.len(), fill.len());
                let scores: Vec<f64> = fill.iter().map(|f| f["score"].as_f64().unwrap()).collect();
                for (k, (a, b)) in got.iter().zip(fill).enumerate() {
                    close(a.score as f64, scores[k], 1e-5, "filler score");
                    // The same token, unless its neighbours in the ranking tie with it.
                    let tied = (k > 0 && scores[k - 1] - scores[k] < 1e-5)
                        || (k + 1 < scores.len() && scores[k] - scores[k + 1] < 1e-5);
                    if !tied {
                        assert_eq!(
                            a.token_id as u64,
                            b["token_id"].as_u64().unwrap(),
                            "{at}: filler {k}"
                        );
                    }
                }
            } else if let Some(tokens) = w.get("token_probabilities") {
                let got = g.token_labels.as_ref().expect("token labels");
                let tokens = tokens.as_array().unwrap();
                assert_eq!(got.len(), tokens.len());
                for (t, (label, p)) in got.iter().zip(tokens).enumerate() {
                    let p = floats(p);
                    let i = model
                        .labels()
                        .iter()
                        .position(|x| *x == label.label)
                        .unwrap();
                    close(label.score as f64, p[i], 1e-5, "token label score");
                    assert!(is_top(&p, i, 1e-5), "{at}: token {t} is {}", label.label);
                }
            } else {
                let w = &w["answer"];
                let a = g.answer.as_ref().expect("an answer");
                close(
                    a.score as f64,
                    w["score"].as_f64().unwrap(),
                    1e-5,
                    "answer score",
                );
                let span = (
                    w["token_start"].as_u64().unwrap(),
                    w["token_end"].as_u64().unwrap(),
                );
                assert_eq!(
                    (a.token_start as u64, a.token_end as u64),
                    span,
                    "{at}: the best span"
                );
            }
        }
    }
    eprintln!("lens: worst difference {worst:.2e}");
}

#[test]
fn the_last_layer_is_the_prediction() {
    let model = load("bert");
    let input = model.tokenize("The movie was wonderful.", None).unwrap();
    let layers = lens(&model, &input, ["The movie was wonderful.", ""], 5).unwrap();
    let predicted = model.predict(&input).unwrap();
    let last = layers.last().unwrap().probabilities.as_ref().unwrap();
    for (a, b) in last.iter().zip(&predicted.probabilities) {
        assert!((a - b).abs() <= 1e-6);
    }
}

#[test]
fn a_fill_mask_text_without_a_mask_and_a_bare_encoder_are_refused() {
    let model = load("bert-mlm");
    let input = model.tokenize("No mask here.", None).unwrap();
    let e = lens(&model, &input, ["No mask here.", ""], 5).unwrap_err();
    assert!(e.to_string().contains("mask"), "{e}");
    let model = load("bert-encoder");
    let input = model.tokenize("Hello.", None).unwrap();
    assert!(lens(&model, &input, ["Hello.", ""], 5).is_err());
}

/// A session prepared with its attentions reads the lens off its own pass:
/// the same numbers as the lens's own pass, for every task.
#[test]
fn a_session_reads_the_lens_off_its_own_pass() {
    use bertlens_core::session::Session;
    let g = golden_file("lens.json");
    for case in g["cases"].as_array().unwrap().iter().step_by(3) {
        let name = case["model"].as_str().unwrap();
        let model = load(name);
        let (text, pair) = (case["text"].as_str().unwrap(), case["pair"].as_str());
        let traced = Session::new(&model, text, pair, 5, true).unwrap();
        let plain = Session::new(&model, text, pair, 5, false).unwrap();
        let want = lens(&model, traced.input(), [text, pair.unwrap_or("")], 5).unwrap();
        assert_eq!(traced.lens(&model, 5).unwrap(), want, "{name}: recorded");
        assert_eq!(plain.lens(&model, 5).unwrap(), want, "{name}: its own pass");
    }
}

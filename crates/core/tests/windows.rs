//! Question answering over a context longer than a window, against
//! transformers (tests/fixtures/gen_windows.py): the windows its fast
//! tokenizer cuts (only the context, overlapping by the stride), the span
//! rule in each window on transformers' logits, and the best span of all;
//! the session and its explanation are of the best window. A classified
//! text read in windows (`windows: true`) against transformers and Captum:
//! each window's prediction, the mean of them, and each token's
//! attribution the mean over the windows that hold it.

mod common;

use bertlens_core::explain::{explain, ExplainOptions, Method};
use bertlens_core::session::Session;
use bertlens_core::Error;
use common::*;
use serde_json::Value;

fn options(case: &Value) -> ExplainOptions {
    ExplainOptions {
        max_length: case["max_length"].as_u64().unwrap() as usize,
        doc_stride: case["doc_stride"].as_u64().unwrap() as usize,
        method: Some(Method::Saliency),
        ..Default::default()
    }
}

#[test]
fn windows_and_answers_are_transformers() {
    let golden = golden_file("windows.json");
    for case in golden["cases"].as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        let model = load(name);
        let (q, c) = (
            case["question"].as_str().unwrap(),
            case["context"].as_str().unwrap(),
        );
        let opts = options(case);
        let what = format!("{name} {q:?} windows of {}", opts.max_length);
        let want = case["windows"].as_array().unwrap();
        let got = model
            .tokenize_windows(q, c, opts.max_length, opts.doc_stride)
            .unwrap();
        assert_eq!(got.len(), want.len(), "{what}: windows");
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert_ids(w, g, &format!("{what} #{k}"));
            assert!(!g.truncated, "{what} #{k}: a window is whole");
        }

        let e = explain(&model, q, Some(c), &opts).unwrap();
        let windows = e.windows.as_ref().expect("read in windows");
        let best = case["best"].as_u64().unwrap() as usize;
        for (k, (g, w)) in windows.iter().zip(want).enumerate() {
            let wk = format!("{what} #{k}");
            assert_eq!(g.start as u64, w["start"].as_u64().unwrap(), "{wk}: start");
            assert_eq!(g.end as u64, w["end"].as_u64().unwrap(), "{wk}: end");
            assert_eq!(g.tokens, w["input_ids"].as_array().unwrap().len(), "{wk}");
            let (a, wa) = (g.answer.as_ref().unwrap(), &w["answer"]);
            assert_eq!(a.text, wa["text"].as_str().unwrap(), "{wk}: answer");
            for (v, key) in [
                (a.start, "start"),
                (a.end, "end"),
                (a.token_start, "token_start"),
                (a.token_end, "token_end"),
            ] {
                assert_eq!(v as u64, wa[key].as_u64().unwrap(), "{wk}: answer {key}");
            }
            let score = wa["score"].as_f64().unwrap();
            assert!(
                (a.score as f64 - score).abs() < 1e-4,
                "{wk}: {} vs {score}",
                a.score
            );
            assert_eq!(a.window, Some(k));
        }
        // The answer, its tokens and the attributions are the best window's.
        let answer = e.answer.as_ref().unwrap();
        assert_eq!(answer.window, Some(best), "{what}: best window");
        assert_eq!(answer.text, want[best]["answer"]["text"].as_str().unwrap());
        let best_ids: Vec<u64> = e.input_ids.iter().map(|&i| i as u64).collect();
        let want_ids: Vec<u64> = want[best]["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(best_ids, want_ids, "{what}: the session's input");
        assert_eq!(
            e.start.as_ref().unwrap().attributions.len(),
            e.input_ids.len()
        );
        assert!(!e.truncated);
    }
}

#[test]
fn a_context_that_fits_is_one_window() {
    let model = load("bert-qa");
    let opts = ExplainOptions {
        method: Some(Method::Saliency),
        ..Default::default()
    };
    let s = Session::prepare(&model, "who?", Some("Anna lives in Paris."), &opts, false).unwrap();
    let e = s.prediction(&model, &opts);
    assert!(e.windows.is_none());
    assert_eq!(e.answer.unwrap().window, None);
    // The stride is capped: at most half a window, and less than the room the question leaves.
    let w = model
        .tokenize_windows(
            "where does Tom live?",
            &"Anna lives in Paris. ".repeat(20),
            24,
            100,
        )
        .unwrap();
    assert!(w.len() > 2);
    // A question too long for the window but not for the model: windows of the model's length.
    let question = "where does Tom live? ".repeat(3);
    let w = model
        .tokenize_windows(&question, &"Anna lives in Paris. ".repeat(20), 24, 6)
        .unwrap();
    assert!(w.len() > 1, "{} windows", w.len());
    assert!(
        w.iter().all(|t| t.len() <= 64) && w[0].len() > 24,
        "{}",
        w[0].len()
    );
    // A question that leaves no room for its context says so.
    let long = "where ".repeat(70);
    let err = model.tokenize_windows(&long, "Anna", 24, 6).unwrap_err();
    assert!(err.to_string().contains("question"), "{err}");
    let bad = ExplainOptions {
        max_length: 4,
        ..opts
    };
    let err = explain(&model, "who?", Some("Anna"), &bad).unwrap_err();
    assert!(err.to_string().contains("max_length"), "{err}");
    // Other tasks read no windows: the option is theirs to ignore.
    explain(&load("bert"), "a film", None, &bad).unwrap();
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn a_classified_text_read_in_windows_is_transformers_and_captum() {
    let golden = golden_file("windows.json");
    for case in golden["classified"].as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        let model = load(name);
        let text = case["text"].as_str().unwrap();
        let method = case["method"].as_str().unwrap();
        let opts = ExplainOptions {
            max_length: case["max_length"].as_u64().unwrap() as usize,
            doc_stride: case["doc_stride"].as_u64().unwrap() as usize,
            method: Some(Method::parse(method).unwrap()),
            windows: true,
            words: true,
            ..Default::default()
        };
        let what = format!("{name} {method} windows of {}", opts.max_length);
        let e = explain(&model, text, None, &opts).unwrap();
        // The whole text's tokens, uncut.
        assert_ids(
            case,
            &model.tokenize_text_windows(text, 512, 0).unwrap().whole,
            &what,
        );
        let ids: Vec<u64> = e.input_ids.iter().map(|&i| i as u64).collect();
        let want_ids: Vec<u64> = case["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ids, want_ids, "{what}: the whole text's tokens");
        assert!(!e.truncated);
        let want = case["windows"].as_array().unwrap();
        let windows = e.windows.as_ref().expect("read in windows");
        assert_eq!(windows.len(), want.len(), "{what}: windows");
        for (k, (g, w)) in windows.iter().zip(want).enumerate() {
            let wk = format!("{what} #{k}");
            assert_eq!(g.start as u64, w["start"].as_u64().unwrap(), "{wk}: start");
            assert_eq!(g.end as u64, w["end"].as_u64().unwrap(), "{wk}: end");
            assert_eq!(g.tokens, w["input_ids"].as_array().unwrap().len(), "{wk}");
            let range = g.token_range.unwrap().map(|v| v as u64);
            let want_range = floats(&w["token_range"])
                .iter()
                .map(|&v| v as u64)
                .collect::<Vec<_>>();
            assert_eq!(range.to_vec(), want_range, "{wk}: its tokens");
            assert_eq!(
                g.predicted.unwrap() as u64,
                w["predicted"].as_u64().unwrap(),
                "{wk}"
            );
            assert_close_abs(
                &wk,
                g.probabilities.as_ref().unwrap(),
                &floats(&w["probabilities"]),
                1e-4,
            );
            assert_close_abs(
                &wk,
                &[g.score.unwrap()],
                &[w["score"].as_f64().unwrap()],
                1e-4,
            );
            match w["delta"].as_f64() {
                Some(d) => assert_close_abs(&wk, &[g.delta.unwrap()], &[d], 1e-4),
                None => assert!(g.delta.is_none(), "{wk}: delta"),
            }
        }
        assert_eq!(
            e.predicted.unwrap() as u64,
            case["predicted"].as_u64().unwrap(),
            "{what}"
        );
        assert_eq!(
            e.target, e.predicted,
            "{what}: the text's class is explained"
        );
        assert_close_abs(
            &what,
            &e.probabilities,
            &floats(&case["probabilities"]),
            1e-4,
        );
        assert_close_abs(&what, &e.logits, &floats(&case["logits"]), 1e-4);
        assert_close_abs(
            &what,
            &[e.score.unwrap()],
            &[case["score"].as_f64().unwrap()],
            1e-4,
        );
        assert_close_rel(&what, &e.attributions, &floats(&case["attributions"]), 1e-4);
        assert!(e.delta.is_none(), "{what}: completeness holds per window");
        // Words are merged from the whole text's tokens.
        let words = e.words.as_ref().unwrap();
        let sum: f32 = words.iter().map(|w| w.attribution).sum();
        let own: f32 = (0..e.tokens.len())
            .filter(|&i| e.sequence_ids[i].is_some())
            .map(|i| e.attributions[i])
            .sum();
        assert!(
            (sum - own).abs() < 1e-4 * own.abs().max(1.0),
            "{what}: words"
        );
        assert_eq!(words.last().unwrap().offsets[1], text.chars().count());
    }
}

#[test]
fn windows_fit_or_say_why_not() {
    let model = load("bert");
    let opts = ExplainOptions {
        method: Some(Method::Saliency),
        windows: true,
        ..Default::default()
    };
    // A text that fits one window is explained as it is.
    let short = explain(&model, "a fine film", None, &opts).unwrap();
    let plain = explain(
        &model,
        "a fine film",
        None,
        &ExplainOptions {
            windows: false,
            ..opts.clone()
        },
    )
    .unwrap();
    assert!(short.windows.is_none());
    assert_eq!(short.attributions, plain.attributions);
    // A pair, or a task that cuts its text, is refused.
    let e = explain(&model, "a fine film", Some("a dull plot"), &opts).unwrap_err();
    assert!(matches!(e, Error::InvalidOption { .. }), "{e}");
    assert!(e.to_string().contains("one text"), "{e}");
    let e = explain(&load("bert-encoder"), "a fine day", None, &opts).unwrap_err();
    assert!(e.to_string().contains("a bare encoder cuts it"), "{e}");
}

#[test]
fn any_method_is_stitched_by_the_same_rule() {
    // Rollout reads each window's attention (recorded one window at a time).
    let model = load("bert");
    let text = "the movie was great and fun but the plot was thin and the acting was poor, though \
                the music was lovely and the ending made me smile in the end";
    let opts = ExplainOptions {
        method: Some(Method::Rollout),
        windows: true,
        max_length: 24,
        doc_stride: 6,
        ..Default::default()
    };
    let e = explain(&model, text, None, &opts).unwrap();
    let read = model.tokenize_text_windows(text, 24, 6).unwrap();
    assert_eq!(e.windows.as_ref().unwrap().len(), read.windows.len());
    assert!(read.windows.len() > 2);
    let one = ExplainOptions {
        windows: false,
        ..opts.clone()
    };
    let (mut sums, mut counts) = (vec![0f64; read.whole.len()], vec![0u32; read.whole.len()]);
    for (w, at) in &read.windows {
        let each = bertlens_core::explain::explain_tokens(&model, w, [text, ""], &one).unwrap();
        let own = (0..w.len()).filter(|&i| w.sequence[i].is_some());
        for (j, i) in own.enumerate() {
            sums[at + j] += each.attributions[i] as f64;
            counts[at + j] += 1;
        }
    }
    for (k, (s, c)) in sums.iter().zip(&counts).enumerate() {
        if e.sequence_ids[k].is_some() {
            assert!(*c >= 1, "token {k} is in a window");
            let want = s / *c as f64;
            assert!((e.attributions[k] as f64 - want).abs() < 1e-6, "token {k}");
        }
    }
    assert!(e.score.is_none() && e.delta.is_none());
}

#[test]
fn a_token_classifiers_text_read_in_windows_is_transformers_and_captum() {
    let golden = golden_file("windows.json");
    for case in golden["tagged"].as_array().unwrap() {
        let model = load(case["model"].as_str().unwrap());
        let text = case["text"].as_str().unwrap();
        let token = case["token"].as_u64().unwrap() as usize;
        let opts = ExplainOptions {
            max_length: case["max_length"].as_u64().unwrap() as usize,
            doc_stride: case["doc_stride"].as_u64().unwrap() as usize,
            token: Some(token),
            windows: true,
            ..Default::default()
        };
        let what = format!("token {token}");
        let e = explain(&model, text, None, &opts).unwrap();
        let ids: Vec<u64> = e.input_ids.iter().map(|&i| i as u64).collect();
        let want_ids: Vec<u64> = floats(&case["input_ids"])
            .iter()
            .map(|&v| v as u64)
            .collect();
        assert_eq!(ids, want_ids, "{what}: the whole text's tokens");
        assert_eq!(e.token, Some(token));
        assert_eq!(
            e.target.unwrap() as u64,
            case["target"].as_u64().unwrap(),
            "{what}"
        );
        assert_close_abs(
            &what,
            &e.probabilities,
            &floats(&case["probabilities"]),
            1e-4,
        );
        assert_close_abs(&what, &e.logits, &floats(&case["logits"]), 1e-4);
        let labels = e.token_labels.as_ref().unwrap();
        let want_labels = case["token_labels"].as_array().unwrap();
        assert_eq!(labels.len(), want_labels.len());
        for (g, w) in labels.iter().zip(want_labels) {
            assert_eq!(
                g.label,
                w["label"].as_str().unwrap(),
                "{what}: a token's label"
            );
            assert!((g.score as f64 - w["score"].as_f64().unwrap()).abs() < 1e-4);
        }
        assert!(e.entities.is_some());
        assert_close_rel(&what, &e.attributions, &floats(&case["attributions"]), 1e-4);
        let windows = e.windows.as_ref().unwrap();
        let want = case["windows"].as_array().unwrap();
        assert_eq!(windows.len(), want.len());
        let mut holding = 0;
        for (k, (g, w)) in windows.iter().zip(want).enumerate() {
            let wk = format!("{what} #{k}");
            let range = floats(&w["token_range"])
                .iter()
                .map(|&v| v as usize)
                .collect::<Vec<_>>();
            assert_eq!(g.token_range.unwrap().to_vec(), range, "{wk}");
            match w.get("probabilities") {
                Some(p) => {
                    holding += 1;
                    assert_close_abs(&wk, g.probabilities.as_ref().unwrap(), &floats(p), 1e-4);
                    assert_close_abs(
                        &wk,
                        &[g.score.unwrap()],
                        &[w["score"].as_f64().unwrap()],
                        1e-4,
                    );
                    assert_close_abs(
                        &wk,
                        &[g.delta.unwrap()],
                        &[w["delta"].as_f64().unwrap()],
                        1e-4,
                    );
                }
                None => assert!(g.probabilities.is_none() && g.score.is_none(), "{wk}"),
            }
        }
        assert!(holding >= 1);
    }
    // The default token: the first of the highest-scoring entity, over the whole text.
    let model = load("bert-ner");
    let case = &golden["tagged"][0];
    let opts = ExplainOptions {
        max_length: 24,
        doc_stride: 6,
        windows: true,
        method: Some(Method::Saliency),
        ..Default::default()
    };
    let e = explain(&model, case["text"].as_str().unwrap(), None, &opts).unwrap();
    let best = e
        .entities
        .as_ref()
        .unwrap()
        .iter()
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .unwrap();
    assert_eq!(e.token, Some(best.tokens[0]));
}

#[test]
fn a_masked_text_read_in_windows_is_transformers_and_captum() {
    let golden = golden_file("windows.json");
    let case = &golden["masked"][0];
    let model = load(case["model"].as_str().unwrap());
    let text = case["text"].as_str().unwrap();
    let opts = ExplainOptions {
        max_length: case["max_length"].as_u64().unwrap() as usize,
        doc_stride: case["doc_stride"].as_u64().unwrap() as usize,
        windows: true,
        ..Default::default()
    };
    let e = explain(&model, text, None, &opts).unwrap();
    let ids: Vec<u64> = e.input_ids.iter().map(|&i| i as u64).collect();
    let want_ids: Vec<u64> = floats(&case["input_ids"])
        .iter()
        .map(|&v| v as u64)
        .collect();
    assert_eq!(ids, want_ids, "the whole text's tokens");
    assert_eq!(
        e.token.unwrap() as u64,
        case["token"].as_u64().unwrap(),
        "the mask"
    );
    assert_eq!(
        e.target.unwrap() as u64,
        case["target"].as_u64().unwrap(),
        "the best filler"
    );
    let fill = e.fill.as_ref().unwrap();
    let want = case["fill"].as_array().unwrap();
    assert_eq!(fill.len(), want.len());
    for (g, w) in fill.iter().zip(want) {
        assert_eq!(g.token_id as u64, w["token_id"].as_u64().unwrap());
        assert_eq!(g.token, w["token"].as_str().unwrap());
        assert!((g.score as f64 - w["score"].as_f64().unwrap()).abs() < 1e-4);
    }
    assert_close_rel(
        "masked",
        &e.attributions,
        &floats(&case["attributions"]),
        1e-4,
    );
    let windows = e.windows.as_ref().unwrap();
    for (k, (g, w)) in windows
        .iter()
        .zip(case["windows"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(
            g.predicted.map(|p| p as u64),
            w["predicted"].as_u64(),
            "window {k}: its best filler"
        );
        match w["score"].as_f64() {
            Some(s) => {
                assert_close_abs("score", &[g.score.unwrap()], &[s], 1e-4);
                assert_close_abs(
                    "delta",
                    &[g.delta.unwrap()],
                    &[w["delta"].as_f64().unwrap()],
                    1e-4,
                );
            }
            None => assert!(g.score.is_none()),
        }
    }
    // Another filler, and a token that is no mask.
    let other = ExplainOptions {
        target: Some(bertlens_core::Target::Index(
            want[1]["token_id"].as_u64().unwrap() as usize,
        )),
        method: Some(Method::Saliency),
        ..opts.clone()
    };
    let e2 = explain(&model, text, None, &other).unwrap();
    assert_eq!(
        e2.target.unwrap() as u64,
        want[1]["token_id"].as_u64().unwrap()
    );
    let bad = ExplainOptions {
        token: Some(3),
        ..opts
    };
    let err = explain(&model, text, None, &bad).unwrap_err();
    assert!(err.to_string().contains("is not a [MASK] token"), "{err}");
}

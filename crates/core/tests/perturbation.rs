//! The perturbation methods against Captum (tests/fixtures/gen_perturbation.py:
//! FeatureAblation, Occlusion and exact Shapley values on a classifier, a
//! token classifier and a QA model), and the properties of Shapley value
//! sampling that Captum's random generator cannot be compared on:
//! completeness, reproduction from a seed, closeness to the exact values.

mod common;

use bertlens_core::explain::{explain, ExplainOptions, Explanation, Method, Part};
use bertlens_core::{Baseline, Error, Model};
use common::*;
use serde_json::Value;

fn goldens() -> Value {
    let path = fixtures().join("perturbation.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The options a golden entry was generated with.
fn options_of(case: &Value) -> ExplainOptions {
    let index = |k: &str| case[k].as_u64().map(|v| v as usize);
    ExplainOptions {
        method: Some(Method::parse(case["method"].as_str().unwrap()).unwrap()),
        baseline: Baseline::parse(case["baseline"].as_str().unwrap()).unwrap(),
        words: case["words"].as_bool().unwrap(),
        window: index("window").unwrap(),
        stride: index("stride").unwrap(),
        token: index("token"),
        part: case["part"].as_str().map(|p| match p {
            "start" => Part::Start,
            _ => Part::End,
        }),
        // QA's class is its part's (start or end).
        target: index("target")
            .filter(|_| case["part"].is_null())
            .map(Into::into),
        ..ExplainOptions::default()
    }
}

/// One score per feature: the words' (with words), else the tokens' of each feature.
fn per_feature(e: &Explanation, features: &[Vec<usize>], words: bool) -> Vec<f32> {
    if words {
        return e
            .words
            .as_ref()
            .unwrap()
            .iter()
            .map(|w| w.attribution)
            .collect();
    }
    features
        .iter()
        .map(|g| g.iter().map(|&i| e.attributions[i]).sum())
        .collect()
}

fn groups(v: &Value) -> Vec<Vec<usize>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| u32s(g).into_iter().map(|i| i as usize).collect())
        .collect()
}

#[test]
fn occlusion_and_exact_shapley_values_match_captum() {
    let goldens = goldens();
    let mut models: Vec<(String, Model)> = Vec::new();
    let (mut checked, mut worst) = (0, 0f64);
    for case in goldens["cases"].as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        if !models.iter().any(|(n, _)| n == name) {
            models.push((name.to_string(), load(name)));
        }
        let model = &models.iter().find(|(n, _)| n == name).unwrap().1;
        let opts = options_of(case);
        let what = format!(
            "{name} {:?} {} (window {}, stride {}, words {}, {:?} baseline, part {})",
            case["text"],
            case["method"],
            opts.window,
            opts.stride,
            opts.words,
            opts.baseline,
            case["part"]
        );
        let e = explain(
            model,
            case["text"].as_str().unwrap(),
            case["pair"].as_str(),
            &opts,
        )
        .unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(e.input_ids, u32s(&case["input_ids"]), "{what}: ids");
        let features = groups(&case["features"]);
        let p = e.perturbation.as_ref().unwrap();
        assert_eq!(p.features, features.len(), "{what}: features");
        let want = floats(&case["feature_attributions"]);
        let got = per_feature(&e, &features, opts.words);
        assert_close_rel(&what, &got, &want, 1e-4);
        worst = worst.max(rel_err(&got, &want));
        // Special tokens are never removed.
        for (i, &a) in e.attributions.iter().enumerate() {
            if !features.iter().any(|g| g.contains(&i)) {
                assert_eq!(a, 0.0, "{what}: special token {i}");
            }
        }
        let score = case["score"].as_f64().unwrap();
        assert!(
            (e.score.unwrap() as f64 - score).abs() <= 1e-4 * score.abs().max(1.0),
            "{what}: F(x)"
        );
        if let Some(fb) = case["baseline_score"].as_f64() {
            assert_eq!(p.exact, Some(true), "{what}: exact");
            let got = p.baseline_score.unwrap() as f64;
            assert!(
                (got - fb).abs() <= 1e-4 * fb.abs().max(1.0),
                "{what}: F(x′) {got} vs {fb}"
            );
            let sum: f64 = e.attributions.iter().map(|&a| a as f64).sum();
            let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
            assert!(
                (sum - (score - fb)).abs() <= 1e-4 * scale.max(1e-6),
                "{what}: completeness"
            );
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} goldens");
    eprintln!("{checked} goldens; worst max |bertlens − Captum| / max |Captum| = {worst:.2e}");
}

/// max |got − want| / max |want|.
fn rel_err(got: &[f32], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-12);
    let err = got
        .iter()
        .zip(want)
        .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
    err / scale
}

fn shapley(model: &Model, text: &str, n_samples: Option<usize>, seed: u64) -> Explanation {
    let opts = ExplainOptions {
        method: Some(Method::Shapley),
        n_samples,
        seed,
        ..ExplainOptions::default()
    };
    explain(model, text, None, &opts).unwrap()
}

/// Σ φ = F(x) − F(x′), up to float32 rounding of the scores.
fn assert_complete(what: &str, e: &Explanation) {
    let p = e.perturbation.as_ref().unwrap();
    let span = (e.score.unwrap() - p.baseline_score.unwrap()) as f64;
    let sum: f64 = e.attributions.iter().map(|&a| a as f64).sum();
    assert!(
        (sum - span).abs() <= 1e-5 * span.abs().max(1e-3),
        "{what}: Σφ = {sum} but F(x) − F(x′) = {span}"
    );
    assert!(
        (e.delta.unwrap().abs() as f64) <= 1e-5 * span.abs().max(1e-3),
        "{what}: delta {:?}",
        e.delta
    );
}

#[test]
fn shapley_value_sampling_is_complete_reproducible_and_close_to_exact() {
    let model = load("bert");
    let text = "The movie was wonderful, and the acting superb!";
    let exact = shapley(&model, text, None, 0);
    assert_eq!(exact.perturbation.as_ref().unwrap().exact, Some(true));
    assert_complete("exact", &exact);

    let sampled = shapley(&model, text, Some(25), 7);
    let p = sampled.perturbation.as_ref().unwrap();
    assert_eq!(
        (p.exact, p.n_samples, p.seed),
        (Some(false), Some(25), Some(7))
    );
    assert_complete("25 permutations", &sampled);
    assert_eq!(
        shapley(&model, text, Some(25), 7).attributions,
        sampled.attributions,
        "same seed"
    );
    assert_ne!(
        shapley(&model, text, Some(25), 8).attributions,
        sampled.attributions,
        "other seed"
    );

    let many = shapley(&model, text, Some(1500), 1);
    assert_complete("1500 permutations", &many);
    let want: Vec<f64> = exact.attributions.iter().map(|&a| a as f64).collect();
    assert_close_rel(
        "1500 permutations vs exact",
        &many.attributions,
        &want,
        0.05,
    );
    eprintln!(
        "1500 permutations vs exact: max |Δ| / max |φ| = {:.3}",
        rel_err(&many.attributions, &want)
    );
}

#[test]
fn more_than_twelve_features_fall_back_to_sampling_with_a_note() {
    let model = load("bert");
    let text = "the hotel near the old station was quiet clean and cheaper than we had feared";
    let e = shapley(&model, text, None, 3);
    let p = e.perturbation.as_ref().unwrap();
    assert!(p.features > 12);
    assert_eq!((p.exact, p.n_samples), (Some(false), Some(25)));
    assert!(p
        .note
        .as_ref()
        .unwrap()
        .contains("sampled over 25 permutations"));
    assert_eq!(p.evaluations, 2 + 25 * (p.features - 1));
    assert_complete("fallback", &e);
    // With words, the same text is fewer features, but still more than 12 here.
    let words = ExplainOptions {
        method: Some(Method::Shapley),
        words: true,
        ..ExplainOptions::default()
    };
    let w = explain(&model, text, None, &words).unwrap();
    assert_eq!(
        w.words.as_ref().unwrap().len(),
        w.perturbation.as_ref().unwrap().features
    );
}

#[test]
fn every_task_head_is_explained_and_complete() {
    let cases: [(&str, &str, Option<&str>); 4] = [
        ("bert", "a quiet hotel", None),
        ("distilbert-ner", "John lives in Paris", None),
        (
            "bert-qa",
            "Where is the hotel?",
            Some("The hotel is near the bank."),
        ),
        ("bert-mlm", "The hotel is [MASK] the station.", None),
    ];
    for (name, text, pair) in cases {
        let model = load(name);
        for method in [Method::Occlusion, Method::Shapley] {
            for baseline in [Baseline::Pad, Baseline::Mask, Baseline::Zero] {
                let opts = ExplainOptions {
                    method: Some(method),
                    baseline,
                    ..ExplainOptions::default()
                };
                let what = format!("{name} {method:?} {baseline:?}");
                let e =
                    explain(&model, text, pair, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(e.attributions.iter().any(|&a| a != 0.0), "{what}: all zero");
                if method == Method::Shapley {
                    assert_complete(&what, &e);
                    for part in [&e.start, &e.end].into_iter().flatten() {
                        let p = part.perturbation.as_ref().unwrap();
                        let span = (part.score.unwrap() - p.baseline_score.unwrap()) as f64;
                        let sum: f64 = part.attributions.iter().map(|&a| a as f64).sum();
                        assert!((sum - span).abs() <= 1e-5 * span.abs().max(1e-3), "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn a_window_of_zero_or_wider_than_the_text_is_refused() {
    let model = load("bert");
    let occlusion = |window, stride| ExplainOptions {
        method: Some(Method::Occlusion),
        window,
        stride,
        ..ExplainOptions::default()
    };
    let err = |o: ExplainOptions| explain(&model, "a quiet hotel", None, &o).unwrap_err();
    let e = err(occlusion(0, 1));
    assert!(
        matches!(
            e,
            Error::InvalidOption {
                option: "window",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("at least 1"), "{e}");
    let e = err(occlusion(1, 0));
    assert!(
        matches!(
            e,
            Error::InvalidOption {
                option: "stride",
                ..
            }
        ),
        "{e}"
    );
    // "a quiet hotel": a, q ##u ##ie ##t, hotel.
    let e = err(occlusion(7, 1));
    assert!(
        matches!(
            e,
            Error::InvalidOption {
                option: "window",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("wider than the text's 6"), "{e}");
    let zero = ExplainOptions {
        method: Some(Method::Shapley),
        n_samples: Some(0),
        ..ExplainOptions::default()
    };
    let e = err(zero);
    assert!(
        matches!(
            e,
            Error::InvalidOption {
                option: "n_samples",
                ..
            }
        ),
        "{e}"
    );
    // Nothing but special tokens: nothing to remove, no error.
    let empty = occlusion(1, 1);
    let e = explain(&model, "", None, &empty);
    if let Ok(e) = e {
        assert!(e.attributions.iter().all(|&a| a == 0.0));
    }
}

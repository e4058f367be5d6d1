//! KernelSHAP and LIME against Captum (tests/fixtures/gen_sampled.py:
//! `KernelShap` and `Lime` with their defaults on a classifier, a token
//! classifier and a QA model). Captum's torch generator is not reproduced,
//! so the fixture records the samples Captum drew and their similarities;
//! bertlens is fed the same samples, scores them with its own engine and
//! fits its own surrogate models. Besides, KernelSHAP's exact limit: over
//! every coalition, each weighted by the Shapley kernel, it gives the exact
//! Shapley values.

mod common;

use bertlens_core::attribution::ablation::{Ablation, Features, Scorer};
use bertlens_core::attribution::sampled::{fit_samples, Surrogate, INF_WEIGHT};
use bertlens_core::attribution::shapley::{shapley, ShapleyOptions};
use bertlens_core::attribution::{ForwardFunc, Scalar};
use bertlens_core::engine::Rows;
use bertlens_core::explain::{explain, ExplainOptions, Explanation, Method};
use bertlens_core::{AttributionLayer, Baseline, Error, Model, TargetOutput};
use common::*;
use serde_json::Value;

fn goldens() -> Value {
    let path = fixtures().join("sampled.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// max |got − want| / max |want|.
fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-12);
    let err = got
        .iter()
        .zip(want)
        .fold(0f64, |m, (&a, &b)| m.max((a - b).abs()));
    err / scale
}

/// The scalar a golden explains: the classifier's target class, the token
/// classifier's label at `token`, QA's start (class 0) or end (1) at `token`.
fn scalar_of(case: &Value) -> Scalar {
    let index = |k: &str| case[k].as_u64().map(|v| v as usize);
    let (rows, class) = match case["model"].as_str().unwrap() {
        "bert" => (Rows::Pooled, index("target").unwrap()),
        "distilbert-ner" => (
            Rows::Token(index("token").unwrap()),
            index("target").unwrap(),
        ),
        _ => (
            Rows::Token(index("token").unwrap()),
            usize::from(case["part"] == "end"),
        ),
    };
    Scalar {
        rows,
        contrast: None,
        class,
        output: TargetOutput::Logit,
    }
}

fn samples_of(v: &Value) -> Vec<Vec<bool>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| floats(s).into_iter().map(|x| x == 1.0).collect())
        .collect()
}

#[test]
fn kernel_shap_and_lime_match_captum_on_its_samples() {
    let goldens = goldens();
    let mut models: Vec<(String, Model)> = Vec::new();
    let (mut checked, mut worst, mut worst_fit) = (0, 0f64, 0f64);
    for case in goldens["cases"].as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        if !models.iter().any(|(n, _)| n == name) {
            models.push((name.to_string(), load(name)));
        }
        let model = &models.iter().find(|(n, _)| n == name).unwrap().1;
        let method = match case["method"].as_str().unwrap() {
            "kernel-shap" => Surrogate::KernelShap,
            _ => Surrogate::Lime,
        };
        let words = case["words"].as_bool().unwrap();
        let what = format!(
            "{name} {:?} {method:?} ({} samples, words {words}, {} baseline, part {})",
            case["text"], case["n_samples"], case["baseline"], case["part"]
        );
        let input = model
            .tokenize(case["text"].as_str().unwrap(), case["pair"].as_str())
            .unwrap();
        assert_eq!(input.ids, u32s(&case["input_ids"]), "{what}: ids");
        let features = Features::new(&input, words);
        let groups: Vec<Vec<usize>> = case["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| u32s(g).into_iter().map(|i| i as usize).collect())
            .collect();
        assert_eq!(features.groups(), groups, "{what}: features");

        let samples = samples_of(&case["samples"]);
        let weights = floats(&case["similarities"]);
        let outputs = floats(&case["outputs"]);
        let want = floats(&case["attributions"]);
        // Captum's similarities are bertlens's (Captum rounds them to float32).
        for (s, &w) in samples.iter().zip(&weights) {
            let ours = method.similarity(s);
            assert!(
                (ours - w).abs() <= 1e-6 * w,
                "{what}: similarity {ours} vs {w}"
            );
        }
        // The fit alone, on Captum's outputs: scikit-learn's in float64, and Captum's.
        let fit = method.fit(&samples, &outputs, &weights);
        let fit_err = rel_err(&fit.coef, &floats(&case["attributions_f64"]));
        assert!(fit_err <= 1e-6, "{what}: fit vs scikit-learn {fit_err:.1e}");
        worst_fit = worst_fit.max(fit_err);
        assert!(rel_err(&fit.coef, &want) <= 1e-4, "{what}: fit vs Captum");
        let intercept = case["intercept"].as_f64().unwrap();
        assert!(
            (fit.intercept - intercept).abs() <= 1e-4 * intercept.abs().max(1.0),
            "{what}: intercept {} vs {intercept}",
            fit.intercept
        );

        // bertlens's forward passes of the same samples, and its fit.
        let baseline = Baseline::parse(case["baseline"].as_str().unwrap()).unwrap();
        let base_ids = baseline.ids(model, &input).unwrap();
        let f =
            ForwardFunc::new(model, &input, AttributionLayer::Embeddings, scalar_of(case)).unwrap();
        let ab = Ablation::new(&f, &features, &input.ids, base_ids.as_deref(), None).unwrap();
        let removed: Vec<Vec<bool>> = samples
            .iter()
            .map(|s| s.iter().map(|&k| !k).collect())
            .collect();
        let scores = ab.scores(&removed).unwrap();
        assert!(
            rel_err(&scores, &outputs) <= 1e-4,
            "{what}: F of the samples"
        );
        let r = fit_samples(&ab, baseline, method, &samples, &weights)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let err = rel_err(&r.feature_attributions, &want);
        assert!(
            err <= 1e-4,
            "{what}: max |Δ| / max |Captum| = {err:.1e}\n{:?}\n{want:?}",
            r.feature_attributions
        );
        worst = worst.max(err);
        let score = case["score"].as_f64().unwrap();
        assert!(
            (r.score as f64 - score).abs() <= 1e-4 * score.abs().max(1.0),
            "{what}: F(x)"
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} goldens");
    eprintln!(
        "{checked} goldens; worst max |bertlens − Captum| / max |Captum| = {worst:.2e} \
         (the fit alone on Captum's outputs vs scikit-learn in float64: {worst_fit:.2e})"
    );
}

/// KernelSHAP over every coalition, each weighted by the Shapley kernel
/// (n − 1) / (C(n, k) k (n − k)) and the two ends by 10⁶, is the exact
/// Shapley values (Lundberg & Lee 2017, Theorem 2).
#[test]
fn kernel_shap_over_every_coalition_is_exact_shapley() {
    let model = load("bert");
    for (text, words) in [
        ("The movie was wonderful, and the acting superb!", false),
        ("The hotel near the old station was quiet and clean.", true),
        ("Great views.", false),
    ] {
        let input = model.tokenize(text, None).unwrap();
        let features = Features::new(&input, words);
        let n = features.len();
        assert!((3..=11).contains(&n), "{text}: {n} features");
        let scalar = Scalar {
            rows: Rows::Pooled,
            contrast: None,
            class: 0,
            output: TargetOutput::Logit,
        };
        let f = ForwardFunc::new(&model, &input, AttributionLayer::Embeddings, scalar).unwrap();
        let base = Baseline::Pad.ids(&model, &input).unwrap();
        let ab = Ablation::new(&f, &features, &input.ids, base.as_deref(), None).unwrap();
        let choose = |k: usize| (0..k).fold(1f64, |c, i| c * (n - i) as f64 / (i + 1) as f64);
        let all = (1usize << n) - 1;
        let mut samples = vec![vec![true; n], vec![false; n]];
        let mut weights = vec![INF_WEIGHT, INF_WEIGHT];
        for s in 1..all {
            let kept: Vec<bool> = (0..n).map(|j| s & (1 << j) != 0).collect();
            let k = kept.iter().filter(|&&b| b).count();
            samples.push(kept);
            weights.push((n - 1) as f64 / (choose(k) * (k * (n - k)) as f64));
        }
        let ks = fit_samples(
            &ab,
            Baseline::Pad,
            Surrogate::KernelShap,
            &samples,
            &weights,
        )
        .unwrap();
        let exact = shapley(
            &ab,
            Baseline::Pad,
            ShapleyOptions {
                n_samples: None,
                seed: 0,
            },
        )
        .unwrap();
        assert_eq!(exact.report.exact, Some(true));
        let err = rel_err(&ks.feature_attributions, &exact.feature_attributions);
        eprintln!(
            "{text:?}: {n} features, KernelSHAP over every coalition vs exact Shapley: {err:.1e}"
        );
        assert!(err <= 1e-4, "{text}: {err:.1e}");
    }
}

fn sampled(
    model: &Model,
    method: Method,
    text: &str,
    n_samples: Option<usize>,
    seed: u64,
) -> Explanation {
    let opts = ExplainOptions {
        method: Some(method),
        n_samples,
        seed,
        ..ExplainOptions::default()
    };
    explain(model, text, None, &opts).unwrap()
}

#[test]
fn sampled_methods_reproduce_from_a_seed_and_report_how_they_ran() {
    let model = load("bert");
    let text = "The movie was wonderful, and the acting superb!";
    for method in [Method::KernelShap, Method::Lime] {
        let e = sampled(&model, method, text, None, 7);
        let p = e.perturbation.as_ref().unwrap();
        assert_eq!((p.n_samples, p.seed, p.features), (Some(25), Some(7), 10));
        assert!(p.intercept.is_some() && p.baseline_score.is_some());
        // KernelSHAP's two ends are its first samples; LIME scores them besides.
        let extra = if method == Method::Lime { 2 } else { 0 };
        assert_eq!(p.evaluations, 25 + extra, "{method:?}");
        assert_eq!(
            sampled(&model, method, text, None, 7).attributions,
            e.attributions,
            "{method:?}: same seed"
        );
        assert_ne!(
            sampled(&model, method, text, None, 8).attributions,
            e.attributions,
            "{method:?}: other seed"
        );
        assert!(e.attributions.iter().any(|&a| a != 0.0), "{method:?}");
    }
    // KernelSHAP: complete up to its 10⁶ weights, and near exact Shapley values with many samples.
    let exact = sampled(&model, Method::Shapley, text, None, 0);
    let ks = sampled(&model, Method::KernelShap, text, Some(4000), 1);
    let p = ks.perturbation.as_ref().unwrap();
    let span = (ks.score.unwrap() - p.baseline_score.unwrap()) as f64;
    assert!(
        (ks.delta.unwrap() as f64).abs() <= 1e-3 * span.abs().max(1e-3),
        "delta {:?}",
        ks.delta
    );
    let got: Vec<f64> = ks.attributions.iter().map(|&a| a as f64).collect();
    let want: Vec<f64> = exact.attributions.iter().map(|&a| a as f64).collect();
    let err = rel_err(&got, &want);
    eprintln!("KernelSHAP, 4000 samples vs exact Shapley: max |Δ| / max |φ| = {err:.3}");
    assert!(err <= 0.1, "{err}");
}

#[test]
fn every_task_head_is_explained_and_zero_samples_are_refused() {
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
        for method in [Method::KernelShap, Method::Lime] {
            for words in [false, true] {
                let opts = ExplainOptions {
                    method: Some(method),
                    words,
                    n_samples: Some(40),
                    ..ExplainOptions::default()
                };
                let what = format!("{name} {method:?} words {words}");
                let e =
                    explain(&model, text, pair, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
                let mut all: Vec<&[f32]> = vec![&e.attributions];
                for part in [&e.start, &e.end].into_iter().flatten() {
                    all.push(&part.attributions);
                }
                assert!(
                    all.iter().any(|a| a.iter().any(|&x| x != 0.0)),
                    "{what}: all zero"
                );
            }
        }
        let zero = ExplainOptions {
            method: Some(Method::Lime),
            n_samples: Some(0),
            ..ExplainOptions::default()
        };
        let e = explain(&model, text, pair, &zero).unwrap_err();
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
    }
}

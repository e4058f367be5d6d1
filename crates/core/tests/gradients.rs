//! Gradients checked against finite differences, and Integrated Gradients
//! against its completeness axiom: Σ attributions = F(x) − F(x′).

mod common;

use bertlens_core::attribution::ig::{integrated_gradients, IgOptions};
use bertlens_core::attribution::{input_and_baseline, scores, scores_and_gradients, Baseline};
use bertlens_core::{AttributionLayer, Integration, TargetOutput};
use candle_core::{Device, Tensor};
use common::*;

/// A deterministic pseudo-random direction.
fn direction(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn gradients_match_central_finite_differences() {
    let cases = [
        ("bert", AttributionLayer::Embeddings, TargetOutput::Logit),
        (
            "bert",
            AttributionLayer::WordEmbeddings,
            TargetOutput::Logit,
        ),
        (
            "bert",
            AttributionLayer::Embeddings,
            TargetOutput::Probability,
        ),
        (
            "distilbert",
            AttributionLayer::WordEmbeddings,
            TargetOutput::Logit,
        ),
        ("roberta", AttributionLayer::Embeddings, TargetOutput::Logit),
        (
            "mean-l2-logreg",
            AttributionLayer::Embeddings,
            TargetOutput::Logit,
        ),
        (
            "seed-mean-mlp",
            AttributionLayer::WordEmbeddings,
            TargetOutput::Logit,
        ),
    ];
    for (name, layer, output) in cases {
        let model = load(name);
        let input = model
            .tokenize("the hotel was near the station, I didn't like it", None)
            .unwrap();
        let x = model.layer_input(layer, &input, &input.ids).unwrap();
        for target in 0..model.labels().len().min(2) {
            let (_, g) = scores_and_gradients(&model, layer, &x, &input, target, output).unwrap();
            let g = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for seed in 0..3 {
                let v = direction(g.len(), seed + 17 * target as u64);
                let analytic: f64 = g
                    .iter()
                    .zip(&v)
                    .map(|(a, b)| (*a as f64) * (*b as f64))
                    .sum();
                // ReLU heads have kinks a wide step can cross.
                let eps = if name.starts_with("seed") || name == "distilbert" {
                    1e-3f32
                } else {
                    1e-2
                };
                let shifted = |sign: f32| {
                    let d = Tensor::from_vec(
                        v.iter().map(|a| a * eps * sign).collect(),
                        x.dims(),
                        &Device::Cpu,
                    )
                    .unwrap();
                    let xs = (&x + d).unwrap();
                    scores(&model, layer, &xs, &input, target, output)
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()[0] as f64
                };
                let numeric = (shifted(1.0) - shifted(-1.0)) / (2.0 * eps as f64);
                let tol = 2e-2 * analytic.abs().max(numeric.abs()) + 2e-3;
                assert!(
                    (analytic - numeric).abs() <= tol,
                    "{name} {layer:?} {output:?} target {target} seed {seed}: ∇F·v = {analytic}, finite difference {numeric}"
                );
            }
        }
    }
}

#[test]
fn integrated_gradients_is_complete_on_smooth_models() {
    // Smooth models (no ReLU in the head): Gauss–Legendre converges fast.
    for name in ["bert", "roberta", "mean-l2-logreg"] {
        let model = load(name);
        let input = model
            .tokenize("The movie was wonderful, and the acting superb!", None)
            .unwrap();
        for (integration, n) in [
            (Integration::GaussLegendre, 64),
            (Integration::RiemannTrapezoid, 300),
            (Integration::RiemannMiddle, 300),
        ] {
            for baseline in [Baseline::Pad, Baseline::Zero] {
                let opts = IgOptions {
                    n_steps: n,
                    method: integration,
                    baseline,
                    ..Default::default()
                };
                let r = integrated_gradients(&model, &input, 0, &opts).unwrap();
                let span = (r.score - r.baseline_score).abs() as f64;
                let sum: f64 = r.attributions.iter().map(|&a| a as f64).sum();
                assert!(
                    (r.delta as f64).abs() <= 2e-3 * span + 1e-5,
                    "{name} {integration:?} n={n} {baseline:?}: delta {} with F(x) − F(x′) = {span}",
                    r.delta
                );
                assert!((sum - (r.score - r.baseline_score) as f64 - r.delta as f64).abs() < 1e-4);
            }
        }
    }
}

#[test]
fn delta_shrinks_as_steps_grow() {
    let model = load("bert");
    let input = model
        .tokenize(
            "I didn't like it at all: boring plot, flat characters.",
            None,
        )
        .unwrap();
    let delta = |n| {
        let opts = IgOptions {
            n_steps: n,
            method: Integration::RiemannMiddle,
            ..Default::default()
        };
        integrated_gradients(&model, &input, 1, &opts)
            .unwrap()
            .delta
            .abs()
    };
    let (d4, d16, d64) = (delta(4), delta(16), delta(64));
    assert!(d16 < d4 && d64 < d16, "deltas {d4} {d16} {d64}");
}

#[test]
fn batching_does_not_change_the_result() {
    let model = load("bert");
    let input = model
        .tokenize(
            "Is the hotel near the station?",
            Some("Yes, it is a short walk away."),
        )
        .unwrap();
    let run = |b: Option<usize>| {
        let opts = IgOptions {
            n_steps: 20,
            internal_batch_size: b,
            ..Default::default()
        };
        integrated_gradients(&model, &input, 2, &opts).unwrap()
    };
    let whole = run(None);
    assert_eq!(whole.internal_batch_size, 20);
    for b in [1, 3, 7, 19, 20, 64] {
        let r = run(Some(b));
        let want: Vec<f64> = whole.attributions.iter().map(|&v| v as f64).collect();
        assert_close_rel(&format!("batch {b}"), &r.attributions, &want, 1e-5);
    }
}

#[test]
fn baselines_are_what_they_say() {
    let model = load("bert");
    let input = model.tokenize("good film", None).unwrap();
    let ids = |b: Baseline| b.ids(&model, &input).unwrap();
    let (cls, sep, pad, mask) = (2, 3, 0, 4);
    assert_eq!(input.ids.first(), Some(&cls));
    assert_eq!(ids(Baseline::Pad), Some(vec![cls, pad, pad, sep]));
    assert_eq!(ids(Baseline::PadAll), Some(vec![pad; 4]));
    assert_eq!(ids(Baseline::Mask), Some(vec![cls, mask, mask, sep]));
    assert_eq!(ids(Baseline::Zero), None);
    let (x, b) =
        input_and_baseline(&model, AttributionLayer::Embeddings, &input, Baseline::Zero).unwrap();
    assert_eq!(x.dims(), b.dims());
    assert_eq!(
        b.abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap(),
        0.0
    );
}

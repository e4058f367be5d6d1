//! The fast path's gradients checked against candle's autograd (the
//! reference implementation) and against finite differences, and Integrated
//! Gradients against its completeness axiom: Σ attributions = F(x) − F(x′).

mod common;

use bertlens_core::attribution::ig::{IgOptions, IgPlan};
use bertlens_core::attribution::{Baseline, Differentiable};
use bertlens_core::engine::{Tape, Threads};
use bertlens_core::{AttributionLayer, Integration, TargetOutput};
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

/// Models, layers and outputs whose gradients are checked.
const CASES: &[(&str, AttributionLayer, TargetOutput)] = &[
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
    (
        "distilbert",
        AttributionLayer::Embeddings,
        TargetOutput::Probability,
    ),
    ("roberta", AttributionLayer::Embeddings, TargetOutput::Logit),
    (
        "roberta",
        AttributionLayer::WordEmbeddings,
        TargetOutput::Logit,
    ),
    (
        "mean-l2-logreg",
        AttributionLayer::Embeddings,
        TargetOutput::Logit,
    ),
    (
        "mean-l2-logreg",
        AttributionLayer::WordEmbeddings,
        TargetOutput::Probability,
    ),
    (
        "seed-mean-mlp",
        AttributionLayer::WordEmbeddings,
        TargetOutput::Logit,
    ),
    (
        "seed-pooler-relu",
        AttributionLayer::Embeddings,
        TargetOutput::Logit,
    ),
];

const TEXT: &str = "the hotel was near the station, I didn't like it";

/// A batch of three points around the input: the input itself and two
/// points towards zero, so that every sequence of a batch is checked.
fn batch_of(x: &[f32]) -> Vec<f32> {
    [1.0f32, 0.6, 0.25]
        .iter()
        .flat_map(|&a| x.iter().map(move |v| v * a))
        .collect()
}

#[test]
fn fast_path_gradients_equal_candles_autograd() {
    for &(name, layer, output) in CASES {
        let model = load(name);
        let reference = load_reference(name);
        let input = model.tokenize(TEXT, None).unwrap();
        let xs = batch_of(&model.layer_input(layer, &input, &input.ids).unwrap());
        for target in 0..model.labels().len().min(3) {
            let what = format!("{name} {layer:?} {output:?} target {target}");
            let mut tape = Tape::default();
            let (s, g) = ff(&model, &input, layer, target, output)
                .scores_and_gradients(&xs, &mut tape, Threads::One)
                .unwrap();
            let (rs, rg) = reference
                .scores_and_gradients(layer, &xs, &input, target, output)
                .unwrap();
            let rs: Vec<f64> = rs.iter().map(|&v| v as f64).collect();
            let rg: Vec<f64> = rg.iter().map(|&v| v as f64).collect();
            assert_close_rel(&format!("{what}: scores"), &s, &rs, 1e-5);
            assert_close_rel(&format!("{what}: gradients"), &g, &rg, 2e-5);
        }
    }
}

#[test]
fn gradients_match_central_finite_differences() {
    for &(name, layer, output) in CASES {
        let model = load(name);
        let input = model.tokenize(TEXT, None).unwrap();
        let x = model.layer_input(layer, &input, &input.ids).unwrap();
        for target in 0..model.labels().len().min(2) {
            let mut tape = Tape::default();
            let (_, g) = ff(&model, &input, layer, target, output)
                .scores_and_gradients(&x, &mut tape, Threads::One)
                .unwrap();
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
                    let xs: Vec<f32> = x.iter().zip(&v).map(|(a, d)| a + d * eps * sign).collect();
                    ff(&model, &input, layer, target, output)
                        .scores(&xs)
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
                    n_steps: n.into(),
                    method: integration,
                    baseline,
                    ..Default::default()
                };
                let r = ig(&model, &input, 0, &opts).unwrap();
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
    let delta = |n: usize| {
        let opts = IgOptions {
            n_steps: n.into(),
            method: Integration::RiemannMiddle,
            ..Default::default()
        };
        ig(&model, &input, 1, &opts).unwrap().delta.abs()
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
            n_steps: 20.into(),
            internal_batch_size: b,
            ..Default::default()
        };
        ig(&model, &input, 2, &opts).unwrap()
    };
    let whole = run(Some(20));
    assert_eq!(whole.internal_batch_size, 20);
    // By default the steps are cut so that every thread has a batch.
    let auto = run(None);
    assert!(auto.internal_batch_size >= 20usize.div_ceil(rayon::current_num_threads()));
    for b in [None, Some(1), Some(3), Some(7), Some(19), Some(64)] {
        let r = run(b);
        let want: Vec<f64> = whole.attributions.iter().map(|&v| v as f64).collect();
        assert_close_rel(&format!("batch {b:?}"), &r.attributions, &want, 1e-5);
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
    // A zero baseline: x − x′ is x itself.
    let f = ff(
        &model,
        &input,
        AttributionLayer::Embeddings,
        0,
        TargetOutput::Logit,
    );
    let x = f.activation(&input.ids).unwrap();
    let plan = IgPlan::new(&f, &input.ids, None, &IgOptions::default()).unwrap();
    assert_eq!(plan.diff(), &x[..]);
}

/// The scalar each task explains by default, on one fixture of every
/// family and task: its gradient against central finite differences.
#[test]
fn every_family_and_task_matches_finite_differences() {
    use bertlens_core::attribution::ForwardFunc;
    use bertlens_core::explain::{analyze, objectives, ExplainOptions};
    let cases = [
        ("albert-groups", "the acting was superb", None),
        ("electra", "the acting was superb", None),
        (
            "deberta-v3",
            "the hotel was near the station, I didn't like it at all",
            None,
        ),
        ("deberta-v2", "the hotel was near the station", None),
        ("deberta-v2-conv", "the hotel was near the station", None),
        (
            "modernbert",
            "the hotel was near the station, I didn't like it at all",
            None,
        ),
        ("modernbert-mean", "the acting was superb", None),
        (
            "bert-qa",
            "Where is the hotel?",
            Some("The hotel is near the station."),
        ),
        (
            "deberta-v3-qa",
            "Where is the hotel?",
            Some("The hotel is near the station."),
        ),
        ("albert-ner", "John lives in Paris", None),
        ("modernbert-ner", "John lives in Paris", None),
        ("roberta-mlm", "The capital of France is <mask>.", None),
        ("electra-mlm", "The capital of France is [MASK].", None),
        ("deberta-v3-mlm", "The capital of France is [MASK].", None),
    ];
    for (name, text, pair) in cases {
        let model = load(name);
        let input = model.tokenize(text, pair).unwrap();
        let a = analyze(&model, &input, [text, pair.unwrap_or("")], 5, false).unwrap();
        for ex in objectives(&model, &input, &ExplainOptions::default(), &a).unwrap() {
            for layer in [
                AttributionLayer::Embeddings,
                AttributionLayer::WordEmbeddings,
            ] {
                let f = ForwardFunc::new(&model, &input, layer, ex.scalar).unwrap();
                let x = f.activation(&input.ids).unwrap();
                let mut tape = Tape::default();
                let (_, g) = f.scores_and_gradients(&x, &mut tape, Threads::One).unwrap();
                for seed in 0..2 {
                    let v = direction(g.len(), seed + 7);
                    let analytic: f64 = g
                        .iter()
                        .zip(&v)
                        .map(|(a, b)| (*a as f64) * (*b as f64))
                        .sum();
                    // LayerNorm right on the word embeddings (ModernBERT, DeBERTa-v3) is
                    // strongly curved at their small norms: a smaller step there.
                    let eps = if layer == AttributionLayer::WordEmbeddings {
                        2e-3f32
                    } else {
                        1e-2
                    };
                    let shifted = |sign: f32| {
                        let xs: Vec<f32> =
                            x.iter().zip(&v).map(|(a, d)| a + d * eps * sign).collect();
                        f.scores(&xs).unwrap()[0] as f64
                    };
                    let numeric = (shifted(1.0) - shifted(-1.0)) / (2.0 * eps as f64);
                    let tol = 2e-2 * analytic.abs().max(numeric.abs()) + 2e-3;
                    assert!(
                        (analytic - numeric).abs() <= tol,
                        "{name} {:?} {layer:?} seed {seed}: ∇F·v = {analytic}, finite difference {numeric}",
                        ex.part
                    );
                }
            }
        }
    }
}

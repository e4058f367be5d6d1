//! The Integrated Gradients path walked point by point on a fixture model:
//! its running sum ends on the attributions `integrated_gradients` gives,
//! and the rules sample the path at different points.

mod common;

use bertlens_core::attribution::ig::{IgOptions, IgPlan};
use bertlens_core::{AttributionLayer, Baseline, Integration, TargetOutput};
use common::*;

#[test]
fn the_walk_ends_on_integrated_gradients() {
    let model = load("bert");
    let input = model
        .tokenize("The movie was wonderful, and the acting superb!", None)
        .unwrap();
    let f = ff(
        &model,
        &input,
        AttributionLayer::Embeddings,
        1,
        TargetOutput::Logit,
    );
    for (method, n) in [
        (Integration::GaussLegendre, 20),
        (Integration::RiemannRight, 20),
        (Integration::RiemannTrapezoid, 9),
    ] {
        let opts = IgOptions {
            n_steps: n.into(),
            method,
            baseline: Baseline::Pad,
            internal_batch_size: Some(6),
            ..Default::default()
        };
        let baseline = opts.baseline.ids(&model, &input).unwrap();
        let plan = IgPlan::new(&f, &input.ids, baseline.as_deref(), &opts).unwrap();
        let path = plan.path(&f).unwrap();
        let want = ig(&model, &input, 1, &opts).unwrap();
        assert_eq!(path.alphas.len(), n);
        assert_eq!(path.tokens, input.len());
        let end = path.running_sum(n - 1);
        for (t, (got, w)) in end.iter().zip(&want.attributions).enumerate() {
            assert!(
                (got - *w as f64).abs() < 1e-5,
                "{method:?} token {t}: running sum {got}, integrated_gradients {w}"
            );
        }
        assert!((path.delta - want.delta).abs() < 1e-5);
        // F at the points lies on the curve's function: F(x′) and F(x) at its ends.
        assert!((path.curve_scores[0] - path.baseline_score).abs() < 1e-4);
        assert!((path.curve_scores[40] - path.score).abs() < 1e-4);
        let again = plan.scores_at(&f, &path.alphas[..3]).unwrap();
        for (a, b) in again.iter().zip(&path.scores) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
    let alphas = |method| {
        let opts = IgOptions {
            n_steps: 10.into(),
            method,
            ..Default::default()
        };
        let plan = IgPlan::new(&f, &input.ids, None, &opts).unwrap();
        plan.rule().0.to_vec()
    };
    assert_ne!(
        alphas(Integration::GaussLegendre),
        alphas(Integration::RiemannLeft)
    );
}

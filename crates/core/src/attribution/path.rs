//! The path of Integrated Gradients laid out point by point, for teaching:
//! what [`IgPlan`] sums in one go, kept apart so that a reader can walk it.
//!
//! At each point α_k of the quadrature the interpolated input is
//! x′ + α_k (x − x′); its score F(α_k) and each token's contribution
//!
//! c_k[t] = Σ_width ∂F/∂x(x′ + α_k (x − x′)) · (x − x′)
//!
//! are kept, so that the running sum Σ_{j≤k} w_j c_j[t] ends, at the last
//! point, on the attributions [`IgPlan::finish`] gives, and its total on
//! F(x) − F(x′) up to the convergence delta. A fine curve of F along the
//! path (forward passes only) shows what the quadrature samples.

use serde::Serialize;

use super::ig::{IgPlan, Steps};
use super::Differentiable;
use crate::engine::{Tape, Threads};
use crate::error::{Error, Result};

/// Points of the fine curve of F along the path: every 0.025 in α.
pub const CURVE_POINTS: usize = 41;

/// One Integrated Gradients computation, point by point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IgPath {
    /// The quadrature's points α_k, ascending, and their weights w_k.
    pub alphas: Vec<f64>,
    pub weights: Vec<f64>,
    /// F(x′ + α_k (x − x′)) at each point.
    pub scores: Vec<f32>,
    /// Flat `[k][token]`: Σ_width ∂F/∂x at point k times (x − x′).
    pub contributions: Vec<f64>,
    /// Tokens of the input (the length of a row of `contributions`).
    pub tokens: usize,
    /// F along the path at [`CURVE_POINTS`] evenly spaced α, 0 to 1.
    pub curve_alphas: Vec<f64>,
    pub curve_scores: Vec<f32>,
    /// F(x) and F(x′).
    pub score: f32,
    pub baseline_score: f32,
    /// The attributions and the convergence delta as [`IgPlan::finish`]
    /// computes them from the same gradients: where the running sum ends.
    pub attributions: Vec<f32>,
    pub delta: f32,
}

impl IgPath {
    /// Σ_{j≤k} w_j c_j per token: the attributions after `k + 1` points.
    pub fn running_sum(&self, k: usize) -> Vec<f64> {
        let mut sum = vec![0f64; self.tokens];
        let rows = self.contributions.chunks_exact(self.tokens.max(1));
        for (row, w) in rows.zip(&self.weights).take(k + 1) {
            sum.iter_mut().zip(row).for_each(|(s, c)| *s += w * c);
        }
        sum
    }
}

impl IgPlan {
    /// The plan's path point by point ([`IgPath`]): one backward pass per
    /// point, in the plan's batches, and [`CURVE_POINTS`] forward passes.
    /// Only for a fixed number of steps: `"auto"` chooses its points as it
    /// goes, so there is no path to walk before it has run.
    pub fn path(&self, f: &impl Differentiable) -> Result<IgPath> {
        if self.n_steps() == Steps::Auto {
            return Err(Error::option(
                "n_steps",
                "the path is walked at a fixed number of steps, and \"auto\" chooses its \
                 points as it runs: pick a number of steps (e.g. 20)",
            ));
        }
        let (alphas, weights) = self.rule();
        let size = self.size();
        let width = f.width();
        let tokens = size / width.max(1);
        let diff = self.diff();
        let mut scores = Vec::with_capacity(alphas.len());
        let mut contributions = Vec::with_capacity(alphas.len() * tokens);
        // Σ_k w_k ∂F/∂x, accumulated as `batch_sum` does, for `finish`.
        let mut total = vec![0f64; size];
        let mut batch = |tape: &mut Tape, threads: Threads| -> Result<()> {
            for (a, w) in alphas
                .chunks(self.batch())
                .zip(weights.chunks(self.batch()))
            {
                let (s, grads) = f.scores_and_gradients(&self.path_points(a), tape, threads)?;
                scores.extend(s);
                for (g, &wk) in grads.chunks_exact(size).zip(w) {
                    total
                        .iter_mut()
                        .zip(g)
                        .for_each(|(t, &v)| *t += wk * v as f64);
                    let per_token =
                        g.chunks_exact(width)
                            .zip(diff.chunks_exact(width))
                            .map(|(g, d)| {
                                g.iter()
                                    .zip(d)
                                    .map(|(g, d)| *g as f64 * *d as f64)
                                    .sum::<f64>()
                            });
                    contributions.extend(per_token);
                }
            }
            Ok(())
        };
        #[cfg(not(target_arch = "wasm32"))]
        batch(&mut Tape::default(), Threads::Pool)?;
        #[cfg(target_arch = "wasm32")]
        crate::engine::with_tape(|tape| batch(tape, Threads::One))?;
        let curve_alphas: Vec<f64> = (0..CURVE_POINTS)
            .map(|i| i as f64 / (CURVE_POINTS - 1) as f64)
            .collect();
        let curve_scores = self.scores_at(f, &curve_alphas)?;
        let total: Vec<f32> = total.into_iter().map(|v| v as f32).collect();
        let r = self.finish(f, &total)?;
        Ok(IgPath {
            alphas: alphas.to_vec(),
            weights: weights.to_vec(),
            scores,
            contributions,
            tokens,
            curve_alphas,
            curve_scores,
            score: r.score,
            baseline_score: r.baseline_score,
            attributions: r.attributions,
            delta: r.delta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::ig::{integrated_gradients, IgOptions};
    use crate::attribution::quadrature::Integration;
    use crate::attribution::Baseline;

    /// A small smooth "model": token ids become rows of a fixed table
    /// (width 3), and F(x) = Σ_t tanh(a_t · x_t) + 0.3 (x_0 · x_1), so that
    /// tokens interact and the path is curved.
    struct Toy;

    const W: usize = 3;

    fn row(id: u32) -> [f32; W] {
        let v = id as f32;
        [0.3 * v - 0.5, (0.7 * v).sin(), 0.2 + 0.1 * v * v]
    }

    fn a(t: usize) -> [f32; W] {
        [0.8, -0.4 + 0.1 * t as f32, 0.5]
    }

    fn dot(u: &[f32], v: &[f32]) -> f32 {
        u.iter().zip(v).map(|(a, b)| a * b).sum()
    }

    impl Differentiable for Toy {
        fn width(&self) -> usize {
            W
        }
        fn activation(&self, ids: &[u32]) -> Result<Vec<f32>> {
            Ok(ids.iter().flat_map(|&i| row(i)).collect())
        }
        fn scores(&self, xs: &[f32]) -> Result<Vec<f32>> {
            Ok(self
                .scores_and_gradients(xs, &mut Tape::default(), Threads::One)?
                .0)
        }
        fn scores_and_gradients(
            &self,
            xs: &[f32],
            _: &mut Tape,
            _: Threads,
        ) -> Result<(Vec<f32>, Vec<f32>)> {
            let size = TOKENS * W;
            let mut scores = Vec::new();
            let mut grads = Vec::new();
            for x in xs.chunks_exact(size) {
                let mut s = 0.3 * dot(&x[..W], &x[W..2 * W]);
                let mut g = vec![0f32; size];
                for (t, xt) in x.chunks_exact(W).enumerate() {
                    let z = dot(&a(t), xt).tanh();
                    s += z;
                    for i in 0..W {
                        g[t * W + i] += (1.0 - z * z) * a(t)[i];
                    }
                }
                for i in 0..W {
                    g[i] += 0.3 * x[W + i];
                    g[W + i] += 0.3 * x[i];
                }
                scores.push(s);
                grads.extend(g);
            }
            Ok((scores, grads))
        }
        fn bytes_per_point(&self) -> usize {
            1
        }
    }

    const TOKENS: usize = 4;
    const IDS: [u32; TOKENS] = [1, 5, 2, 7];
    const BASELINE: [u32; TOKENS] = [1, 0, 0, 7];

    fn opts(method: Integration, n: usize, batch: Option<usize>) -> IgOptions {
        IgOptions {
            n_steps: n.into(),
            method,
            internal_batch_size: batch,
            baseline: Baseline::Pad,
            ..Default::default()
        }
    }

    fn path(o: &IgOptions) -> IgPath {
        IgPlan::new(&Toy, &IDS, Some(&BASELINE), o)
            .unwrap()
            .path(&Toy)
            .unwrap()
    }

    #[test]
    fn the_running_sum_ends_on_the_attributions() {
        for method in [Integration::GaussLegendre, Integration::RiemannRight] {
            for batch in [Some(1), Some(3), None] {
                let o = opts(method, 7, batch);
                let p = path(&o);
                let ig = integrated_gradients(&Toy, &IDS, Some(&BASELINE), &o).unwrap();
                let end = p.running_sum(p.alphas.len() - 1);
                assert_eq!(end.len(), TOKENS);
                for (t, (got, want)) in end.iter().zip(&ig.attributions).enumerate() {
                    assert!(
                        (got - *want as f64).abs() < 1e-5,
                        "{method:?} batch {batch:?} token {t}: {got} vs {want}"
                    );
                }
                assert_eq!(p.attributions, ig.attributions);
                assert_eq!(p.delta, ig.delta);
                let sum: f64 = end.iter().sum();
                let span = (p.score - p.baseline_score) as f64;
                assert!((sum - span - p.delta as f64).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn scores_are_f_along_the_path() {
        let o = opts(Integration::RiemannTrapezoid, 5, Some(2));
        let plan = IgPlan::new(&Toy, &IDS, Some(&BASELINE), &o).unwrap();
        let p = plan.path(&Toy).unwrap();
        // The trapezoid's points are 0, ¼, ½, ¾, 1: its ends are F(x′) and F(x).
        assert_eq!(p.alphas, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert!((p.scores[0] - p.baseline_score).abs() < 1e-6);
        assert!((p.scores[4] - p.score).abs() < 1e-6);
        assert_eq!(plan.scores_at(&Toy, &p.alphas).unwrap(), p.scores);
        // The curve: 41 points from F(x′) to F(x), through the same function.
        assert_eq!(p.curve_alphas.len(), CURVE_POINTS);
        assert_eq!(p.curve_alphas[20], 0.5);
        assert!((p.curve_scores[20] - p.scores[2]).abs() < 1e-6);
        assert!((p.curve_scores[0] - p.baseline_score).abs() < 1e-6);
        assert!((p.curve_scores[40] - p.score).abs() < 1e-6);
        assert_eq!(p.contributions.len(), 5 * TOKENS);
        assert_eq!(p.tokens, TOKENS);
    }

    #[test]
    fn the_rules_sample_different_points() {
        let gl = path(&opts(Integration::GaussLegendre, 5, None));
        let rr = path(&opts(Integration::RiemannRight, 5, None));
        assert_eq!(rr.alphas, vec![0.2, 0.4, 0.6, 0.8, 1.0]);
        assert!(gl.alphas.iter().all(|a| !rr.alphas.contains(a)));
        assert_ne!(gl.weights, rr.weights);
        // Both end near F(x) − F(x′), Gauss–Legendre nearer.
        assert!(gl.delta.abs() < rr.delta.abs(), "{} {}", gl.delta, rr.delta);
    }

    #[test]
    fn auto_has_no_path_to_walk() {
        let o = IgOptions {
            n_steps: Steps::Auto,
            ..Default::default()
        };
        let plan = IgPlan::new(&Toy, &IDS, Some(&BASELINE), &o).unwrap();
        let err = plan.path(&Toy).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidOption {
                option: "n_steps",
                ..
            }
        ));
        assert!(err.to_string().contains("pick a number of steps"), "{err}");
    }
}

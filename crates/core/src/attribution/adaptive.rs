//! `n_steps: "auto"`: Integrated Gradients with as few steps as its
//! convergence delta allows.
//!
//! The path integral is cut into intervals ([`PIECES`] to begin with), each
//! integrated by Gauss–Legendre with [`NODES`] points. On an interval [a, b] the exact value of the
//! integral is known without its gradients: ∫ₐᵇ ∇F(γ(α))·(x − x′) dα =
//! F(γ(b)) − F(γ(a)), two forward passes. So every interval has its own
//! completeness error, and those errors add up to the convergence delta.
//! Rounds split the intervals whose error is largest until the sum of their
//! absolute errors is at most `tolerance · |F(x) − F(x′)|` (so the delta
//! is too), or the step budget is spent. Each round's intervals are
//! independent: the page spreads them over its workers.

use std::collections::BTreeMap;

use super::quadrature::gauss_legendre;

/// Gauss–Legendre points per interval. Six points on two halves reach 1%
/// in one round on nearly every input of the default model, where one
/// interval needs 16 to 24 points (examples/ig_convergence.rs).
pub const NODES: usize = 6;
/// The intervals of the first round.
pub const PIECES: usize = 2;
/// The default tolerance: 1% of F(x) − F(x′).
pub const DEFAULT_TOLERANCE: f64 = 0.01;
/// Steps `auto` spends at most.
pub const MAX_STEPS: usize = 512;

/// A piece of the path, α ∈ [a, b].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub a: f64,
    pub b: f64,
}

impl Interval {
    /// Its Gauss–Legendre points and weights (the weights sum to b − a).
    pub fn rule(self, nodes: usize) -> (Vec<f64>, Vec<f64>) {
        let (x, w) = gauss_legendre(nodes);
        let half = 0.5 * (self.b - self.a);
        (
            x.iter().map(|x| self.a + half * (1.0 + x)).collect(),
            w.iter().map(|w| half * w).collect(),
        )
    }
}

/// An interval whose weighted gradient sum is known.
#[derive(Debug, Clone)]
struct Leaf {
    interval: Interval,
    sum: Vec<f64>,
    /// Its share of Σ attributions: (x − x′) · sum.
    share: f64,
}

/// What a round asks for: gradient sums over `intervals`, scores at `alphas`.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    pub intervals: Vec<Interval>,
    pub alphas: Vec<f64>,
}

/// The state of an adaptive Integrated Gradients run. Drive it with
/// [`AutoIg::round`], [`AutoIg::submit`] and [`AutoIg::advance`].
#[derive(Debug, Clone)]
pub struct AutoIg {
    nodes: usize,
    tolerance: f64,
    max_steps: usize,
    leaves: Vec<Leaf>,
    pending: Vec<Interval>,
    /// F(γ(α)), by α's bits.
    scores: BTreeMap<u64, f64>,
    steps: usize,
    rounds: usize,
}

/// Where a run stands after a round (the page's `IgProgress`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub steps: usize,
    pub rounds: usize,
    /// Σ attributions − (F(x) − F(x′)) so far.
    pub delta: f64,
    /// Σ |interval errors| / |F(x) − F(x′)|.
    pub relative_error: f64,
    pub done: bool,
}

impl AutoIg {
    pub fn new(tolerance: f64, max_steps: usize) -> Self {
        Self::with(NODES, PIECES, tolerance, max_steps)
    }

    /// `nodes` Gauss–Legendre points per interval, starting from `pieces`
    /// equal intervals.
    pub fn with(nodes: usize, pieces: usize, tolerance: f64, max_steps: usize) -> Self {
        let pieces = pieces.max(1);
        Self {
            nodes,
            tolerance,
            max_steps: max_steps.max(nodes * pieces),
            leaves: Vec::new(),
            pending: (0..pieces)
                .map(|i| Interval {
                    a: i as f64 / pieces as f64,
                    b: (i + 1) as f64 / pieces as f64,
                })
                .collect(),
            scores: BTreeMap::new(),
            steps: 0,
            rounds: 0,
        }
    }

    /// The work of the next round: empty when the run is done.
    pub fn round(&self) -> Round {
        let mut alphas: Vec<f64> = self
            .pending
            .iter()
            .flat_map(|iv| [iv.a, iv.b])
            .filter(|a| !self.scores.contains_key(&a.to_bits()))
            .collect();
        alphas.sort_by(f64::total_cmp);
        alphas.dedup();
        Round {
            intervals: self.pending.clone(),
            alphas,
        }
    }

    /// Takes a round's results: the weighted gradient sum of each of its
    /// intervals (in order), and F at its alphas (in order).
    pub fn submit(&mut self, sums: Vec<Vec<f64>>, scores: &[f32], diff: &[f32]) {
        let round = self.round();
        for (&a, &f) in round.alphas.iter().zip(scores) {
            self.scores.insert(a.to_bits(), f as f64);
        }
        for (interval, sum) in round.intervals.into_iter().zip(sums) {
            let share = sum.iter().zip(diff).map(|(&g, &d)| g * d as f64).sum();
            self.leaves.push(Leaf {
                interval,
                sum,
                share,
            });
            self.steps += self.nodes;
        }
        self.leaves
            .sort_by(|x, y| x.interval.a.total_cmp(&y.interval.a));
        self.pending.clear();
        self.rounds += 1;
    }

    fn f(&self, alpha: f64) -> f64 {
        self.scores[&alpha.to_bits()]
    }

    /// Each leaf's completeness error: its share − (F(b) − F(a)).
    fn errors(&self) -> Vec<f64> {
        self.leaves
            .iter()
            .map(|l| l.share - (self.f(l.interval.b) - self.f(l.interval.a)))
            .collect()
    }

    /// After a round: decides whether to stop, and if not, which intervals
    /// to split for the next round.
    pub fn advance(&mut self) -> Progress {
        let errors = self.errors();
        let span = (self.f(1.0) - self.f(0.0)).abs();
        let total: f64 = errors.iter().map(|e| e.abs()).sum();
        let delta: f64 = errors.iter().sum();
        let relative_error = if span > 0.0 { total / span } else { 0.0 };
        // A model that hardly moves between x′ and x: nothing to refine.
        let converged = total <= self.tolerance * span || total <= 1e-6;
        let mut done = converged;
        if !converged {
            // Split every interval carrying more than its share of the allowed
            // error, worst first, within the step budget.
            let allowed = self.tolerance * span / self.leaves.len() as f64;
            let mut order: Vec<usize> = (0..self.leaves.len()).collect();
            order.sort_by(|&i, &j| errors[j].abs().total_cmp(&errors[i].abs()));
            let mut split = Vec::new();
            for i in order {
                if (split.is_empty() || errors[i].abs() > allowed)
                    && self.steps + 2 * self.nodes * (split.len() + 1) <= self.max_steps
                {
                    split.push(i);
                }
            }
            if split.is_empty() {
                done = true;
            } else {
                split.sort_unstable_by(|a, b| b.cmp(a));
                for i in split {
                    let Interval { a, b } = self.leaves.remove(i).interval;
                    let mid = 0.5 * (a + b);
                    self.pending.push(Interval { a, b: mid });
                    self.pending.push(Interval { a: mid, b });
                }
                self.pending.sort_by(|x, y| x.a.total_cmp(&y.a));
            }
        }
        Progress {
            steps: self.steps,
            rounds: self.rounds,
            delta,
            relative_error,
            done,
        }
    }

    /// The weighted gradient sum of the whole path: Σ over the intervals.
    pub fn total(&self) -> Vec<f64> {
        let size = self.leaves.first().map_or(0, |l| l.sum.len());
        let mut total = vec![0f64; size];
        for l in &self.leaves {
            total.iter_mut().zip(&l.sum).for_each(|(t, v)| *t += v);
        }
        total
    }

    /// Gradient evaluations spent (intervals replaced by a split included).
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Gauss–Legendre points per interval.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The intervals the result integrates over.
    pub fn intervals(&self) -> Vec<Interval> {
        self.leaves.iter().map(|l| l.interval).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a run on a one-dimensional "model": F(γ(α)) = f(α), gradient
    /// f′(α), x − x′ = 1, so that the attribution is ∫ f′ = f(1) − f(0).
    fn run(f: impl Fn(f64) -> f64, df: impl Fn(f64) -> f64, tol: f64) -> (AutoIg, Progress) {
        let mut ig = AutoIg::new(tol, MAX_STEPS);
        loop {
            let round = ig.round();
            let sums = round
                .intervals
                .iter()
                .map(|iv| {
                    let (a, w) = iv.rule(NODES);
                    vec![a.iter().zip(&w).map(|(a, w)| w * df(*a)).sum::<f64>()]
                })
                .collect();
            let scores: Vec<f32> = round.alphas.iter().map(|&a| f(a) as f32).collect();
            ig.submit(sums, &scores, &[1.0]);
            let p = ig.advance();
            if p.done {
                return (ig, p);
            }
        }
    }

    #[test]
    fn smooth_paths_need_one_round() {
        let (ig, p) = run(|a| a.powi(5), |a| 5.0 * a.powi(4), 0.01);
        assert_eq!((p.steps, p.rounds), (NODES * PIECES, 1));
        assert!(p.delta.abs() < 1e-6);
        assert!((ig.total()[0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_sharp_step_is_refined_where_it_is() {
        // A logistic step at α = 0.7: Gauss–Legendre on [0, 1] misses it.
        let k = 200.0;
        let f = |a: f64| 1.0 / (1.0 + (-k * (a - 0.7)).exp());
        let df = |a: f64| k * f(a) * (1.0 - f(a));
        let (ig, p) = run(f, df, 0.01);
        assert!(p.done && p.relative_error <= 0.01, "{p:?}");
        let exact = f(1.0) - f(0.0);
        assert!(((ig.total()[0] - exact) / exact).abs() <= 0.011);
        // The intervals are short around the step and long away from it.
        let ivs = ig.intervals();
        let at = |x: f64| ivs.iter().find(|iv| iv.a <= x && x <= iv.b).unwrap();
        assert!(at(0.7).b - at(0.7).a < at(0.1).b - at(0.1).a);
        assert!(p.steps < 200, "{} steps", p.steps);
    }

    #[test]
    fn the_budget_ends_a_run() {
        let mut ig = AutoIg::with(NODES, 1, 1e-12, 3 * NODES);
        ig.submit(vec![vec![0.5]], &[0.0, 1.0], &[1.0]);
        let p = ig.advance();
        assert!(!p.done);
        assert_eq!(ig.round().intervals.len(), 2);
        assert_eq!(ig.round().alphas, vec![0.5]);
        ig.submit(vec![vec![0.1], vec![0.1]], &[0.2], &[1.0]);
        let p = ig.advance();
        assert!(p.done, "{p:?}");
        assert_eq!(p.steps, 3 * NODES);
    }
}

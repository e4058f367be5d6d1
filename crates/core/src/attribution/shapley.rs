//! Shapley values of the features of a text (Shapley 1953; Štrumbelj &
//! Kononenko 2010), the game v(S) = F(x with the features outside S
//! replaced by the baseline's), as Captum's `ShapleyValues` and
//! `ShapleyValueSampling` play it (`captum/attr/_core/shapley_value.py`):
//!
//! - **exact**, up to [`EXACT_MAX_FEATURES`] features: every coalition
//!   once (2ⁿ inputs, in batched forward passes), φᵢ = Σ_{S ∌ i}
//!   |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S));
//! - **sampled**, beyond that or when `n_samples` is given: `n_samples`
//!   random permutations (Captum's default 25), each adding the features
//!   one by one from the baseline; φᵢ is the mean of i's marginal
//!   contributions. Permutation k is drawn from the seed and k alone
//!   (SplitMix64, [`Rng::for_item`]), so a seed reproduces its values;
//!   Captum's torch generator is not reproduced.
//!
//! Both are complete: Σ φ = F(x) − F(x′) (each permutation's marginal
//! contributions telescope), and the delta reports the rounding.

use super::ablation::{PerturbationAttribution, PerturbationReport, Scorer};
use super::Baseline;
use crate::analysis::random::Rng;
use crate::error::{Error, Result};

/// The most features whose Shapley values are computed exactly (2¹² = 4096 inputs).
pub const EXACT_MAX_FEATURES: usize = 12;

/// Captum's `ShapleyValueSampling` default `n_samples`.
pub const DEFAULT_N_SAMPLES: usize = 25;

/// How Shapley values are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapleyOptions {
    /// `None`: exact up to [`EXACT_MAX_FEATURES`] features, else
    /// [`DEFAULT_N_SAMPLES`] permutations; `Some(k)`: k permutations.
    pub n_samples: Option<usize>,
    pub seed: u64,
}

/// Shapley values of the features of `ab`.
pub fn shapley(
    ab: &impl Scorer,
    baseline: Baseline,
    opts: ShapleyOptions,
) -> Result<PerturbationAttribution> {
    let n = ab.features().len();
    if opts.n_samples == Some(0) {
        return Err(Error::option("n_samples", "must be at least 1 permutation"));
    }
    let exact = opts.n_samples.is_none() && n <= EXACT_MAX_FEATURES;
    let note = (opts.n_samples.is_none() && !exact).then(|| {
        format!(
            "the text has {n} features, more than the {EXACT_MAX_FEATURES} whose Shapley values \
             are computed exactly (2^n inputs): sampled over {DEFAULT_N_SAMPLES} permutations \
             instead (Captum's ShapleyValueSampling); with words, fewer features"
        )
    });
    let n_samples = opts.n_samples.unwrap_or(DEFAULT_N_SAMPLES);
    let (phi, fx, fb) = if exact {
        exact_values(ab, n)?
    } else {
        sampled_values(ab, n, n_samples, opts.seed)?
    };
    let sum: f64 = phi.iter().sum();
    Ok(PerturbationAttribution {
        attributions: ab.features().per_token(&phi),
        feature_attributions: phi,
        score: fx as f32,
        delta: Some((sum - (fx - fb)) as f32),
        report: PerturbationReport {
            unit: ab.features().unit(),
            features: n,
            baseline,
            evaluations: ab.evaluations(),
            window: None,
            stride: None,
            exact: Some(exact),
            n_samples: (!exact).then_some(n_samples),
            seed: (!exact).then_some(opts.seed),
            baseline_score: Some(fb as f32),
            intercept: None,
            note,
        },
    })
}

/// The removed flags of coalition `kept` (bit j: feature j is kept).
fn removed(kept: usize, n: usize) -> Vec<bool> {
    (0..n).map(|j| kept & (1 << j) == 0).collect()
}

/// φ over every coalition; with F(x) and F(x′).
fn exact_values(ab: &impl Scorer, n: usize) -> Result<(Vec<f64>, f64, f64)> {
    let all = 1usize << n;
    let sets: Vec<Vec<bool>> = (0..all).map(|kept| removed(kept, n)).collect();
    let v = ab.scores(&sets)?;
    // |S|! (n − |S| − 1)! / n!, by |S|.
    let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
    let weight: Vec<f64> = (0..n)
        .map(|s| fact(s) * fact(n - s - 1) / fact(n))
        .collect();
    let mut phi = vec![0.0f64; n];
    for (i, p) in phi.iter_mut().enumerate() {
        let bit = 1 << i;
        *p = (0..all)
            .filter(|s| s & bit == 0)
            .map(|s| weight[s.count_ones() as usize] * (v[s | bit] - v[s]))
            .sum();
    }
    Ok((phi, v[all - 1], v[0]))
}

/// A permutation of `0..n`, drawn from the seed and its index alone (Fisher–Yates).
pub fn permutation(seed: u64, k: usize, n: usize) -> Vec<usize> {
    let mut rng = Rng::for_item(seed, k as u64);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        p.swap(i, rng.below(i + 1));
    }
    p
}

/// φ as the mean marginal contribution over `samples` permutations; with F(x) and F(x′).
fn sampled_values(
    ab: &impl Scorer,
    n: usize,
    samples: usize,
    seed: u64,
) -> Result<(Vec<f64>, f64, f64)> {
    let ends = ab.scores(&[vec![false; n], vec![true; n]])?;
    let (fx, fb) = (ends[0], ends[1]);
    let mut phi = vec![0.0f64; n];
    for k in 0..samples {
        let order = permutation(seed, k, n);
        // The baseline with the first 1, 2, …, n − 1 features of the order added.
        let mut set = vec![true; n];
        let sets: Vec<Vec<bool>> = order[..n.saturating_sub(1)]
            .iter()
            .map(|&j| {
                set[j] = false;
                set.clone()
            })
            .collect();
        let mut v = vec![fb];
        v.extend(ab.scores(&sets)?);
        v.push(fx);
        for (step, &j) in order.iter().enumerate() {
            phi[j] += v[step + 1] - v[step];
        }
    }
    for p in &mut phi {
        *p /= samples as f64;
    }
    Ok((phi, fx, fb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_permutations_and_reproduce() {
        let p = permutation(7, 3, 10);
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(p, permutation(7, 3, 10));
        assert_ne!(p, permutation(7, 4, 10));
        assert!(permutation(1, 0, 0).is_empty());
    }
}

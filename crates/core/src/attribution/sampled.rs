//! KernelSHAP (Lundberg & Lee 2017) and LIME (Ribeiro et al. 2016) over
//! the features of a text, as Captum's `KernelShap` and `Lime` compute them
//! with their defaults (`captum/attr/_core/kernel_shap.py`, `lime.py`): draw
//! `n_samples` coalitions z ∈ {0, 1}ⁿ (1: the feature is kept, 0: replaced
//! by the baseline's), score F at each, and fit a weighted linear model of
//! F(z) on z; the attributions are its coefficients.
//!
//! - **`kernel_shap`**: the first two samples are every feature kept and
//!   none kept, weighted 10⁶ (Captum's `inf_weight`, which ties the fit to
//!   F(x) and F(x′)); every later sample draws a size k ∈ 1..n−1 with
//!   p(k) ∝ (n − 1) / (k (n − k)) and then k features uniformly, weighted
//!   1: the Shapley kernel in the sampling. The model is ordinary weighted
//!   least squares with an intercept ([`surrogate::linear_regression`],
//!   Captum's `SkLearnLinearRegression`). With every coalition, each
//!   weighted by the Shapley kernel, its coefficients are the Shapley
//!   values.
//! - **`lime`**: each feature kept with probability ½
//!   (`default_perturb_func`); a sample's weight is the exponential kernel
//!   `exp(−d² / 2)` (kernel width 1) of its cosine distance d = 1 − cos(1,
//!   z) from the input. Captum takes that distance between the input
//!   tensors it is given; bertlens (and its fixture, which gives Captum the
//!   `(1, n)` indicator of gen_perturbation.py, input 1, baseline 0) takes
//!   it between the indicator vectors, so cos(1, z) = √(|z| / n) (0 for the
//!   empty coalition), not between token ids or embeddings. The model is
//!   scikit-learn's Lasso with α = 0.01 ([`surrogate::lasso`], Captum's
//!   `SkLearnLasso(alpha=0.01)`).
//!
//! `n_samples` defaults to 25, both methods' default in Captum's
//! `attribute`. Sample k is drawn from the seed and k alone
//! ([`Rng::for_item`]), so a seed reproduces its values; Captum's torch
//! generator is not reproduced: the fixture records the samples Captum drew,
//! and [`fit_samples`] fits given samples.

use super::ablation::{PerturbationAttribution, PerturbationReport, Scorer};
use super::surrogate::{self, Fit};
use super::Baseline;
use crate::analysis::random::Rng;
use crate::error::{Error, Result};

/// Captum's `KernelShap.attribute` and `Lime.attribute` default `n_samples`.
pub const DEFAULT_N_SAMPLES: usize = 25;

/// The weight of the all-kept and none-kept samples of KernelSHAP (Captum's `inf_weight`).
pub const INF_WEIGHT: f64 = 1e6;

/// LIME's Lasso penalty (Captum's `SkLearnLasso(alpha=0.01)`).
pub const LIME_ALPHA: f64 = 0.01;

/// LIME's kernel width (Captum's `get_exp_kernel_similarity_function` default).
pub const KERNEL_WIDTH: f64 = 1.0;

/// Which sampled surrogate method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surrogate {
    KernelShap,
    Lime,
}

/// How many samples, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampledOptions {
    /// `None`: [`DEFAULT_N_SAMPLES`].
    pub n_samples: Option<usize>,
    pub seed: u64,
}

impl Surrogate {
    /// Sample `k` of `n` features (true: kept), drawn as Captum draws it.
    pub fn sample(self, seed: u64, k: usize, n: usize) -> Vec<bool> {
        match self {
            Self::KernelShap => kernel_shap_sample(seed, k, n),
            Self::Lime => {
                let mut rng = Rng::for_item(seed, k as u64);
                (0..n).map(|_| rng.bernoulli(0.5)).collect()
            }
        }
    }

    /// A sample's weight in the fit (Captum's `similarity_func`).
    pub fn similarity(self, kept: &[bool]) -> f64 {
        let n = kept.len();
        let k = kept.iter().filter(|&&b| b).count();
        match self {
            Self::KernelShap if k == 0 || k == n => INF_WEIGHT,
            Self::KernelShap => 1.0,
            Self::Lime => {
                let cos = if k == 0 {
                    0.0
                } else {
                    (k as f64 / n as f64).sqrt()
                };
                let d = 1.0 - cos;
                (-(d * d) / (2.0 * KERNEL_WIDTH * KERNEL_WIDTH)).exp()
            }
        }
    }

    /// Fits Captum's interpretable model of `scores` on `samples`.
    pub fn fit(self, samples: &[Vec<bool>], scores: &[f64], weights: &[f64]) -> Fit {
        let x: Vec<Vec<f64>> = samples
            .iter()
            .map(|s| s.iter().map(|&b| f64::from(u8::from(b))).collect())
            .collect();
        match self {
            Self::KernelShap => surrogate::linear_regression(&x, scores, weights),
            Self::Lime => surrogate::lasso(&x, scores, weights, LIME_ALPHA),
        }
    }
}

/// KernelSHAP's sample `k`: all kept, none kept, then a size from the
/// Shapley kernel's distribution and that many features uniformly. (With
/// one feature the only coalitions are the two ends, which alternate;
/// Captum fails there.)
fn kernel_shap_sample(seed: u64, k: usize, n: usize) -> Vec<bool> {
    if k < 2 || n < 2 {
        return vec![k % 2 == 0; n];
    }
    let mut rng = Rng::for_item(seed, k as u64);
    // p(size) ∝ (n − 1) / (size (n − size)), size = 1 … n − 1.
    let p: Vec<f64> = (1..n).map(|s| 1.0 / (s * (n - s)) as f64).collect();
    let mut u = rng.uniform() * p.iter().sum::<f64>();
    let mut size = n - 1;
    for (i, &pi) in p.iter().enumerate() {
        if u < pi {
            size = i + 1;
            break;
        }
        u -= pi;
    }
    // The first `size` of a partial Fisher–Yates shuffle.
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..size {
        order.swap(i, i + rng.below(n - i));
    }
    let mut kept = vec![false; n];
    for &j in &order[..size] {
        kept[j] = true;
    }
    kept
}

/// KernelSHAP or LIME of the features of `ab`, over samples drawn from the seed.
pub fn sampled(
    ab: &impl Scorer,
    baseline: Baseline,
    method: Surrogate,
    opts: SampledOptions,
) -> Result<PerturbationAttribution> {
    let n_samples = opts.n_samples.unwrap_or(DEFAULT_N_SAMPLES);
    if n_samples == 0 {
        return Err(Error::option("n_samples", "must be at least 1 sample"));
    }
    let n = ab.features().len();
    let samples: Vec<Vec<bool>> = (0..n_samples)
        .map(|k| method.sample(opts.seed, k, n))
        .collect();
    let weights: Vec<f64> = samples.iter().map(|s| method.similarity(s)).collect();
    let mut r = fit_samples(ab, baseline, method, &samples, &weights)?;
    r.report.n_samples = Some(n_samples);
    r.report.seed = Some(opts.seed);
    Ok(r)
}

/// KernelSHAP's or LIME's fit over given samples (`samples[k][j]`: feature
/// j kept in sample k) and weights, as Captum fits the samples it drew: the
/// fixture tests feed it Captum's, and the exact-limit test every
/// coalition. F(x) and F(x′) are scored besides (taken from the samples
/// where they are the first two, as KernelSHAP's are).
#[doc(hidden)]
pub fn fit_samples(
    ab: &impl Scorer,
    baseline: Baseline,
    method: Surrogate,
    samples: &[Vec<bool>],
    weights: &[f64],
) -> Result<PerturbationAttribution> {
    let n = ab.features().len();
    if samples.len() != weights.len() || samples.iter().any(|s| s.len() != n) {
        return Err(Error::option(
            "samples",
            format!(
                "{} samples and {} weights, for {n} features",
                samples.len(),
                weights.len()
            ),
        ));
    }
    let ends = [vec![false; n], vec![true; n]];
    let given_ends =
        samples.len() >= 2 && samples[0] == vec![true; n] && samples[1] == vec![false; n];
    let mut sets: Vec<Vec<bool>> = if given_ends {
        Vec::new()
    } else {
        ends.to_vec()
    };
    sets.extend(
        samples
            .iter()
            .map(|s| s.iter().map(|&kept| !kept).collect::<Vec<_>>()),
    );
    let scores = ab.scores(&sets)?;
    let (fx, fb, v) = if given_ends {
        (scores[0], scores[1], &scores[..])
    } else {
        (scores[0], scores[1], &scores[2..])
    };
    let fit = method.fit(samples, v, weights);
    let phi = fit.coef;
    let sum: f64 = phi.iter().sum();
    Ok(PerturbationAttribution {
        attributions: ab.features().per_token(&phi),
        score: fx as f32,
        // KernelSHAP is complete up to its 10⁶ weights; LIME is not.
        delta: (method == Surrogate::KernelShap).then_some((sum - (fx - fb)) as f32),
        feature_attributions: phi,
        report: PerturbationReport {
            unit: ab.features().unit(),
            features: n,
            baseline,
            evaluations: ab.evaluations(),
            window: None,
            stride: None,
            exact: None,
            n_samples: Some(samples.len()),
            seed: None,
            baseline_score: Some(fb as f32),
            intercept: Some(fit.intercept as f32),
            note: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_shap_samples_start_at_the_ends_then_draw_proper_coalitions() {
        let n = 7;
        assert_eq!(kernel_shap_sample(3, 0, n), vec![true; n]);
        assert_eq!(kernel_shap_sample(3, 1, n), vec![false; n]);
        let mut sizes = vec![0usize; n + 1];
        for k in 2..4000 {
            let s = kernel_shap_sample(3, k, n);
            assert_eq!(s, kernel_shap_sample(3, k, n));
            sizes[s.iter().filter(|&&b| b).count()] += 1;
        }
        assert_eq!((sizes[0], sizes[n]), (0, 0));
        // p(1) ∝ 1/6 is twice p(3) ∝ 1/12, within sampling noise.
        let ratio = sizes[1] as f64 / sizes[3] as f64;
        assert!((ratio - 2.0).abs() < 0.4, "{sizes:?}");
    }

    #[test]
    fn lime_similarity_is_the_exponential_kernel_of_the_cosine_distance() {
        let s = Surrogate::Lime;
        assert_eq!(s.similarity(&[true; 4]), 1.0);
        let d: f64 = 1.0 - 0.5; // cos(1, z) = √(1/4)
        assert!((s.similarity(&[true, false, false, false]) - (-d * d / 2.0).exp()).abs() < 1e-15);
        assert!((s.similarity(&[false; 4]) - (-0.5f64).exp()).abs() < 1e-15);
        assert_eq!(Surrogate::KernelShap.similarity(&[false; 3]), INF_WEIGHT);
        assert_eq!(Surrogate::KernelShap.similarity(&[true, false, true]), 1.0);
    }
}

//! SmoothGrad (Smilkov et al. 2017) and VarGrad (Adebayo et al. 2018), as
//! Captum's `NoiseTunnel` computes them around saliency, input × gradient
//! or Integrated Gradients:
//!
//! x̃_s = x + ε_s, ε_s ~ N(0, stdevs²) elementwise, s = 1 … `nt_samples`;
//! a_s = the base method's attribution of x̃_s, per element of the layer;
//! smoothgrad = E_s[a_s], vargrad = E_s[a_s²] − E_s[a_s]².
//!
//! **Where the noise goes.** x is the activation at the attributed layer
//! (the word embeddings for saliency and input × gradient, the embeddings
//! block's output for IG, unless `layer` says otherwise): the tensor that
//! Captum's `NoiseTunnel` is given when it wraps `Saliency`,
//! `InputXGradient` or `IntegratedGradients` on a forward function that
//! takes that activation. `stdevs` is absolute, as Captum's (default 1.0):
//! for embeddings whose elements are of order 0.1–1 that is strong noise;
//! pass a smaller `--stdevs` (Smilkov et al. use 10–20 % of the input's
//! range) for a gentler smoothing.
//!
//! **Per element, then per token.** As in Captum, the samples are combined
//! per element of the `(t, width)` activation; then each token's row is
//! folded as its base method folds it alone: saliency by its norm (of
//! E[|∂F/∂x̃|] or Var[|∂F/∂x̃|]; Captum's `Saliency` takes `abs`), input ×
//! gradient and IG by the sum over the hidden dimension. For smoothgrad
//! with a sum this equals averaging per-token scores; for the norm and for
//! vargrad it does not, and it is Captum's order.
//!
//! **IG.** Each noisy input runs Integrated Gradients from the same baseline
//! (the baseline is not noised, as in `NoiseTunnel`, which expands
//! `baselines` without adding noise) with the explanation's steps; the
//! mean of the samples' convergence deltas is reported, as Captum returns
//! the samples' deltas.
//!
//! The noise is drawn from `seed` (one generator per sample, Box–Muller),
//! the same natively and in wasm; [`noise_tunnel_with`] takes it given
//! instead, which is how the tests feed Captum's recorded draws.

use serde::{Deserialize, Serialize};

use super::gradient::SaliencyNorm;
use super::ig::{IgDriver, IgOptions, IgPlan, OnSteps, DEFAULT_BATCH_BYTES};
use super::Differentiable;
use crate::analysis::random::Rng;
use crate::engine::{with_tape, Threads};
use crate::error::{Error, Result};
use crate::types::AttributionLayer;

/// Captum's `nt_type`: how the samples' attributions are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NtType {
    /// The mean of the samples' attributions.
    SmoothGrad,
    /// Their variance, E[a²] − E[a]².
    VarGrad,
}

/// The attribution method that `NoiseTunnel` wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseBase {
    #[default]
    Saliency,
    InputXGradient,
    Ig,
}

impl NoiseBase {
    pub const NAMES: &'static [&'static str] = &["saliency", "input-x-gradient", "ig"];

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "saliency" => Self::Saliency,
            "input-x-gradient" | "ixg" => Self::InputXGradient,
            "ig" | "integrated-gradients" => Self::Ig,
            other => {
                return Err(Error::option(
                    "nt_base",
                    format!("{other:?} is not one of {}", Self::NAMES.join(", ")),
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Saliency => "saliency",
            Self::InputXGradient => "input-x-gradient",
            Self::Ig => "ig",
        }
    }

    /// The layer the base method attributes to unless told otherwise (the
    /// method's own: the embeddings block for IG, the word embeddings else).
    pub fn default_layer(self) -> AttributionLayer {
        match self {
            Self::Ig => AttributionLayer::Embeddings,
            Self::Saliency | Self::InputXGradient => AttributionLayer::WordEmbeddings,
        }
    }
}

/// Captum's defaults: `nt_samples=5`, `stdevs=1.0`.
pub const DEFAULT_NT_SAMPLES: usize = 5;
pub const DEFAULT_STDEVS: f64 = 1.0;

/// `NoiseTunnel.attribute`'s options under Captum's names, with the base
/// method's own (saliency's norm, IG's steps and baseline).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseOptions {
    pub nt_type: NtType,
    pub base: NoiseBase,
    pub nt_samples: usize,
    pub stdevs: f64,
    /// The seed of the Gaussian noise.
    pub seed: u64,
    pub norm: SaliencyNorm,
    pub ig: IgOptions,
}

impl NoiseOptions {
    /// Refuses no samples and a negative or non-finite standard deviation.
    pub fn check(&self) -> Result<()> {
        if self.nt_samples == 0 {
            return Err(Error::option(
                "nt_samples",
                "the noise tunnel needs at least 1 noisy sample",
            ));
        }
        if !(self.stdevs.is_finite() && self.stdevs >= 0.0) {
            return Err(Error::option(
                "stdevs",
                format!("{} is not a standard deviation (a number ≥ 0)", self.stdevs),
            ));
        }
        Ok(())
    }
}

/// The result of a noise tunnel.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseAttribution {
    /// One score per token `(t,)`.
    pub attributions: Vec<f32>,
    /// F(x), at the input without noise.
    pub score: f32,
    /// E_s[F(x̃_s)], the mean score of the noisy inputs.
    pub mean_score: f32,
    /// IG: F(x′), the mean of the samples' convergence deltas
    /// Σ a_s − (F(x̃_s) − F(x′)), the steps of the sample that took the
    /// most (`"auto"` varies), and the steps per pass.
    pub baseline_score: Option<f32>,
    pub mean_delta: Option<f32>,
    pub n_steps: Option<usize>,
    pub internal_batch_size: Option<usize>,
}

/// `nt_samples` draws of N(0, stdev²) noise of `size` values each,
/// `(nt_samples·size)`: sample s from `Rng::for_item(seed, s)`.
pub fn draw_noise(seed: u64, nt_samples: usize, size: usize, stdev: f64) -> Vec<f32> {
    let mut noise = Vec::with_capacity(nt_samples * size);
    for s in 0..nt_samples {
        let mut rng = Rng::for_item(seed, s as u64);
        noise.extend((0..size).map(|_| (stdev * rng.normal()) as f32));
    }
    noise
}

/// The noise tunnel of the input `ids` on `f`, with noise drawn from
/// `opts.seed` (`baseline_ids`: IG's baseline; `None`, zero activations).
pub fn noise_tunnel(
    f: &impl Differentiable,
    ids: &[u32],
    baseline_ids: Option<&[u32]>,
    opts: &NoiseOptions,
    on_steps: OnSteps,
) -> Result<NoiseAttribution> {
    opts.check()?;
    let size = ids.len() * f.width();
    let noise = draw_noise(opts.seed, opts.nt_samples, size, opts.stdevs);
    noise_tunnel_with(f, ids, baseline_ids, opts, &noise, on_steps)
}

/// [`noise_tunnel`] with the noise given, `(nt_samples·t·width)`: the
/// tests feed Captum's recorded draws here (`opts.seed` and
/// `opts.stdevs` are then not read).
#[doc(hidden)]
pub fn noise_tunnel_with(
    f: &impl Differentiable,
    ids: &[u32],
    baseline_ids: Option<&[u32]>,
    opts: &NoiseOptions,
    noise: &[f32],
    on_steps: OnSteps,
) -> Result<NoiseAttribution> {
    opts.check()?;
    let x = f.activation(ids)?;
    let (w, size, n) = (f.width(), x.len(), opts.nt_samples);
    if noise.len() != n * size {
        return Err(Error::option(
            "noise",
            format!(
                "{n} samples of {} tokens × {w} need {} noise values, not {}",
                ids.len(),
                n * size,
                noise.len()
            ),
        ));
    }
    // (n·t, w): x + ε_s, sample after sample (Captum's `repeat_interleave` + noise).
    let noisy: Vec<f32> = noise
        .chunks_exact(size)
        .flat_map(|e| x.iter().zip(e).map(|(a, b)| a + b))
        .collect();
    let mut sum = vec![0f64; size];
    let mut sum_sq = vec![0f64; size];
    let mut add = |a: &mut dyn Iterator<Item = f32>| {
        for ((s, q), v) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(a) {
            let v = v as f64;
            *s += v;
            *q += v * v;
        }
    };
    let mut r = NoiseAttribution {
        attributions: Vec::new(),
        score: f.scores(&x)?[0],
        mean_score: 0.0,
        baseline_score: None,
        mean_delta: None,
        n_steps: None,
        internal_batch_size: None,
    };
    let mut scores = Vec::with_capacity(n);
    match opts.base {
        NoiseBase::Saliency | NoiseBase::InputXGradient => {
            let batch = (DEFAULT_BATCH_BYTES / f.bytes_per_point().max(1)).clamp(1, n);
            for xs in noisy.chunks(batch * size) {
                let (s, g) = with_tape(|tape| f.scores_and_gradients(xs, tape, Threads::Pool))?;
                scores.extend(s);
                for (xr, gr) in xs.chunks_exact(size).zip(g.chunks_exact(size)) {
                    match opts.base {
                        NoiseBase::Saliency => add(&mut gr.iter().map(|g| g.abs())),
                        _ => add(&mut xr.iter().zip(gr).map(|(a, g)| a * g)),
                    }
                }
            }
        }
        NoiseBase::Ig => {
            let b = match baseline_ids {
                Some(ids) => f.activation(ids)?,
                None => vec![0.0; size],
            };
            let ends = f.scores(&[noisy.as_slice(), b.as_slice()].concat())?;
            let fb = ends[n] as f64;
            let (mut deltas, mut steps) = (0f64, 0usize);
            for (s, xs) in noisy.chunks_exact(size).enumerate() {
                let plan = IgPlan::from_activations(f, xs.to_vec(), b.clone(), &opts.ig)?;
                let mut driver = IgDriver::new(&plan);
                plan.integrate(f, &mut driver, on_steps)?;
                let attr: Vec<f32> = driver
                    .total()
                    .iter()
                    .zip(plan.diff())
                    .map(|(g, d)| g * d)
                    .collect();
                let total: f64 = attr.iter().map(|&v| v as f64).sum();
                deltas += total - (ends[s] as f64 - fb);
                steps = steps.max(driver.steps());
                r.internal_batch_size = Some(plan.batch());
                add(&mut attr.into_iter());
            }
            scores.extend_from_slice(&ends[..n]);
            r.baseline_score = Some(fb as f32);
            r.mean_delta = Some((deltas / n as f64) as f32);
            r.n_steps = Some(steps);
        }
    }
    r.mean_score = (scores.iter().map(|&v| v as f64).sum::<f64>() / n as f64) as f32;
    // Per element: E[a], or E[a²] − E[a]² (Captum's `_compute_smoothing`).
    let combined: Vec<f64> = sum
        .iter()
        .zip(&sum_sq)
        .map(|(&s, &q)| {
            let (mean, mean_sq) = (s / n as f64, q / n as f64);
            match opts.nt_type {
                NtType::SmoothGrad => mean,
                NtType::VarGrad => mean_sq - mean * mean,
            }
        })
        .collect();
    r.attributions = combined
        .chunks_exact(w)
        .map(|row| {
            (match (opts.base, opts.norm) {
                (NoiseBase::Saliency, SaliencyNorm::L2) => {
                    row.iter().map(|v| v * v).sum::<f64>().sqrt()
                }
                (NoiseBase::Saliency, SaliencyNorm::L1) => row.iter().map(|v| v.abs()).sum(),
                _ => row.iter().sum(),
            }) as f32
        })
        .collect();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_reproducible_and_scaled() {
        let a = draw_noise(3, 4, 1000, 0.5);
        assert_eq!(a, draw_noise(3, 4, 1000, 0.5));
        assert_ne!(a, draw_noise(4, 4, 1000, 0.5));
        // The samples differ from one another.
        assert_ne!(a[..1000], a[1000..2000]);
        let n = a.len() as f64;
        let mean = a.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = a.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.02, "{}", var.sqrt());
        assert!(draw_noise(3, 2, 10, 0.0).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn options_are_checked() {
        let ok = NoiseOptions {
            nt_type: NtType::SmoothGrad,
            base: NoiseBase::Saliency,
            nt_samples: DEFAULT_NT_SAMPLES,
            stdevs: DEFAULT_STDEVS,
            seed: 0,
            norm: SaliencyNorm::L2,
            ig: IgOptions::default(),
        };
        assert!(ok.check().is_ok());
        let e = NoiseOptions {
            nt_samples: 0,
            ..ok
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("at least 1"), "{e}");
        for s in [-0.1, f64::NAN, f64::INFINITY] {
            assert!(NoiseOptions { stdevs: s, ..ok }.check().is_err(), "{s}");
        }
        for name in NoiseBase::NAMES {
            assert_eq!(NoiseBase::parse(name).unwrap().name(), *name);
        }
        assert!(NoiseBase::parse("rollout").is_err());
    }
}

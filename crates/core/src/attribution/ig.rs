//! Integrated Gradients (Sundararajan et al. 2017) at a layer, as Captum's
//! `LayerIntegratedGradients`:
//!
//! attr_i = (x_i − x′_i) · Σ_k w_k ∂F(x′ + α_k (x − x′)) / ∂x_i
//!
//! with (α_k, w_k) from [`Integration::rule`], the steps evaluated in
//! batches of `internal_batch_size`, and the convergence delta
//! Σ attr − (F(x) − F(x′)) reported always.

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::quadrature::Integration;
use super::{
    input_and_baseline, per_token_sum, scores, scores_and_gradients, Baseline, TargetOutput,
};
use crate::classifier::{AttributionLayer, Classifier};
use crate::error::{Error, Result};
use crate::tokenizer::Tokenized;

/// Options under Captum's names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IgOptions {
    pub n_steps: usize,
    pub method: Integration,
    /// Steps per forward/backward pass; `None` chooses the largest batch
    /// that fits [`DEFAULT_BATCH_BYTES`].
    pub internal_batch_size: Option<usize>,
    pub baseline: Baseline,
    pub layer: AttributionLayer,
    pub output: TargetOutput,
}

impl Default for IgOptions {
    fn default() -> Self {
        Self {
            n_steps: 50,
            method: Integration::GaussLegendre,
            internal_batch_size: None,
            baseline: Baseline::Pad,
            layer: AttributionLayer::Embeddings,
            output: TargetOutput::Logit,
        }
    }
}

/// The memory one batch of steps may take, activations kept for the backward pass.
pub const DEFAULT_BATCH_BYTES: usize = 384 << 20;

/// Integrated Gradients of one input for one class.
#[derive(Debug, Clone, PartialEq)]
pub struct IgAttribution {
    /// Per token: the attribution summed over the hidden dimension.
    pub attributions: Vec<f32>,
    /// Σ attributions − (F(x) − F(x′)).
    pub delta: f32,
    /// F(x) and F(x′).
    pub score: f32,
    pub baseline_score: f32,
    pub n_steps: usize,
    pub internal_batch_size: usize,
}

/// An estimate of the bytes one step of `t` tokens keeps alive through the
/// backward pass: per layer, a handful of `(t, hidden)` and `(t, intermediate)`
/// activations and the `(heads, t, t)` scores and probabilities.
pub fn bytes_per_step(model: &Classifier, t: usize) -> usize {
    let cfg = &model.config().model;
    let (h, i, heads) = (cfg.hidden_size(), cfg.intermediate_size(), cfg.num_heads());
    let per_layer = 14 * t * h + 4 * t * i + 4 * heads * t * t;
    4 * (cfg.num_layers() * per_layer + 4 * t * h)
}

pub fn integrated_gradients(
    model: &Classifier,
    input: &Tokenized,
    target: usize,
    opts: &IgOptions,
) -> Result<IgAttribution> {
    let (alphas, weights) = opts.method.rule(opts.n_steps)?;
    let batch = match opts.internal_batch_size {
        Some(0) => return Err(Error::option("internal_batch_size", "must be at least 1")),
        Some(b) => b.min(opts.n_steps),
        None => {
            (DEFAULT_BATCH_BYTES / bytes_per_step(model, input.len()).max(1)).clamp(1, opts.n_steps)
        }
    };
    let (x, b) = input_and_baseline(model, opts.layer, input, opts.baseline)?; // (1, t, h)
    let diff = (&x - &b)?;
    let (_, t, h) = x.dims3()?;
    let mut total = Tensor::zeros((t, h), DType::F32, &Device::Cpu)?;
    for (a, w) in alphas.chunks(batch).zip(weights.chunks(batch)) {
        let k = a.len();
        let a = Tensor::from_iter(a.iter().map(|&v| v as f32), &Device::Cpu)?.reshape((k, 1, 1))?;
        let w = Tensor::from_iter(w.iter().map(|&v| v as f32), &Device::Cpu)?.reshape((k, 1, 1))?;
        // scaled_features = baseline + alpha * (input - baseline)
        let xs = b.broadcast_add(&diff.broadcast_mul(&a)?)?; // (k, t, h)
        let (_, grads) = scores_and_gradients(model, opts.layer, &xs, input, target, opts.output)?;
        total = (total + grads.broadcast_mul(&w)?.sum(0)?)?;
    }
    let attr = total.broadcast_mul(&diff.squeeze(0)?)?; // (t, h)
    let attributions = per_token_sum(&attr)?;
    let ends = scores(
        model,
        opts.layer,
        &Tensor::cat(&[&x, &b], 0)?,
        input,
        target,
        opts.output,
    )?
    .to_vec1::<f32>()?;
    let sum: f64 = attributions.iter().map(|&v| v as f64).sum();
    let delta = (sum - (ends[0] as f64 - ends[1] as f64)) as f32;
    Ok(IgAttribution {
        attributions,
        delta,
        score: ends[0],
        baseline_score: ends[1],
        n_steps: opts.n_steps,
        internal_batch_size: batch,
    })
}

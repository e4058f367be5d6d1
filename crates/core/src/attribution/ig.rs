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

/// One Integrated Gradients computation, cut so that its steps can be run
/// in pieces: a few at a time with progress in between, or spread over
/// several workers, whose weighted gradient sums add up.
pub struct IgPlan {
    alphas: Vec<f64>,
    weights: Vec<f64>,
    x: Tensor,    // (1, t, h): the input's activation at the layer
    b: Tensor,    // (1, t, h): the baseline's
    diff: Tensor, // (1, t, h): x − b
    target: usize,
    opts: IgOptions,
    batch: usize,
}

impl IgPlan {
    pub fn new(
        model: &Classifier,
        input: &Tokenized,
        target: usize,
        opts: &IgOptions,
    ) -> Result<Self> {
        let (alphas, weights) = opts.method.rule(opts.n_steps)?;
        let batch = match opts.internal_batch_size {
            Some(0) => return Err(Error::option("internal_batch_size", "must be at least 1")),
            Some(b) => b.min(opts.n_steps),
            None => (DEFAULT_BATCH_BYTES / bytes_per_step(model, input.len()).max(1))
                .clamp(1, opts.n_steps),
        };
        if target >= model.labels().len() {
            return Err(Error::UnknownTarget {
                target: target.to_string(),
                labels: model.labels().to_vec(),
            });
        }
        let (x, b) = input_and_baseline(model, opts.layer, input, opts.baseline)?;
        let diff = (&x - &b)?;
        Ok(Self {
            alphas,
            weights,
            x,
            b,
            diff,
            target,
            opts: *opts,
            batch,
        })
    }

    /// The number of steps (points of the quadrature).
    pub fn steps(&self) -> usize {
        self.alphas.len()
    }

    /// The length of a gradient sum: tokens × hidden size.
    pub fn size(&self) -> usize {
        self.x.elem_count()
    }

    /// Steps per forward/backward pass.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Σ_k w_k ∂F(x′ + α_k (x − x′))/∂x over the steps `range`, flat `(t·h)`.
    pub fn gradient_sum(
        &self,
        model: &Classifier,
        input: &Tokenized,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<f32>> {
        let (_, t, h) = self.x.dims3()?;
        let range = range.start.min(self.steps())..range.end.min(self.steps());
        let mut total = Tensor::zeros((t, h), DType::F32, &Device::Cpu)?;
        let (alphas, weights) = (&self.alphas[range.clone()], &self.weights[range]);
        for (a, w) in alphas.chunks(self.batch).zip(weights.chunks(self.batch)) {
            let k = a.len();
            let a =
                Tensor::from_iter(a.iter().map(|&v| v as f32), &Device::Cpu)?.reshape((k, 1, 1))?;
            let w =
                Tensor::from_iter(w.iter().map(|&v| v as f32), &Device::Cpu)?.reshape((k, 1, 1))?;
            // scaled_features = baseline + alpha * (input - baseline)
            let xs = self.b.broadcast_add(&self.diff.broadcast_mul(&a)?)?; // (k, t, h)
            let (_, grads) = scores_and_gradients(
                model,
                self.opts.layer,
                &xs,
                input,
                self.target,
                self.opts.output,
            )?;
            total = (total + grads.broadcast_mul(&w)?.sum(0)?)?;
        }
        Ok(total.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Attributions from the weighted gradient sum of every step:
    /// (x − x′) ⊙ total, summed over the hidden dimension, and the delta.
    pub fn finish(
        &self,
        model: &Classifier,
        input: &Tokenized,
        total: &[f32],
    ) -> Result<IgAttribution> {
        let (_, t, h) = self.x.dims3()?;
        if total.len() != t * h {
            return Err(Error::option(
                "total",
                format!("expected {} gradient values, got {}", t * h, total.len()),
            ));
        }
        let total = Tensor::from_slice(total, (t, h), &Device::Cpu)?;
        let attr = total.broadcast_mul(&self.diff.squeeze(0)?)?; // (t, h)
        let attributions = per_token_sum(&attr)?;
        let both = Tensor::cat(&[&self.x, &self.b], 0)?;
        let ends = scores(
            model,
            self.opts.layer,
            &both,
            input,
            self.target,
            self.opts.output,
        )?
        .to_vec1::<f32>()?;
        let sum: f64 = attributions.iter().map(|&v| v as f64).sum();
        let delta = (sum - (ends[0] as f64 - ends[1] as f64)) as f32;
        Ok(IgAttribution {
            attributions,
            delta,
            score: ends[0],
            baseline_score: ends[1],
            n_steps: self.steps(),
            internal_batch_size: self.batch,
        })
    }
}

pub fn integrated_gradients(
    model: &Classifier,
    input: &Tokenized,
    target: usize,
    opts: &IgOptions,
) -> Result<IgAttribution> {
    let plan = IgPlan::new(model, input, target, opts)?;
    let total = plan.gradient_sum(model, input, 0..plan.steps())?;
    plan.finish(model, input, &total)
}

//! Attribution: which tokens pushed the score of a class, and how hard.
//!
//! As in Captum, three separable pieces: [`quadrature`] (pure: points and
//! weights), the bare algorithms ([`ig`], [`gradient`]) that interpolate,
//! differentiate, weigh and sum, and batching of the steps. Gradients are
//! taken with respect to a layer's activation only, never the weights.

pub mod gradient;
pub mod ig;
pub mod quadrature;
pub mod rollout;

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::classifier::{AttributionLayer, Classifier};
use crate::config::Output;
use crate::error::{Error, Result};
use crate::tokenizer::Tokenized;

/// The reference input x′ of Integrated Gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// `[CLS] [PAD] … [PAD] [SEP]`: special tokens kept, the rest padding
    /// (Captum's BERT tutorial).
    #[default]
    Pad,
    /// Every token, special ones too, replaced by padding.
    PadAll,
    /// `[CLS] [MASK] … [MASK] [SEP]`.
    Mask,
    /// Zero activations at the attributed layer.
    Zero,
}

impl Baseline {
    pub const NAMES: &'static [&'static str] = &["pad", "pad-all", "mask", "zero"];

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pad" => Self::Pad,
            "pad-all" => Self::PadAll,
            "mask" => Self::Mask,
            "zero" => Self::Zero,
            other => {
                return Err(Error::option(
                    "baseline",
                    format!("{other:?} is not one of {}", Self::NAMES.join(", ")),
                ))
            }
        })
    }

    /// The baseline's token ids, or `None` for [`Baseline::Zero`].
    pub fn ids(self, model: &Classifier, input: &Tokenized) -> Result<Option<Vec<u32>>> {
        let tok = model.tokenizer();
        let replace = |with: u32| -> Vec<u32> {
            input
                .ids
                .iter()
                .zip(&input.special)
                .map(|(&id, &special)| if special { id } else { with })
                .collect()
        };
        Ok(match self {
            Self::Pad => Some(replace(tok.pad_id())),
            Self::PadAll => Some(vec![tok.pad_id(); input.len()]),
            Self::Mask => Some(replace(tok.mask_id().ok_or(
                Error::MissingSpecialToken {
                    role: "mask",
                    candidates: "[MASK], <mask>".into(),
                },
            )?)),
            Self::Zero => None,
        })
    }
}

/// Which number of the model is attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TargetOutput {
    /// The target's logit (pre-softmax score).
    #[default]
    Logit,
    /// The target's probability (softmax or sigmoid of the logits).
    Probability,
}

/// The layer activation `(1, t, h)` of the input and of the baseline.
pub fn input_and_baseline(
    model: &Classifier,
    layer: AttributionLayer,
    input: &Tokenized,
    baseline: Baseline,
) -> Result<(Tensor, Tensor)> {
    let x = model.layer_input(layer, input, &input.ids)?;
    let b = match baseline.ids(model, input)? {
        Some(ids) => model.layer_input(layer, input, &ids)?,
        None => x.zeros_like()?,
    };
    Ok((x, b))
}

/// The attributed score `(n,)` of `(n, t, h)` activations of `layer`.
pub fn scores(
    model: &Classifier,
    layer: AttributionLayer,
    x: &Tensor,
    input: &Tokenized,
    target: usize,
    output: TargetOutput,
) -> Result<Tensor> {
    let logits = model.logits_from(layer, x, input, None)?; // (n, classes)
    let picked = match output {
        TargetOutput::Logit => logits,
        TargetOutput::Probability => match model.output() {
            Output::Softmax | Output::Sigmoid => model.probabilities(&logits)?,
        },
    };
    Ok(picked.narrow(1, target, 1)?.squeeze(1)?)
}

/// Scores `(n,)` and their gradients `(n, t, h)` with respect to the
/// activations `x` of `layer`. The `n` rows are independent inputs, so the
/// gradient of their sum is, row by row, the gradient of each.
pub fn scores_and_gradients(
    model: &Classifier,
    layer: AttributionLayer,
    x: &Tensor,
    input: &Tokenized,
    target: usize,
    output: TargetOutput,
) -> Result<(Vec<f32>, Tensor)> {
    let var = Var::from_tensor(x)?;
    let s = scores(model, layer, var.as_tensor(), input, target, output)?;
    let grads = s.sum_all()?.backward()?;
    let g = match grads.get(var.as_tensor()) {
        Some(g) => g.clone(),
        // The score does not depend on the layer at all (e.g. a ReLU head
        // that is off): the gradient is zero.
        None => x.zeros_like()?,
    };
    Ok((s.to_vec1::<f32>()?, g))
}

/// Per-token sums `(t,)` of a `(1, t, h)` or `(t, h)` tensor.
pub(crate) fn per_token_sum(t: &Tensor) -> Result<Vec<f32>> {
    let (tokens, h) = (t.dims()[t.rank() - 2], t.dims()[t.rank() - 1]);
    Ok(t.reshape((tokens, h))?.sum(1)?.to_vec1::<f32>()?)
}

/// `v / ‖v‖₂` (all zeros stay zeros).
pub fn l2_normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return v.to_vec();
    }
    v.iter().map(|x| (*x as f64 / norm) as f32).collect()
}

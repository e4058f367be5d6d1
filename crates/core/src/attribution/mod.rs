//! Attribution: which tokens pushed the score of a class, and how hard.
//!
//! As in Captum, three separable pieces: [`quadrature`] (pure: points and
//! weights), the bare algorithms ([`ig`], [`gradient`]) that interpolate,
//! differentiate, weigh and sum, and batching of the steps. Gradients are
//! taken with respect to a layer's activation only, never the weights.

pub mod adaptive;
pub mod gradient;
pub mod ig;
pub mod quadrature;
pub mod rollout;

use serde::{Deserialize, Serialize};

use crate::classifier::{AttributionLayer, Classifier};
use crate::config::Output;
use crate::engine::{Tape, Threads};
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

/// The layer activation `(t, h)` of the input and of the baseline.
pub fn input_and_baseline(
    model: &Classifier,
    layer: AttributionLayer,
    input: &Tokenized,
    baseline: Baseline,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let x = model.layer_input(layer, input, &input.ids)?;
    let b = match baseline.ids(model, input)? {
        Some(ids) => model.layer_input(layer, input, &ids)?,
        None => vec![0.0; x.len()],
    };
    Ok((x, b))
}

/// The model's output function when the probability is attributed.
fn probability(model: &Classifier, output: TargetOutput) -> Option<Output> {
    match output {
        TargetOutput::Logit => None,
        TargetOutput::Probability => Some(model.output()),
    }
}

/// The attributed score `(n,)` of `n` activations of `layer`, `(n·t, h)`.
pub fn scores(
    model: &Classifier,
    layer: AttributionLayer,
    xs: &[f32],
    input: &Tokenized,
    target: usize,
    output: TargetOutput,
) -> Vec<f32> {
    let logits = model.logits_from(layer, xs, input, None);
    let classes = model.labels().len();
    crate::engine::head::score(&logits, classes, target, probability(model, output)).0
}

/// Scores `(n,)` and their gradients `(n·t, h)` with respect to the
/// activations `xs` of `layer`: the `n` rows are independent inputs.
#[allow(clippy::too_many_arguments)]
pub fn scores_and_gradients(
    model: &Classifier,
    layer: AttributionLayer,
    xs: &[f32],
    input: &Tokenized,
    target: usize,
    output: TargetOutput,
    tape: &mut Tape,
    threads: Threads,
) -> (Vec<f32>, Vec<f32>) {
    let net = model.network();
    let positions = net.encoder.position_ids(&input.ids);
    net.scores_and_gradients(
        xs,
        layer,
        &positions,
        &input.type_ids,
        target,
        probability(model, output),
        tape,
        threads,
    )
}

/// Per-token sums `(t,)` of `(t, h)` values.
pub(crate) fn per_token_sum(v: &[f32], h: usize) -> Vec<f32> {
    v.chunks_exact(h).map(|row| row.iter().sum()).collect()
}

/// `v / ‖v‖₂` (all zeros stay zeros).
pub fn l2_normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return v.to_vec();
    }
    v.iter().map(|x| (*x as f64 / norm) as f32).collect()
}

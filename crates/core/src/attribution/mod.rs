//! Attribution: which tokens pushed a score of the model, and how hard.
//!
//! As in Captum, three separable pieces: [`quadrature`] (pure: points and
//! weights), the bare algorithms ([`ig`], [`gradient`]) that interpolate,
//! differentiate, weigh and sum, and batching of the steps; [`noise`]
//! runs them on noisy copies of the input (SmoothGrad, VarGrad). The
//! perturbation methods ([`occlusion`], [`shapley`], KernelSHAP and LIME
//! in [`sampled`], fitting the [`surrogate`] models) score inputs with
//! features removed ([`ablation`]), forward passes only. They talk to
//! the model through [`Differentiable`], Captum's `forward_func` at a
//! layer: the scalar F of an activation and its gradient. [`ForwardFunc`]
//! is the engine's, for any task's scalar (a class's logit, a token's
//! label, a filler at a mask, an answer's start or end).
//!
//! Two methods read the attention of the forward pass instead of a score:
//! [`rollout`] (the product of the layers' residual attention) and
//! [`flow`] (the maximum flow through them).

pub mod ablation;
pub mod adaptive;
pub mod flow;
pub mod gradient;
pub mod ig;
pub mod noise;
pub mod occlusion;
pub mod path;
pub mod quadrature;
pub mod rollout;
pub mod sampled;
pub mod shapley;
pub mod surrogate;

use serde::{Deserialize, Serialize};

use crate::engine::{Objective, Rows, Shared, Tape, Threads};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tokenizer::Tokenized;
use crate::types::{AttributionLayer, Output, Task};

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
    pub fn ids(self, model: &Model, input: &Tokenized) -> Result<Option<Vec<u32>>> {
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

/// Captum's `forward_func` at a layer: the scalar F of one input given by
/// its activation x at the attributed layer, and ∂F/∂x. IG, saliency and
/// input × gradient are written against it alone.
pub trait Differentiable: Sync {
    /// The width of one token's activation.
    fn width(&self) -> usize;
    /// The activation for token ids (the input's, or a baseline's), `(t, width)`.
    fn activation(&self, ids: &[u32]) -> Result<Vec<f32>>;
    /// F at `n` activations, `(n·t, width)`.
    fn scores(&self, xs: &[f32]) -> Result<Vec<f32>>;
    /// F and ∂F/∂x at `n` activations (the `n` rows are independent inputs).
    fn scores_and_gradients(
        &self,
        xs: &[f32],
        tape: &mut Tape,
        threads: Threads,
    ) -> Result<(Vec<f32>, Vec<f32>)>;
    /// Bytes one activation keeps alive through its backward pass.
    fn bytes_per_point(&self) -> usize;
}

/// What is attributed: logit `class` of the head at `rows`, or its
/// probability; with a `contrast`, minus the contrast's (with [`Rows::All`],
/// an output is `token · classes + class`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    pub rows: Rows,
    pub class: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contrast: Option<usize>,
    pub output: TargetOutput,
}

/// The engine's [`Differentiable`]: one input of a [`Model`], entered at
/// `layer`, scored by a [`Scalar`].
pub struct ForwardFunc<'a> {
    pub model: &'a Model,
    pub input: &'a Tokenized,
    pub layer: AttributionLayer,
    objective: Objective,
    positions: Vec<u32>,
}

impl<'a> ForwardFunc<'a> {
    pub fn new(
        model: &'a Model,
        input: &'a Tokenized,
        layer: AttributionLayer,
        scalar: Scalar,
    ) -> Result<Self> {
        let head = model.network().head.as_ref().ok_or(Error::NoHead)?;
        let outputs = scalar.rows.outputs(head.classes(), input.len());
        for (what, k) in [
            ("target", Some(scalar.class)),
            ("contrast", scalar.contrast),
        ] {
            if let Some(k) = k.filter(|&k| k >= outputs) {
                return Err(Error::option(
                    what,
                    format!("output {k} is not below the head's {outputs} outputs"),
                ));
            }
        }
        if scalar.contrast == Some(scalar.class) {
            return Err(Error::option(
                "contrast",
                "the contrast is the target itself: their difference is zero",
            ));
        }
        if let Rows::Token(i) = scalar.rows {
            if i >= input.len() {
                return Err(Error::option(
                    "token",
                    format!("token {i} is not below the input's {} tokens", input.len()),
                ));
            }
        }
        let probability = match (scalar.output, model.task()) {
            (TargetOutput::Logit, _) => None,
            (TargetOutput::Probability, Task::QuestionAnswering) => {
                return Err(Error::option(
                    "output",
                    "question answering attributes the start and end logits, not probabilities",
                ))
            }
            // Over a token's labels or the vocabulary: always a softmax.
            (TargetOutput::Probability, Task::TokenClassification | Task::FillMask) => {
                Some(Output::Softmax)
            }
            (TargetOutput::Probability, _) => Some(model.output()),
        };
        Ok(Self {
            model,
            input,
            layer,
            objective: Objective {
                rows: scalar.rows,
                class: scalar.class,
                contrast: scalar.contrast,
                probability,
            },
            positions: model.positions(&input.ids),
        })
    }

    fn shared(&self) -> Shared<'_> {
        Shared {
            positions: &self.positions,
            types: &self.input.type_ids,
        }
    }
}

impl Differentiable for ForwardFunc<'_> {
    fn width(&self) -> usize {
        self.model.width(self.layer)
    }

    fn activation(&self, ids: &[u32]) -> Result<Vec<f32>> {
        self.model.layer_input(self.layer, self.input, ids)
    }

    fn scores(&self, xs: &[f32]) -> Result<Vec<f32>> {
        let net = self.model.network();
        let (shared, rows) = (self.shared(), self.objective.rows);
        let on_gpu = self
            .model
            .placement()
            .logits(net, xs, self.layer, shared, rows);
        let logits = match on_gpu {
            Some(logits) => logits,
            None => net.logits(xs, self.layer, shared, rows, None, Threads::Pool)?,
        };
        let o = &self.objective;
        let classes = net.head.as_ref().map_or(1, |h| h.classes());
        let outputs = o.rows.outputs(classes, self.input.len());
        Ok(crate::engine::head::score(&logits, outputs, o.class, o.contrast, o.probability).0)
    }

    fn scores_and_gradients(
        &self,
        xs: &[f32],
        tape: &mut Tape,
        threads: Threads,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let net = self.model.network();
        let placement = self.model.placement();
        if let Some(r) =
            placement.scores_and_gradients(net, xs, self.layer, self.shared(), self.objective)
        {
            return Ok(r);
        }
        net.scores_and_gradients(xs, self.layer, self.shared(), self.objective, tape, threads)
    }

    fn bytes_per_point(&self) -> usize {
        Tape::bytes(&self.model.network().encoder, 1, self.input.len())
    }
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

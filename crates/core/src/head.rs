//! Classifier heads: how hidden states become class scores.
//!
//! A head is a pooling step followed by a short list of layers, written in
//! `head.json` with full checkpoint key names so that any head can be
//! grepped back to its weights:
//!
//! ```json
//! { "encoder": "bert", "pool": "mean",
//!   "layers": [ {"linear": "classifier.0"}, {"activation": "relu"}, {"linear": "classifier.2"} ],
//!   "labels": ["negative", "positive"] }
//! ```
//!
//! Hugging Face's `*ForSequenceClassification` heads are built in (see
//! [`HeadSpec::for_architecture`]); `head.json` is for everything else
//! (custom PyTorch modules, scikit-learn heads converted to safetensors).

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use crate::config::{Activation, Output};
use crate::error::{Error, Result};
use crate::models::ops::{activation, Linear};
use crate::weights::Vb;

/// How the `(n, t, h)` hidden states become one `(n, h)` vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// The first token's state (`[CLS]`, `<s>`).
    Cls,
    /// The mean over all tokens (sentence-transformers' mean pooling; bertlens never pads).
    Mean,
}

/// One step of a head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadLayer {
    /// `nn.Linear` whose `weight` and `bias` live under this key.
    Linear(String),
    Activation(Activation),
    /// `F.normalize(x, p=2, dim=-1)`: divide by the L2 norm.
    Normalize(Norm),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    L2,
}

/// `head.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadSpec {
    /// Key prefix of the encoder's tensors (`"bert"`, `"distilbert"`, `""`).
    /// When absent it is found from the weights.
    #[serde(default)]
    pub encoder: Option<String>,
    pub pool: Pool,
    pub layers: Vec<HeadLayer>,
    #[serde(default)]
    pub output: Option<Output>,
    /// Class names in index order; otherwise config.json's `id2label`.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// A cap on input tokens below the model's own (e.g. sentence-transformers' `max_seq_length`).
    #[serde(default)]
    pub max_tokens: Option<usize>,
}

impl HeadSpec {
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let spec: Self = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                Error::json("head.json", e)
            } else {
                Error::config("head.json", e.to_string())
            }
        })?;
        if spec.layers.is_empty() {
            return Err(Error::HeadSpec(
                "`layers` is empty: a head needs at least one linear layer".into(),
            ));
        }
        Ok(spec)
    }

    /// The head transformers builds for a `*ForSequenceClassification`
    /// architecture, or `None` for an architecture without one.
    pub fn for_architecture(architecture: &str) -> Option<Self> {
        use HeadLayer::*;
        let lin = |s: &str| Linear(s.to_string());
        let (encoder, layers) = match architecture {
            // BertForSequenceClassification: pooler (dense + tanh) on [CLS], then classifier.
            "BertForSequenceClassification" => (
                "bert",
                vec![
                    lin("bert.pooler.dense"),
                    Activation(crate::config::Activation::Tanh),
                    lin("classifier"),
                ],
            ),
            // DistilBertForSequenceClassification: pre_classifier + ReLU on [CLS], then classifier.
            "DistilBertForSequenceClassification" => (
                "distilbert",
                vec![
                    lin("pre_classifier"),
                    Activation(crate::config::Activation::Relu),
                    lin("classifier"),
                ],
            ),
            // RobertaClassificationHead: dense + tanh on <s>, then out_proj.
            "RobertaForSequenceClassification"
            | "XLMRobertaForSequenceClassification"
            | "CamembertForSequenceClassification" => (
                "roberta",
                vec![
                    lin("classifier.dense"),
                    Activation(crate::config::Activation::Tanh),
                    lin("classifier.out_proj"),
                ],
            ),
            _ => return None,
        };
        Some(Self {
            encoder: Some(encoder.to_string()),
            pool: Pool::Cls,
            layers,
            output: None,
            labels: None,
            max_tokens: None,
        })
    }
}

enum Step {
    Linear(Linear),
    Activation(Activation),
    Normalize,
}

/// A loaded head.
pub struct Head {
    pool: Pool,
    steps: Vec<Step>,
    num_classes: usize,
}

impl Head {
    /// Loads the head's layers from the root of the weights, checking each
    /// layer's input width against the one before it.
    pub fn load(vb: &Vb, spec: &HeadSpec, hidden: usize) -> Result<Self> {
        let mut width = hidden;
        let mut steps = Vec::with_capacity(spec.layers.len());
        let mut num_classes = None;
        for (i, layer) in spec.layers.iter().enumerate() {
            steps.push(match layer {
                HeadLayer::Linear(name) => {
                    let dims = vb.pp(name).dims("weight").ok_or_else(|| {
                        Error::HeadSpec(format!(
                            "layer {i} is `{name}`, but the weights have no `{name}.weight`"
                        ))
                    })?;
                    let [out, inp] = dims[..] else {
                        return Err(Error::HeadSpec(format!(
                            "layer {i}: `{name}.weight` has shape {dims:?}, expected a matrix"
                        )));
                    };
                    if inp != width {
                        return Err(Error::HeadSpec(format!(
                            "layer {i}: `{name}.weight` has shape {dims:?} and takes {inp} inputs, \
                             but the layer before gives {width}"
                        )));
                    }
                    width = out;
                    num_classes = Some(out);
                    Step::Linear(Linear::load(&vb.pp(name), inp, out)?)
                }
                HeadLayer::Activation(a) => Step::Activation(*a),
                HeadLayer::Normalize(Norm::L2) => Step::Normalize,
            });
        }
        let num_classes = num_classes.ok_or_else(|| {
            Error::HeadSpec("the head has no linear layer, so it has no classes".into())
        })?;
        Ok(Self {
            pool: spec.pool,
            steps,
            num_classes,
        })
    }

    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// The same head laid out for the fast path.
    pub fn export(&self) -> Result<crate::engine::Head> {
        use crate::engine::head::Step as E;
        let steps = self
            .steps
            .iter()
            .map(|s| {
                Ok(match s {
                    Step::Linear(l) => E::Linear(crate::engine::Linear::from_reference(l)?),
                    Step::Activation(a) => E::Activation(*a),
                    Step::Normalize => E::Normalize,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::engine::Head {
            pool: self.pool,
            steps,
        })
    }

    /// `(n, t, h)` hidden states → `(n, classes)` logits.
    pub fn forward(&self, hidden: &Tensor) -> Result<Tensor> {
        let mut x = match self.pool {
            Pool::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pool::Mean => hidden.mean(1)?,
        }; // (n, h)
        for step in &self.steps {
            x = match step {
                Step::Linear(l) => l.forward(&x)?,
                Step::Activation(a) => activation(&x, *a)?,
                // F.normalize: x / max(‖x‖₂, 1e-12)
                Step::Normalize => {
                    let norm = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
                    x.broadcast_div(&norm)?
                }
            };
        }
        Ok(x)
    }
}

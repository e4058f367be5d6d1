//! `head.json`: how a head transformers does not build itself is made, with
//! full checkpoint key names so that any head can be grepped back to its
//! weights:
//!
//! ```json
//! { "encoder": "bert", "pool": "mean",
//!   "layers": [ {"linear": "classifier.0"}, {"activation": "relu"}, {"linear": "classifier.2"} ],
//!   "labels": ["negative", "positive"] }
//! ```
//!
//! Hugging Face's own heads are built by their family
//! ([`crate::families::Architecture::head`]); `head.json` is for everything
//! else (custom PyTorch modules, scikit-learn heads converted to safetensors).

use serde::{Deserialize, Serialize};

use crate::engine::{Bias, Head};
use crate::error::{Error, Result};
use crate::families::HeadBuilder;
use crate::types::{Activation, Output, Pool, Task};
use crate::weights::Keys;

/// One step of a head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadLayer {
    /// `nn.Linear` whose `weight` (and `bias`, if it has one) live under this key.
    Linear(String),
    Activation(Activation),
    /// `nn.LayerNorm` under this key (PyTorch's default eps, 1e-5).
    LayerNorm(String),
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
    /// What the head does: `sequence-classification` (the default) or
    /// `token-classification` (with `"pool": "none"`).
    #[serde(default)]
    pub task: Option<Task>,
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
        if !spec
            .layers
            .iter()
            .any(|l| matches!(l, HeadLayer::Linear(_)))
        {
            return Err(Error::HeadSpec(
                "the head has no linear layer, so it has no classes".into(),
            ));
        }
        match (spec.task(), spec.pool) {
            (Task::SequenceClassification, Pool::Cls | Pool::Mean)
            | (Task::TokenClassification, Pool::None) => Ok(spec),
            (Task::SequenceClassification | Task::TokenClassification, _) => Err(Error::HeadSpec(
                "a sequence-classification head pools (\"cls\" or \"mean\"); a \
                 token-classification head does not (\"none\")"
                    .into(),
            )),
            (task, _) => Err(Error::HeadSpec(format!(
                "head.json describes sequence- or token-classification heads, not {task}"
            ))),
        }
    }

    pub fn task(&self) -> Task {
        self.task.unwrap_or(Task::SequenceClassification)
    }

    /// The head, from the root of the weights, each layer's input width
    /// checked against the one before it.
    pub fn build(&self, keys: &Keys, hidden: usize) -> Result<Head> {
        let mut b = HeadBuilder::new(keys, self.task(), self.pool, hidden);
        for (i, layer) in self.layers.iter().enumerate() {
            let at = |e: Error| match e {
                Error::HeadSpec(m) => Error::HeadSpec(format!("layer {i}: {m}")),
                e => e,
            };
            b = match layer {
                HeadLayer::Linear(name) => {
                    if !keys.contains(&format!("{name}.weight")) {
                        return Err(Error::HeadSpec(format!(
                            "layer {i} is `{name}`, but the weights have no `{name}.weight`"
                        )));
                    }
                    let bias = Bias::from(keys.contains(&format!("{name}.bias")));
                    b.linear(name, bias).map_err(at)?
                }
                HeadLayer::Activation(a) => b.act(*a),
                HeadLayer::LayerNorm(name) => {
                    let bias = Bias::from(keys.contains(&format!("{name}.bias")));
                    b.layer_norm(name, 1e-5, bias).map_err(at)?
                }
                HeadLayer::Normalize(Norm::L2) => b.normalize(),
            };
        }
        Ok(b.build().expect("a builder always builds"))
    }
}

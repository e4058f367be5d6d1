//! The reference implementation: BERT, RoBERTa and DistilBERT as candle
//! tensors, their gradients from candle's autograd. Slow (a graph, every
//! intermediate, and weight gradients thrown away), and independent of
//! [`crate::engine`]: the tests hold the fast path to it, and both to
//! finite differences. Built only with the `reference` feature (the tests
//! turn it on); the page and the CLI never carry it.
//!
//! It is written only with tensor ops whose backward candle implements
//! correctly: candle's fused `softmax_last_dim`, `layer_norm`, `rms_norm`
//! and the `LayerNorm` module return no gradient (or a wrong one) silently.

mod autograd;
pub mod bert;
pub mod distilbert;
mod encoder;
mod head;
pub mod ops;
pub mod vb;

use candle_core::Tensor;

pub use encoder::{Encoder, Trace};
pub use head::Head;

use crate::config::CheckpointConfig;
use crate::error::{Error, Result};
use crate::families;
use crate::files::ModelFiles;
use crate::head_spec::HeadSpec;
use crate::types::{Output, Pool, Task};
use crate::weights::Store;

/// The configs of the families the reference implements.
#[derive(Debug, Clone)]
pub enum Config {
    Bert(families::bert::Config),
    DistilBert(families::distilbert::Config),
}

/// A sequence classifier as its files describe it, in candle tensors.
pub struct Reference {
    pub encoder: Encoder,
    pub head: Head,
    pub output: Output,
    pub hidden: usize,
}

impl Reference {
    /// Loads a BERT, RoBERTa or DistilBERT sequence classifier (built-in or
    /// `head.json` head).
    pub fn load(files: ModelFiles) -> Result<Self> {
        let checkpoint = CheckpointConfig::from_json(&files.config)?;
        let value: serde_json::Value =
            serde_json::from_slice(&files.config).map_err(|e| Error::json("config.json", e))?;
        let config = match checkpoint.model_type.as_str() {
            "distilbert" => Config::DistilBert(families::config(&value)?),
            "bert" | "roberta" | "xlm-roberta" | "camembert" => {
                Config::Bert(families::config(&value)?)
            }
            other => {
                return Err(Error::config(
                    "config.json",
                    format!("the reference has no {other}"),
                ))
            }
        };
        let mut store = Store::default();
        for (name, source) in files.weights {
            store.add(&name, source)?;
        }
        let mut weights = vb::Weights::default();
        for name in store.names() {
            let shape = store.shape(name).expect("listed").to_vec();
            if let Ok(values) = store.read(name, &shape) {
                let t = Tensor::from_vec(values, shape, &candle_core::Device::Cpu)?;
                weights.tensors.insert(name.to_string(), t);
            }
        }
        let spec = match &files.head {
            Some(bytes) => HeadSpec::from_json(bytes)?,
            None => builtin(&checkpoint)?,
        };
        let prefix = spec
            .encoder
            .clone()
            .unwrap_or_else(|| checkpoint.family.prefix().to_string());
        let prefix = if weights.contains(&format!("{prefix}.embeddings.word_embeddings.weight")) {
            prefix
        } else {
            String::new()
        };
        let hidden = checkpoint.dims().hidden;
        Ok(Self {
            encoder: Encoder::load(&weights.vb(&prefix), &config)?,
            head: Head::load(&weights.vb(""), &spec, hidden)?,
            output: spec.output.unwrap_or(checkpoint.output),
            hidden,
        })
    }
}

/// The head transformers builds for the reference's sequence classifiers.
fn builtin(c: &CheckpointConfig) -> Result<HeadSpec> {
    use crate::head_spec::HeadLayer::{Activation as Act, Linear};
    use crate::types::Activation::{Relu, Tanh};
    let lin = |s: &str| Linear(s.to_string());
    let (encoder, layers) = match (c.task, c.model_type.as_str()) {
        (Task::SequenceClassification, "bert") => (
            "bert",
            vec![lin("bert.pooler.dense"), Act(Tanh), lin("classifier")],
        ),
        (Task::SequenceClassification, "distilbert") => (
            "distilbert",
            vec![lin("pre_classifier"), Act(Relu), lin("classifier")],
        ),
        (Task::SequenceClassification, _) => (
            "roberta",
            vec![
                lin("classifier.dense"),
                Act(Tanh),
                lin("classifier.out_proj"),
            ],
        ),
        _ => {
            return Err(Error::config(
                "config.json",
                "the reference implements sequence classifiers only",
            ))
        }
    };
    Ok(HeadSpec {
        encoder: Some(encoder.into()),
        task: None,
        pool: Pool::Cls,
        layers,
        output: None,
        labels: None,
        max_tokens: None,
    })
}

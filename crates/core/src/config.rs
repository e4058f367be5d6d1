//! `config.json`, deserialised straight from the checkpoint as Hugging Face
//! writes it. Each architecture keeps its own field names (`hidden_size` for
//! BERT, `dim` for DistilBERT); [`ModelConfig`] is the sum of them with the
//! accessors the rest of the crate needs.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::models::{bert, distilbert};

/// The `model_type` values bertlens can run.
pub const SUPPORTED_MODEL_TYPES: &[&str] = &["bert", "distilbert", "roberta", "xlm-roberta"];

/// How a classifier turns logits into probabilities (`problem_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// One class per text: softmax over the classes (single_label_classification).
    #[default]
    Softmax,
    /// Any number of classes per text: one sigmoid per class (multi_label_classification).
    Sigmoid,
}

/// The encoder's configuration, one variant per architecture.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelConfig {
    /// BERT and the architectures that share its blocks (RoBERTa, XLM-R).
    Bert(bert::Config),
    DistilBert(distilbert::Config),
}

/// The fields of `config.json` that are not the encoder's: labels and task.
#[derive(Debug, Clone, Default, Deserialize)]
struct TaskFields {
    model_type: Option<String>,
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(default)]
    id2label: BTreeMap<String, String>,
    num_labels: Option<usize>,
    problem_type: Option<String>,
}

/// Everything `config.json` says: the encoder and the task around it.
#[derive(Debug, Clone)]
pub struct CheckpointConfig {
    pub model: ModelConfig,
    pub model_type: String,
    /// The first of `architectures`, e.g. `BertForSequenceClassification`.
    pub architecture: Option<String>,
    /// Class names in index order, when `id2label` gives them.
    pub labels: Option<Vec<String>>,
    pub num_labels: Option<usize>,
    pub output: Output,
}

impl CheckpointConfig {
    /// Parses `config.json` bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        const FILE: &str = "config.json";
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::json(FILE, e))?;
        if !value.is_object() {
            return Err(Error::config(FILE, "expected a JSON object"));
        }
        let task: TaskFields = serde_json::from_value(value.clone())
            .map_err(|e| Error::config(FILE, e.to_string()))?;
        let model_type = match task.model_type.clone() {
            Some(t) => t,
            None => return Err(Error::config(FILE, "`model_type` is missing")),
        };
        let model = match model_type.as_str() {
            "bert" | "roberta" | "xlm-roberta" | "camembert" => {
                let cfg: bert::Config = serde_json::from_value(value)
                    .map_err(|e| Error::config(FILE, e.to_string()))?;
                cfg.validate()?;
                ModelConfig::Bert(cfg)
            }
            "distilbert" => {
                let cfg: distilbert::Config = serde_json::from_value(value)
                    .map_err(|e| Error::config(FILE, e.to_string()))?;
                cfg.validate()?;
                ModelConfig::DistilBert(cfg)
            }
            other => {
                return Err(Error::UnsupportedArchitecture {
                    found: other.to_string(),
                    supported: SUPPORTED_MODEL_TYPES,
                })
            }
        };
        let labels = labels_from_id2label(&task.id2label)?;
        let output = match task.problem_type.as_deref() {
            None | Some("single_label_classification") | Some("regression") => Output::Softmax,
            Some("multi_label_classification") => Output::Sigmoid,
            Some(other) => {
                return Err(Error::config(
                    FILE,
                    format!("unknown problem_type {other:?}"),
                ))
            }
        };
        Ok(Self {
            model,
            model_type,
            architecture: task.architectures.first().cloned(),
            labels,
            num_labels: task.num_labels,
            output,
        })
    }
}

/// `{"0": "NEGATIVE", "1": "POSITIVE"}` → `["NEGATIVE", "POSITIVE"]`.
fn labels_from_id2label(map: &BTreeMap<String, String>) -> Result<Option<Vec<String>>> {
    if map.is_empty() {
        return Ok(None);
    }
    let mut labels = vec![None; map.len()];
    for (k, v) in map {
        let i: usize = k.parse().ok().filter(|&i| i < map.len()).ok_or_else(|| {
            Error::config(
                "config.json",
                format!("id2label key {k:?} is not an index below {}", map.len()),
            )
        })?;
        labels[i] = Some(v.clone());
    }
    Ok(Some(
        labels.into_iter().map(Option::unwrap_or_default).collect(),
    ))
}

impl ModelConfig {
    pub fn hidden_size(&self) -> usize {
        match self {
            Self::Bert(c) => c.hidden_size,
            Self::DistilBert(c) => c.dim,
        }
    }

    pub fn num_layers(&self) -> usize {
        match self {
            Self::Bert(c) => c.num_hidden_layers,
            Self::DistilBert(c) => c.n_layers,
        }
    }

    pub fn num_heads(&self) -> usize {
        match self {
            Self::Bert(c) => c.num_attention_heads,
            Self::DistilBert(c) => c.n_heads,
        }
    }

    pub fn intermediate_size(&self) -> usize {
        match self {
            Self::Bert(c) => c.intermediate_size,
            Self::DistilBert(c) => c.hidden_dim,
        }
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Bert(c) => c.vocab_size,
            Self::DistilBert(c) => c.vocab_size,
        }
    }

    pub fn pad_token_id(&self) -> Option<u32> {
        match self {
            Self::Bert(c) => c.pad_token_id,
            Self::DistilBert(c) => c.pad_token_id,
        }
    }

    /// The longest input, special tokens included, that has position embeddings.
    pub fn max_tokens(&self) -> usize {
        match self {
            Self::Bert(c) => c.max_tokens(),
            Self::DistilBert(c) => c.max_position_embeddings,
        }
    }

    /// The key prefix Hugging Face's `*ForSequenceClassification` gives the encoder.
    pub fn hf_prefix(&self) -> &'static str {
        match self {
            Self::Bert(c) => c.hf_prefix(),
            Self::DistilBert(_) => "distilbert",
        }
    }
}

/// Hidden activations as `transformers.activations.ACT2FN` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
pub enum Activation {
    /// The exact, erf-based GELU (`"gelu"`).
    #[default]
    #[serde(rename = "gelu")]
    Gelu,
    /// The tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`, `"gelu_fast"`).
    #[serde(alias = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    #[serde(rename = "relu")]
    Relu,
    #[serde(rename = "silu", alias = "swish")]
    Silu,
    #[serde(rename = "tanh")]
    Tanh,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_bert_classifier_config() {
        let json = br#"{"model_type":"bert","architectures":["BertForSequenceClassification"],
            "vocab_size":100,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,
            "intermediate_size":37,"hidden_act":"gelu","max_position_embeddings":64,
            "type_vocab_size":2,"layer_norm_eps":1e-12,"pad_token_id":0,
            "id2label":{"1":"POSITIVE","0":"NEGATIVE"}}"#;
        let cfg = CheckpointConfig::from_json(json).unwrap();
        assert_eq!(cfg.labels.unwrap(), vec!["NEGATIVE", "POSITIVE"]);
        assert_eq!(cfg.model.hidden_size(), 32);
        assert_eq!(cfg.model.max_tokens(), 64);
        assert_eq!(cfg.model.hf_prefix(), "bert");
        assert_eq!(cfg.output, Output::Softmax);
    }

    #[test]
    fn unknown_architecture_lists_the_supported_ones() {
        let err = CheckpointConfig::from_json(br#"{"model_type":"gpt2"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported model_type \"gpt2\" in config.json; bertlens supports: \
             bert, distilbert, roberta, xlm-roberta"
        );
    }

    #[test]
    fn not_json_says_so() {
        let err = CheckpointConfig::from_json(b"<html>").unwrap_err();
        assert!(
            err.to_string().starts_with("config.json is not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn missing_field_is_named() {
        let err =
            CheckpointConfig::from_json(br#"{"model_type":"bert","vocab_size":10}"#).unwrap_err();
        assert!(err.to_string().contains("hidden_size"), "{err}");
    }
}

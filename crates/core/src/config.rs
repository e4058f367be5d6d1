//! `config.json`, deserialised straight from the checkpoint as Hugging Face
//! writes it: the fields every model has (`model_type`, `architectures`,
//! `id2label`, `problem_type`) here, the encoder's own fields by its family
//! ([`crate::families`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::families::{self, Architecture, Dims};
use crate::types::{Output, Task};

/// The fields of `config.json` that are not the encoder's: labels and task.
#[derive(Debug, Clone, Default, Deserialize)]
struct TaskFields {
    model_type: Option<String>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(default)]
    id2label: BTreeMap<String, String>,
    num_labels: Option<usize>,
    problem_type: Option<String>,
}

/// Everything `config.json` says: the encoder and the task around it.
#[derive(Debug)]
pub struct CheckpointConfig {
    /// The encoder's configuration, parsed by its family.
    pub family: Box<dyn Architecture>,
    pub model_type: String,
    /// The first of `architectures`, e.g. `BertForSequenceClassification`.
    pub architecture: Option<String>,
    /// What the architecture's head does (a bare encoder when `architectures` is absent).
    pub task: Task,
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
        let fields: TaskFields = serde_json::from_value(value.clone())
            .map_err(|e| Error::config(FILE, e.to_string()))?;
        let model_type = fields
            .model_type
            .clone()
            .ok_or_else(|| Error::config(FILE, "`model_type` is missing"))?;
        let family = families::parse(&model_type, &value)?;
        let architecture = fields
            .architectures
            .as_ref()
            .and_then(|a| a.first().cloned());
        let task = match &architecture {
            None => Task::Encoder,
            Some(a) => family.task_of(a).ok_or_else(|| Error::UnsupportedTask {
                architecture: a.clone(),
            })?,
        };
        // transformers writes `LABEL_0`, `LABEL_1`, … when no names were given:
        // a family's own names for that head (ELECTRA's discriminator) come first.
        let known = architecture.as_deref().and_then(|a| family.labels(a));
        let labels = match (labels_from_id2label(&fields.id2label)?, known) {
            (Some(l), Some(k)) if is_placeholder(&l) && l.len() == k.len() => Some(k),
            (Some(l), _) => Some(l),
            (None, k) => k,
        };
        let output = match fields.problem_type.as_deref() {
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
            family,
            model_type,
            architecture,
            task,
            labels,
            num_labels: fields.num_labels,
            output,
        })
    }

    pub fn dims(&self) -> Dims {
        self.family.dims()
    }
}

/// `LABEL_0`, `LABEL_1`, …: transformers' names when none were given.
fn is_placeholder(labels: &[String]) -> bool {
    labels
        .iter()
        .enumerate()
        .all(|(i, l)| *l == format!("LABEL_{i}"))
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
        assert_eq!(cfg.labels.clone().unwrap(), vec!["NEGATIVE", "POSITIVE"]);
        assert_eq!(cfg.dims().hidden, 32);
        assert_eq!(cfg.dims().max_tokens, 64);
        assert_eq!(cfg.family.prefix(), "bert");
        assert_eq!(cfg.task, Task::SequenceClassification);
        assert_eq!(cfg.output, Output::Softmax);
    }

    #[test]
    fn the_task_follows_the_architecture() {
        let base = r#""model_type":"bert","vocab_size":100,"hidden_size":32,"num_hidden_layers":2,
            "num_attention_heads":4,"intermediate_size":37"#;
        let task = |arch: &str| {
            let json = format!("{{{base}{arch}}}");
            CheckpointConfig::from_json(json.as_bytes()).map(|c| c.task)
        };
        assert_eq!(task("").unwrap(), Task::Encoder);
        assert_eq!(
            task(r#","architectures":["BertModel"]"#).unwrap(),
            Task::Encoder
        );
        assert_eq!(
            task(r#","architectures":["BertForQuestionAnswering"]"#).unwrap(),
            Task::QuestionAnswering
        );
        assert_eq!(
            task(r#","architectures":["BertForMaskedLM"]"#).unwrap(),
            Task::FillMask
        );
        assert_eq!(
            task(r#","architectures":["BertForTokenClassification"]"#).unwrap(),
            Task::TokenClassification
        );
        let err = task(r#","architectures":["BertForMultipleChoice"]"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("BertForMultipleChoice is not a task bertlens explains"),
            "{err}"
        );
    }

    #[test]
    fn the_discriminator_names_its_labels() {
        let json = br#"{"model_type":"electra","architectures":["ElectraForPreTraining"],
            "vocab_size":100,"embedding_size":16,"hidden_size":32,"num_hidden_layers":2,
            "num_attention_heads":4,"intermediate_size":37,"id2label":{"0":"LABEL_0","1":"LABEL_1"}}"#;
        let cfg = CheckpointConfig::from_json(json).unwrap();
        assert_eq!(cfg.task, Task::TokenClassification);
        assert_eq!(cfg.labels.unwrap(), ["original", "replaced"]);
    }

    #[test]
    fn unknown_architecture_lists_the_supported_ones() {
        let err = CheckpointConfig::from_json(br#"{"model_type":"gpt2"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported model_type \"gpt2\" in config.json; bertlens supports: \
             bert, roberta, xlm-roberta, camembert, distilbert, albert, electra, deberta-v2, modernbert"
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

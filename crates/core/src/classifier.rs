//! A text classifier assembled from checkpoint bytes: tokenizer, encoder,
//! head and class names, with the forward pass split where attribution
//! needs to enter it.

use candle_core::{Device, Tensor};

use crate::config::{CheckpointConfig, Output};
use crate::error::{Error, Result};
use crate::files::ModelFiles;
use crate::head::{Head, HeadSpec};
use crate::models::{Encoder, Trace};
use crate::tokenizer::{TextTokenizer, Tokenized};
use crate::weights::Weights;

/// Where in the network attributions are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributionLayer {
    /// The output of the embeddings block (word + position + type, LayerNorm):
    /// Captum's `LayerIntegratedGradients(model, model.bert.embeddings)`.
    Embeddings,
    /// The word-embedding rows alone: `…embeddings.word_embeddings`.
    WordEmbeddings,
}

/// Logits and probabilities of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub logits: Vec<f32>,
    pub probabilities: Vec<f32>,
    pub predicted: usize,
}

/// A ready-to-run classifier.
pub struct Classifier {
    encoder: Encoder,
    head: Head,
    tokenizer: TextTokenizer,
    labels: Vec<String>,
    output: Output,
    config: CheckpointConfig,
    hidden: usize,
}

impl Classifier {
    pub fn load(files: &ModelFiles) -> Result<Self> {
        let config = CheckpointConfig::from_json(&files.config)?;
        if files.weights.is_empty() {
            return Err(Error::config(
                "model",
                "no weights file was given (model.safetensors or a .pt/.pth checkpoint)",
            ));
        }
        let mut weights = Weights::default();
        for (name, bytes) in &files.weights {
            weights.merge(Weights::from_bytes(name, bytes)?)?;
        }
        let spec = match &files.head {
            Some(bytes) => HeadSpec::from_json(bytes)?,
            None => {
                let arch = config.architecture.clone().unwrap_or_default();
                HeadSpec::for_architecture(&arch).ok_or_else(|| {
                    Error::HeadSpec(format!(
                        "config.json describes a `{}` with no classification head bertlens knows; \
                         give a head.json that says how the head is built",
                        if arch.is_empty() { "model" } else { &arch }
                    ))
                })?
            }
        };
        let prefix = encoder_prefix(&weights, &config, &spec)?;
        let encoder = Encoder::load(&weights.vb(&prefix), &config.model)?;
        let hidden = config.model.hidden_size();
        let head = Head::load(&weights.vb(""), &spec, hidden)?;
        let generic = || {
            (0..head.num_classes())
                .map(|i| format!("LABEL_{i}"))
                .collect()
        };
        let labels = match (&spec.labels, &config.labels, &files.head) {
            (Some(labels), _, _) => labels.clone(),
            // A custom head's config.json is usually a bare encoder's, whose
            // id2label is transformers' default two labels: use it only if it fits.
            (None, Some(labels), Some(_)) if labels.len() != head.num_classes() => generic(),
            (None, Some(labels), _) => labels.clone(),
            (None, None, _) => generic(),
        };
        if labels.len() != head.num_classes() {
            return Err(Error::HeadSpec(format!(
                "{} class names are given but the head has {} outputs",
                labels.len(),
                head.num_classes()
            )));
        }
        let max_tokens = match spec.max_tokens {
            Some(m) => m.min(config.model.max_tokens()),
            None => config.model.max_tokens(),
        };
        let tokenizer = TextTokenizer::from_bytes(
            &files.tokenizer,
            encoder.vocab_rows(),
            max_tokens,
            config.model.pad_token_id(),
        )?;
        let output = spec.output.unwrap_or(config.output);
        Ok(Self {
            encoder,
            head,
            tokenizer,
            labels,
            output,
            config,
            hidden,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn config(&self) -> &CheckpointConfig {
        &self.config
    }

    pub fn output(&self) -> Output {
        self.output
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    pub fn num_layers(&self) -> usize {
        self.config.model.num_layers()
    }

    pub fn num_heads(&self) -> usize {
        self.config.model.num_heads()
    }

    pub fn tokenize(&self, text: &str, pair: Option<&str>) -> Result<Tokenized> {
        self.tokenizer.encode(text, pair)
    }

    /// Resolves a class given by name or by index.
    pub fn target_index(&self, target: &str) -> Result<usize> {
        if let Some(i) = self.labels.iter().position(|l| l == target) {
            return Ok(i);
        }
        match target.parse::<usize>() {
            Ok(i) if i < self.labels.len() => Ok(i),
            _ => Err(Error::UnknownTarget {
                target: target.to_string(),
                labels: self.labels.clone(),
            }),
        }
    }

    /// Logits → probabilities, by the model's output function.
    pub fn probabilities(&self, logits: &Tensor) -> Result<Tensor> {
        Ok(match self.output {
            Output::Softmax => crate::models::ops::softmax_last_dim(logits)?,
            Output::Sigmoid => candle_nn::ops::sigmoid(logits)?,
        })
    }

    /// The forward pass of one input, recording attentions, queries and keys.
    pub fn forward_traced(&self, input: &Tokenized) -> Result<(Prediction, Trace)> {
        let mut trace = Trace::default();
        let x = self.layer_input(AttributionLayer::Embeddings, input, &input.ids)?;
        let logits = self.logits_from(AttributionLayer::Embeddings, &x, input, Some(&mut trace))?;
        Ok((self.prediction(&logits)?, trace))
    }

    /// The forward pass of one input.
    pub fn predict(&self, input: &Tokenized) -> Result<Prediction> {
        let x = self.layer_input(AttributionLayer::Embeddings, input, &input.ids)?;
        let logits = self.logits_from(AttributionLayer::Embeddings, &x, input, None)?;
        self.prediction(&logits)
    }

    fn prediction(&self, logits: &Tensor) -> Result<Prediction> {
        let probabilities = self.probabilities(logits)?.squeeze(0)?.to_vec1::<f32>()?;
        let logits = logits.squeeze(0)?.to_vec1::<f32>()?;
        let predicted = argmax(&probabilities);
        Ok(Prediction {
            logits,
            probabilities,
            predicted,
        })
    }

    /// The activation of `layer` for `ids` (the input's, or a baseline's of
    /// the same length), `(1, t, h)`. Token types are the input's; for the
    /// embeddings block, position ids follow from `ids` as the model derives
    /// them, exactly as in a forward pass on `ids`.
    pub fn layer_input(
        &self,
        layer: AttributionLayer,
        input: &Tokenized,
        ids: &[u32],
    ) -> Result<Tensor> {
        let t = Tensor::from_slice(ids, (1, ids.len()), &Device::Cpu)?;
        let words = self.encoder.word_embeddings(&t)?;
        match layer {
            AttributionLayer::WordEmbeddings => Ok(words),
            AttributionLayer::Embeddings => {
                self.encoder
                    .embed(&words, &self.encoder.position_ids(ids), &input.type_ids)
            }
        }
    }

    /// Logits `(n, classes)` from `(n, t, h)` activations of `layer`. The rest
    /// of the input (positions, token types) comes from `input`.
    pub fn logits_from(
        &self,
        layer: AttributionLayer,
        x: &Tensor,
        input: &Tokenized,
        trace: Option<&mut Trace>,
    ) -> Result<Tensor> {
        let embedded = match layer {
            AttributionLayer::Embeddings => x.clone(),
            AttributionLayer::WordEmbeddings => {
                self.encoder
                    .embed(x, &self.encoder.position_ids(&input.ids), &input.type_ids)?
            }
        };
        let hidden = self.encoder.encode(&embedded, trace)?;
        self.head.forward(&hidden)
    }
}

pub(crate) fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The encoder's key prefix: the head spec's, or found from the weights.
fn encoder_prefix(weights: &Weights, config: &CheckpointConfig, spec: &HeadSpec) -> Result<String> {
    const PROBE: &str = "embeddings.word_embeddings.weight";
    let with = |p: &str| {
        if p.is_empty() {
            PROBE.to_string()
        } else {
            format!("{p}.{PROBE}")
        }
    };
    let hf = config.model.hf_prefix();
    let candidates: Vec<&str> = match &spec.encoder {
        Some(p) => vec![p.as_str()],
        None => vec![hf, ""],
    };
    if let Some(p) = candidates.iter().find(|p| weights.contains(&with(p))) {
        return Ok(p.to_string());
    }
    // Say where an encoder is, if there is one elsewhere.
    let elsewhere = weights
        .names()
        .filter_map(|n| n.strip_suffix(PROBE))
        .map(|p| p.trim_end_matches('.').to_string())
        .min();
    let hint = match elsewhere {
        Some(p) if p.is_empty() => format!("the weights hold an encoder at the root, not under `{}.`", candidates[0]),
        Some(p) => format!(
            "the weights hold an encoder under `{p}.`: do config.json (model_type {}) and the weights belong together?",
            config.model_type
        ),
        None => format!("these weights are not a {} encoder", config.model_type),
    };
    Err(Error::MissingTensor {
        name: with(candidates[0]),
        hint: Some(hint),
    })
}

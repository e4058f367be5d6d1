//! A text classifier assembled from checkpoint bytes: tokenizer, encoder,
//! head and class names, with the forward pass split where attribution
//! needs to enter it. Files are parsed and checked into the reference form
//! ([`Loaded`], candle tensors), then laid out for the fast path.

use crate::config::{CheckpointConfig, Output};
use crate::engine::encoder::Trace;
use crate::engine::{Network, Threads};
use crate::error::{Error, Result};
use crate::files::ModelFiles;
use crate::head::{Head, HeadSpec};
use crate::models::Encoder;
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

/// A ready-to-run classifier: tokenizer, class names, and the network on
/// the fast path ([`crate::engine`]).
pub struct Classifier {
    network: Network,
    tokenizer: TextTokenizer,
    labels: Vec<String>,
    output: Output,
    config: CheckpointConfig,
}

/// A classifier as its files describe it, with the network in the
/// reference form (candle tensors): what [`Classifier`] is built from, and
/// what the tests differentiate with candle's autograd.
pub struct Loaded {
    pub encoder: Encoder,
    pub head: Head,
    pub tokenizer: TextTokenizer,
    pub labels: Vec<String>,
    pub output: Output,
    pub config: CheckpointConfig,
}

impl Loaded {
    /// Parses and checks every file: shapes, key names, labels, tokenizer.
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
        })
    }
}

impl Classifier {
    pub fn load(files: &ModelFiles) -> Result<Self> {
        Self::from_loaded(Loaded::load(files)?)
    }

    /// The fast path's copy of the weights; the reference tensors are dropped.
    pub fn from_loaded(l: Loaded) -> Result<Self> {
        let network = Network {
            encoder: l.encoder.export(&l.config.model)?,
            head: l.head.export()?,
        };
        Ok(Self {
            network,
            tokenizer: l.tokenizer,
            labels: l.labels,
            output: l.output,
            config: l.config,
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

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn hidden_size(&self) -> usize {
        self.network.hidden()
    }

    pub fn num_layers(&self) -> usize {
        self.network.encoder.layers.len()
    }

    pub fn num_heads(&self) -> usize {
        self.network.encoder.heads
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
    pub fn probabilities(&self, logits: &[f32]) -> Vec<f32> {
        match self.output {
            Output::Softmax => crate::engine::head::softmax(logits),
            Output::Sigmoid => logits.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect(),
        }
    }

    /// The forward pass of one input, recording attentions, queries and keys.
    pub fn forward_traced(&self, input: &Tokenized) -> Result<(Prediction, Trace)> {
        let mut trace = Trace::default();
        let logits = self.logits_of(input, Some(&mut trace))?;
        Ok((self.prediction(logits), trace))
    }

    /// The forward pass of one input.
    pub fn predict(&self, input: &Tokenized) -> Result<Prediction> {
        Ok(self.prediction(self.logits_of(input, None)?))
    }

    fn logits_of(&self, input: &Tokenized, trace: Option<&mut Trace>) -> Result<Vec<f32>> {
        let x = self.layer_input(AttributionLayer::Embeddings, input, &input.ids)?;
        Ok(self.logits_from(AttributionLayer::Embeddings, &x, input, trace))
    }

    fn prediction(&self, logits: Vec<f32>) -> Prediction {
        let probabilities = self.probabilities(&logits);
        let predicted = argmax(&probabilities);
        Prediction {
            logits,
            probabilities,
            predicted,
        }
    }

    /// The activation of `layer` for `ids` (the input's, or a baseline's of
    /// the same length), `(t, h)`. Token types are the input's; for the
    /// embeddings block, position ids follow from `ids` as the model derives
    /// them, exactly as in a forward pass on `ids`.
    pub fn layer_input(
        &self,
        layer: AttributionLayer,
        input: &Tokenized,
        ids: &[u32],
    ) -> Result<Vec<f32>> {
        let enc = &self.network.encoder;
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= enc.vocab_rows()) {
            return Err(Error::VocabMismatch {
                tokenizer: bad as usize + 1,
                model: enc.vocab_rows(),
            });
        }
        let mut words = enc.word_embeddings(ids);
        if layer == AttributionLayer::Embeddings {
            enc.embed(&mut words, &enc.position_ids(ids), &input.type_ids, None);
        }
        Ok(words)
    }

    /// Logits `(n, classes)` from `n` activations of `layer`, `(n·t, h)`;
    /// the rest of the input (positions, token types) comes from `input`.
    pub fn logits_from(
        &self,
        layer: AttributionLayer,
        xs: &[f32],
        input: &Tokenized,
        trace: Option<&mut Trace>,
    ) -> Vec<f32> {
        let positions = self.network.encoder.position_ids(&input.ids);
        self.network
            .logits(xs, layer, &positions, &input.type_ids, trace, Threads::Pool)
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

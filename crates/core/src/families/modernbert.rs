//! ModernBERT: pre-norm layers (the first without an attention norm), a
//! gated GELU feed-forward, rotary positions, and sliding-window attention
//! on all but every `global_attn_every_n_layers`-th layer; a final norm,
//! and a prediction head (dense, act, norm) under every task.
//!
//! Ported from transformers v5.24.0,
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/modernbert/modeling_modernbert.py>.
//! `config.json` comes in two shapes: the hub's (`global_attn_every_n_layers`,
//! `global_rope_theta`, `local_rope_theta`) and v5's (`layer_types`,
//! `rope_parameters`); both are read.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::{
    check_sizes, config, table, Architecture, AttentionFeatures, Dims, Family, HeadBuilder,
};
use crate::engine::{self, Attention, Bias, Embeddings, Head, LayerNorm, Linear, Norms};
use crate::error::{Error, Result};
use crate::types::{Activation, Pool, Task};
use crate::weights::Keys;

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/modernbert/configuration_modernbert.py
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default)]
    pub hidden_activation: Activation,
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_norm_eps")]
    pub norm_eps: f64,
    #[serde(default)]
    pub norm_bias: bool,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default = "super::defaults::yes")]
    pub decoder_bias: bool,
    #[serde(default)]
    pub classifier_pooling: Pooling,
    #[serde(default)]
    pub classifier_bias: bool,
    #[serde(default)]
    pub classifier_activation: Activation,
    #[serde(default = "default_local_attention")]
    pub local_attention: usize,
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    #[serde(default)]
    pub rope_parameters: Option<BTreeMap<String, RopeParameters>>,
    #[serde(default = "default_global_every")]
    pub global_attn_every_n_layers: usize,
    #[serde(default)]
    pub global_rope_theta: Option<f64>,
    #[serde(default)]
    pub local_rope_theta: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    #[default]
    Cls,
    Mean,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RopeParameters {
    #[serde(default)]
    pub rope_type: Option<String>,
    #[serde(default)]
    pub rope_theta: Option<f64>,
}

fn default_max_position_embeddings() -> usize {
    8192
}
fn default_norm_eps() -> f64 {
    1e-5
}
fn default_local_attention() -> usize {
    128
}
fn default_global_every() -> usize {
    3
}

const FULL: &str = "full_attention";
const SLIDING: &str = "sliding_attention";

pub struct ModernBertFamily;

impl Family for ModernBertFamily {
    fn attention(&self) -> AttentionFeatures {
        AttentionFeatures {
            rotary: true,
            sliding_window: true,
            pre_norm: true,
            ..AttentionFeatures::default()
        }
    }

    fn model_types(&self) -> &'static [&'static str] {
        &["modernbert"]
    }

    fn parse(&self, value: &serde_json::Value) -> Result<Box<dyn Architecture>> {
        let cfg: Config = config(value)?;
        check_sizes(
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.num_hidden_layers,
            ["hidden_size", "num_attention_heads", "num_hidden_layers"],
        )?;
        let types = cfg.layer_types();
        if types.len() != cfg.num_hidden_layers {
            return Err(Error::config(
                "config.json",
                format!(
                    "layer_types has {} entries for {} layers",
                    types.len(),
                    cfg.num_hidden_layers
                ),
            ));
        }
        if let Some(other) = types.iter().find(|t| *t != FULL && *t != SLIDING) {
            return Err(Error::config(
                "config.json",
                format!("unknown layer type {other:?}"),
            ));
        }
        for kind in [FULL, SLIDING] {
            if let Some(t) = cfg
                .rope(kind)
                .rope_type
                .as_deref()
                .filter(|t| *t != "default")
            {
                return Err(Error::config(
                    "config.json",
                    format!("rope_type {t:?} is not supported (only \"default\")"),
                ));
            }
        }
        Ok(Box::new(cfg))
    }
}

impl Config {
    /// Each layer's kind: v5's `layer_types`, or from `global_attn_every_n_layers`.
    fn layer_types(&self) -> Vec<String> {
        match &self.layer_types {
            Some(t) => t.clone(),
            // "sliding_attention" if bool(i % global_attn_every_n_layers) else "full_attention"
            None => (0..self.num_hidden_layers)
                .map(|i| {
                    let every = self.global_attn_every_n_layers.max(1);
                    if i % every != 0 { SLIDING } else { FULL }.to_string()
                })
                .collect(),
        }
    }

    fn rope(&self, kind: &str) -> RopeParameters {
        let given = self
            .rope_parameters
            .as_ref()
            .and_then(|r| r.get(kind))
            .cloned();
        let legacy = match kind {
            FULL => self.global_rope_theta.unwrap_or(160_000.0),
            _ => self.local_rope_theta.unwrap_or(10_000.0),
        };
        let mut p = given.unwrap_or(RopeParameters {
            rope_type: None,
            rope_theta: None,
        });
        p.rope_theta.get_or_insert(legacy);
        p
    }

    /// `inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))`
    fn inv_freq(&self, kind: &str) -> Vec<f32> {
        let theta = self.rope(kind).rope_theta.expect("filled in") as f32;
        let d = self.hidden_size / self.num_attention_heads;
        (0..d / 2)
            .map(|i| 1.0 / theta.powf((2 * i) as f32 / d as f32))
            .collect()
    }

    fn norm(&self, keys: &Keys) -> Result<LayerNorm> {
        LayerNorm::load(
            keys,
            self.hidden_size,
            self.norm_eps,
            Bias::from(self.norm_bias),
        )
    }

    fn layer(&self, keys: &Keys, i: usize, kind: &str) -> Result<engine::Layer> {
        let (h, inner) = (self.hidden_size, self.intermediate_size);
        Ok(engine::Layer {
            norms: Norms::Pre,
            // if layer_idx == 0: self.attn_norm = nn.Identity()
            attention_norm: match i {
                0 => None,
                _ => Some(self.norm(&keys.pp("attn_norm"))?),
            },
            qkv: Linear::load(
                &keys.pp("attn.Wqkv"),
                h,
                3 * h,
                Bias::from(self.attention_bias),
            )?,
            attention: Attention::Rotary {
                inv_freq: self.inv_freq(kind),
                // abs(q_idx - kv_idx) <= config.sliding_window (= local_attention // 2)
                window: (kind == SLIDING).then_some(self.local_attention / 2),
            },
            attention_output: Linear::load(
                &keys.pp("attn.Wo"),
                h,
                h,
                Bias::from(self.attention_bias),
            )?,
            ffn_norm: self.norm(&keys.pp("mlp_norm"))?,
            intermediate: Linear::load(
                &keys.pp("mlp.Wi"),
                h,
                2 * inner,
                Bias::from(self.mlp_bias),
            )?,
            glu: true,
            output: Linear::load(&keys.pp("mlp.Wo"), inner, h, Bias::from(self.mlp_bias))?,
            act: self.hidden_activation,
        })
    }

    /// `ModernBertPredictionHead`: dense, act, norm.
    fn prediction_head<'a>(
        &self,
        keys: &Keys<'a>,
        task: Task,
        pool: Pool,
    ) -> Result<HeadBuilder<'a>> {
        HeadBuilder::new(keys, task, pool, self.hidden_size)
            .linear("head.dense", Bias::from(self.classifier_bias))?
            .act(self.classifier_activation)
            .layer_norm("head.norm", self.norm_eps, Bias::from(self.norm_bias))
    }
}

impl Architecture for Config {
    fn dims(&self) -> Dims {
        Dims {
            hidden: self.hidden_size,
            layers: self.num_hidden_layers,
            heads: self.num_attention_heads,
            vocab_size: self.vocab_size,
            max_tokens: self.max_position_embeddings,
            pad_token_id: self.pad_token_id,
        }
    }

    fn prefix(&self) -> &'static str {
        "model"
    }

    fn probe(&self) -> &'static str {
        "embeddings.tok_embeddings.weight"
    }

    fn encoder(&self, keys: &Keys) -> Result<engine::Encoder> {
        let h = self.hidden_size;
        let emb = keys.pp("embeddings");
        let layers = self
            .layer_types()
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                Ok(Arc::new(self.layer(
                    &keys.pp(format!("layers.{i}")),
                    i,
                    kind,
                )?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(engine::Encoder {
            // hidden_states = self.drop(self.norm(self.tok_embeddings(input_ids)))
            embeddings: Embeddings {
                word: table(&emb, "tok_embeddings.weight", self.vocab_size, h)?,
                width: h,
                position: None,
                token_type: None,
                project: None,
                norm: self.norm(&emb.pp("norm"))?,
            },
            project: None,
            layers,
            final_norm: Some(self.norm(&keys.pp("final_norm"))?),
            conv: None,
            hidden: h,
            heads: self.num_attention_heads,
            scale: ((h / self.num_attention_heads) as f32).powf(-0.5),
        })
    }

    fn head(&self, task: Task, keys: &Keys, encoder: &engine::Encoder) -> Result<Option<Head>> {
        let pool = match self.classifier_pooling {
            Pooling::Cls => Pool::Cls,
            Pooling::Mean => Pool::Mean,
        };
        Ok(match task {
            Task::Encoder => None,
            Task::SequenceClassification => self
                .prediction_head(keys, task, pool)?
                .linear("classifier", Bias::Required)?
                .build(),
            // The head on every token, then classifier (start and end logits for QA).
            Task::TokenClassification | Task::QuestionAnswering => self
                .prediction_head(keys, task, Pool::None)?
                .linear("classifier", Bias::Required)?
                .build(),
            // logits = self.decoder(self.head(last_hidden_state)), decoder tied to tok_embeddings.
            Task::FillMask => {
                let biases: &[&str] = if self.decoder_bias {
                    &["decoder.bias"]
                } else {
                    &[]
                };
                self.prediction_head(keys, task, Pool::None)?
                    .decoder("decoder", &encoder.embeddings.word, biases)?
                    .build()
            }
        })
    }
}

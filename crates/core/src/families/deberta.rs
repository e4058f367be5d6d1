//! DeBERTa-v2 and v3 (`model_type` `deberta-v2`): disentangled attention
//! over relative positions in log buckets, optional absolute positions
//! (`position_biased_input`, off in v3), an optional `embed_proj`, and the
//! xlarge/xxlarge models' convolution after the first layer.
//!
//! Ported from transformers v5.24.0,
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py>.
//! Config fields that v5 does not declare (`position_buckets`,
//! `share_att_key`, `norm_rel_ebd`, …) are read as its `getattr` defaults do.

use std::sync::Arc;

use serde::Deserialize;

use super::{
    check_sizes, config, table, token_head, Architecture, AttentionFeatures, Dims, Family,
    HeadBuilder,
};
use crate::engine::attention::{Disentangled, Relative};
use crate::engine::conv::Conv;
use crate::engine::{
    self, kernels, Attention, Bias, Embeddings, Head, LayerNorm, Linear, Norms, PositionIds,
};
use crate::error::{Error, Result};
use crate::types::{Activation, Pool, Task};
use crate::weights::Keys;

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/configuration_deberta_v2.py
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default)]
    pub hidden_act: Activation,
    #[serde(default = "super::defaults::positions_512")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub type_vocab_size: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub relative_attention: bool,
    #[serde(default = "super::defaults::minus_one")]
    pub max_relative_positions: i64,
    #[serde(default = "super::defaults::minus_one")]
    pub position_buckets: i64,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    #[serde(default = "super::defaults::yes")]
    pub position_biased_input: bool,
    #[serde(default)]
    pub pos_att_type: PosAttType,
    #[serde(default)]
    pub share_att_key: bool,
    #[serde(default)]
    pub norm_rel_ebd: Option<String>,
    #[serde(default)]
    pub embedding_size: Option<usize>,
    #[serde(default)]
    pub pooler_hidden_size: Option<usize>,
    #[serde(default)]
    pub pooler_hidden_act: Activation,
    #[serde(default = "super::defaults::yes")]
    pub legacy: bool,
    #[serde(default)]
    pub conv_kernel_size: usize,
    #[serde(default)]
    pub conv_groups: Option<usize>,
    #[serde(default)]
    pub conv_act: Option<Activation>,
    #[serde(default)]
    pub attention_head_size: Option<usize>,
}

fn default_layer_norm_eps() -> f64 {
    1e-7
}

/// `pos_att_type`: `"p2c|c2p"` or `["p2c", "c2p"]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(untagged)]
pub enum PosAttType {
    #[default]
    None,
    Text(String),
    List(Vec<String>),
}

impl PosAttType {
    fn has(&self, kind: &str) -> bool {
        match self {
            PosAttType::None => false,
            PosAttType::Text(s) => s.to_lowercase().split('|').any(|p| p.trim() == kind),
            PosAttType::List(v) => v.iter().any(|p| p == kind),
        }
    }
}

pub struct DebertaFamily;

impl Family for DebertaFamily {
    fn attention(&self) -> AttentionFeatures {
        AttentionFeatures {
            relative_positions: true,
            ..AttentionFeatures::default()
        }
    }

    fn model_types(&self) -> &'static [&'static str] {
        &["deberta-v2"]
    }

    fn parse(&self, value: &serde_json::Value) -> Result<Box<dyn Architecture>> {
        let cfg: Config = config(value)?;
        check_sizes(
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.num_hidden_layers,
            ["hidden_size", "num_attention_heads", "num_hidden_layers"],
        )?;
        let bad = |r: &str| Err(Error::config("config.json", r.to_string()));
        let groups = cfg.conv_groups.unwrap_or(1);
        if cfg.conv_kernel_size > 0
            && (groups == 0 || cfg.hidden_size % groups != 0 || cfg.conv_kernel_size % 2 == 0)
        {
            return bad("conv_groups must divide hidden_size, and conv_kernel_size be odd");
        }
        if cfg
            .attention_head_size
            .is_some_and(|d| d * cfg.num_attention_heads != cfg.hidden_size)
        {
            return bad("attention_head_size × num_attention_heads must equal hidden_size");
        }
        Ok(Box::new(cfg))
    }
}

impl Config {
    fn embedding_size(&self) -> usize {
        self.embedding_size.unwrap_or(self.hidden_size)
    }

    /// `att_span`: the buckets, else the maximum relative distance.
    fn span(&self) -> usize {
        let max = if self.max_relative_positions < 1 {
            self.max_position_embeddings as i64
        } else {
            self.max_relative_positions
        };
        (if self.position_buckets > 0 {
            self.position_buckets
        } else {
            max
        }) as usize
    }

    /// The relative embeddings every layer shares: `encoder.rel_embeddings`,
    /// through `encoder.LayerNorm` when `norm_rel_ebd` says `layer_norm`.
    fn relative(&self, keys: &Keys) -> Result<Relative> {
        let (h, span) = (self.hidden_size, self.span());
        let mut rel = keys.tensor("rel_embeddings.weight", &[2 * span, h])?;
        let norm = self
            .norm_rel_ebd
            .as_deref()
            .unwrap_or("none")
            .to_lowercase();
        if norm.split('|').any(|p| p.trim() == "layer_norm") {
            let ln = LayerNorm::load(
                &keys.pp("LayerNorm"),
                h,
                self.layer_norm_eps,
                Bias::Required,
            )?;
            kernels::layer_norm_inplace(&mut rel, &ln.gamma, &ln.beta, ln.eps);
        }
        Ok(Relative {
            embeddings: rel,
            span,
            buckets: self.position_buckets,
            max_position: if self.max_relative_positions < 1 {
                self.max_position_embeddings as i64
            } else {
                self.max_relative_positions
            },
        })
    }

    fn layer(&self, keys: &Keys, relative: &Option<Arc<Relative>>) -> Result<engine::Layer> {
        let (h, i, eps) = (
            self.hidden_size,
            self.intermediate_size,
            self.layer_norm_eps,
        );
        let att = keys.pp("attention");
        let s = att.pp("self");
        let (c2p, p2c) = (self.pos_att_type.has("c2p"), self.pos_att_type.has("p2c"));
        let attention = match relative {
            Some(relative) => Attention::Disentangled(Disentangled {
                relative: relative.clone(),
                c2p,
                p2c,
                pos_key: match (self.share_att_key, c2p) {
                    (false, true) => {
                        Some(Linear::load(&s.pp("pos_key_proj"), h, h, Bias::Required)?)
                    }
                    _ => None,
                },
                pos_query: match (self.share_att_key, p2c) {
                    (false, true) => {
                        Some(Linear::load(&s.pp("pos_query_proj"), h, h, Bias::Required)?)
                    }
                    _ => None,
                },
            }),
            None => Attention::Absolute,
        };
        Ok(engine::Layer {
            norms: Norms::Post,
            attention_norm: Some(LayerNorm::load(
                &att.pp("output.LayerNorm"),
                h,
                eps,
                Bias::Required,
            )?),
            qkv: Linear::load_stacked(
                &[s.pp("query_proj"), s.pp("key_proj"), s.pp("value_proj")],
                h,
                h,
                Bias::Required,
            )?,
            attention,
            attention_output: Linear::load(&att.pp("output.dense"), h, h, Bias::Required)?,
            ffn_norm: LayerNorm::load(&keys.pp("output.LayerNorm"), h, eps, Bias::Required)?,
            intermediate: Linear::load(&keys.pp("intermediate.dense"), h, i, Bias::Required)?,
            glu: false,
            output: Linear::load(&keys.pp("output.dense"), i, h, Bias::Required)?,
            act: self.hidden_act,
        })
    }
}

impl Config {
    /// `ConvLayer`: `conv` (`nn.Conv1d`, same-length padding), `conv_act`, `LayerNorm`.
    fn conv(&self, keys: &Keys, kernel: usize) -> Result<Conv> {
        let (h, groups) = (self.hidden_size, self.conv_groups.unwrap_or(1));
        let c = keys.pp("conv");
        Ok(Conv {
            weight: Arc::new(c.tensor("weight", &[h, h / groups, kernel])?),
            bias: Arc::new(c.tensor("bias", &[h])?),
            kernel,
            groups,
            // self.conv_act = getattr(config, "conv_act", "tanh")
            act: self.conv_act.unwrap_or(Activation::Tanh),
            norm: LayerNorm::load(
                &keys.pp("LayerNorm"),
                h,
                self.layer_norm_eps,
                Bias::Required,
            )?,
        })
    }
}

impl Architecture for Config {
    fn dims(&self) -> Dims {
        Dims {
            hidden: self.hidden_size,
            layers: self.num_hidden_layers,
            heads: self.num_attention_heads,
            vocab_size: self.vocab_size,
            // Relative positions have no limit; absolute ones do.
            max_tokens: self.max_position_embeddings,
            pad_token_id: self.pad_token_id,
        }
    }

    fn prefix(&self) -> &'static str {
        "deberta"
    }

    fn encoder(&self, keys: &Keys) -> Result<engine::Encoder> {
        let (h, e, eps) = (self.hidden_size, self.embedding_size(), self.layer_norm_eps);
        let emb = keys.pp("embeddings");
        let enc = keys.pp("encoder");
        let relative = match self.relative_attention {
            true => Some(Arc::new(self.relative(&enc)?)),
            false => None,
        };
        let layers = (0..self.num_hidden_layers)
            .map(|i| {
                Ok(Arc::new(
                    self.layer(&enc.pp(format!("layer.{i}")), &relative)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        // scale_factor = 1 + ("c2p" in pos_att_type) + ("p2c" in pos_att_type)
        let factor =
            1 + self.pos_att_type.has("c2p") as usize + self.pos_att_type.has("p2c") as usize;
        let d = h / self.num_attention_heads;
        Ok(engine::Encoder {
            embeddings: Embeddings {
                word: table(&emb, "word_embeddings.weight", self.vocab_size, e)?,
                width: e,
                position: match self.position_biased_input {
                    true => Some((
                        table(
                            &emb,
                            "position_embeddings.weight",
                            self.max_position_embeddings,
                            e,
                        )?,
                        PositionIds::Arange,
                    )),
                    false => None,
                },
                token_type: match self.type_vocab_size {
                    0 => None,
                    n => Some(table(&emb, "token_type_embeddings.weight", n, e)?),
                },
                project: match e != h {
                    true => Some(Linear::load(&emb.pp("embed_proj"), e, h, Bias::Absent)?),
                    false => None,
                },
                norm: LayerNorm::load(&emb.pp("LayerNorm"), h, eps, Bias::Required)?,
            },
            project: None,
            layers,
            final_norm: None,
            conv: match self.conv_kernel_size {
                0 => None,
                k => Some(self.conv(&enc.pp("conv"), k)?),
            },
            hidden: h,
            heads: self.num_attention_heads,
            // torch.sqrt(torch.tensor(query_layer.size(-1), dtype=torch.float) * scale_factor)
            scale: 1.0 / (d as f32 * factor as f32).sqrt(),
        })
    }

    fn head(&self, task: Task, keys: &Keys, encoder: &engine::Encoder) -> Result<Option<Head>> {
        let (h, eps) = (self.hidden_size, self.layer_norm_eps);
        Ok(match task {
            Task::Encoder => None,
            // ContextPooler (dense + pooler_hidden_act on token 0), then classifier.
            Task::SequenceClassification => HeadBuilder::new(keys, task, Pool::Cls, h)
                .linear("pooler.dense", Bias::Required)?
                .act(self.pooler_hidden_act)
                .linear("classifier", Bias::Required)?
                .build(),
            Task::TokenClassification | Task::QuestionAnswering => token_head(task, keys, h)?,
            Task::FillMask => {
                let legacy = keys.contains("cls.predictions.transform.dense.weight");
                let modern = keys.contains("lm_predictions.lm_head.dense.weight");
                // The config's `legacy` picks the head; a checkpoint that holds only
                // the other one (microsoft/deberta-v3-base) is read as it is.
                if (self.legacy && legacy) || !modern {
                    // LegacyDebertaV2LMPredictionHead: transform (dense, act, LayerNorm), decoder.
                    let p = keys.pp("cls.predictions");
                    HeadBuilder::new(&p, task, Pool::None, h)
                        .linear("transform.dense", Bias::Required)?
                        .act(self.hidden_act)
                        .layer_norm("transform.LayerNorm", eps, Bias::Required)?
                        .decoder(
                            "decoder",
                            &encoder.embeddings.word,
                            &["decoder.bias", "bias"],
                        )?
                        .build()
                } else {
                    // DebertaV2LMPredictionHead: dense, act, LayerNorm, then x · word_embeddingsᵀ + bias.
                    let p = keys.pp("lm_predictions.lm_head");
                    HeadBuilder::new(&p, task, Pool::None, h)
                        .linear("dense", Bias::Required)?
                        .act(self.hidden_act)
                        .layer_norm("LayerNorm", eps, Bias::Required)?
                        .decoder("no_decoder", &encoder.embeddings.word, &["bias"])?
                        .build()
                }
            }
        })
    }
}

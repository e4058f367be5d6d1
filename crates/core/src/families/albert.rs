//! ALBERT: factorised embeddings (`embedding_size` < `hidden_size`,
//! projected by `embedding_hidden_mapping_in`) and layers shared across the
//! depth: `num_hidden_groups` groups of `inner_group_num` layers, the
//! layers of group `⌊i / (layers / groups)⌋` applied at step `i`.
//!
//! Ported from transformers v5.24.0,
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/albert/modeling_albert.py>.

use std::sync::Arc;

use serde::Deserialize;

use super::bert::{check_position_embedding_type, embeddings};
use super::{check_sizes, config, token_head, Architecture, Dims, Family, HeadBuilder, MAX_LAYERS};
use crate::engine::{self, Attention, Bias, Head, LayerNorm, Linear, Norms, PositionIds};
use crate::error::{Error, Result};
use crate::types::{Activation, Pool, Task};
use crate::weights::Keys;

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/albert/configuration_albert.py
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    #[serde(default = "super::defaults::embedding_128")]
    pub embedding_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    #[serde(default = "super::defaults::one")]
    pub num_hidden_groups: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "super::defaults::one")]
    pub inner_group_num: usize,
    #[serde(default = "default_act")]
    pub hidden_act: Activation,
    #[serde(default = "super::defaults::positions_512")]
    pub max_position_embeddings: usize,
    #[serde(default = "super::defaults::type_vocab_2")]
    pub type_vocab_size: usize,
    #[serde(default = "super::defaults::eps_1e12")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn default_act() -> Activation {
    Activation::GeluTanh
}

pub struct AlbertFamily;

impl Family for AlbertFamily {
    fn model_types(&self) -> &'static [&'static str] {
        &["albert"]
    }

    fn parse(&self, value: &serde_json::Value) -> Result<Box<dyn Architecture>> {
        let cfg: Config = config(value)?;
        check_sizes(
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.num_hidden_layers,
            ["hidden_size", "num_attention_heads", "num_hidden_layers"],
        )?;
        check_position_embedding_type(cfg.position_embedding_type.as_deref())?;
        if cfg.num_hidden_groups == 0
            || cfg.num_hidden_groups > cfg.num_hidden_layers
            || cfg.inner_group_num == 0
        {
            return Err(Error::config(
                "config.json",
                "num_hidden_groups must be between 1 and num_hidden_layers, and inner_group_num positive",
            ));
        }
        if cfg
            .num_hidden_layers
            .checked_mul(cfg.inner_group_num)
            .is_none_or(|n| n > MAX_LAYERS)
        {
            return Err(Error::config(
                "config.json",
                format!(
                    "num_hidden_layers × inner_group_num is more than the {MAX_LAYERS} layers \
                     bertlens runs"
                ),
            ));
        }
        Ok(Box::new(cfg))
    }
}

impl Config {
    /// `AlbertLayer` under `keys`: BERT's post-norm layer under other names.
    fn layer(&self, keys: &Keys) -> Result<engine::Layer> {
        let (h, i, eps) = (
            self.hidden_size,
            self.intermediate_size,
            self.layer_norm_eps,
        );
        let att = keys.pp("attention");
        Ok(engine::Layer {
            norms: Norms::Post,
            // layernormed_context_layer = self.LayerNorm(hidden_states + projected_context_layer)
            attention_norm: Some(LayerNorm::load(
                &att.pp("LayerNorm"),
                h,
                eps,
                Bias::Required,
            )?),
            qkv: Linear::load_stacked(
                &[att.pp("query"), att.pp("key"), att.pp("value")],
                h,
                h,
                Bias::Required,
            )?,
            attention: Attention::Absolute,
            attention_output: Linear::load(&att.pp("dense"), h, h, Bias::Required)?,
            // hidden_states = self.full_layer_layer_norm(ffn_output + attention_output)
            ffn_norm: LayerNorm::load(&keys.pp("full_layer_layer_norm"), h, eps, Bias::Required)?,
            intermediate: Linear::load(&keys.pp("ffn"), h, i, Bias::Required)?,
            glu: false,
            output: Linear::load(&keys.pp("ffn_output"), i, h, Bias::Required)?,
            act: self.hidden_act,
        })
    }
}

impl Architecture for Config {
    fn dims(&self) -> Dims {
        Dims {
            hidden: self.hidden_size,
            layers: self.num_hidden_layers * self.inner_group_num,
            heads: self.num_attention_heads,
            vocab_size: self.vocab_size,
            max_tokens: self.max_position_embeddings,
            pad_token_id: self.pad_token_id,
        }
    }

    fn prefix(&self) -> &'static str {
        "albert"
    }

    fn encoder(&self, keys: &Keys) -> Result<engine::Encoder> {
        let (e, h) = (self.embedding_size, self.hidden_size);
        let enc = keys.pp("encoder");
        let groups = (0..self.num_hidden_groups)
            .map(|g| {
                (0..self.inner_group_num)
                    .map(|j| {
                        let k = enc.pp(format!("albert_layer_groups.{g}.albert_layers.{j}"));
                        Ok(Arc::new(self.layer(&k)?))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        // group_idx = int(i / (self.config.num_hidden_layers / self.config.num_hidden_groups))
        let per_group = self.num_hidden_layers as f64 / self.num_hidden_groups as f64;
        let layers = (0..self.num_hidden_layers)
            .flat_map(|i| groups[(i as f64 / per_group) as usize].iter().cloned())
            .collect();
        Ok(engine::Encoder {
            embeddings: embeddings(
                &keys.pp("embeddings"),
                self.vocab_size,
                e,
                self.max_position_embeddings,
                self.type_vocab_size,
                PositionIds::Arange,
                self.layer_norm_eps,
            )?,
            project: Some(Linear::load(
                &enc.pp("embedding_hidden_mapping_in"),
                e,
                h,
                Bias::Required,
            )?),
            layers,
            final_norm: None,
            conv: None,
            hidden: h,
            heads: self.num_attention_heads,
            scale: ((h / self.num_attention_heads) as f32).powf(-0.5),
        })
    }

    fn head(&self, task: Task, keys: &Keys, encoder: &engine::Encoder) -> Result<Option<Head>> {
        let h = self.hidden_size;
        Ok(match task {
            Task::Encoder => None,
            // AlbertModel's pooler (dense + tanh on [CLS]), then classifier.
            Task::SequenceClassification => HeadBuilder::new(keys, task, Pool::Cls, h)
                .linear("albert.pooler", Bias::Required)?
                .act(Activation::Tanh)
                .linear("classifier", Bias::Required)?
                .build(),
            Task::TokenClassification | Task::QuestionAnswering => token_head(task, keys, h)?,
            // AlbertMLMHead: dense (hidden → embedding), act, LayerNorm, decoder.
            Task::FillMask => HeadBuilder::new(&keys.pp("predictions"), task, Pool::None, h)
                .linear("dense", Bias::Required)?
                .act(self.hidden_act)
                .layer_norm("LayerNorm", self.layer_norm_eps, Bias::Required)?
                .decoder(
                    "decoder",
                    &encoder.embeddings.word,
                    &["decoder.bias", "bias"],
                )?
                .build(),
        })
    }
}

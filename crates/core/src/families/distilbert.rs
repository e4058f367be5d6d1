//! DistilBERT: BERT's layers under other names, no token types.
//!
//! Ported from transformers v5.24.0,
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/distilbert/modeling_distilbert.py>.

use std::sync::Arc;

use serde::Deserialize;

use super::{check_sizes, config, table, token_head, Architecture, Dims, Family, HeadBuilder};
use crate::engine::{
    self, Attention, Bias, Embeddings, Head, LayerNorm, Linear, Norms, PositionIds,
};
use crate::error::Result;
use crate::types::{Activation, Pool, Task};
use crate::weights::Keys;

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/distilbert/configuration_distilbert.py
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub dim: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub hidden_dim: usize,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default = "super::defaults::positions_512")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
}

/// DistilBERT's layer norms: `nn.LayerNorm(config.dim, eps=1e-12)`, a
/// constant of the modeling code, not of the config.
const EPS: f64 = 1e-12;

pub struct DistilBertFamily;

impl Family for DistilBertFamily {
    fn model_types(&self) -> &'static [&'static str] {
        &["distilbert"]
    }

    fn parse(&self, value: &serde_json::Value) -> Result<Box<dyn Architecture>> {
        let cfg: Config = config(value)?;
        check_sizes(
            cfg.dim,
            cfg.n_heads,
            cfg.n_layers,
            ["dim", "n_heads", "n_layers"],
        )?;
        Ok(Box::new(cfg))
    }
}

impl Architecture for Config {
    fn dims(&self) -> Dims {
        Dims {
            hidden: self.dim,
            layers: self.n_layers,
            heads: self.n_heads,
            vocab_size: self.vocab_size,
            max_tokens: self.max_position_embeddings,
            pad_token_id: self.pad_token_id,
        }
    }

    fn prefix(&self) -> &'static str {
        "distilbert"
    }

    fn encoder(&self, keys: &Keys) -> Result<engine::Encoder> {
        let (d, inner) = (self.dim, self.hidden_dim);
        let emb = keys.pp("embeddings");
        let layers = (0..self.n_layers)
            .map(|i| {
                let l = keys.pp(format!("transformer.layer.{i}"));
                let att = l.pp("attention");
                Ok(Arc::new(engine::Layer {
                    norms: Norms::Post,
                    attention_norm: Some(LayerNorm::load(
                        &l.pp("sa_layer_norm"),
                        d,
                        EPS,
                        Bias::Required,
                    )?),
                    qkv: Linear::load_stacked(
                        &[att.pp("q_lin"), att.pp("k_lin"), att.pp("v_lin")],
                        d,
                        d,
                        Bias::Required,
                    )?,
                    attention: Attention::Absolute,
                    attention_output: Linear::load(&att.pp("out_lin"), d, d, Bias::Required)?,
                    ffn_norm: LayerNorm::load(&l.pp("output_layer_norm"), d, EPS, Bias::Required)?,
                    intermediate: Linear::load(&l.pp("ffn.lin1"), d, inner, Bias::Required)?,
                    glu: false,
                    output: Linear::load(&l.pp("ffn.lin2"), inner, d, Bias::Required)?,
                    act: self.activation,
                }))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(engine::Encoder {
            embeddings: Embeddings {
                word: table(&emb, "word_embeddings.weight", self.vocab_size, d)?,
                width: d,
                position: Some((
                    table(
                        &emb,
                        "position_embeddings.weight",
                        self.max_position_embeddings,
                        d,
                    )?,
                    PositionIds::Arange,
                )),
                token_type: None,
                project: None,
                norm: LayerNorm::load(&emb.pp("LayerNorm"), d, EPS, Bias::Required)?,
            },
            project: None,
            layers,
            final_norm: None,
            conv: None,
            hidden: d,
            heads: self.n_heads,
            scale: ((d / self.n_heads) as f32).powf(-0.5),
        })
    }

    fn head(&self, task: Task, keys: &Keys, encoder: &engine::Encoder) -> Result<Option<Head>> {
        let d = self.dim;
        Ok(match task {
            Task::Encoder => None,
            // DistilBertForSequenceClassification: pre_classifier + ReLU on [CLS], then classifier.
            Task::SequenceClassification => HeadBuilder::new(keys, task, Pool::Cls, d)
                .linear("pre_classifier", Bias::Required)?
                .act(Activation::Relu)
                .linear("classifier", Bias::Required)?
                .build(),
            Task::TokenClassification | Task::QuestionAnswering => token_head(task, keys, d)?,
            // DistilBertForMaskedLM: vocab_transform, activation, vocab_layer_norm, vocab_projector.
            Task::FillMask => HeadBuilder::new(keys, task, Pool::None, d)
                .linear("vocab_transform", Bias::Required)?
                .act(self.activation)
                .layer_norm("vocab_layer_norm", EPS, Bias::Required)?
                .decoder(
                    "vocab_projector",
                    &encoder.embeddings.word,
                    &["vocab_projector.bias"],
                )?
                .build(),
        })
    }
}

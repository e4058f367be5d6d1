//! BERT, and the encoders that share its blocks and key names: RoBERTa,
//! XLM-RoBERTa, CamemBERT (which differ in how position ids are made and
//! in their heads).
//!
//! Ported from transformers v5.24.0,
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py>
//! and `models/roberta/modeling_roberta.py`. Dropout is the identity at
//! inference and is left out.

use serde::Deserialize;

use super::{check_sizes, config, table, token_head, Architecture, Dims, Family, HeadBuilder};
use crate::engine::{
    self, Attention, Bias, Embeddings, Head, LayerNorm, Linear, Norms, PositionIds,
};
use crate::error::{Error, Result};
use crate::types::{Activation, Pool, Task};
use crate::weights::Keys;

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/configuration_bert.py
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default)]
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

pub struct BertFamily;

impl Family for BertFamily {
    fn model_types(&self) -> &'static [&'static str] {
        &["bert", "roberta", "xlm-roberta", "camembert"]
    }

    fn parse(&self, value: &serde_json::Value) -> Result<Box<dyn Architecture>> {
        let cfg: Config = config(value)?;
        cfg.validate()?;
        Ok(Box::new(cfg))
    }
}

impl Config {
    pub fn validate(&self) -> Result<()> {
        check_sizes(
            self.hidden_size,
            self.num_attention_heads,
            self.num_hidden_layers,
            ["hidden_size", "num_attention_heads", "num_hidden_layers"],
        )?;
        check_position_embedding_type(self.position_embedding_type.as_deref())?;
        if let PositionIds::AfterPadding { padding_idx } = self.positions() {
            if padding_idx as usize + 2 > self.max_position_embeddings {
                return Err(Error::config(
                    "config.json",
                    "max_position_embeddings leaves no room after the padding index",
                ));
            }
        }
        Ok(())
    }

    fn is_roberta(&self) -> bool {
        matches!(
            self.model_type.as_str(),
            "roberta" | "xlm-roberta" | "camembert"
        )
    }

    pub fn positions(&self) -> PositionIds {
        if self.is_roberta() {
            PositionIds::AfterPadding {
                padding_idx: self.pad_token_id.unwrap_or(1),
            }
        } else {
            PositionIds::Arange
        }
    }
}

/// Only absolute position embeddings are implemented (`relative_key` was
/// an experiment few checkpoints use).
pub(crate) fn check_position_embedding_type(kind: Option<&str>) -> Result<()> {
    match kind {
        None | Some("absolute") => Ok(()),
        Some(other) => Err(Error::config(
            "config.json",
            format!("position_embedding_type {other:?} is not supported (only \"absolute\")"),
        )),
    }
}

/// `BertEmbeddings`: word + token type + position, then LayerNorm, all of
/// width `width` (ELECTRA's `embedding_size`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn embeddings(
    keys: &Keys,
    vocab: usize,
    width: usize,
    max_positions: usize,
    type_vocab: usize,
    positions: PositionIds,
    eps: f64,
) -> Result<Embeddings> {
    Ok(Embeddings {
        word: table(keys, "word_embeddings.weight", vocab, width)?,
        width,
        position: Some((
            table(keys, "position_embeddings.weight", max_positions, width)?,
            positions,
        )),
        token_type: match type_vocab {
            0 => None,
            n => Some(table(keys, "token_type_embeddings.weight", n, width)?),
        },
        project: None,
        norm: LayerNorm::load(&keys.pp("LayerNorm"), width, eps, Bias::Required)?,
    })
}

/// `BertLayer` under `keys` (`encoder.layer.{i}`).
pub(crate) fn layer(
    keys: &Keys,
    hidden: usize,
    inner: usize,
    eps: f64,
    act: Activation,
) -> Result<engine::Layer> {
    let att = keys.pp("attention");
    let s = att.pp("self");
    Ok(engine::Layer {
        norms: Norms::Post,
        // BertSelfOutput: self.LayerNorm(self.dense(hidden_states) + input_tensor)
        attention_norm: Some(LayerNorm::load(
            &att.pp("output.LayerNorm"),
            hidden,
            eps,
            Bias::Required,
        )?),
        qkv: Linear::load_stacked(
            &[s.pp("query"), s.pp("key"), s.pp("value")],
            hidden,
            hidden,
            Bias::Required,
        )?,
        attention: Attention::Absolute,
        attention_output: Linear::load(&att.pp("output.dense"), hidden, hidden, Bias::Required)?,
        // BertIntermediate, BertOutput: self.LayerNorm(self.dense(hidden_states) + input_tensor)
        ffn_norm: LayerNorm::load(&keys.pp("output.LayerNorm"), hidden, eps, Bias::Required)?,
        intermediate: Linear::load(
            &keys.pp("intermediate.dense"),
            hidden,
            inner,
            Bias::Required,
        )?,
        glu: false,
        output: Linear::load(&keys.pp("output.dense"), inner, hidden, Bias::Required)?,
        act,
    })
}

/// `encoder.layer.{i}` for `i < layers`.
pub(crate) fn layers(
    keys: &Keys,
    layers: usize,
    hidden: usize,
    inner: usize,
    eps: f64,
    act: Activation,
) -> Result<Vec<std::sync::Arc<engine::Layer>>> {
    (0..layers)
        .map(|i| {
            Ok(std::sync::Arc::new(layer(
                &keys.pp(format!("encoder.layer.{i}")),
                hidden,
                inner,
                eps,
                act,
            )?))
        })
        .collect()
}

impl Architecture for Config {
    fn dims(&self) -> Dims {
        let max_tokens = match self.positions() {
            PositionIds::Arange => self.max_position_embeddings,
            PositionIds::AfterPadding { padding_idx } => {
                self.max_position_embeddings - padding_idx as usize - 1
            }
        };
        Dims {
            hidden: self.hidden_size,
            layers: self.num_hidden_layers,
            heads: self.num_attention_heads,
            vocab_size: self.vocab_size,
            max_tokens,
            pad_token_id: self.pad_token_id,
        }
    }

    fn prefix(&self) -> &'static str {
        if self.is_roberta() {
            "roberta"
        } else {
            "bert"
        }
    }

    fn encoder(&self, keys: &Keys) -> Result<engine::Encoder> {
        let (h, eps) = (self.hidden_size, self.layer_norm_eps);
        Ok(engine::Encoder {
            embeddings: embeddings(
                &keys.pp("embeddings"),
                self.vocab_size,
                h,
                self.max_position_embeddings,
                self.type_vocab_size,
                self.positions(),
                eps,
            )?,
            project: None,
            layers: layers(
                keys,
                self.num_hidden_layers,
                h,
                self.intermediate_size,
                eps,
                self.hidden_act,
            )?,
            final_norm: None,
            conv: None,
            hidden: h,
            heads: self.num_attention_heads,
            scale: ((h / self.num_attention_heads) as f32).powf(-0.5),
        })
    }

    fn head(&self, task: Task, keys: &Keys, encoder: &engine::Encoder) -> Result<Option<Head>> {
        let (h, eps) = (self.hidden_size, self.layer_norm_eps);
        let roberta = self.is_roberta();
        Ok(match task {
            Task::Encoder => None,
            // BertForSequenceClassification: pooler (dense + tanh) on [CLS], then classifier.
            Task::SequenceClassification if !roberta => HeadBuilder::new(keys, task, Pool::Cls, h)
                .linear("bert.pooler.dense", Bias::Required)?
                .act(Activation::Tanh)
                .linear("classifier", Bias::Required)?
                .build(),
            // RobertaClassificationHead: dense + tanh on <s>, then out_proj.
            Task::SequenceClassification => HeadBuilder::new(keys, task, Pool::Cls, h)
                .linear("classifier.dense", Bias::Required)?
                .act(Activation::Tanh)
                .linear("classifier.out_proj", Bias::Required)?
                .build(),
            Task::TokenClassification | Task::QuestionAnswering => token_head(task, keys, h)?,
            // BertLMPredictionHead: transform (dense, act, LayerNorm), decoder tied to the word embeddings.
            Task::FillMask if !roberta => {
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
            }
            // RobertaLMHead: dense, gelu, layer_norm, decoder.
            Task::FillMask => HeadBuilder::new(&keys.pp("lm_head"), task, Pool::None, h)
                .linear("dense", Bias::Required)?
                .act(Activation::Gelu)
                .layer_norm("layer_norm", eps, Bias::Required)?
                .decoder(
                    "decoder",
                    &encoder.embeddings.word,
                    &["decoder.bias", "bias"],
                )?
                .build(),
        })
    }
}

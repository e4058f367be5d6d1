//! The lens on every layer: the model's own head applied to each layer's
//! hidden states (transformers' `hidden_states[l]`, l = 0 the embeddings
//! block's output; through the final norm first where the family has one),
//! read out as the task reads its last layer. It shows where in the depth a
//! decision forms.

use serde::{Deserialize, Serialize};

use crate::engine::Rows;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::task::{self, Answer, Filler, TokenLabel};
use crate::tokenizer::Tokenized;
use crate::types::Task;

/// What the head reads from one layer's hidden states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LensLayer {
    /// 0: the embeddings block's output; the number of layers: the last.
    pub layer: usize,
    /// Sequence classification: every class's probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<f32>>,
    /// Fill-mask: the first mask's `top_k` fillers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<Vec<Filler>>,
    /// Token classification: every token's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_labels: Option<Vec<TokenLabel>>,
    /// Question answering: the best span (none when the context is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

/// The lens on every layer of `input` (`texts` as given, to cut answers
/// from; `top_k` fillers for fill-mask).
pub fn lens(
    model: &Model,
    input: &Tokenized,
    texts: [&str; 2],
    top_k: usize,
) -> Result<Vec<LensLayer>> {
    readable(model, input)?;
    lens_of(model, input, &model.layer_states(input)?, texts, top_k)
}

/// An error unless the model's head can read `input`'s layers: a head, and
/// for fill-mask a mask to read at.
fn readable(model: &Model, input: &Tokenized) -> Result<()> {
    let mask = model.tokenizer().mask_id();
    match model.task() {
        Task::Encoder => Err(Error::NoHead),
        Task::FillMask if !input.ids.iter().any(|&id| Some(id) == mask) => Err(Error::option(
            "lens",
            "the text has no mask token for the fill-mask head to read at",
        )),
        _ => Ok(()),
    }
}

/// [`lens`] of the hidden states a pass recorded ([`Model::layer_states`]).
pub fn lens_of(
    model: &Model,
    input: &Tokenized,
    states: &[Vec<f32>],
    texts: [&str; 2],
    top_k: usize,
) -> Result<Vec<LensLayer>> {
    readable(model, input)?;
    let t = input.len();
    let mask = model.tokenizer().mask_id();
    let first_mask = input.ids.iter().position(|&id| Some(id) == mask);
    let task = model.task();
    states
        .iter()
        .enumerate()
        .map(|(layer, h)| {
            let mut out = LensLayer {
                layer,
                probabilities: None,
                fill: None,
                token_labels: None,
                answer: None,
            };
            match task {
                Task::SequenceClassification => {
                    let logits = model.head_logits(h, t, Rows::Pooled)?;
                    out.probabilities = Some(model.prediction(logits).probabilities);
                }
                Task::FillMask => {
                    let at = first_mask.unwrap_or(0);
                    let logits = model.head_logits(h, t, Rows::Token(at))?;
                    out.fill = Some(task::fillers(&logits, model.tokenizer(), top_k));
                }
                Task::TokenClassification => {
                    let logits = model.head_logits(h, t, Rows::All)?;
                    out.token_labels = Some(task::token_labels(&logits, model.labels()));
                }
                Task::QuestionAnswering => {
                    let logits = model.head_logits(h, t, Rows::All)?;
                    let (start, end): (Vec<f32>, Vec<f32>) =
                        logits.chunks_exact(2).map(|z| (z[0], z[1])).unzip();
                    out.answer = task::answers(&start, &end, input, texts[1], 1)
                        .into_iter()
                        .next();
                }
                Task::Encoder => {}
            }
            Ok(out)
        })
        .collect()
}

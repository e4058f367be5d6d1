//! What each task's head predicts, decoded as transformers' pipelines
//! decode it: answer spans (the former `question-answering` pipeline),
//! entities (`token-classification` with `aggregation_strategy="simple"`)
//! and fillers (`fill-mask`).

use serde::{Deserialize, Serialize};

use crate::engine::head::softmax;
use crate::model::argmax;
use crate::tokenizer::{TextTokenizer, Tokenized};

/// The longest answer, in tokens (the pipeline's `max_answer_len`).
pub const MAX_ANSWER_TOKENS: usize = 15;

/// A span of the context that answers the question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    /// `[start, end)` in characters of the context.
    pub start: usize,
    pub end: usize,
    /// p(start) · p(end).
    pub score: f32,
    /// The first and last token of the span (indices into the input).
    pub token_start: usize,
    pub token_end: usize,
    /// A context read in windows: the window the span is in (its tokens'
    /// indices are that window's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
}

/// One window of a long text, as read: `[start, end)` in characters of the
/// text (of a question's context), its tokens (special ones and the
/// question's included), and what the model said of it: a question's best
/// answer, or a classifier's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub tokens: usize,
    pub answer: Option<Answer>,
    /// A classified text: `[first, last + 1)` of the explanation's tokens
    /// (the whole text's) that the window holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_range: Option<[usize; 2]>,
    /// A classified text: the window's prediction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<f32>>,
    /// A classified text: F(x) of the window, for the class explained, and
    /// Integrated Gradients' Σ attributions − (F(x) − F(x′)) there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f32>,
}

/// The context's tokens: where an answer may start and end.
fn context_tokens(input: &Tokenized) -> Vec<usize> {
    (0..input.len())
        .filter(|&i| input.sequence[i] == Some(1))
        .collect()
}

/// The spans an answer may be, in `(start, end)` order: context tokens
/// with `start ≤ end < start + 15`.
pub fn spans(input: &Tokenized) -> Vec<(usize, usize)> {
    let allowed = context_tokens(input);
    let mut out = Vec::new();
    for &s in &allowed {
        for &e in allowed
            .iter()
            .filter(|&&e| e >= s && e < s + MAX_ANSWER_TOKENS)
        {
            out.push((s, e));
        }
    }
    out
}

/// p(start) and p(end) per token: softmaxes of the logits over the
/// context's tokens only (0 elsewhere).
pub fn span_probabilities(start: &[f32], end: &[f32], input: &Tokenized) -> (Vec<f32>, Vec<f32>) {
    let allowed = context_tokens(input);
    // start_ = np.where(undesired_tokens_mask, -10000.0, start_); then a softmax.
    let probs = |logits: &[f32]| {
        let picked: Vec<f32> = allowed.iter().map(|&i| logits[i]).collect();
        let p = softmax(&picked);
        let mut full = vec![0f32; logits.len()];
        allowed.iter().zip(p).for_each(|(&i, v)| full[i] = v);
        full
    };
    (probs(start), probs(end))
}

/// The best `top_k` answers: softmax of the start and of the end logits
/// over the context's tokens only, spans `start ≤ end < start + 15`
/// ([`spans`]) ranked by p(start)·p(end), their text cut from `context` by
/// character offsets.
pub fn answers(
    start: &[f32],
    end: &[f32],
    input: &Tokenized,
    context: &str,
    top_k: usize,
) -> Vec<Answer> {
    let (ps, pe) = span_probabilities(start, end, input);
    // candidates = np.tril(np.triu(outer), max_answer_len - 1), ranked in (start, end) order.
    let mut spans: Vec<(usize, usize, f32)> = spans(input)
        .into_iter()
        .map(|(s, e)| (s, e, ps[s] * pe[e]))
        .collect();
    spans.sort_by(|a, b| b.2.total_cmp(&a.2));
    let chars: Vec<char> = context.chars().collect();
    spans
        .into_iter()
        .take(top_k)
        .map(|(s, e, score)| {
            let (a, b) = (
                input.offsets[s].0,
                input.offsets[e].1.max(input.offsets[s].0),
            );
            Answer {
                text: chars[a.min(chars.len())..b.min(chars.len())]
                    .iter()
                    .collect(),
                start: a,
                end: b,
                score,
                token_start: s,
                token_end: e,
                window: None,
            }
        })
        .collect()
}

/// A token's predicted label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLabel {
    pub label: String,
    pub score: f32,
}

/// Consecutive tokens of one entity type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub entity_group: String,
    pub word: String,
    /// `[start, end)` in characters of the text.
    pub start: usize,
    pub end: usize,
    /// The mean of its tokens' scores.
    pub score: f32,
    /// Its tokens, `[first, last + 1)` (not in transformers' output).
    pub tokens: [usize; 2],
}

/// Each token's label and probability from per-token logits `(t, labels)`.
pub fn token_labels(logits: &[f32], labels: &[String]) -> Vec<TokenLabel> {
    logits
        .chunks_exact(labels.len())
        .map(|z| {
            let p = softmax(z);
            let i = argmax(&p);
            TokenLabel {
                label: labels[i].clone(),
                score: p[i],
            }
        })
        .collect()
}

/// `get_tag`: `B-PER` → (B, PER); `I-PER` → (I, PER); `PER` → (I, PER).
fn tag(label: &str) -> (bool, &str) {
    match label.strip_prefix("B-") {
        Some(t) => (true, t),
        None => (false, label.strip_prefix("I-").unwrap_or(label)),
    }
}

/// Entities as `aggregation_strategy="simple"` groups them: the non-special
/// tokens' labels, consecutive tokens of one tag merged unless a `B-`
/// starts a new one, groups tagged `O` dropped.
pub fn entities(
    labels: &[TokenLabel],
    input: &Tokenized,
    text: &str,
    tok: &TextTokenizer,
) -> Vec<Entity> {
    let chars: Vec<char> = text.chars().collect();
    let unk = tok.unk_id();
    // (label, score, word, start, end, index) of each non-special token
    let pre: Vec<(&str, f32, String, usize, usize, usize)> = (0..input.len())
        .filter(|&i| !input.special[i])
        .map(|i| {
            let (s, e) = input.offsets[i];
            let word = if Some(input.ids[i]) == unk {
                chars[s.min(chars.len())..e.min(chars.len())]
                    .iter()
                    .collect()
            } else {
                input.tokens[i].clone()
            };
            (labels[i].label.as_str(), labels[i].score, word, s, e, i)
        })
        .collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (k, p) in pre.iter().enumerate() {
        let joins = groups.last().is_some_and(|g| {
            let (b, t) = tag(p.0);
            let (_, last) = tag(pre[*g.last().expect("groups are not empty")].0);
            t == last && !b
        });
        match joins {
            true => groups.last_mut().expect("checked").push(k),
            false => groups.push(vec![k]),
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let first = &pre[g[0]];
            let last = &pre[*g.last().expect("a group has a token")];
            let words: Vec<String> = g.iter().map(|&k| pre[k].2.clone()).collect();
            Entity {
                // entity = entities[0]["entity"].split("-", 1)[-1]
                entity_group: first
                    .0
                    .split_once('-')
                    .map_or(first.0, |(_, t)| t)
                    .to_string(),
                word: tok.tokens_to_string(&words),
                start: first.3,
                end: last.4,
                score: (g.iter().map(|&k| pre[k].1 as f64).sum::<f64>() / g.len() as f64) as f32,
                tokens: [first.5, last.5 + 1],
            }
        })
        .filter(|e| e.entity_group != "O")
        .collect()
}

/// A token that fits a mask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filler {
    /// As the pipeline's `token_str`: `tokenizer.decode([token_id])`.
    pub token: String,
    pub token_id: u32,
    pub score: f32,
}

/// The fillers of one mask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaskFill {
    /// The mask's index in the input.
    pub token: usize,
    pub fill: Vec<Filler>,
}

/// The `top_k` most probable tokens of a mask's logits over the vocabulary.
pub fn fillers(logits: &[f32], tok: &TextTokenizer, top_k: usize) -> Vec<Filler> {
    fillers_of(&softmax(logits), tok, top_k)
}

/// The `top_k` most probable tokens of a mask's probabilities `p` over the
/// vocabulary (ties: the lower id).
pub fn fillers_of(p: &[f32], tok: &TextTokenizer, top_k: usize) -> Vec<Filler> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    let k = top_k.min(p.len());
    if k == 0 {
        return Vec::new();
    }
    order.select_nth_unstable_by(k - 1, |&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    order.truncate(k);
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .map(|i| Filler {
            token: tok.decode(&[i as u32]),
            token_id: i as u32,
            score: p[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_pipeline() {
        assert_eq!(tag("B-PER"), (true, "PER"));
        assert_eq!(tag("I-LOC"), (false, "LOC"));
        assert_eq!(tag("MISC"), (false, "MISC"));
    }
}

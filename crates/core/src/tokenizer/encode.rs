//! One encoding, as the views want it: each text encoded in full, cut at the
//! model's limit, given its special tokens, and turned into [`Tokenized`]
//! (offsets in characters, words numbered across both texts of a pair).
//!
//! The post-processor is applied here rather than by the tokenizer, after
//! truncating, as `TokenizerImpl::post_process` does. Setting truncation on
//! the tokenizer instead would let the `tokenizers` crate (0.23.2) stop
//! tokenizing each text at the limit before comparing their lengths, which
//! cuts the wrong text of a pair: transformers compares the full lengths.

use tokenizers::utils::truncation::truncate_encodings;
use tokenizers::{
    Encoding, PostProcessor, PostProcessorWrapper, Tokenizer, TruncationDirection,
    TruncationParams, TruncationStrategy,
};

use crate::error::{Error, Result};

/// One tokenized input (a text, or a pair of texts).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tokenized {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// Wordpieces as the vocabulary spells them (`##ing`, `Ġthe`).
    pub tokens: Vec<String>,
    /// `[start, end)` in characters (Unicode scalar values) of the text the
    /// token came from; `(0, 0)` for special tokens.
    pub offsets: Vec<(usize, usize)>,
    /// Which text a token came from: 0, 1 for the second of a pair, `None` for special tokens.
    pub sequence: Vec<Option<u8>>,
    /// The word a token belongs to, numbered across both texts of a pair.
    pub word_ids: Vec<Option<u32>>,
    pub special: Vec<bool>,
    /// The input was longer than the model allows and was cut to `ids.len()` tokens.
    pub truncated: bool,
}

impl Tokenized {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Encodes each text in full, truncates under `strategy` to the
/// model's limit, then adds the special tokens (`TokenizerImpl::post_process`).
/// What is cut off comes back as the encoding's overflowing windows, each
/// overlapping the one before by `stride` tokens (a question's windows of
/// its context, as transformers' `return_overflowing_tokens`).
pub(crate) fn encode(
    inner: &Tokenizer,
    post: Option<&PostProcessorWrapper>,
    max_tokens: usize,
    strategy: TruncationStrategy,
    (text, pair): (&str, Option<&str>),
    stride: usize,
) -> tokenizers::Result<Encoding> {
    let first = inner.encode_char_offsets(text, false)?;
    let second = match pair {
        Some(p) => {
            let mut e = inner.encode_char_offsets(p, false)?;
            // As `encode_single_sequence(pair, type_id=1)`.
            e.set_type_ids(vec![1; e.len()]);
            Some(e)
        }
        None => None,
    };
    let added = post.map_or(0, |p| p.added_tokens(second.is_some()));
    let params = TruncationParams {
        direction: TruncationDirection::Right,
        // `load` checked that the special tokens leave room.
        max_length: max_tokens - added,
        strategy,
        stride,
    };
    let (first, second) = truncate_encodings(first, second, &params)?;
    match post {
        Some(post) => post.process(first, second, true),
        None => {
            let encodings = std::iter::once(first).chain(second).collect();
            let mut merged = <dyn PostProcessor>::default_process(encodings, true)?;
            Ok(merged.pop().unwrap_or_default())
        }
    }
}

/// transformers' `clean_up_tokenization`: no space before punctuation and
/// English contractions.
pub(crate) fn clean_up_tokenization(text: &str) -> String {
    text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

pub(crate) fn tokenized(enc: Encoding, inner: &Tokenizer) -> Result<Tokenized> {
    let special: Vec<bool> = enc
        .get_special_tokens_mask()
        .iter()
        .map(|&m| m == 1)
        .collect();
    if special.iter().all(|&s| s) {
        return Err(Error::EmptyText);
    }
    let sequence: Vec<Option<u8>> = enc
        .get_sequence_ids()
        .iter()
        .zip(&special)
        .map(|(s, &sp)| if sp { None } else { s.map(|s| s as u8) })
        .collect();
    // Words restart at 0 in the second text of a pair: renumber them so
    // that a word id names one word of the whole input.
    let mut word_ids = Vec::with_capacity(enc.len());
    let mut last: Option<(u8, u32)> = None;
    let mut next = 0u32;
    for (w, s) in enc.get_word_ids().iter().zip(&sequence) {
        word_ids.push(match (w, s) {
            (Some(w), Some(s)) => {
                if last != Some((*s, *w)) {
                    if last.is_some() {
                        next += 1;
                    }
                    last = Some((*s, *w));
                }
                Some(next)
            }
            _ => None,
        });
    }
    Ok(Tokenized {
        ids: enc.get_ids().to_vec(),
        type_ids: enc.get_type_ids().to_vec(),
        // As the vocabulary spells them (`convert_ids_to_tokens`): an added
        // token that strips a space keeps it out of its name (`<mask>`).
        tokens: enc
            .get_ids()
            .iter()
            .zip(enc.get_tokens())
            .map(|(&id, t)| inner.id_to_token(id).unwrap_or_else(|| t.clone()))
            .collect(),
        offsets: enc.get_offsets().to_vec(),
        sequence,
        word_ids,
        special,
        truncated: !enc.get_overflowing().is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_up_joins_punctuation_and_contractions() {
        assert_eq!(
            clean_up_tokenization("it ' s fine , isn't it ? we 're done ."),
            "it's fine, isn't it? we're done."
        );
    }

    #[test]
    fn words_are_numbered_across_a_pair() {
        let a = Encoding::new(
            vec![5, 6, 7],
            vec![0; 3],
            vec!["a".into(), "##b".into(), "c".into()],
            vec![Some(0), Some(0), Some(1)],
            vec![(0, 1), (1, 2), (3, 4)],
            vec![0; 3],
            vec![1; 3],
            vec![],
            Default::default(),
        );
        let mut b = a.clone();
        b.set_type_ids(vec![1; 3]);
        let post = PostProcessorWrapper::Template(
            tokenizers::processors::template::TemplateProcessing::builder()
                .try_single("[CLS] $A [SEP]")
                .unwrap()
                .try_pair("[CLS] $A [SEP] $B:1 [SEP]:1")
                .unwrap()
                .special_tokens(vec![("[CLS]", 1), ("[SEP]", 2)])
                .build()
                .unwrap(),
        );
        let enc = post.process(a, Some(b), true).unwrap();
        // An empty vocabulary: tokens keep the encoding's spelling.
        let inner = Tokenizer::new(tokenizers::models::wordpiece::WordPiece::default());
        let t = tokenized(enc, &inner).unwrap();
        assert_eq!(
            t.word_ids,
            [
                None,
                Some(0),
                Some(0),
                Some(1),
                None,
                Some(2),
                Some(2),
                Some(3),
                None
            ]
        );
        assert_eq!(
            t.sequence,
            [
                None,
                Some(0),
                Some(0),
                Some(0),
                None,
                Some(1),
                Some(1),
                Some(1),
                None
            ]
        );
        assert!(!t.truncated);
    }
}

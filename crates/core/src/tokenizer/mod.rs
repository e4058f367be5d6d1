//! Text → token ids with everything the views need: the wordpiece strings,
//! character offsets into the original text, the word each piece belongs
//! to, and which tokens are special.
//!
//! A `tokenizer.json` may arrive with padding and truncation switched on
//! (the default model's pads every input to 128). bertlens never pads, and
//! truncates only at the model's own limit, saying so in `truncated`.

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{Error, Result};

/// A tokenizer ready for one model.
pub struct TextTokenizer {
    inner: Tokenizer,
    max_tokens: usize,
    pad_id: u32,
    mask_id: Option<u32>,
}

/// One tokenized input (a text, or a pair of texts).
#[derive(Debug, Clone, PartialEq)]
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

impl TextTokenizer {
    /// Loads `tokenizer.json` for a model with `vocab_rows` embeddings that
    /// accepts at most `max_tokens` tokens.
    pub fn from_bytes(
        bytes: &[u8],
        vocab_rows: usize,
        max_tokens: usize,
        pad_token_id: Option<u32>,
    ) -> Result<Self> {
        // Say "not JSON" plainly before the tokenizers crate's terser message.
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            return Err(Error::json("tokenizer.json", e));
        }
        let mut inner =
            Tokenizer::from_bytes(bytes).map_err(|e| Error::Tokenizer(e.to_string()))?;
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let size = inner.get_vocab_size(true);
        if size > vocab_rows {
            return Err(Error::VocabMismatch {
                tokenizer: size,
                model: vocab_rows,
            });
        }
        let find = |role: &'static str, names: &[&str]| -> Result<u32> {
            names
                .iter()
                .find_map(|n| inner.token_to_id(n))
                .ok_or_else(|| Error::MissingSpecialToken {
                    role,
                    candidates: names.join(", "),
                })
        };
        let pad_id = match pad_token_id {
            Some(id) if (id as usize) < vocab_rows => id,
            _ => find("padding", &["[PAD]", "<pad>"])?,
        };
        let mask_id = find("mask", &["[MASK]", "<mask>"]).ok();
        Ok(Self {
            inner,
            max_tokens,
            pad_id,
            mask_id,
        })
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    pub fn mask_id(&self) -> Option<u32> {
        self.mask_id
    }

    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Tokenizes `text` (and `pair`, the second text of a sentence pair).
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Result<Tokenized> {
        if text.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let enc = match pair {
            Some(p) => self.inner.encode_char_offsets((text, p), true),
            None => self.inner.encode_char_offsets(text, true),
        }
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
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
            tokens: enc.get_tokens().to_vec(),
            offsets: enc.get_offsets().to_vec(),
            sequence,
            word_ids,
            special,
            truncated: !enc.get_overflowing().is_empty(),
        })
    }
}

// ---- interim: the API of the tokenizers branch, on tokenizer.json only ----

/// The tokenizer files of a model folder, as bytes.
#[derive(Debug, Clone, Default)]
pub struct TokenizerFiles {
    pub tokenizer_json: Option<Vec<u8>>,
    pub vocab_txt: Option<Vec<u8>>,
    pub vocab_json: Option<Vec<u8>>,
    pub merges_txt: Option<Vec<u8>>,
    pub sentencepiece: Option<(String, Vec<u8>)>,
    pub tokenizer_config: Option<Vec<u8>>,
    pub special_tokens_map: Option<Vec<u8>>,
    pub added_tokens: Option<Vec<u8>>,
}

impl TokenizerFiles {
    pub const NAMES: &'static [&'static str] = &[
        "tokenizer.json",
        "vocab.txt",
        "vocab.json",
        "merges.txt",
        "spiece.model",
        "spm.model",
        "sentencepiece.bpe.model",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
    ];

    pub fn is_empty(&self) -> bool {
        self.tokenizer_json.is_none()
            && self.vocab_txt.is_none()
            && self.vocab_json.is_none()
            && self.sentencepiece.is_none()
    }

    pub fn insert(&mut self, name: &str, bytes: Vec<u8>) -> bool {
        match name {
            "tokenizer.json" => self.tokenizer_json = Some(bytes),
            "vocab.txt" => self.vocab_txt = Some(bytes),
            "vocab.json" => self.vocab_json = Some(bytes),
            "merges.txt" => self.merges_txt = Some(bytes),
            "spiece.model" | "spm.model" | "sentencepiece.bpe.model" => {
                self.sentencepiece = Some((name.to_string(), bytes))
            }
            "tokenizer_config.json" => self.tokenizer_config = Some(bytes),
            "special_tokens_map.json" => self.special_tokens_map = Some(bytes),
            "added_tokens.json" => self.added_tokens = Some(bytes),
            _ => return false,
        }
        true
    }
}

/// What the model says about its tokenizer.
#[derive(Debug, Clone)]
pub struct TokenizerHints {
    pub model_type: String,
    pub vocab_rows: usize,
    pub max_tokens: usize,
    pub pad_token_id: Option<u32>,
}

impl TextTokenizer {
    pub fn load(files: &TokenizerFiles, hints: &TokenizerHints) -> Result<Self> {
        let json = files
            .tokenizer_json
            .as_ref()
            .ok_or_else(|| Error::Tokenizer("the model has no tokenizer.json".into()))?;
        Self::from_bytes(json, hints.vocab_rows, hints.max_tokens, hints.pad_token_id)
    }

    /// Question answering: the question whole, the context cut to fit.
    pub fn encode_truncating_second(&self, first: &str, second: &str) -> Result<Tokenized> {
        self.encode(first, Some(second))
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        self.inner.decode(ids, false).unwrap_or_default()
    }

    pub fn tokens_to_string(&self, tokens: &[String]) -> String {
        match self.inner.get_decoder() {
            Some(d) => tokenizers::Decoder::decode(d, tokens.to_vec()).unwrap_or_default(),
            None => tokens.join(" "),
        }
    }

    pub fn unk_id(&self) -> Option<u32> {
        ["[UNK]", "<unk>"]
            .iter()
            .find_map(|t| self.inner.token_to_id(t))
    }

    pub fn mask_token(&self) -> Option<String> {
        self.mask_id.and_then(|id| self.inner.id_to_token(id))
    }
}

//! Text → token ids with everything the views need: the wordpiece strings,
//! character offsets into the original text, the word each piece belongs
//! to, and which tokens are special.
//!
//! A tokenizer comes from the files of a hub folder ([`TokenizerFiles`]),
//! built with the `tokenizers` crate's own models, normalizers,
//! pre-tokenizers, post-processors and decoders, exactly as transformers 5's
//! `AutoTokenizer.from_pretrained(folder)` builds it:
//!
//! - `tokenizer.json`, whenever it is there;
//! - else [`source`] picks the transformers class (`tokenizer_class`, the
//!   model type, the files) and [`wordpiece`] (vocab.txt), [`bpe`]
//!   (vocab.json + merges.txt) or [`sentencepiece`] (spiece.model, spm.model,
//!   sentencepiece.bpe.model) builds it, with the options and special tokens
//!   that [`config`] reads from tokenizer_config.json,
//!   special_tokens_map.json and added_tokens.json, added in transformers'
//!   order by [`special`].
//!
//! [`encode`] turns a text or a pair into [`Tokenized`], cutting it at the
//! model's limit as transformers does.
//!
//! A `tokenizer.json` may arrive with padding and truncation switched on
//! (the default model's pads every input to 128). bertlens never pads, and
//! truncates only at the model's own limit, saying so in `truncated`.

mod bpe;
mod config;
mod encode;
mod sentencepiece;
mod source;
mod special;
mod spm_classes;
mod wordpiece;

use tokenizers::processors::template::TemplateProcessing;
use tokenizers::utils::truncation::TruncationError;
use tokenizers::{
    Decoder, Encoding, ModelWrapper, PostProcessor, PostProcessorWrapper, Tokenizer,
    TruncationStrategy,
};

pub use encode::Tokenized;
pub use source::{tokenizer_files_info, TokenizerFiles, TokenizerFilesInfo, TokenizerHints};

use crate::error::{Error, Result};
use config::TokenizerConfig;
use source::Class;
use special::Specials;

/// A tokenizer ready for one model.
pub struct TextTokenizer {
    /// Normalizer, pre-tokenizer, model, added tokens and decoder; no
    /// post-processor, truncation or padding ([`encode`] applies those).
    inner: Tokenizer,
    post: Option<PostProcessorWrapper>,
    max_tokens: usize,
    pad_id: u32,
    mask: Option<(String, u32)>,
    /// The unknown token's id (token classification spells such tokens from the text).
    unk: Option<u32>,
    source: &'static str,
    /// transformers' `clean_up_tokenization_spaces`, which its `decode`
    /// skips for BPE models.
    clean_up: bool,
}

/// A tokenizer built from slow files, before bertlens' checks.
#[derive(Debug)]
pub(crate) struct Built {
    pub tokenizer: Tokenizer,
    pub specials: Specials,
    pub clean_up: bool,
}

/// Adds the special and added tokens as `TokenizersBackend.__init__` does.
pub(crate) fn add_specials(tokenizer: &mut Tokenizer, specials: &Specials) -> Result<()> {
    tokenizer
        .add_tokens(specials.tokens_to_add())
        .map_err(|e| Error::Tokenize(e.to_string()))?;
    Ok(())
}

/// A file that [`Class::resolve`] checked is there.
fn file(f: &Option<Vec<u8>>) -> Result<&[u8]> {
    f.as_deref().ok_or(Error::NoTokenizerFile)
}

/// A template given as transformers' f-string: pieces separated by spaces.
pub(crate) fn words(template: &str) -> Vec<String> {
    template.split(' ').map(str::to_string).collect()
}

/// `processors.TemplateProcessing(single=…, pair=…, special_tokens=…)`.
pub(crate) fn template(
    single: Vec<String>,
    pair: Vec<String>,
    special_tokens: Vec<(String, u32)>,
) -> Result<TemplateProcessing> {
    let bad =
        |e: String| Error::TokenizerClass(format!("the special tokens make a bad template: {e}"));
    TemplateProcessing::builder()
        .try_single(single)
        .map_err(bad)?
        .try_pair(pair)
        .map_err(bad)?
        .special_tokens(special_tokens)
        .build()
        .map_err(|e| bad(e.to_string()))
}

fn tokenizer_json(bytes: &[u8]) -> Result<Tokenizer> {
    // Say "not JSON" plainly before the tokenizers crate's terser message.
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(Error::json("tokenizer.json", e));
    }
    let mut inner = Tokenizer::from_bytes(bytes).map_err(|e| Error::Tokenizer(e.to_string()))?;
    inner.with_padding(None);
    Ok(inner)
}

impl TextTokenizer {
    /// Loads `tokenizer.json` for a model with `vocab_rows` embeddings that
    /// accepts at most `max_tokens` tokens. A thin wrapper of [`TextTokenizer::load`].
    pub fn from_bytes(
        bytes: &[u8],
        vocab_rows: usize,
        max_tokens: usize,
        pad_token_id: Option<u32>,
    ) -> Result<Self> {
        let files = TokenizerFiles {
            tokenizer_json: Some(bytes.to_vec()),
            ..TokenizerFiles::default()
        };
        let hints = TokenizerHints {
            model_type: String::new(),
            vocab_rows,
            max_tokens,
            pad_token_id,
        };
        Self::load(&files, &hints)
    }

    /// Builds the tokenizer of a model folder from its files (see the module docs).
    pub fn load(files: &TokenizerFiles, hints: &TokenizerHints) -> Result<Self> {
        let config = TokenizerConfig::parse(
            files.tokenizer_config.as_deref(),
            files.special_tokens_map.as_deref(),
            files.added_tokens.as_deref(),
        )?;
        let (built, source) = if let Some(json) = &files.tokenizer_json {
            let built = Built {
                tokenizer: tokenizer_json(json)?,
                specials: config.specials(&[], None),
                clean_up: config.clean_up_spaces()?,
            };
            (built, "tokenizer.json")
        } else {
            let class = Class::resolve(config.tokenizer_class(), &hints.model_type, files)?;
            // Class::resolve checked that the class's files are there.
            match class {
                Class::Bert => (
                    wordpiece::build(file(&files.vocab_txt)?, &config)?,
                    "vocab.txt",
                ),
                Class::Roberta => {
                    let (vocab, merges) = (file(&files.vocab_json)?, file(&files.merges_txt)?);
                    (
                        bpe::build(vocab, merges, &config)?,
                        "vocab.json + merges.txt",
                    )
                }
                _ => {
                    let (name, bytes) =
                        files.sentencepiece.as_ref().ok_or(Error::NoTokenizerFile)?;
                    sentencepiece::build(class, name, bytes, &config)?
                }
            }
        };
        Self::assemble(built, source, hints)
    }

    fn assemble(built: Built, source: &'static str, hints: &TokenizerHints) -> Result<Self> {
        let Built {
            tokenizer: inner,
            specials,
            clean_up,
        } = built;
        let json = source == "tokenizer.json";
        let max_id = inner
            .get_vocab(true)
            .values()
            .max()
            .map_or(0, |&m| m as usize + 1);
        let size = inner.get_vocab_size(true).max(max_id);
        if size > hints.vocab_rows {
            return Err(if json {
                Error::VocabMismatch {
                    tokenizer: size,
                    model: hints.vocab_rows,
                }
            } else {
                Error::TokenizerVocabMismatch {
                    file: source,
                    tokenizer: size,
                    model: hints.vocab_rows,
                }
            });
        }
        let find = |role: &'static str, key: &str, fallback: &[&str]| -> Result<(String, u32)> {
            let names: Vec<&str> = specials
                .get(key)
                .into_iter()
                .chain(fallback.iter().copied())
                .collect();
            names
                .iter()
                .find_map(|n| inner.token_to_id(n).map(|id| (n.to_string(), id)))
                .ok_or_else(|| {
                    let candidates = names.join(", ");
                    if json {
                        Error::MissingSpecialToken { role, candidates }
                    } else {
                        Error::TokenizerMissingSpecial {
                            file: source,
                            role,
                            candidates,
                        }
                    }
                })
        };
        let pad_id = match hints.pad_token_id {
            Some(id) if (id as usize) < hints.vocab_rows => id,
            _ => find("padding", "pad_token", &["[PAD]", "<pad>"])?.1,
        };
        let mask = find("mask", "mask_token", &["[MASK]", "<mask>"]).ok();
        let unk = find("unknown", "unk_token", &["[UNK]", "<unk>"])
            .ok()
            .map(|u| u.1);
        let added = inner
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(true).max(p.added_tokens(false)));
        if hints.max_tokens <= added {
            return Err(Error::option(
                "max_tokens",
                format!(
                    "{} leaves no room for text beside the tokenizer's {added} special tokens",
                    hints.max_tokens
                ),
            ));
        }
        let clean_up = clean_up && !matches!(inner.get_model(), ModelWrapper::BPE(_));
        let mut inner = inner;
        let post = inner.get_post_processor().cloned();
        inner.with_post_processor(None::<PostProcessorWrapper>);
        inner
            .with_truncation(None)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        Ok(Self {
            inner,
            post,
            max_tokens: hints.max_tokens,
            pad_id,
            mask,
            unk,
            source,
            clean_up,
        })
    }

    fn encode_with(
        &self,
        strategy: TruncationStrategy,
        text: &str,
        pair: Option<&str>,
    ) -> tokenizers::Result<Encoding> {
        let post = self.post.as_ref();
        encode::encode(
            &self.inner,
            post,
            self.max_tokens,
            strategy,
            (text, pair),
            0,
        )
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Caps inputs at `n` tokens (never above the model's own limit).
    pub fn limit(&mut self, n: usize) {
        self.max_tokens = self.max_tokens.min(n);
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    pub fn mask_id(&self) -> Option<u32> {
        self.mask.as_ref().map(|m| m.1)
    }

    pub fn unk_id(&self) -> Option<u32> {
        self.unk
    }

    /// The mask token as typed in a text (`[MASK]`, `<mask>`).
    pub fn mask_token(&self) -> Option<&str> {
        self.mask.as_ref().map(|m| m.0.as_str())
    }

    /// Where the tokenizer came from: `tokenizer.json`, `vocab.txt`,
    /// `vocab.json + merges.txt` or the sentencepiece model's file name.
    pub fn source(&self) -> &'static str {
        self.source
    }

    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// transformers' `tokenizer.decode(ids)` (special tokens kept).
    pub fn decode(&self, ids: &[u32]) -> String {
        let text = self.inner.decode(ids, false).unwrap_or_default();
        if self.clean_up {
            encode::clean_up_tokenization(&text)
        } else {
            text
        }
    }

    /// The vocabulary's whole words, in id order, each with its spelling: a
    /// token whose decoded text (trimmed) is letters only (Unicode's
    /// Alphabetic), and which that text, after a space, tokenizes back to
    /// alone. Word pieces (`##ing`), special and unknown tokens, digits and
    /// punctuation are left out; so is a word-initial piece the tokenizer
    /// never produces for its text.
    pub fn whole_words(&self) -> Vec<(u32, String)> {
        let n = self.inner.get_vocab_size(true) as u32;
        (0..n)
            .filter_map(|id| {
                let spelled = self.inner.decode(&[id], false).ok()?;
                let word = spelled.trim();
                if word.is_empty() || !word.chars().all(char::is_alphabetic) {
                    return None;
                }
                let back = self.inner.encode(format!(" {word}"), false).ok()?;
                (back.get_ids() == [id]).then(|| (id, word.to_string()))
            })
            .collect()
    }

    /// transformers' `convert_tokens_to_string`: the decoder over the tokens,
    /// or the tokens joined by spaces when there is no decoder.
    pub fn tokens_to_string(&self, tokens: &[String]) -> String {
        match self.inner.get_decoder() {
            Some(d) => d.decode(tokens.to_vec()).unwrap_or_default(),
            None => tokens.join(" "),
        }
    }

    /// Tokenizes `text` (and `pair`, the second text of a sentence pair),
    /// cutting the longer text first when the input is too long.
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Result<Tokenized> {
        if text.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let enc = self
            .encode_with(TruncationStrategy::LongestFirst, text, pair)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        encode::tokenized(enc, &self.inner)
    }

    /// Question answering over a context of any length: the question with
    /// each window of the context that fits `max_length` tokens (at most
    /// the model's), windows overlapping by `stride` tokens (at most half
    /// of `max_length`, and less than the room the question leaves), as
    /// transformers' question-answering pipeline cut them. One window when
    /// the whole context fits; a question too long for `max_length` but not
    /// for the model gets windows of the model's length.
    pub fn encode_windows(
        &self,
        first: &str,
        second: &str,
        max_length: usize,
        stride: usize,
    ) -> Result<Vec<Tokenized>> {
        if first.trim().is_empty() || second.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let question = self
            .inner
            .encode_char_offsets(first, false)
            .map_err(|e| Error::Tokenize(e.to_string()))?
            .len();
        let added = self.post.as_ref().map_or(0, |p| p.added_tokens(true));
        // A question that fills the window but not the model widens the
        // window to the model's length.
        let mut max = max_length.min(self.max_tokens);
        if added + question >= max {
            max = self.max_tokens;
        }
        let room = max.saturating_sub(added + question);
        if room == 0 {
            return Err(Error::QuestionTooLong { question, max });
        }
        let stride = stride.min(max / 2).min(room - 1);
        let post = self.post.as_ref();
        let strategy = TruncationStrategy::OnlySecond;
        let mut enc = encode::encode(
            &self.inner,
            post,
            max,
            strategy,
            (first, Some(second)),
            stride,
        )
        .map_err(|e| Error::Tokenize(e.to_string()))?;
        let overflowing = enc.take_overflowing();
        std::iter::once(enc)
            .chain(overflowing)
            .map(|w| {
                // Nothing of the context is lost: every window is whole.
                let mut t = encode::tokenized(w, &self.inner)?;
                t.truncated = false;
                Ok(t)
            })
            .collect()
    }

    /// One text of any length in windows of `max_length` tokens (at most the
    /// model's, special tokens included) overlapping by `stride` tokens (at
    /// most half the window), as transformers' fast tokenizers cut it with
    /// `return_overflowing_tokens` and `stride`; with the whole text's
    /// tokens (longer than the model reads: to stitch the windows' scores)
    /// and, per window, the index in them of its first token of the text.
    pub fn encode_text_windows(
        &self,
        text: &str,
        max_length: usize,
        stride: usize,
    ) -> Result<TextWindows> {
        if text.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let post = self.post.as_ref();
        let added = post.map_or(0, |p| p.added_tokens(false));
        let max = max_length.min(self.max_tokens).max(added + 2);
        let room = max - added;
        let stride = stride.min(max / 2).min(room - 1);
        let strategy = TruncationStrategy::LongestFirst;
        let tokenize = |e| encode::tokenized(e, &self.inner);
        let whole = encode::encode(&self.inner, post, usize::MAX / 2, strategy, (text, None), 0)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        let whole = tokenize(whole)?;
        let mut enc = encode::encode(&self.inner, post, max, strategy, (text, None), stride)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        let overflowing = enc.take_overflowing();
        let mut windows = Vec::new();
        let mut from = 0;
        for w in std::iter::once(enc).chain(overflowing) {
            let mut t = tokenize(w)?;
            t.truncated = false;
            // Where its text's tokens are in the whole text's: the first
            // place at or after the last window's where they all match.
            let own: Vec<usize> = (0..t.len()).filter(|&i| t.sequence[i].is_some()).collect();
            let matches = |p: usize| {
                own.iter().enumerate().all(|(j, &i)| {
                    whole.ids.get(p + j) == Some(&t.ids[i])
                        && whole.offsets.get(p + j) == Some(&t.offsets[i])
                })
            };
            let at = (from..whole.len()).find(|&p| matches(p)).ok_or_else(|| {
                Error::Tokenize("a window's tokens are not the whole text's".into())
            })?;
            from = at + 1;
            windows.push((t, at));
        }
        Ok(TextWindows { whole, windows })
    }

    /// Question answering: tokenizes `first` (the question) and `second`
    /// (the context), cutting only the context when the input is too long;
    /// an error if the question alone leaves no room for the context.
    pub fn encode_truncating_second(&self, first: &str, second: &str) -> Result<Tokenized> {
        if first.trim().is_empty() || second.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        match self.encode_with(TruncationStrategy::OnlySecond, first, Some(second)) {
            Ok(enc) => encode::tokenized(enc, &self.inner),
            Err(e) if matches!(e.downcast_ref(), Some(TruncationError::SequenceTooShort)) => {
                // The context cannot be cut enough: the question fills the input.
                let question = self
                    .inner
                    .encode_char_offsets(first, false)
                    .map_err(|e| Error::Tokenize(e.to_string()))?
                    .len();
                Err(Error::QuestionTooLong {
                    question,
                    max: self.max_tokens,
                })
            }
            Err(e) => Err(Error::Tokenize(e.to_string())),
        }
    }
}

/// A text read in windows ([`TextTokenizer::encode_text_windows`]).
#[derive(Debug, Clone)]
pub struct TextWindows {
    /// The whole text's tokens, as if the model read them all.
    pub whole: Tokenized,
    /// Each window, and the index in `whole` of its first token of the text.
    pub windows: Vec<(Tokenized, usize)>,
}

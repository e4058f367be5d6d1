//! `vocab.json` + `merges.txt` → byte-level BPE, as transformers 5's
//! `RobertaTokenizer.__init__` builds it: `<s> A </s>` and
//! `<s> A </s></s> B </s>`, `add_prefix_space` and `trim_offsets` from
//! tokenizer_config.json.
//!
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/roberta/tokenization_roberta.py>

use std::io::BufRead;

use serde_json::Value;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Merges, Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::Tokenizer;

use super::config::TokenizerConfig;
use super::special::defaults;
use super::{add_specials, Built};
use crate::error::{Error, Result};

fn bad(file: &str, expected: &'static str, reason: impl ToString) -> Error {
    Error::TokenizerFile {
        file: file.into(),
        expected,
        reason: reason.to_string(),
    }
}

/// vocab.json as `BPE::read_file` reads it: an object of token → id, where
/// entries that are not numbers are skipped.
fn read_vocab(bytes: &[u8]) -> Result<Vocab> {
    const EXPECTED: &str = "a BPE vocabulary (a JSON object of token → id)";
    let json: Value = serde_json::from_slice(bytes).map_err(|e| bad("vocab.json", EXPECTED, e))?;
    let Value::Object(map) = json else {
        return Err(bad("vocab.json", EXPECTED, "it is not a JSON object"));
    };
    let mut vocab = Vocab::default();
    for (token, id) in map {
        if let Value::Number(n) = id {
            let id = n
                .as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| bad("vocab.json", EXPECTED, format!("{token:?} has id {n}")))?;
            vocab.insert(token, id);
        }
    }
    Ok(vocab)
}

/// merges.txt as `BPE::read_file` reads it: one merge a line, two tokens
/// separated by one space, `#version` lines skipped.
fn read_merges(bytes: &[u8]) -> Result<Merges> {
    const EXPECTED: &str = "a BPE merges file (two tokens separated by a space on each line)";
    let mut merges = Vec::new();
    let mut rank = 0;
    for line in bytes.lines() {
        let line = line.map_err(|e| bad("merges.txt", EXPECTED, e))?;
        if line.starts_with("#version") {
            continue;
        }
        rank += 1;
        match line.split(' ').collect::<Vec<_>>()[..] {
            [a, b] => merges.push((a.to_string(), b.to_string())),
            _ => {
                return Err(bad(
                    "merges.txt",
                    EXPECTED,
                    format!("merge {rank} is {line:?}"),
                ))
            }
        }
    }
    Ok(merges)
}

pub(crate) fn build(
    vocab_json: &[u8],
    merges_txt: &[u8],
    config: &TokenizerConfig,
) -> Result<Built> {
    // def __init__(self, vocab=None, merges=None, errors="replace", bos_token="<s>",
    //              eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
    //              pad_token="<pad>", mask_token="<mask>", add_prefix_space=False,
    //              trim_offsets=True, **kwargs)
    let add_prefix_space = config.flag("add_prefix_space")?.unwrap_or(false);
    let trim_offsets = config.flag("trim_offsets")?.unwrap_or(true);
    let specials = config.specials(
        &defaults(&[
            ("bos_token", "<s>"),
            ("eos_token", "</s>"),
            ("sep_token", "</s>"),
            ("cls_token", "<s>"),
            ("unk_token", "<unk>"),
            ("pad_token", "<pad>"),
            ("mask_token", "<mask>"),
        ]),
        None,
    );
    // BPE(vocab=self._vocab, merges=self._merges, dropout=None, continuing_subword_prefix="",
    //     end_of_word_suffix="", fuse_unk=False)
    let model = BPE::builder()
        .vocab_and_merges(read_vocab(vocab_json)?, read_merges(merges_txt)?)
        .continuing_subword_prefix(String::new())
        .end_of_word_suffix(String::new())
        .fuse_unk(false)
        .build()
        .map_err(|e| bad("merges.txt", "a BPE merges file that matches vocab.json", e))?;
    let mut tokenizer = Tokenizer::new(model);
    // pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space); decoders.ByteLevel()
    tokenizer.with_pre_tokenizer(Some(
        ByteLevel::default().add_prefix_space(add_prefix_space),
    ));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    add_specials(&mut tokenizer, &specials)?;
    // processors.RobertaProcessing((str(sep_token), self.sep_token_id),
    //     (str(cls_token), self.cls_token_id), trim_offsets, add_prefix_space)
    let token = |key: &str| -> Result<(String, u32)> {
        let t = specials.get(key).unwrap_or_default().to_string();
        let id = tokenizer
            .token_to_id(&t)
            .ok_or_else(|| Error::TokenizerMissingSpecial {
                file: "vocab.json + merges.txt",
                role: if key == "sep_token" {
                    "separator"
                } else {
                    "classifier"
                },
                candidates: t.clone(),
            })?;
        Ok((t, id))
    };
    let post = RobertaProcessing::new(token("sep_token")?, token("cls_token")?)
        .trim_offsets(trim_offsets)
        .add_prefix_space(add_prefix_space);
    tokenizer.with_post_processor(Some(post));
    Ok(Built {
        tokenizer,
        specials,
        clean_up: config.clean_up_spaces()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_skip_the_version_line() {
        let merges = read_merges(b"#version: 0.2\n\xc4\xa0 t\nh e\n").unwrap();
        assert_eq!(merges, [("Ġ".into(), "t".into()), ("h".into(), "e".into())]);
    }

    #[test]
    fn file_errors_say_what_was_expected() {
        let err = read_merges(b"#version: 0.2\na b\nabc\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "merges.txt is not a BPE merges file (two tokens separated by a space on each line): \
             merge 2 is \"abc\""
        );
        let err = read_vocab(b"[1, 2]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "vocab.json is not a BPE vocabulary (a JSON object of token → id): it is not a JSON object"
        );
        let err = read_vocab(br#"{"a": -1}"#).unwrap_err();
        assert!(err.to_string().ends_with("\"a\" has id -1"), "{err}");
    }

    #[test]
    fn roberta_template_and_mask_lstrip() {
        let vocab = br#"{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4, "b": 5, "\u0120": 6, "ab": 7, "\u0120ab": 8, "<mask>": 9}"#;
        let merges = b"#version: 0.2\na b\n\xc4\xa0 ab\n";
        let config = TokenizerConfig::parse(
            None,
            Some(br#"{"mask_token": {"content": "<mask>", "lstrip": true}}"#),
            None,
        )
        .unwrap();
        let b = build(vocab, merges, &config).unwrap();
        let enc = b.tokenizer.encode(("ab <mask>", "ab"), true).unwrap();
        assert_eq!(
            enc.get_tokens(),
            ["<s>", "ab", " <mask>", "</s>", "</s>", "ab", "</s>"]
        );
        assert_eq!(enc.get_ids(), [0, 7, 9, 2, 2, 7, 2]);
    }
}

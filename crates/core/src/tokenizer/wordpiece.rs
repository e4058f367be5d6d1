//! `vocab.txt` → WordPiece, as transformers 5's `BertTokenizer.__init__`
//! builds it (DistilBERT's and ELECTRA's tokenizers are the same class).
//!
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/tokenization_bert.py>

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::Tokenizer;

use super::config::TokenizerConfig;
use super::special::defaults;
use super::{add_specials, template, words, Built};
use crate::error::{Error, Result};

pub(crate) fn build(vocab_txt: &[u8], config: &TokenizerConfig) -> Result<Built> {
    // def __init__(self, vocab=None, do_lower_case=True, unk_token="[UNK]", sep_token="[SEP]",
    //              pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
    //              tokenize_chinese_chars=True, strip_accents=None, **kwargs)
    let do_lower_case = config.flag("do_lower_case")?.unwrap_or(true);
    let tokenize_chinese_chars = config.flag("tokenize_chinese_chars")?.unwrap_or(true);
    let strip_accents = config.flag("strip_accents")?;
    let specials = config.specials(
        &defaults(&[
            ("unk_token", "[UNK]"),
            ("sep_token", "[SEP]"),
            ("pad_token", "[PAD]"),
            ("cls_token", "[CLS]"),
            ("mask_token", "[MASK]"),
        ]),
        None,
    );
    // transformers passes the path of vocab.txt to WordPiece, which reads it with
    // `WordPiece::read_file`; `read_bytes` is the same loop over bytes.
    let vocab = WordPiece::read_bytes(vocab_txt).map_err(|e| Error::TokenizerFile {
        file: "vocab.txt".into(),
        expected: "a WordPiece vocabulary (one UTF-8 token a line)",
        reason: e.to_string(),
    })?;
    // self._tokenizer = Tokenizer(WordPiece(self._vocab, unk_token=str(unk_token)))
    let unk = specials.get("unk_token").unwrap_or("[UNK]").to_string();
    let model = WordPiece::builder()
        .vocab(vocab)
        .unk_token(unk)
        .build()
        .map_err(|e| Error::Tokenize(e.to_string()))?;
    let mut tokenizer = Tokenizer::new(model);
    // normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=tokenize_chinese_chars,
    //                            strip_accents=strip_accents, lowercase=do_lower_case)
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(
            true,
            tokenize_chinese_chars,
            strip_accents,
            do_lower_case,
        )))
        .map_err(|e| Error::Tokenize(e.to_string()))?;
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    // decoders.WordPiece(prefix="##")  (cleanup defaults to True)
    tokenizer.with_decoder(Some(WordPieceDecoder::new("##".into(), true)));
    // super().__init__(...) adds the special tokens.
    add_specials(&mut tokenizer, &specials)?;
    // cls_token_id = self.cls_token_id if self.cls_token_id is not None else 2
    // sep_token_id = self.sep_token_id if self.sep_token_id is not None else 3
    let cls = specials.get("cls_token").unwrap_or("[CLS]").to_string();
    let sep = specials.get("sep_token").unwrap_or("[SEP]").to_string();
    let cls_id = tokenizer.token_to_id(&cls).unwrap_or(2);
    let sep_id = tokenizer.token_to_id(&sep).unwrap_or(3);
    // single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1"
    let post = template(
        words(&format!("{cls}:0 $A:0 {sep}:0")),
        words(&format!("{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1")),
        vec![(cls, cls_id), (sep, sep_id)],
    )?;
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

    fn config(json: &str) -> TokenizerConfig {
        TokenizerConfig::parse(Some(json.as_bytes()), None, None).unwrap()
    }

    const VOCAB: &[u8] =
        b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\ncafe\ncaf\n##\xc3\xa9\n";

    #[test]
    fn lowercases_and_strips_accents_by_default() {
        let b = build(VOCAB, &config("{}")).unwrap();
        let enc = b.tokenizer.encode("Hello CAFÉ [MASK]", true).unwrap();
        assert_eq!(
            enc.get_tokens(),
            ["[CLS]", "hello", "cafe", "[MASK]", "[SEP]"]
        );
        assert_eq!(enc.get_ids(), [2, 5, 7, 4, 3]);
    }

    #[test]
    fn cased_keeps_accents() {
        let b = build(
            VOCAB,
            &config(r#"{"do_lower_case": false, "strip_accents": false}"#),
        )
        .unwrap();
        let enc = b.tokenizer.encode("café", false).unwrap();
        assert_eq!(enc.get_tokens(), ["caf", "##é"]);
    }

    #[test]
    fn a_vocabulary_that_is_not_text_is_an_error() {
        let err = build(b"ok\n\xff\xfe\n", &config("{}"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("vocab.txt is not a WordPiece vocabulary (one UTF-8 token a line): "),
            "{err}"
        );
    }
}

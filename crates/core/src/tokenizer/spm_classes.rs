//! The transformers 5 classes over a sentencepiece model, each a port of
//! its `__init__` (the Python beside each line): `AlbertTokenizer`,
//! `DebertaV2Tokenizer`, `XLMRobertaTokenizer` (fairseq's id offset,
//! `<mask>` appended) and `CamembertTokenizer` (its own first ids).
//!
//! <https://github.com/huggingface/transformers/tree/v5.24.0/src/transformers/models>
//! (`albert`, `deberta_v2`, `xlm_roberta`, `camembert`: `tokenization_*.py`), and
//! `convert_slow_tokenizer.py` for `XLMRobertaConverter.convert_from_spm` and
//! `CamembertConverter.convert_from_spm`.

use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::{
    Lowercase, Precompiled, Replace, Sequence as NormalizerSequence, Strip, StripAccents, NFC, NFKD,
};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::punctuation::Punctuation;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::{
    AddedToken, NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer,
};

use super::config::TokenizerConfig;
use super::sentencepiece::Extracted;
use super::special::{defaults, Special};
use super::{add_specials, template, words, Built};
use crate::error::{Error, Result};

fn unigram(vocab: Vec<(String, f64)>, unk_id: usize, source: &'static str) -> Result<Tokenizer> {
    // Unigram(vocab, unk_id=unk_id, byte_fallback=False)
    let model = Unigram::from(vocab, Some(unk_id), false).map_err(|e| Error::TokenizerFile {
        file: source.into(),
        expected: "a sentencepiece model transformers can load",
        reason: e.to_string(),
    })?;
    Ok(Tokenizer::new(model))
}

fn tk(e: impl ToString) -> Error {
    Error::Tokenize(e.to_string())
}

fn metaspace(prepend: PrependScheme) -> Metaspace {
    Metaspace::new('▁', prepend, true)
}

/// `pre_tokenizers.Sequence([WhitespaceSplit(), Metaspace(...)])`, and the
/// Metaspace decoder with the same scheme.
fn whitespace_metaspace(tokenizer: &mut Tokenizer, prepend: PrependScheme) {
    let pre: Vec<PreTokenizerWrapper> = vec![WhitespaceSplit.into(), metaspace(prepend).into()];
    tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(pre)));
    tokenizer.with_decoder(Some(metaspace(prepend)));
}

fn id(tokenizer: &Tokenizer, token: &str, source: &'static str, role: &'static str) -> Result<u32> {
    tokenizer
        .token_to_id(token)
        .ok_or_else(|| Error::TokenizerMissingSpecial {
            file: source,
            role,
            candidates: token.to_string(),
        })
}

pub(crate) fn albert(
    spm: Extracted,
    config: &TokenizerConfig,
    source: &'static str,
) -> Result<Built> {
    // def __init__(self, vocab=None, do_lower_case=True, keep_accents=False, bos_token="[CLS]",
    //     eos_token="[SEP]", unk_token="<unk>", sep_token="[SEP]", pad_token="<pad>",
    //     cls_token="[CLS]", mask_token="[MASK]", _spm_precompiled_charsmap=None,
    //     add_prefix_space=True, trim_offsets=True, **kwargs)
    let do_lower_case = config.flag("do_lower_case")?.unwrap_or(true);
    let keep_accents = config.flag("keep_accents")?.unwrap_or(false);
    let add_prefix_space = config.flag("add_prefix_space")?.unwrap_or(true);
    let specials = config.specials(
        &defaults(&[
            ("bos_token", "[CLS]"),
            ("eos_token", "[SEP]"),
            ("unk_token", "<unk>"),
            ("sep_token", "[SEP]"),
            ("pad_token", "<pad>"),
            ("cls_token", "[CLS]"),
            ("mask_token", "[MASK]"),
        ]),
        Some(spm.extra),
    );
    // Unigram(self._vocab_scores, unk_id=1, byte_fallback=False)
    let mut tokenizer = unigram(spm.vocab, 1, source)?;
    // [Replace("``", '"'), Replace("''", '"')] + [NFKD(), StripAccents()] if not keep_accents
    //   + [Lowercase()] if do_lower_case + [Precompiled(charsmap)] if charsmap
    let mut normalizers: Vec<NormalizerWrapper> = vec![
        Replace::new("``", "\"").map_err(tk)?.into(),
        Replace::new("''", "\"").map_err(tk)?.into(),
    ];
    if !keep_accents {
        normalizers.push(NFKD.into());
        normalizers.push(StripAccents.into());
    }
    if do_lower_case {
        normalizers.push(Lowercase.into());
    }
    if let Some(map) = &spm.charsmap {
        normalizers.push(precompiled(map, source)?.into());
    }
    tokenizer
        .with_normalizer(Some(NormalizerSequence::new(normalizers)))
        .map_err(tk)?;
    let prepend = if add_prefix_space {
        PrependScheme::Always
    } else {
        PrependScheme::Never
    };
    whitespace_metaspace(&mut tokenizer, prepend);
    // special_tokens=[("[CLS]", token_to_id(str(cls_token))), ("[SEP]", token_to_id(str(sep_token)))]
    let cls = id(
        &tokenizer,
        specials.get("cls_token").unwrap_or("[CLS]"),
        source,
        "classifier",
    )?;
    let sep = id(
        &tokenizer,
        specials.get("sep_token").unwrap_or("[SEP]"),
        source,
        "separator",
    )?;
    add_specials(&mut tokenizer, &specials)?;
    let post = template(
        words("[CLS]:0 $A:0 [SEP]:0"),
        words("[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1"),
        vec![("[CLS]".into(), cls), ("[SEP]".into(), sep)],
    )?;
    tokenizer.with_post_processor(Some(post));
    Ok(Built {
        tokenizer,
        specials,
        clean_up: config.clean_up_spaces()?,
    })
}

pub(crate) fn deberta_v2(
    spm: Extracted,
    config: &TokenizerConfig,
    source: &'static str,
) -> Result<Built> {
    // def __init__(self, vocab=None, do_lower_case=False, split_by_punct=False, bos_token="[CLS]",
    //     eos_token="[SEP]", unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
    //     cls_token="[CLS]", mask_token="[MASK]", add_prefix_space=True, unk_id=1, **kwargs)
    let do_lower_case = config.flag("do_lower_case")?.unwrap_or(false);
    let split_by_punct = config.flag("split_by_punct")?.unwrap_or(false);
    let add_prefix_space = config.flag("add_prefix_space")?.unwrap_or(true);
    let specials = config.specials(
        &defaults(&[
            ("bos_token", "[CLS]"),
            ("eos_token", "[SEP]"),
            ("unk_token", "[UNK]"),
            ("sep_token", "[SEP]"),
            ("pad_token", "[PAD]"),
            ("cls_token", "[CLS]"),
            ("mask_token", "[MASK]"),
        ]),
        Some(spm.extra),
    );
    // unk_id = vocab.index((str(unk_token), 0.0)) if (str(unk_token), 0.0) in vocab else unk_id
    let unk = specials.get("unk_token").unwrap_or("[UNK]");
    let unk_id = spm
        .vocab
        .iter()
        .position(|(p, s)| p == unk && *s == 0.0)
        .unwrap_or(spm.unk_id);
    let mut tokenizer = unigram(spm.vocab, unk_id, source)?;
    // [Lowercase()] if do_lower_case + [Replace(Regex(r"\s{2,}|[\n\r\t]"), " "), NFC(),
    //   Strip(left=False, right=True)]; the precompiled charsmap is not used.
    let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
    if do_lower_case {
        normalizers.push(Lowercase.into());
    }
    normalizers.push(
        Replace::new(regex(r"\s{2,}|[\n\r\t]"), " ")
            .map_err(tk)?
            .into(),
    );
    normalizers.push(NFC.into());
    normalizers.push(Strip::new(false, true).into());
    tokenizer
        .with_normalizer(Some(NormalizerSequence::new(normalizers)))
        .map_err(tk)?;
    // prepend_scheme = "always" if add_prefix_space else "first"
    let prepend = if add_prefix_space {
        PrependScheme::Always
    } else {
        PrependScheme::First
    };
    let mut pre: Vec<PreTokenizerWrapper> = Vec::new();
    if split_by_punct {
        pre.push(Punctuation::new(SplitDelimiterBehavior::Isolated).into());
    }
    pre.push(metaspace(prepend).into());
    tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(pre)));
    tokenizer.with_decoder(Some(metaspace(prepend)));
    add_specials(&mut tokenizer, &specials)?;
    // cls_token_id = self.cls_token_id if self.cls_token_id is not None else 0 (sep alike)
    let cls = specials.get("cls_token").unwrap_or("[CLS]").to_string();
    let sep = specials.get("sep_token").unwrap_or("[SEP]").to_string();
    let cls_id = tokenizer.token_to_id(&cls).unwrap_or(0);
    let sep_id = tokenizer.token_to_id(&sep).unwrap_or(0);
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

/// XLMRobertaTokenizer, and CamembertTokenizer (`camembert`): the same
/// pipeline over differently renumbered pieces.
pub(crate) fn xlm_roberta(
    spm: Extracted,
    config: &TokenizerConfig,
    source: &'static str,
    camembert: bool,
) -> Result<Built> {
    // def __init__(self, vocab=None, add_prefix_space=True, bos_token="<s>", eos_token="</s>",
    //     sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>",
    //     mask_token="<mask>", _spm_precompiled_charsmap=None, **kwargs)
    let add_prefix_space = config.flag("add_prefix_space")?.unwrap_or(true);
    let mut specials = config.specials(
        &defaults(&[
            ("bos_token", "<s>"),
            ("eos_token", "</s>"),
            ("sep_token", "</s>"),
            ("cls_token", "<s>"),
            ("unk_token", "<unk>"),
            ("pad_token", "<pad>"),
            ("mask_token", "<mask>"),
        ]),
        Some(spm.extra),
    );
    let get = |key: &str, default: &str| specials.get(key).unwrap_or(default).to_string();
    let (bos, pad, eos, unk, mask) = (
        get("bos_token", "<s>"),
        get("pad_token", "<pad>"),
        get("eos_token", "</s>"),
        get("unk_token", "<unk>"),
        get("mask_token", "<mask>"),
    );
    let zero = |t: &str| (t.to_string(), 0.0);
    let (vocab, unk_id) = if camembert {
        // CamembertConverter.convert_from_spm: [("<s>NOTUSED", 0.0), (pad_token, 0.0),
        //   ("</s>NOTUSED", 0.0), (unk_token, 0.0), ("<unk>NOTUSED", -100.0)]
        //   + list(vocab)[1:] + [(mask_token, 0.0)]
        let mut v = vec![
            zero("<s>NOTUSED"),
            zero(&pad),
            zero("</s>NOTUSED"),
            zero(&unk),
        ];
        v.push(("<unk>NOTUSED".into(), -100.0));
        v.extend(spm.vocab.into_iter().skip(1));
        v.push(zero(&mask));
        // unk_index = next((i for i, (tok, _) in enumerate(self._vocab) if tok == str(unk_token)), 0)
        let unk_id = v.iter().position(|(t, _)| *t == unk).unwrap_or(0);
        (v, unk_id)
    } else {
        // XLMRobertaConverter.convert_from_spm: [(bos, 0.0), (pad, 0.0), (eos, 0.0), (unk, 0.0)]
        //   + list(vocab)[3:] + [(mask_token, 0.0)]; Unigram(..., unk_id=3)
        let mut v = vec![zero(&bos), zero(&pad), zero(&eos), zero(&unk)];
        v.extend(spm.vocab.into_iter().skip(3));
        v.push(zero(&mask));
        (v, 3)
    };
    if camembert {
        // mask_token = AddedToken(mask_token, lstrip=True, special=True) if isinstance(mask_token, str)
        if let Some(Special::Text(m)) = specials.value("mask_token").cloned() {
            let token = AddedToken::from(m, true).lstrip(true);
            specials.set("mask_token", Special::Token(token));
        }
    }
    let mut tokenizer = unigram(vocab, unk_id, source)?;
    // self._tokenizer.normalizer = normalizers.Precompiled(_spm_precompiled_charsmap)
    if let Some(map) = &spm.charsmap {
        tokenizer
            .with_normalizer(Some(precompiled(map, source)?))
            .map_err(tk)?;
    }
    let prepend = if add_prefix_space {
        PrependScheme::Always
    } else {
        PrependScheme::Never
    };
    whitespace_metaspace(&mut tokenizer, prepend);
    add_specials(&mut tokenizer, &specials)?;
    // XLM-R: single=[str(bos_token), "$A", str(eos_token)] with the __init__ arguments;
    // CamemBERT: f"{self.bos_token} $A {self.eos_token}" — the same tokens.
    let bos_id = id(&tokenizer, &bos, source, "beginning of sequence")?;
    let eos_id = id(&tokenizer, &eos, source, "end of sequence")?;
    let single = vec![bos.clone(), "$A".into(), eos.clone()];
    let pair = vec![
        bos.clone(),
        "$A".into(),
        eos.clone(),
        eos.clone(),
        "$B".into(),
        eos.clone(),
    ];
    let post = if camembert {
        template(
            words(&single.join(" ")),
            words(&pair.join(" ")),
            vec![(bos, bos_id), (eos, eos_id)],
        )?
    } else {
        template(single, pair, vec![(bos, bos_id), (eos, eos_id)])?
    };
    tokenizer.with_post_processor(Some(post));
    Ok(Built {
        tokenizer,
        specials,
        clean_up: config.clean_up_spaces()?,
    })
}

fn precompiled(map: &[u8], source: &'static str) -> Result<Precompiled> {
    Precompiled::from(map).map_err(|e| Error::TokenizerFile {
        file: source.into(),
        expected: "a sentencepiece model with a valid precompiled charsmap",
        reason: e.to_string(),
    })
}

fn regex(pattern: &str) -> tokenizers::normalizers::replace::ReplacePattern {
    tokenizers::normalizers::replace::ReplacePattern::Regex(pattern.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> TokenizerConfig {
        TokenizerConfig::parse(Some(json.as_bytes()), None, None).unwrap()
    }

    /// An extracted model whose pieces all score -1 except the specials.
    fn extracted(pieces: &[&str], control: &[&str], unk_id: usize) -> Extracted {
        Extracted {
            vocab: pieces
                .iter()
                .map(|p| {
                    (
                        p.to_string(),
                        if p.starts_with(['<', '[']) { 0.0 } else { -1.0 },
                    )
                })
                .collect(),
            unk_id,
            extra: control
                .iter()
                .map(|c| Special::Token(AddedToken::from(*c, true).normalized(false)))
                .collect(),
            charsmap: None,
            bpe: false,
        }
    }

    #[test]
    fn albert_lowercases_strips_accents_and_uses_its_own_template() {
        let pieces = [
            "<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "▁cafe", "▁\"", "▁",
        ];
        let spm = extracted(&pieces, &["<pad>", "[CLS]", "[SEP]", "[MASK]"], 1);
        let b = albert(spm, &config("{}"), "spiece.model").unwrap();
        let enc = b.tokenizer.encode("CAFÉ ``", true).unwrap();
        assert_eq!(enc.get_tokens(), ["[CLS]", "▁cafe", "▁\"", "[SEP]"]);
        assert_eq!(enc.get_ids(), [2, 5, 6, 3]);
        let enc = b.tokenizer.encode(("cafe", "cafe"), true).unwrap();
        assert_eq!(enc.get_type_ids(), [0, 0, 0, 1, 1]);
    }

    #[test]
    fn deberta_v2_finds_its_unknown_piece_and_collapses_whitespace() {
        let pieces = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "▁a", "▁b"];
        let spm = extracted(&pieces, &["[PAD]", "[CLS]", "[SEP]"], 0);
        let b = deberta_v2(spm, &config("{}"), "spm.model").unwrap();
        let enc = b.tokenizer.encode("a  \t b   z  ", true).unwrap();
        assert_eq!(enc.get_tokens(), ["[CLS]", "▁a", "▁b", "▁z", "[SEP]"]);
        // `▁z` is unknown: [UNK] (id 3) rather than the trainer's unk_id (0).
        assert_eq!(enc.get_ids(), [1, 4, 5, 3, 2]);
        // [MASK] is not a piece: it is added after the vocabulary.
        assert_eq!(b.tokenizer.token_to_id("[MASK]"), Some(6));
    }

    #[test]
    fn a_class_token_missing_from_the_pieces_is_an_error() {
        let spm = extracted(&["<pad>", "<unk>", "▁a"], &[], 1);
        let err = albert(spm, &config("{}"), "spiece.model").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the tokenizer (spiece.model) has no classifier token (looked for [CLS])"
        );
    }
}

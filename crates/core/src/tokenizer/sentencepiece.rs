//! Sentencepiece models (`spiece.model`, `spm.model`,
//! `sentencepiece.bpe.model`) → Unigram, as transformers 5 builds them.
//!
//! transformers reads the model's protobuf (`SentencePieceExtractor.extract`):
//! the pieces and their scores, the unknown piece's id, the precompiled
//! normalization charsmap, and the control and user-defined pieces, which
//! become extra special tokens. Then the class's `__init__` builds the
//! tokenizer ([`super::spm_classes`]). These classes declare a Unigram
//! model, so a BPE sentencepiece model becomes a
//! Unigram over the same pieces and scores, as in transformers (CamemBERT
//! declares none and fails on BPE models there; it is an error here).
//!
//! - <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/convert_slow_tokenizer.py>
//! - `models/{albert,deberta_v2,xlm_roberta,camembert}/tokenization_*.py` beside it.

use prost::Message;
use tokenizers::AddedToken;

use super::config::TokenizerConfig;
use super::source::{Class, SENTENCEPIECE_NAMES};
use super::special::Special;
use super::spm_classes::{albert, deberta_v2, xlm_roberta};
use super::Built;
use crate::error::{Error, Result};

/// The fields of sentencepiece's `ModelProto` (sentencepiece_model.proto) that
/// transformers reads.
#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, repeated, tag = "1")]
    pieces: Vec<SentencePiece>,
    #[prost(message, optional, tag = "2")]
    trainer_spec: Option<TrainerSpec>,
    #[prost(message, optional, tag = "3")]
    normalizer_spec: Option<NormalizerSpec>,
}

#[derive(Clone, PartialEq, Message)]
struct SentencePiece {
    #[prost(string, optional, tag = "1")]
    piece: Option<String>,
    #[prost(float, optional, tag = "2")]
    score: Option<f32>,
    /// `Type`: NORMAL = 1 (the default), UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, …
    #[prost(int32, optional, tag = "3")]
    r#type: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct TrainerSpec {
    /// UNIGRAM = 1 (the default), BPE = 2, WORD = 3, CHAR = 4.
    #[prost(int32, optional, tag = "3")]
    model_type: Option<i32>,
    #[prost(int32, optional, tag = "40")]
    pub(crate) unk_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct NormalizerSpec {
    #[prost(bytes = "vec", optional, tag = "2")]
    precompiled_charsmap: Option<Vec<u8>>,
}

const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const BPE: i32 = 2;

/// What `SentencePieceExtractor.extract` gives a class.
pub(crate) struct Extracted {
    pub(crate) vocab: Vec<(String, f64)>,
    pub(crate) unk_id: usize,
    /// Control (special) and user-defined (not special) pieces, in id order.
    pub(crate) extra: Vec<Special>,
    pub(crate) charsmap: Option<Vec<u8>>,
    pub(crate) bpe: bool,
}

fn extract(file: &str, bytes: &[u8]) -> Result<Extracted> {
    const EXPECTED: &str = "a sentencepiece model";
    let bad = |reason: String| Error::TokenizerFile {
        file: file.to_string(),
        expected: EXPECTED,
        reason,
    };
    let proto = ModelProto::decode(bytes).map_err(|e| bad(e.to_string()))?;
    if proto.pieces.is_empty() {
        return Err(bad("it holds no pieces".into()));
    }
    let trainer = proto.trainer_spec.unwrap_or_default();
    // vocab = [(piece.piece, piece.score) for piece in self.proto.pieces]
    let vocab = proto
        .pieces
        .iter()
        .map(|p| {
            (
                p.piece.clone().unwrap_or_default(),
                f64::from(p.score.unwrap_or(0.0)),
            )
        })
        .collect();
    // spm_added_tokens = [(id, p.piece, p.type == 3) for id, p in enumerate(pieces) if p.type in [3, 4]]
    // AddedToken(token, normalized=False, special=special)
    let extra = proto
        .pieces
        .iter()
        .filter_map(|p| {
            let kind = p.r#type.unwrap_or(1);
            (kind == CONTROL || kind == USER_DEFINED).then(|| {
                let t = AddedToken::from(p.piece.clone().unwrap_or_default(), kind == CONTROL)
                    .normalized(false);
                Special::Token(t)
            })
        })
        .collect();
    let unk_id = trainer.unk_id.unwrap_or(0);
    Ok(Extracted {
        vocab,
        unk_id: usize::try_from(unk_id)
            .map_err(|_| bad(format!("its unknown piece has id {unk_id}")))?,
        extra,
        // getattr(self.proto.normalizer_spec, "precompiled_charsmap", None) or None
        charsmap: proto
            .normalizer_spec
            .and_then(|n| n.precompiled_charsmap)
            .filter(|c| !c.is_empty()),
        bpe: trainer.model_type.unwrap_or(1) == BPE,
    })
}

/// The file name as a `&'static str` (for [`super::TextTokenizer::source`]).
fn static_name(name: &str) -> &'static str {
    SENTENCEPIECE_NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or("a sentencepiece model")
}

pub(crate) fn build(
    class: Class,
    name: &str,
    bytes: &[u8],
    config: &TokenizerConfig,
) -> Result<(Built, &'static str)> {
    let spm = extract(name, bytes)?;
    let source = static_name(name);
    let built = match class {
        Class::Albert => albert(spm, config, source)?,
        Class::DebertaV2 => deberta_v2(spm, config, source)?,
        Class::XlmRoberta => xlm_roberta(spm, config, source, false)?,
        Class::Camembert if spm.bpe => {
            return Err(Error::TokenizerClass(format!(
                "{name} is a BPE sentencepiece model, and CamembertTokenizer (in transformers too) \
                 reads only unigram ones"
            )))
        }
        Class::Camembert => xlm_roberta(spm, config, source, true)?,
        Class::Bert | Class::Roberta => {
            return Err(Error::TokenizerClass(format!(
                "{} does not read {name}",
                class.name()
            )))
        }
    };
    Ok((built, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(p: &str, score: f32, kind: i32) -> SentencePiece {
        SentencePiece {
            piece: Some(p.into()),
            score: Some(score),
            r#type: Some(kind),
        }
    }

    fn model(model_type: i32) -> Vec<u8> {
        ModelProto {
            pieces: vec![
                piece("<unk>", 0.0, 2),
                piece("<s>", 0.0, CONTROL),
                piece("</s>", 0.0, CONTROL),
                piece("▁a", -1.0, 1),
                piece("b", -2.0, 1),
                piece("▁", -3.0, 1),
                piece("a", -4.0, 1),
            ],
            trainer_spec: Some(TrainerSpec {
                model_type: Some(model_type),
                unk_id: Some(0),
            }),
            normalizer_spec: None,
        }
        .encode_to_vec()
    }

    fn config() -> TokenizerConfig {
        TokenizerConfig::parse(None, None, None).unwrap()
    }

    #[test]
    fn xlm_roberta_shifts_ids_by_fairseq_offset_and_appends_mask() {
        let (b, source) = build(
            Class::XlmRoberta,
            "sentencepiece.bpe.model",
            &model(1),
            &config(),
        )
        .unwrap();
        assert_eq!(source, "sentencepiece.bpe.model");
        let enc = b.tokenizer.encode(("ab <mask>", "a"), true).unwrap();
        // A plain <mask> (no tokenizer_config.json to make it strip on its left).
        assert_eq!(
            enc.get_tokens(),
            ["<s>", "▁a", "b", "<mask>", "</s>", "</s>", "▁a", "</s>"]
        );
        assert_eq!(enc.get_ids(), [0, 4, 5, 8, 2, 2, 4, 2]);
    }

    #[test]
    fn camembert_has_its_own_first_ids() {
        let (b, _) = build(
            Class::Camembert,
            "sentencepiece.bpe.model",
            &model(1),
            &config(),
        )
        .unwrap();
        let enc = b.tokenizer.encode("ab", true).unwrap();
        assert_eq!(enc.get_tokens(), ["<s>", "▁a", "b", "</s>"]);
        assert_eq!(enc.get_ids(), [5, 7, 8, 6]);
        let err = build(
            Class::Camembert,
            "sentencepiece.bpe.model",
            &model(BPE),
            &config(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "sentencepiece.bpe.model is a BPE sentencepiece model, and CamembertTokenizer (in \
             transformers too) reads only unigram ones"
        );
    }

    #[test]
    fn not_a_sentencepiece_model() {
        let err = build(Class::DebertaV2, "spm.model", b"{\"model\": 1}", &config()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("spm.model is not a sentencepiece model: "),
            "{err}"
        );
        let err = build(Class::Albert, "spiece.model", b"", &config()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spiece.model is not a sentencepiece model: it holds no pieces"
        );
    }
}

//! Which files a tokenizer comes from, and which transformers class reads them.
//!
//! `tokenizer.json` wins whenever it is there. Without it, the class is the
//! one transformers' `AutoTokenizer` picks: `tokenizer_class` in
//! tokenizer_config.json, else the class registered for the model's
//! `model_type`, else (an unknown model type) the files present, in the order
//! vocab.txt, vocab.json + merges.txt, a sentencepiece model.

use crate::error::{Error, Result};

/// The tokenizer files of a model folder, as bytes (the page fetches them,
/// the CLI reads them).
#[derive(Debug, Clone, Default)]
pub struct TokenizerFiles {
    pub tokenizer_json: Option<Vec<u8>>,
    pub vocab_txt: Option<Vec<u8>>,
    pub vocab_json: Option<Vec<u8>>,
    pub merges_txt: Option<Vec<u8>>,
    /// (file name, bytes): `spiece.model`, `spm.model` or `sentencepiece.bpe.model`.
    pub sentencepiece: Option<(String, Vec<u8>)>,
    pub tokenizer_config: Option<Vec<u8>>,
    pub special_tokens_map: Option<Vec<u8>>,
    pub added_tokens: Option<Vec<u8>>,
}

/// What the model's config.json says that the tokenizer needs.
#[derive(Debug, Clone)]
pub struct TokenizerHints {
    /// `model_type` of config.json (`bert`, `xlm-roberta`, …): picks the class
    /// when tokenizer_config.json names none.
    pub model_type: String,
    /// Rows of the word embeddings: every id must be below.
    pub vocab_rows: usize,
    /// The most tokens the model reads, special tokens included.
    pub max_tokens: usize,
    /// `pad_token_id` of config.json, preferred to the tokenizer's pad token.
    pub pad_token_id: Option<u32>,
}

/// The sentencepiece file names transformers' classes read.
pub(crate) const SENTENCEPIECE_NAMES: [&str; 3] =
    ["spiece.model", "spm.model", "sentencepiece.bpe.model"];

impl TokenizerFiles {
    /// Every file name [`TokenizerFiles::insert`] takes.
    pub const NAMES: &[&str] = &[
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

    /// True when no file is held.
    pub fn is_empty(&self) -> bool {
        self.tokenizer_json.is_none()
            && self.vocab_txt.is_none()
            && self.vocab_json.is_none()
            && self.merges_txt.is_none()
            && self.sentencepiece.is_none()
            && self.tokenizer_config.is_none()
            && self.special_tokens_map.is_none()
            && self.added_tokens.is_none()
    }

    /// Keeps `bytes` if `name` (a file name, or a path whose last part is
    /// one) is one of [`TokenizerFiles::NAMES`]; false otherwise. A second
    /// sentencepiece model replaces the first.
    pub fn insert(&mut self, name: &str, bytes: Vec<u8>) -> bool {
        let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let slot = match name {
            "tokenizer.json" => &mut self.tokenizer_json,
            "vocab.txt" => &mut self.vocab_txt,
            "vocab.json" => &mut self.vocab_json,
            "merges.txt" => &mut self.merges_txt,
            "tokenizer_config.json" => &mut self.tokenizer_config,
            "special_tokens_map.json" => &mut self.special_tokens_map,
            "added_tokens.json" => &mut self.added_tokens,
            n if SENTENCEPIECE_NAMES.contains(&n) => {
                self.sentencepiece = Some((n.to_string(), bytes));
                return true;
            }
            _ => return false,
        };
        *slot = Some(bytes);
        true
    }

    fn has_vocabulary(&self) -> bool {
        self.vocab_txt.is_some()
            || self.vocab_json.is_some()
            || self.merges_txt.is_some()
            || self.sentencepiece.is_some()
    }
}

/// The transformers 5 tokenizer classes bertlens builds from slow files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// BertTokenizer (and DistilBERT's, ELECTRA's, …): WordPiece from vocab.txt.
    Bert,
    /// RobertaTokenizer: byte-level BPE from vocab.json + merges.txt.
    Roberta,
    /// AlbertTokenizer: sentencepiece (spiece.model).
    Albert,
    /// DebertaV2Tokenizer: sentencepiece (spm.model).
    DebertaV2,
    /// XLMRobertaTokenizer: sentencepiece (sentencepiece.bpe.model), fairseq ids.
    XlmRoberta,
    /// CamembertTokenizer: sentencepiece (sentencepiece.bpe.model), its own ids.
    Camembert,
}

/// `tokenizer_class` values and the class transformers 5 resolves each to
/// (`tokenizer_class_from_name`; a `Fast` suffix is dropped first).
const CLASS_NAMES: &[(&str, Class)] = &[
    ("BertTokenizer", Class::Bert),
    ("DistilBertTokenizer", Class::Bert),
    ("ElectraTokenizer", Class::Bert),
    ("MobileBertTokenizer", Class::Bert),
    ("SqueezeBertTokenizer", Class::Bert),
    ("LayoutLMTokenizer", Class::Bert),
    ("LxmertTokenizer", Class::Bert),
    ("RobertaTokenizer", Class::Roberta),
    ("LongformerTokenizer", Class::Roberta),
    ("AlbertTokenizer", Class::Albert),
    ("DebertaV2Tokenizer", Class::DebertaV2),
    ("XLMRobertaTokenizer", Class::XlmRoberta),
    ("CamembertTokenizer", Class::Camembert),
];

/// transformers' `TOKENIZER_MAPPING_NAMES` for the model types bertlens runs.
const MODEL_TYPES: &[(&str, Class)] = &[
    ("bert", Class::Bert),
    ("distilbert", Class::Bert),
    ("electra", Class::Bert),
    ("roberta", Class::Roberta),
    ("xlm-roberta", Class::XlmRoberta),
    ("camembert", Class::Camembert),
    ("albert", Class::Albert),
    ("deberta-v2", Class::DebertaV2),
];

/// Model types whose tokenizer transformers loads from tokenizer.json only
/// (`TokenizersBackend`).
const JSON_ONLY_MODEL_TYPES: &[&str] = &["modernbert"];

/// Which files the core builds a tokenizer from, for a loader that must ask
/// for them one by one (the page's URL loader, which cannot list a folder):
/// the same tables [`Class::resolve`] reads, so that it asks for what the
/// core takes and nothing the core would refuse.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenizerFilesInfo {
    /// Every file name a tokenizer is read from ([`TokenizerFiles::NAMES`]).
    pub names: &'static [&'static str],
    /// Without tokenizer.json: the groups of slow files a `tokenizer_class`
    /// of tokenizer_config.json (its `Fast` suffix dropped) reads, the first
    /// its usual one; any one group is enough.
    pub by_class: std::collections::BTreeMap<&'static str, &'static [&'static [&'static str]]>,
    /// The same for a config.json `model_type` when tokenizer_config.json
    /// names no class; a type listed with no group is read from
    /// tokenizer.json only.
    pub by_model_type: std::collections::BTreeMap<&'static str, &'static [&'static [&'static str]]>,
    /// Neither a class nor a known model type: the groups looked for, in
    /// order (the first present wins).
    pub fallback: &'static [&'static [&'static str]],
}

const VOCAB_TXT: &[&str] = &["vocab.txt"];
const BYTE_BPE: &[&str] = &["vocab.json", "merges.txt"];
const SPIECE: &[&str] = &["spiece.model"];
const SPM: &[&str] = &["spm.model"];
const SPM_BPE: &[&str] = &["sentencepiece.bpe.model"];

/// What [`Class::from_files`] looks for, in its order.
const FALLBACK: &[&[&str]] = &[VOCAB_TXT, BYTE_BPE, SPIECE, SPM, SPM_BPE];

/// The files the core reads its tokenizer from (see [`TokenizerFilesInfo`]).
pub fn tokenizer_files_info() -> TokenizerFilesInfo {
    TokenizerFilesInfo {
        names: TokenizerFiles::NAMES,
        by_class: CLASS_NAMES.iter().map(|(n, c)| (*n, c.groups())).collect(),
        by_model_type: MODEL_TYPES
            .iter()
            .map(|(t, c)| (*t, c.groups()))
            .chain(JSON_ONLY_MODEL_TYPES.iter().map(|t| (*t, &[][..])))
            .collect(),
        fallback: FALLBACK,
    }
}

impl Class {
    /// The groups of slow files this class reads, its usual one first.
    fn groups(self) -> &'static [&'static [&'static str]] {
        match self {
            Self::Bert => &[VOCAB_TXT],
            Self::Roberta => &[BYTE_BPE],
            // Any sentencepiece model will do (`check_files`).
            Self::Albert => &[SPIECE, SPM, SPM_BPE],
            Self::DebertaV2 => &[SPM, SPIECE, SPM_BPE],
            Self::XlmRoberta | Self::Camembert => &[SPM_BPE, SPIECE, SPM],
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Bert => "BertTokenizer",
            Self::Roberta => "RobertaTokenizer",
            Self::Albert => "AlbertTokenizer",
            Self::DebertaV2 => "DebertaV2Tokenizer",
            Self::XlmRoberta => "XLMRobertaTokenizer",
            Self::Camembert => "CamembertTokenizer",
        }
    }

    fn reads(self) -> &'static str {
        match self {
            Self::Bert => "vocab.txt",
            Self::Roberta => "vocab.json and merges.txt",
            Self::Albert | Self::DebertaV2 | Self::XlmRoberta | Self::Camembert => {
                "a sentencepiece model (spiece.model, spm.model or sentencepiece.bpe.model)"
            }
        }
    }

    /// The class of a folder without tokenizer.json.
    pub(crate) fn resolve(
        tokenizer_class: Option<&str>,
        model_type: &str,
        files: &TokenizerFiles,
    ) -> Result<Self> {
        let json_only = || {
            Error::TokenizerClass(format!(
                "transformers loads {model_type}'s tokenizer from tokenizer.json only, and the \
                 folder has none"
            ))
        };
        if !files.has_vocabulary() {
            // A class or model type read from tokenizer.json only says more than the
            // list of every file read.
            return Err(match tokenizer_class {
                Some(name) if !CLASS_NAMES.iter().any(|(n, _)| *n == name) => {
                    Error::TokenizerClass(format!(
                        "tokenizer_config.json names tokenizer_class {name:?}, which bertlens \
                         reads only from tokenizer.json, and the folder has none"
                    ))
                }
                None if JSON_ONLY_MODEL_TYPES.contains(&model_type) => json_only(),
                _ => Error::NoTokenizerFile,
            });
        }
        let class = if let Some(name) = tokenizer_class {
            let found = CLASS_NAMES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| *c);
            found.ok_or_else(|| {
                let known: Vec<&str> = CLASS_NAMES.iter().map(|(n, _)| *n).collect();
                Error::TokenizerClass(format!(
                    "tokenizer_config.json names tokenizer_class {name:?}, which bertlens reads only \
                     from tokenizer.json; without it bertlens builds {}",
                    known.join(", ")
                ))
            })?
        } else if let Some((_, c)) = MODEL_TYPES.iter().find(|(t, _)| *t == model_type) {
            *c
        } else if JSON_ONLY_MODEL_TYPES.contains(&model_type) {
            return Err(json_only());
        } else {
            Self::from_files(files)?
        };
        class.check_files(files)?;
        Ok(class)
    }

    /// The first present wins: vocab.txt, vocab.json + merges.txt, a sentencepiece model.
    fn from_files(files: &TokenizerFiles) -> Result<Self> {
        if files.vocab_txt.is_some() {
            Ok(Self::Bert)
        } else if files.vocab_json.is_some() || files.merges_txt.is_some() {
            Ok(Self::Roberta)
        } else {
            match files.sentencepiece.as_ref().map(|(n, _)| n.as_str()) {
                Some("spiece.model") => Ok(Self::Albert),
                Some("spm.model") => Ok(Self::DebertaV2),
                Some(_) => Ok(Self::XlmRoberta),
                None => Err(Error::NoTokenizerFile),
            }
        }
    }

    fn check_files(self, files: &TokenizerFiles) -> Result<()> {
        let present = match self {
            Self::Bert => files.vocab_txt.is_some(),
            Self::Roberta => match (&files.vocab_json, &files.merges_txt) {
                (Some(_), Some(_)) => true,
                (Some(_), None) => {
                    return Err(Error::TokenizerFilePair {
                        present: "vocab.json",
                        missing: "merges.txt",
                    })
                }
                (None, Some(_)) => {
                    return Err(Error::TokenizerFilePair {
                        present: "merges.txt",
                        missing: "vocab.json",
                    })
                }
                (None, None) => false,
            },
            _ => files.sentencepiece.is_some(),
        };
        if present {
            return Ok(());
        }
        let mut have: Vec<&str> = Vec::new();
        for (held, name) in [
            (files.vocab_txt.is_some(), "vocab.txt"),
            (files.vocab_json.is_some(), "vocab.json"),
            (files.merges_txt.is_some(), "merges.txt"),
        ] {
            if held {
                have.push(name);
            }
        }
        if let Some((n, _)) = &files.sentencepiece {
            have.push(n);
        }
        Err(Error::TokenizerClass(format!(
            "the tokenizer is a {} (from tokenizer_config.json or the model type), which reads {}; \
             the folder has {} instead",
            self.name(),
            self.reads(),
            have.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> TokenizerFiles {
        let mut f = TokenizerFiles::default();
        for n in names {
            assert!(f.insert(n, Vec::new()), "{n}");
        }
        f
    }

    /// Each group the description lists is one the core reads, and nothing
    /// it refuses is listed: a loader that follows it gets a tokenizer.
    #[test]
    fn the_files_described_are_those_the_core_reads() {
        let info = tokenizer_files_info();
        let resolves = |class: Option<&str>, model_type: &str, group: &[&str]| {
            Class::resolve(class, model_type, &files(group))
        };
        for (class, groups) in &info.by_class {
            assert!(!groups.is_empty(), "{class}");
            for g in groups.iter() {
                let c = resolves(Some(class), "bert", g)
                    .unwrap_or_else(|e| panic!("{class} {g:?}: {e}"));
                assert!(CLASS_NAMES.contains(&(class, c)), "{class}");
            }
        }
        for (model_type, groups) in &info.by_model_type {
            if groups.is_empty() {
                // Read from tokenizer.json only: no slow file is taken.
                for g in info.fallback {
                    assert!(resolves(None, model_type, g).is_err(), "{model_type} {g:?}");
                }
            }
            for g in groups.iter() {
                resolves(None, model_type, g).unwrap_or_else(|e| panic!("{model_type} {g:?}: {e}"));
            }
            // Its usual files are its class's.
            if let Some((_, c)) = MODEL_TYPES.iter().find(|(t, _)| t == model_type) {
                assert_eq!(groups.first(), c.groups().first());
            }
        }
        assert_eq!(info.by_model_type["modernbert"].len(), 0);
        assert_eq!(
            info.by_model_type["roberta"],
            &[&["vocab.json", "merges.txt"][..]][..]
        );
        for g in info.fallback {
            resolves(None, "some-new-type", g).unwrap_or_else(|e| panic!("{g:?}: {e}"));
        }
        // Every name of a group is a tokenizer file.
        let all = info
            .by_class
            .values()
            .chain(info.by_model_type.values())
            .flat_map(|g| g.iter())
            .chain(info.fallback.iter());
        for g in all {
            assert!(g.iter().all(|n| info.names.contains(n)), "{g:?}");
        }
    }

    #[test]
    fn insert_takes_the_tokenizer_files_only() {
        let mut f = TokenizerFiles::default();
        assert!(f.is_empty());
        assert!(!f.insert("config.json", b"{}".to_vec()));
        assert!(!f.insert("tokenizer.model", Vec::new()));
        assert!(f.is_empty());
        for name in TokenizerFiles::NAMES {
            assert!(f.insert(&format!("some/dir/{name}"), name.as_bytes().to_vec()));
        }
        assert_eq!(
            f.sentencepiece.as_ref().unwrap().0,
            "sentencepiece.bpe.model"
        );
        assert_eq!(f.added_tokens.as_deref(), Some(&b"added_tokens.json"[..]));
    }

    #[test]
    fn the_class_comes_from_the_config_then_the_model_type_then_the_files() {
        let f = files(&["vocab.txt", "spiece.model"]);
        assert_eq!(
            Class::resolve(Some("AlbertTokenizer"), "bert", &f).unwrap(),
            Class::Albert
        );
        assert_eq!(Class::resolve(None, "electra", &f).unwrap(), Class::Bert);
        assert_eq!(Class::resolve(None, "new-model", &f).unwrap(), Class::Bert);
        let f = files(&["spm.model"]);
        assert_eq!(
            Class::resolve(None, "new-model", &f).unwrap(),
            Class::DebertaV2
        );
        assert_eq!(
            Class::resolve(None, "camembert", &f).unwrap(),
            Class::Camembert
        );
    }

    #[test]
    fn errors_say_what_is_missing() {
        let err = |class: Option<&str>, model_type: &str, names: &[&str]| {
            Class::resolve(class, model_type, &files(names))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(None, "roberta", &["vocab.json"]),
            "vocab.json is present but merges.txt is missing: the tokenizer needs both"
        );
        assert_eq!(
            err(None, "new-model", &["merges.txt"]),
            "merges.txt is present but vocab.json is missing: the tokenizer needs both"
        );
        assert!(err(None, "bert", &["tokenizer_config.json"])
            .starts_with("no tokenizer file: bertlens reads tokenizer.json"));
        assert_eq!(
            err(None, "bert", &["spiece.model"]),
            "the tokenizer is a BertTokenizer (from tokenizer_config.json or the model type), which \
             reads vocab.txt; the folder has spiece.model instead"
        );
        assert!(err(Some("MPNetTokenizer"), "bert", &["vocab.txt"]).starts_with(
            "tokenizer_config.json names tokenizer_class \"MPNetTokenizer\", which bertlens reads only from tokenizer.json"
        ));
        assert_eq!(
            err(None, "modernbert", &["vocab.json", "merges.txt"]),
            "transformers loads modernbert's tokenizer from tokenizer.json only, and the folder has none"
        );
        // With no tokenizer file at all, the model type's or the class's rule is what it says.
        assert_eq!(
            err(None, "modernbert", &[]),
            "transformers loads modernbert's tokenizer from tokenizer.json only, and the folder has none"
        );
        assert_eq!(
            err(Some("TokenizersBackend"), "modernbert", &[]),
            "tokenizer_config.json names tokenizer_class \"TokenizersBackend\", which bertlens reads \
             only from tokenizer.json, and the folder has none"
        );
        assert_eq!(err(None, "bert", &[]), Error::NoTokenizerFile.to_string());
    }
}

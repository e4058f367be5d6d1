//! Tokenizers built from Hugging Face's slow files (vocab.txt, vocab.json +
//! merges.txt, sentencepiece models) against what transformers 5's
//! `AutoTokenizer.from_pretrained(folder)` returns for the same folder
//! (tests/fixtures/gen_tokenizers.py writes the folders and the goldens).

use std::path::{Path, PathBuf};

use bertlens_core::tokenizer::{TextTokenizer, Tokenized, TokenizerFiles, TokenizerHints};
use bertlens_core::Error;
use serde_json::Value;

const KINDS: &[&str] = &[
    "wordpiece-uncased",
    "wordpiece-cased",
    "wordpiece-no-config",
    "bpe-roberta",
    "bpe-roberta-legacy",
    "spm-albert",
    "spm-deberta-v3",
    "spm-xlmr",
    "spm-xlmr-bpe",
    "spm-camembert",
];

fn folder(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/tokenizers")
        .join(kind)
}

fn read_files(dir: &Path) -> TokenizerFiles {
    let mut files = TokenizerFiles::default();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        files.insert(&name, std::fs::read(&path).unwrap());
    }
    files
}

fn expected(kind: &str) -> Value {
    let text = std::fs::read_to_string(folder(kind).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hints(golden: &Value, max_tokens: usize) -> TokenizerHints {
    TokenizerHints {
        model_type: golden["model_type"].as_str().unwrap().to_string(),
        vocab_rows: golden["vocab_size"].as_u64().unwrap() as usize,
        max_tokens,
        pad_token_id: None,
    }
}

fn load(kind: &str, max_tokens: usize) -> TextTokenizer {
    let golden = expected(kind);
    TextTokenizer::load(&read_files(&folder(kind)), &hints(&golden, max_tokens))
        .unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// bertlens numbers words across both texts of a pair: each change of
/// (text, word) in transformers' `sequence_ids`/`word_ids` starts a new word.
fn renumbered_words(case: &Value) -> Vec<Option<u32>> {
    let (mut last, mut next) = (None, 0u32);
    let special = u32s(&case["special_tokens_mask"]);
    case["word_ids"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["sequence_ids"].as_array().unwrap())
        .zip(special)
        .map(
            |((w, s), special)| match (w.as_u64(), s.as_u64(), special) {
                (Some(w), Some(s), 0) => {
                    if last != Some((s, w)) {
                        if last.is_some() {
                            next += 1;
                        }
                        last = Some((s, w));
                    }
                    Some(next)
                }
                _ => None,
            },
        )
        .collect()
}

fn check_case(kind: &str, tok: &TextTokenizer, case: &Value) {
    let name = format!("{kind}/{}", case["name"].as_str().unwrap());
    let text = case["text"].as_str().unwrap();
    let pair = case["pair"].as_str();
    let only_second = case["truncation"] == "only_second";
    let got = if only_second {
        tok.encode_truncating_second(text, pair.unwrap())
    } else {
        tok.encode(text, pair)
    };
    if case.get("error").is_some() {
        match got {
            Err(Error::QuestionTooLong { max, .. }) => assert_eq!(max, tok.max_tokens(), "{name}"),
            other => panic!("{name}: expected QuestionTooLong, got {other:?}"),
        }
        return;
    }
    let got: Tokenized = got.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(got.tokens, strings(&case["tokens"]), "{name}: tokens");
    assert_eq!(got.ids, u32s(&case["input_ids"]), "{name}: ids");
    let offsets: Vec<(usize, usize)> = case["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o[0].as_u64().unwrap() as usize,
                o[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(got.offsets, offsets, "{name}: offsets");
    let special: Vec<bool> = u32s(&case["special_tokens_mask"])
        .iter()
        .map(|&m| m == 1)
        .collect();
    assert_eq!(got.special, special, "{name}: special tokens mask");
    assert_eq!(
        got.type_ids,
        u32s(&case["token_type_ids"]),
        "{name}: type ids"
    );
    assert_eq!(got.word_ids, renumbered_words(case), "{name}: word ids");
    assert_eq!(
        got.truncated,
        case["truncated"].as_bool().unwrap(),
        "{name}: truncated"
    );
    assert_eq!(
        tok.decode(&got.ids),
        case["decode"].as_str().unwrap(),
        "{name}: decode"
    );
    let plain_ids: Vec<u32> = got
        .ids
        .iter()
        .zip(&got.special)
        .filter(|(_, s)| !**s)
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(
        tok.decode(&plain_ids),
        case["decode_plain"].as_str().unwrap(),
        "{name}: decode without specials"
    );
    let plain: Vec<String> = got
        .tokens
        .iter()
        .zip(&got.special)
        .filter(|(_, s)| !**s)
        .map(|(t, _)| t.clone())
        .collect();
    assert_eq!(
        tok.tokens_to_string(&plain),
        case["tokens_to_string"].as_str().unwrap(),
        "{name}: tokens_to_string"
    );
    let tail = &plain[1.min(plain.len())..4.min(plain.len())];
    assert_eq!(
        tok.tokens_to_string(tail),
        case["tokens_to_string_tail"].as_str().unwrap(),
        "{name}: tokens_to_string of {tail:?}"
    );
}

fn check_kind(kind: &str) {
    let golden = expected(kind);
    let tok = load(kind, 512);
    let source = tok.source();
    let files = strings(&golden["files"]);
    assert!(
        files.iter().any(|f| source.contains(f.as_str())),
        "{kind}: source {source} not among {files:?}"
    );
    assert_eq!(
        tok.mask_token(),
        golden["mask_token"].as_str(),
        "{kind}: mask token"
    );
    assert_eq!(
        tok.mask_id(),
        golden["mask_token_id"].as_u64().map(|i| i as u32),
        "{kind}: mask id"
    );
    assert_eq!(
        tok.pad_id() as u64,
        golden["pad_token_id"].as_u64().unwrap(),
        "{kind}: pad id"
    );
    for (key, token) in golden["special_tokens"].as_object().unwrap() {
        let id = golden["special_ids"][key].as_u64().unwrap() as u32;
        assert_eq!(
            tok.token_to_id(token.as_str().unwrap()),
            Some(id),
            "{kind}: {key}"
        );
    }
    for (id, token) in golden["id_to_token"].as_object().unwrap() {
        assert_eq!(
            tok.token(id.parse().unwrap()).as_deref(),
            token.as_str(),
            "{kind}: token {id}"
        );
    }
    assert_eq!(
        tok.token(golden["vocab_size"].as_u64().unwrap() as u32),
        None,
        "{kind}: past the vocabulary"
    );
    for case in golden["cases"].as_array().unwrap() {
        let tok = match case["max_length"].as_u64() {
            Some(max) => load(kind, max as usize),
            None => load(kind, 512),
        };
        check_case(kind, &tok, case);
    }
    // Every id must have an embedding row.
    let mut h = hints(&golden, 512);
    h.vocab_rows -= 1;
    match TextTokenizer::load(&read_files(&folder(kind)), &h) {
        Err(Error::TokenizerVocabMismatch {
            tokenizer, model, ..
        }) => {
            assert_eq!(
                (tokenizer, model),
                (h.vocab_rows + 1, h.vocab_rows),
                "{kind}"
            )
        }
        Err(e) => panic!("{kind}: {e}"),
        Ok(_) => panic!("{kind}: loaded with too few embedding rows"),
    }
}

#[test]
fn wordpiece_uncased() {
    check_kind("wordpiece-uncased");
}

#[test]
fn wordpiece_cased() {
    check_kind("wordpiece-cased");
}

#[test]
fn wordpiece_no_config() {
    check_kind("wordpiece-no-config");
}

#[test]
fn bpe_roberta() {
    check_kind("bpe-roberta");
}

#[test]
fn bpe_roberta_legacy() {
    check_kind("bpe-roberta-legacy");
}

#[test]
fn spm_albert() {
    check_kind("spm-albert");
}

#[test]
fn spm_deberta_v3() {
    check_kind("spm-deberta-v3");
}

#[test]
fn spm_xlmr() {
    check_kind("spm-xlmr");
}

#[test]
fn spm_xlmr_bpe() {
    check_kind("spm-xlmr-bpe");
}

#[test]
fn spm_camembert() {
    check_kind("spm-camembert");
}

#[test]
fn every_fixture_is_tested() {
    let mut on_disk: Vec<String> = std::fs::read_dir(folder(""))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = KINDS.iter().map(|k| k.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

// ------------------------------------------------------------------ errors

fn hints_for(model_type: &str) -> TokenizerHints {
    TokenizerHints {
        model_type: model_type.into(),
        vocab_rows: 1000,
        max_tokens: 64,
        pad_token_id: None,
    }
}

fn load_err(files: &TokenizerFiles, model_type: &str) -> String {
    match TextTokenizer::load(files, &hints_for(model_type)) {
        Ok(_) => panic!("loaded a bad tokenizer"),
        Err(e) => e.to_string(),
    }
}

fn fixture_file(kind: &str, name: &str) -> Vec<u8> {
    std::fs::read(folder(kind).join(name)).unwrap()
}

#[test]
fn no_tokenizer_file() {
    let mut files = TokenizerFiles::default();
    files.insert("tokenizer_config.json", b"{}".to_vec());
    assert_eq!(
        load_err(&files, "bert"),
        "no tokenizer file: bertlens reads tokenizer.json, or else vocab.txt (WordPiece), \
         vocab.json + merges.txt (byte-level BPE) or a sentencepiece model (spiece.model, \
         spm.model, sentencepiece.bpe.model), with tokenizer_config.json, \
         special_tokens_map.json and added_tokens.json beside them"
    );
}

#[test]
fn half_a_bpe_tokenizer() {
    let mut files = TokenizerFiles::default();
    files.insert("vocab.json", fixture_file("bpe-roberta", "vocab.json"));
    assert_eq!(
        load_err(&files, "roberta"),
        "vocab.json is present but merges.txt is missing: the tokenizer needs both"
    );
    let mut files = TokenizerFiles::default();
    files.insert("merges.txt", fixture_file("bpe-roberta", "merges.txt"));
    assert_eq!(
        load_err(&files, "roberta"),
        "merges.txt is present but vocab.json is missing: the tokenizer needs both"
    );
}

#[test]
fn files_that_do_not_parse() {
    let mut files = TokenizerFiles::default();
    files.insert("spm.model", b"<html>404</html>".to_vec());
    let err = load_err(&files, "deberta-v2");
    assert!(
        err.starts_with("spm.model is not a sentencepiece model: "),
        "{err}"
    );

    let mut files = TokenizerFiles::default();
    files.insert("vocab.json", b"{\"a\": 0".to_vec());
    files.insert("merges.txt", b"#version: 0.2\n".to_vec());
    let err = load_err(&files, "roberta");
    assert!(
        err.starts_with("vocab.json is not a BPE vocabulary (a JSON object of token → id): "),
        "{err}"
    );

    let mut files = TokenizerFiles::default();
    files.insert("vocab.json", fixture_file("bpe-roberta", "vocab.json"));
    files.insert(
        "merges.txt",
        "#version: 0.2\nĠ t\nnot-a-merge\n".as_bytes().to_vec(),
    );
    assert_eq!(
        load_err(&files, "roberta"),
        "merges.txt is not a BPE merges file (two tokens separated by a space on each line): \
         merge 2 is \"not-a-merge\""
    );

    let mut files = TokenizerFiles::default();
    files.insert("vocab.txt", vec![b'a', b'\n', 0xff, b'\n']);
    let err = load_err(&files, "bert");
    assert!(
        err.starts_with("vocab.txt is not a WordPiece vocabulary (one UTF-8 token a line): "),
        "{err}"
    );

    let mut files = read_files(&folder("wordpiece-uncased"));
    files.tokenizer_config = Some(br#"{"do_lower_case": "yes"}"#.to_vec());
    assert_eq!(
        load_err(&files, "bert"),
        "tokenizer_config.json: do_lower_case must be true or false, found \"yes\""
    );
    files.tokenizer_config = Some(b"{".to_vec());
    assert!(load_err(&files, "bert").starts_with("tokenizer_config.json is not valid JSON"));
}

#[test]
fn classes_bertlens_does_not_build() {
    let mut files = read_files(&folder("wordpiece-uncased"));
    files.tokenizer_config = Some(br#"{"tokenizer_class": "MPNetTokenizerFast"}"#.to_vec());
    let err = load_err(&files, "mpnet");
    assert!(
        err.starts_with(
            "tokenizer_config.json names tokenizer_class \"MPNetTokenizer\", which bertlens reads \
             only from tokenizer.json; without it bertlens builds BertTokenizer, "
        ),
        "{err}"
    );
    files.tokenizer_config = Some(br#"{"tokenizer_class": "XLMRobertaTokenizer"}"#.to_vec());
    assert_eq!(
        load_err(&files, "bert"),
        "the tokenizer is a XLMRobertaTokenizer (from tokenizer_config.json or the model type), \
         which reads a sentencepiece model (spiece.model, spm.model or sentencepiece.bpe.model); \
         the folder has vocab.txt instead"
    );
    let mut files = read_files(&folder("bpe-roberta"));
    files.tokenizer_config = None;
    assert_eq!(
        load_err(&files, "modernbert"),
        "transformers loads modernbert's tokenizer from tokenizer.json only, and the folder has none"
    );
    let mut files = TokenizerFiles::default();
    files.insert(
        "sentencepiece.bpe.model",
        fixture_file("spm-xlmr-bpe", "sentencepiece.bpe.model"),
    );
    assert_eq!(
        load_err(&files, "camembert"),
        "sentencepiece.bpe.model is a BPE sentencepiece model, and CamembertTokenizer (in \
         transformers too) reads only unigram ones"
    );
}

#[test]
fn too_few_embedding_rows_and_no_pad_token() {
    let files = read_files(&folder("spm-albert"));
    let mut h = hints_for("albert");
    h.vocab_rows = 100;
    let err = TextTokenizer::load(&files, &h).err().unwrap().to_string();
    assert_eq!(
        err,
        "spiece.model does not match the model: its ids go up to 239 tokens but the model's \
         vocabulary (vocab_size in config.json, rows of the word embeddings) has 100"
    );
    // No pad token anywhere, and config.json names none.
    let mut files = TokenizerFiles::default();
    files.insert(
        "vocab.txt",
        b"[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n".to_vec(),
    );
    files.insert("tokenizer_config.json", br#"{"pad_token": null}"#.to_vec());
    assert_eq!(
        load_err(&files, "bert"),
        "the tokenizer (vocab.txt) has no padding token (looked for [PAD], <pad>)"
    );
    // config.json's pad_token_id wins.
    let mut h = hints_for("bert");
    h.pad_token_id = Some(4);
    let tok = TextTokenizer::load(&files, &h).unwrap();
    assert_eq!(tok.pad_id(), 4);
    assert_eq!(tok.mask_token(), Some("[MASK]"));
}

#[test]
fn a_limit_that_leaves_no_room_for_text() {
    let files = read_files(&folder("bpe-roberta"));
    let mut h = hints_for("roberta");
    h.max_tokens = 4;
    let err = TextTokenizer::load(&files, &h).err().unwrap().to_string();
    assert_eq!(
        err,
        "invalid option max_tokens: 4 leaves no room for text beside the tokenizer's 4 special tokens"
    );
}

#[test]
fn question_answering_never_cuts_the_question() {
    let tok = load("wordpiece-uncased", 12);
    let got = tok
        .encode_truncating_second(
            "what is it?",
            "paris is the capital of france and a big city",
        )
        .unwrap();
    assert!(got.truncated);
    assert_eq!(got.len(), 12);
    let question: Vec<&String> = got
        .tokens
        .iter()
        .zip(&got.sequence)
        .filter(|(_, s)| **s == Some(0))
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        question.len(),
        tok.encode("what is it?", None).unwrap().len() - 2
    );
    let err = tok
        .encode_truncating_second(
            "what is the capital of france and why is it so big?",
            "paris",
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::QuestionTooLong { max: 12, .. }),
        "{err}"
    );
    assert!(err.to_string().ends_with("shorten the question"), "{err}");
    assert!(matches!(
        tok.encode_truncating_second(" ", "paris"),
        Err(Error::EmptyText)
    ));
}

#[test]
fn from_bytes_still_loads_tokenizer_json() {
    let bytes = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bert/tokenizer.json"),
    )
    .unwrap();
    let tok = TextTokenizer::from_bytes(&bytes, 100_000, 128, None).unwrap();
    assert_eq!(tok.source(), "tokenizer.json");
    assert!(tok.encode("hello world", None).unwrap().len() > 2);
}

//! Bad input gets a message that names the problem, never a panic.

mod common;

use std::collections::HashMap;

use bertlens_core::explain::{explain, ExplainOptions};
use bertlens_core::{Error, Model, ModelFiles};
use candle_core::{DType, Device, Tensor};
use common::*;

fn load_err(files: &RawFiles) -> String {
    match Model::load(files.model_files()) {
        Ok(_) => panic!("loaded a bad model"),
        Err(e) => e.to_string(),
    }
}

/// The fixture's safetensors with `edit` applied to its tensors.
fn edited_weights(name: &str, edit: impl FnOnce(&mut HashMap<String, Tensor>)) -> Vec<u8> {
    let bytes = std::fs::read(fixtures().join(name).join("model.safetensors")).unwrap();
    let mut tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).unwrap();
    edit(&mut tensors);
    let path = std::env::temp_dir().join(format!(
        "bertlens-errors-{}-{name}.safetensors",
        std::process::id()
    ));
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let out = std::fs::read(&path).unwrap();
    std::fs::remove_file(path).ok();
    out
}

#[test]
fn truncated_safetensors() {
    let mut files = raw_files("bert");
    let w = &mut files.weights[0].1;
    w.truncate(w.len() - 1000);
    let err = load_err(&files);
    assert!(
        err.starts_with("model.safetensors is not a valid safetensors file: the file is truncated"),
        "{err}"
    );
}

#[test]
fn corrupt_safetensors() {
    let mut files = raw_files("bert");
    files.weights[0].1 = b"this is not a model at all, just text that happens to be long".to_vec();
    let err = load_err(&files);
    assert!(err.contains("not a valid safetensors file"), "{err}");
}

#[test]
fn tensor_of_the_wrong_shape_is_named_with_both_shapes() {
    let mut files = raw_files("bert");
    let key = "bert.encoder.layer.1.attention.self.query.weight";
    files.weights[0].1 = edited_weights("bert", |t| {
        t.insert(
            key.into(),
            Tensor::zeros((32, 16), DType::F32, &Device::Cpu).unwrap(),
        );
    });
    assert_eq!(
        load_err(&files),
        format!("tensor `{key}` has shape [32, 16], expected [32, 32]")
    );
}

#[test]
fn missing_tensor_is_named() {
    let mut files = raw_files("bert");
    files.weights[0].1 = edited_weights("bert", |t| {
        t.remove("bert.encoder.layer.0.output.LayerNorm.bias");
    });
    assert_eq!(
        load_err(&files),
        "tensor `bert.encoder.layer.0.output.LayerNorm.bias` is missing from the weights"
    );
}

#[test]
fn weights_of_another_architecture() {
    let mut files = raw_files("bert");
    files.weights = raw_files("distilbert").weights;
    let err = load_err(&files);
    assert_eq!(
        err,
        "tensor `bert.embeddings.word_embeddings.weight` is missing from the weights (the weights \
         hold an encoder under `distilbert.`: do config.json (model_type bert) and the weights \
         belong together?)"
    );
}

#[test]
fn unsupported_model_type_lists_the_supported_ones() {
    let mut files = raw_files("bert");
    files.config = br#"{"model_type": "gpt2", "n_embd": 32}"#.to_vec();
    assert_eq!(
        load_err(&files),
        "unsupported model_type \"gpt2\" in config.json; bertlens supports: bert, roberta, \
         xlm-roberta, camembert, distilbert, albert, electra, deberta-v2, modernbert"
    );
}

#[test]
fn tokenizer_that_does_not_match_the_vocabulary() {
    let mut files = raw_files("bert");
    files.tokenizer = raw_files("roberta").tokenizer;
    assert!(matches!(
        Model::load(files.model_files()),
        Err(Error::VocabMismatch {
            tokenizer: 400,
            model: 379
        })
    ));
    assert_eq!(
        load_err(&files),
        "tokenizer.json does not match the model: it has 400 tokens but the model's vocabulary \
         (vocab_size in config.json, rows of the word embeddings) has 379"
    );
}

#[test]
fn tokenizer_that_is_not_json() {
    let mut files = raw_files("bert");
    files.tokenizer = b"<html><body>404</body></html>".to_vec();
    let err = load_err(&files);
    assert!(err.starts_with("tokenizer.json is not valid JSON"), "{err}");
    files.tokenizer = br#"{"model": 3}"#.to_vec();
    let err = load_err(&files);
    assert!(
        err.starts_with("tokenizer.json could not be loaded"),
        "{err}"
    );
}

#[test]
fn head_spec_that_does_not_match_the_state_dict() {
    let mut files = raw_files("seed-mean-mlp");
    files.head = Some(
        br#"{"encoder":"bert","pool":"mean","layers":[{"linear":"classifier.1"},{"linear":"classifier.3"}]}"#
            .to_vec(),
    );
    assert_eq!(
        load_err(&files),
        "head spec: layer 0 is `classifier.1`, but the weights have no `classifier.1.weight`"
    );
    files.head =
        Some(br#"{"encoder":"bert","pool":"mean","layers":[{"linear":"classifier.3"}]}"#.to_vec());
    assert_eq!(
        load_err(&files),
        "head spec: layer 0: `classifier.3.weight` has shape [4, 256] and takes 256 inputs, but the layer before gives 32"
    );
    files.head = Some(br#"{"pool":"first","layers":[]}"#.to_vec());
    let err = load_err(&files);
    assert!(
        err.starts_with("head.json: unknown variant `first`"),
        "{err}"
    );
    files.head = Some(
        br#"{"encoder":"bert","pool":"mean","layers":[{"linear":"classifier.0"},{"linear":"classifier.3"}],
             "labels":["a","b"]}"#
            .to_vec(),
    );
    assert_eq!(
        load_err(&files),
        "head spec: 2 class names are given but the head has 4 outputs"
    );
}

#[test]
fn a_bare_encoder_with_unused_head_weights_says_so() {
    // config.json says BertModel; the weights also hold a custom head.
    let mut files = raw_files("seed-mean-mlp");
    files.head = None;
    let model = Model::load(files.model_files()).unwrap();
    assert_eq!(model.task(), bertlens_core::Task::Encoder);
    assert_eq!(
        model.warnings(),
        ["the weights hold tensors bertlens does not use (classifier.0, classifier.3): config.json's \
          `architectures` (BertModel) names no head for them; a head.json can say how they are built"]
    );
    let ig = ExplainOptions {
        method: Some(bertlens_core::Method::Ig),
        ..Default::default()
    };
    let err = explain(&model, "good", None, &ig).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("this model is a bare encoder (no task head)"),
        "{err}"
    );
    let rollout = ExplainOptions {
        method: Some(bertlens_core::Method::Rollout),
        ..Default::default()
    };
    assert_eq!(
        explain(&model, "good", None, &rollout)
            .unwrap()
            .attributions
            .len(),
        3
    );
}

#[test]
fn corrupt_pytorch_checkpoint() {
    let mut files = raw_files("seed-mean-mlp");
    let w = &mut files.weights[0].1;
    w.truncate(w.len() / 2);
    let err = load_err(&files);
    assert!(
        err.starts_with("model.pt is not a PyTorch checkpoint bertlens can read"),
        "{err}"
    );
}

#[test]
fn missing_files_in_a_folder() {
    let dir = std::env::temp_dir().join(format!("bertlens-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = fixtures().join("bert");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let err = ModelFiles::read_dir(&dir).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{} has no tokenizer (tokenizer.json, vocab.txt",
            dir.display()
        )),
        "{err}"
    );
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let err = ModelFiles::read_dir(&dir).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "has no weights (model.safetensors, pytorch_model.bin, or a .pt/.pth checkpoint)"
        ),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
    let err = ModelFiles::read_dir("/nonexistent/model")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cannot read /nonexistent/model"), "{err}");
}

#[test]
fn empty_and_odd_text() {
    let model = load("bert");
    let opts = ExplainOptions::default();
    for text in ["", "   ", "\n\t", "\u{200b}\u{200b}"] {
        let err = explain(&model, text, None, &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the text is empty: type a sentence to explain",
            "{text:?}"
        );
    }
    // Odd but valid text is explained, whatever the tokenizer makes of it.
    for text in [
        "🤖🔥 ok",
        "مرحبا بالعالم",
        "日本語のテキスト",
        "a\u{0}b",
        "<script>alert(1)</script>",
        "ﬁ café\r\n",
    ] {
        let e = explain(&model, text, None, &opts).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(e.attributions.len(), e.tokens.len());
        assert!(e.attributions.iter().all(|a| a.is_finite()), "{text:?}");
    }
}

#[test]
fn text_longer_than_the_model_is_truncated_and_says_so() {
    let model = load("bert");
    let text = "the quick brown fox ".repeat(200);
    let e = explain(&model, &text, None, &ExplainOptions::default()).unwrap();
    assert!(e.truncated);
    assert_eq!(e.tokens.len(), 64);
    assert_eq!(e.tokens.last().unwrap(), "[SEP]");
    let e = explain(
        &model,
        "the quick brown fox",
        None,
        &ExplainOptions::default(),
    )
    .unwrap();
    assert!(!e.truncated);
}

#[test]
fn unknown_target_and_bad_options() {
    let model = load("bert");
    let opts = ExplainOptions {
        target: Some("spam".into()),
        ..Default::default()
    };
    assert_eq!(
        explain(&model, "good", None, &opts)
            .unwrap_err()
            .to_string(),
        "unknown target \"spam\": the model's classes are 0=negative, 1=neutral, 2=positive"
    );
    let opts = ExplainOptions {
        target: Some("3".into()),
        ..Default::default()
    };
    assert!(explain(&model, "good", None, &opts).is_err());
    let opts = ExplainOptions {
        target: Some("2".into()),
        ..Default::default()
    };
    assert_eq!(
        explain(&model, "good", None, &opts)
            .unwrap()
            .target_label
            .as_deref(),
        Some("positive")
    );
    let opts = ExplainOptions {
        target: Some(2.into()),
        ..Default::default()
    };
    assert_eq!(
        explain(&model, "good", None, &opts)
            .unwrap()
            .target_label
            .as_deref(),
        Some("positive")
    );
    let opts = ExplainOptions {
        target: Some(7.into()),
        ..Default::default()
    };
    assert_eq!(
        explain(&model, "good", None, &opts)
            .unwrap_err()
            .to_string(),
        "unknown target \"7\": the model's classes are 0=negative, 1=neutral, 2=positive"
    );
    let opts = ExplainOptions {
        n_steps: 0.into(),
        ..Default::default()
    };
    assert_eq!(
        explain(&model, "good", None, &opts)
            .unwrap_err()
            .to_string(),
        "invalid option n_steps: gausslegendre needs at least 1 steps, got 0"
    );
    let opts = ExplainOptions {
        internal_batch_size: Some(0),
        ..Default::default()
    };
    assert_eq!(
        explain(&model, "good", None, &opts)
            .unwrap_err()
            .to_string(),
        "invalid option internal_batch_size: must be at least 1"
    );
}

/// config.json's `architectures` names a head the weights do not hold.
#[test]
fn a_task_head_missing_from_the_weights_is_named() {
    let mut files = raw_files("bert");
    let config = String::from_utf8(files.config.clone()).unwrap();
    files.config = config
        .replace("BertForSequenceClassification", "BertForQuestionAnswering")
        .into_bytes();
    assert_eq!(
        load_err(&files),
        "the weights have no `qa_outputs.weight`, which a question-answering head needs: do \
         config.json's `architectures` and the weights belong together?"
    );
    let mut files = raw_files("bert-ner");
    let config = String::from_utf8(files.config.clone()).unwrap();
    files.config = config
        .replace("BertForTokenClassification", "BertForMaskedLM")
        .into_bytes();
    assert!(load_err(&files)
        .starts_with("the weights have no `cls.predictions.transform.dense.weight`"));
}

/// Family options bertlens does not implement are named, not guessed.
#[test]
fn unsupported_family_options_are_named() {
    let edit = |name: &str, from: &str, to: &str| {
        let mut files = raw_files(name);
        let config = String::from_utf8(files.config.clone()).unwrap();
        assert!(config.contains(from), "{name}: {from}");
        files.config = config.replacen(from, to, 1).into_bytes();
        load_err(&files)
    };
    assert_eq!(
        edit(
            "deberta-v2",
            "\"hidden_size\"",
            "\"conv_kernel_size\": 2, \"hidden_size\""
        ),
        "config.json: conv_groups must divide hidden_size, and conv_kernel_size be odd"
    );
    assert_eq!(
        edit(
            "modernbert",
            "\"rope_type\": \"default\"",
            "\"rope_type\": \"yarn\""
        ),
        "config.json: rope_type \"yarn\" is not supported (only \"default\")"
    );
    assert_eq!(
        edit("bert", "\"hidden_size\"", "\"position_embedding_type\": \"relative_key\", \"hidden_size\""),
        "config.json: position_embedding_type \"relative_key\" is not supported (only \"absolute\")"
    );
}

/// A folder with weights in a format bertlens does not read says what it holds.
#[test]
fn a_folder_of_foreign_weights_says_what_it_holds() {
    let dir = std::env::temp_dir().join(format!("bertlens-tf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(fixtures().join("bert").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("tf_model.h5"), b"\x89HDF\r\n").unwrap();
    let err = ModelFiles::read_dir(&dir).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "it holds TensorFlow weights (tf_model.h5) but no weights (model.safetensors, \
             pytorch_model.bin, or a .pt/.pth checkpoint); convert them with transformers, e.g. \
             AutoModel.from_pretrained(dir, from_tf=True).save_pretrained(dir), which writes \
             model.safetensors"
        ),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

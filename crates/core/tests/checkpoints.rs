//! Checkpoints as the hub holds them, not only as transformers 5 writes
//! them: older config keys, older tensor names, half-precision weights,
//! sharded files. Each variant of a fixture must predict what the original
//! does (transformers' goldens).

mod common;

use std::collections::HashMap;

use bertlens_core::Model;
use candle_core::{DType, Device, Tensor};
use common::*;
use serde_json::Value;

/// The fixture's logits for its first cases, against its goldens.
fn check_logits(name: &str, model: &Model, tol: f64) {
    for case in expected(name)["cases"].as_array().unwrap().iter().take(2) {
        let (text, pair) = text_of(case);
        let t = model.tokenize(&text, pair.as_deref()).unwrap();
        let p = model.predict(&t).unwrap();
        assert_close_rel(
            &format!("{name}: {text:?}"),
            &p.logits,
            &floats(&case["logits"]),
            tol,
        );
    }
}

fn with_config(name: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Model {
    let mut files = raw_files(name);
    let mut config: Value = serde_json::from_slice(&files.config).unwrap();
    edit(config.as_object_mut().unwrap());
    files.config = serde_json::to_vec(&config).unwrap();
    Model::load(files.model_files()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The fixture's tensors, changed by `edit`, as safetensors files.
fn with_tensors(
    name: &str,
    edit: impl FnOnce(HashMap<String, Tensor>) -> Vec<(String, HashMap<String, Tensor>)>,
) -> Model {
    let mut files = raw_files(name);
    let bytes = &files.weights[0].1;
    let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).unwrap();
    let dir = std::env::temp_dir().join(format!("bertlens-ckpt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    files.weights = edit(tensors)
        .into_iter()
        .map(|(file, t)| {
            let path = dir.join(&file);
            candle_core::safetensors::save(&t, &path).unwrap();
            (file, std::fs::read(&path).unwrap())
        })
        .collect();
    std::fs::remove_dir_all(&dir).ok();
    Model::load(files.model_files()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn modernbert_configs_as_the_hub_writes_them() {
    // Before transformers 5: global_attn_every_n_layers and two rope thetas.
    let model = with_config("modernbert", |c| {
        c.remove("layer_types");
        c.remove("rope_parameters");
        c.insert("global_attn_every_n_layers".into(), 2.into());
        c.insert("global_rope_theta".into(), 1000.0.into());
        c.insert("local_rope_theta".into(), 500.0.into());
    });
    check_logits("modernbert", &model, 1e-5);
}

#[test]
fn deberta_position_attention_types_as_a_string() {
    let model = with_config("deberta-v3", |c| {
        c.insert("pos_att_type".into(), "p2c|c2p".into());
    });
    check_logits("deberta-v3", &model, 1e-5);
}

#[test]
fn layer_norms_named_gamma_and_beta() {
    // TF-converted checkpoints (bert-base-uncased's own) name them so.
    let model = with_tensors("bert", |t| {
        let renamed = t
            .into_iter()
            .map(|(k, v)| {
                let k = k
                    .replace("LayerNorm.weight", "LayerNorm.gamma")
                    .replace("LayerNorm.bias", "LayerNorm.beta");
                (k, v)
            })
            .collect();
        vec![("model.safetensors".into(), renamed)]
    });
    check_logits("bert", &model, 1e-5);
}

#[test]
fn half_precision_weights_are_widened() {
    for dtype in [DType::F16, DType::BF16] {
        let model = with_tensors("deberta-v3", |t| {
            let half = t
                .into_iter()
                .map(|(k, v)| (k, v.to_dtype(dtype).unwrap()))
                .collect();
            vec![("model.safetensors".into(), half)]
        });
        // Rounding the weights moves the logits a little, not the prediction.
        check_logits(
            "deberta-v3",
            &model,
            if dtype == DType::F16 { 3e-2 } else { 1e-1 },
        );
    }
}

#[test]
fn sharded_safetensors_are_read_as_one() {
    let model = with_tensors("albert", |t| {
        let mut keys: Vec<String> = t.keys().cloned().collect();
        keys.sort();
        let (a, b) = keys.split_at(keys.len() / 2);
        let part = |ks: &[String]| {
            ks.iter()
                .map(|k| (k.clone(), t[k].clone()))
                .collect::<HashMap<_, _>>()
        };
        vec![
            ("model-00001-of-00002.safetensors".into(), part(a)),
            ("model-00002-of-00002.safetensors".into(), part(b)),
        ]
    });
    check_logits("albert", &model, 1e-5);
}

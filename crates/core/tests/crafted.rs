//! Files crafted as an attacker would: sizes whose products wrap around,
//! and every number of a config or a weights header pushed to its limits.
//! Each must load or fail with a message; none may panic (tests run with
//! overflow checks on, so an unchecked product panics here).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use bertlens_core::explain::{explain, ExplainOptions};
use bertlens_core::{Model, Steps};
use common::*;
use serde_json::{json, Value};

/// A safetensors file's header and data.
fn split(bytes: &[u8]) -> (serde_json::Map<String, Value>, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header, &bytes[8 + n..])
}

fn join(header: &serde_json::Map<String, Value>, data: &[u8]) -> Vec<u8> {
    let h = serde_json::to_vec(header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    out
}

/// Loads `files`, and explains a sentence with a few steps when it loads:
/// whatever happens, it must not panic. Returns the load's error, if any.
fn survives(files: &RawFiles, what: &str) -> Option<String> {
    outcome(files).unwrap_or_else(|p| panic!("{what}: panicked: {p}"))
}

/// The error of loading and explaining, or the message of a panic.
fn outcome(files: &RawFiles) -> Result<Option<String>, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let model = Model::load(files.model_files()).map_err(|e| e.to_string())?;
        let opts = ExplainOptions {
            n_steps: Steps::Fixed(2),
            ..ExplainOptions::default()
        };
        explain(&model, "a short sentence", None, &opts).map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    }));
    match outcome {
        Ok(r) => Ok(r.err()),
        Err(p) => Err(p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()),
    }
}

#[test]
fn a_shape_whose_size_wraps_around_is_refused() {
    // `classifier.weight` is (3, 32): 96 floats, 384 bytes. (3 + 2^57) · 32 · 4
    // is 384 modulo 2^64, so a check of the byte count alone is fooled.
    let mut files = raw_files("bert");
    let (mut header, data) = split(&files.weights[0].1);
    header["classifier.weight"]["shape"] = json!([3u64 + (1u64 << 57), 32]);
    files.weights[0].1 = join(&header, data);
    let err = survives(&files, "wrapped shape").expect("refused");
    assert_eq!(
        err,
        "model.safetensors is not a valid safetensors file: tensor `classifier.weight`: \
         shape [144115188075855875, 32] is too large to exist"
    );
}

#[test]
fn every_header_shape_pushed_to_its_limits() {
    let base = raw_files("bert");
    let (header, data) = split(&base.weights[0].1);
    let keys: Vec<String> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    for key in &keys {
        for dims in [
            json!([]),
            json!([0]),
            json!([u64::MAX]),
            json!([1u64 << 62, 4]),
            json!([usize::MAX, 0]),
            json!([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
        ] {
            let mut h = header.clone();
            h[key.as_str()]["shape"] = dims.clone();
            let mut files = base.clone();
            files.weights[0].1 = join(&h, data);
            survives(&files, &format!("{key} with shape {dims}"));
        }
    }
}

/// Every number in config.json set to values at the edges of its type;
/// the cases that panicked.
fn fuzz_config(name: &str) -> Vec<String> {
    let mut panics = Vec::new();
    let base = raw_files(name);
    let config: Value = serde_json::from_slice(&base.config).unwrap();
    let numeric: Vec<String> = config
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, _)| k.clone())
        .collect();
    assert!(numeric.len() > 5, "{name}: {numeric:?}");
    for key in &numeric {
        for v in [
            json!(0),
            json!(1),
            json!(-1),
            json!(1u64 << 31),
            json!(1u64 << 40),
            json!(u64::MAX),
            json!(1e300),
            json!(0.5),
        ] {
            let mut c = config.clone();
            c[key.as_str()] = v.clone();
            let mut files = base.clone();
            files.config = serde_json::to_vec(&c).unwrap();
            if let Err(p) = outcome(&files) {
                panics.push(format!("{name}: {key} = {v}: {p}"));
            }
        }
    }
    panics
}

#[test]
fn every_config_number_of_every_family_pushed_to_its_limits() {
    std::panic::set_hook(Box::new(|_| {}));
    let panics = [
        "bert",
        "distilbert",
        "albert",
        "electra",
        "deberta-v3",
        "modernbert",
    ]
    .into_iter()
    .flat_map(fuzz_config)
    .collect::<Vec<_>>();
    let _ = std::panic::take_hook(); // the default hook again, for the message below
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}

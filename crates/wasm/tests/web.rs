//! The binding in a browser (wasm-bindgen-test in headless Chromium): the
//! `Explainer` the page uses gives what the native core gives on the same
//! fixture models, and its errors reach JavaScript as messages.

#![cfg(target_arch = "wasm32")]

use bertlens_wasm::Explainer;
use js_sys::{Array, Float32Array, Float64Array, Object, Reflect, Uint8Array};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// What `examples/native_snapshot.rs` computed natively (`null` when not given).
const NATIVE: &str = include_str!(concat!(env!("OUT_DIR"), "/native.json"));

macro_rules! fixture {
    ($name:literal, $($file:literal),+) => {
        &[$(($file, include_bytes!(concat!("../../../tests/fixtures/", $name, "/", $file)) as &[u8])),+]
    };
}

fn fixture_files(name: &str) -> &'static [(&'static str, &'static [u8])] {
    match name {
        "bert" => fixture!("bert", "config.json", "tokenizer.json", "model.safetensors"),
        "distilbert" => fixture!(
            "distilbert",
            "config.json",
            "tokenizer.json",
            "model.safetensors"
        ),
        "roberta" => fixture!(
            "roberta",
            "config.json",
            "tokenizer.json",
            "model.safetensors"
        ),
        "seed-mean-mlp" => fixture!(
            "seed-mean-mlp",
            "config.json",
            "tokenizer.json",
            "model.pt",
            "head.json"
        ),
        other => panic!("no fixture {other}"),
    }
}

fn js_files(files: &[(&str, &[u8])]) -> JsValue {
    let arr = Array::new();
    for (name, bytes) in files {
        let f = Object::new();
        Reflect::set(&f, &"name".into(), &(*name).into()).unwrap();
        Reflect::set(&f, &"bytes".into(), &Uint8Array::from(*bytes).into()).unwrap();
        arr.push(&f);
    }
    arr.into()
}

fn load(name: &str) -> Explainer {
    Explainer::new(js_files(fixture_files(name)), Some(name.into()))
        .unwrap_or_else(|e| panic!("{name}: {}", message(e)))
}

fn message(e: JsError) -> String {
    let v: JsValue = e.into();
    Reflect::get(&v, &"message".into())
        .unwrap()
        .as_string()
        .unwrap()
}

fn json(v: JsValue) -> Value {
    serde_wasm_bindgen::from_value(v).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn typed(obj: &Object, key: &str) -> Vec<f64> {
    let v = Reflect::get(obj, &key.into()).unwrap();
    Float32Array::new(&v)
        .to_vec()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn f64s(obj: &JsValue, key: &str) -> Vec<f64> {
    Float64Array::new(&Reflect::get(obj, &key.into()).unwrap()).to_vec()
}

/// max |a − b| ≤ tol · max(1, max |b|)
fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1f64, |m, x| m.max(x.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol * scale, "{what}[{i}]: {a} vs {b}");
    }
}

fn options(method: &str) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"method".into(), &method.into()).unwrap();
    o.into()
}

#[wasm_bindgen_test]
fn equals_the_native_core() {
    let native: Value = serde_json::from_str(NATIVE).unwrap();
    let Some(cases) = native.as_array() else {
        panic!("no native snapshot: run the wasm tests with `make test-wasm`");
    };
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["model"].as_str().unwrap();
        let text = case["text"].as_str().unwrap();
        let pair = case["pair"].as_str().map(str::to_string);
        let what = format!("{name}: {text:?}");
        let mut ex = load(name);
        let a = ex
            .attentions(text, pair.clone(), JsValue::UNDEFINED)
            .unwrap();
        let e = json(Reflect::get(&a, &"explanation".into()).unwrap());
        assert_eq!(e["input_ids"], case["input_ids"], "{what}");
        close(
            &format!("{what} probabilities"),
            &floats(&e["probabilities"]),
            &floats(&case["probabilities"]),
            1e-6,
        );
        close(
            &format!("{what} attentions"),
            &typed(&a, "probabilities"),
            &floats(&case["attentions"]),
            1e-6,
        );
        close(
            &format!("{what} queries"),
            &typed(&a, "queries"),
            &floats(&case["queries"]),
            1e-5,
        );
        close(
            &format!("{what} rollout"),
            &typed(&a, "rollout"),
            &floats(&case["rollout"]),
            1e-6,
        );
        for (method, want) in case["methods"].as_object().unwrap() {
            let got = json(ex.attribute(text, pair.clone(), options(method)).unwrap());
            close(
                &format!("{what} {method}"),
                &floats(&got["attributions"]),
                &floats(&want["attributions"]),
                1e-5,
            );
            if let Some(d) = want["delta"].as_f64() {
                assert!(
                    (got["delta"].as_f64().unwrap() - d).abs() < 1e-4,
                    "{what} delta"
                );
            }
        }
        // Integrated Gradients in pieces, as the workers share it, gives the same.
        let started = json(ex.ig_start(text, pair.clone(), JsValue::UNDEFINED).unwrap());
        let steps = started["steps"].as_u64().unwrap() as usize;
        let mut total = vec![0f32; started["size"].as_u64().unwrap() as usize];
        for start in (0..steps).step_by(7) {
            let part = ex
                .ig_gradient_sum(start, (start + 7).min(steps))
                .unwrap()
                .to_vec();
            total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
        }
        let got = json(ex.ig_finish(&total).unwrap());
        close(
            &format!("{what} IG in pieces"),
            &floats(&got["attributions"]),
            &floats(&case["methods"]["ig"]["attributions"]),
            1e-5,
        );
        // n_steps "auto", driven round by round as the page's workers do.
        let auto = Object::new();
        Reflect::set(&auto, &"n_steps".into(), &"auto".into()).unwrap();
        let started = json(ex.ig_start(text, pair.clone(), auto.into()).unwrap());
        assert_eq!(started["auto"], true, "{what}");
        let mut rounds = 0;
        loop {
            let round = ex.ig_round().unwrap();
            if round.is_null() {
                break;
            }
            let intervals = f64s(&round, "intervals");
            let alphas = f64s(&round, "alphas");
            let mut sums = Vec::new();
            for iv in intervals.chunks(2) {
                sums.extend(ex.ig_interval_sum(iv[0], iv[1]).unwrap().to_vec());
            }
            let scores = ex.ig_scores(&alphas).unwrap().to_vec();
            let progress = json(ex.ig_submit(&sums, &scores).unwrap());
            rounds += 1;
            assert!(rounds < 100, "{what}: auto does not end");
            if progress["done"] == true {
                break;
            }
        }
        let got = json(ex.ig_finish(&[]).unwrap());
        let want = &case["ig_auto"];
        assert_eq!(got["ig"]["n_steps"], want["n_steps"], "{what} auto steps");
        assert_eq!(got["ig"]["auto"], true, "{what}");
        close(
            &format!("{what} IG auto"),
            &floats(&got["attributions"]),
            &floats(&want["attributions"]),
            1e-5,
        );
    }
}

#[wasm_bindgen_test]
fn errors_reach_javascript_as_messages() {
    let mut files: Vec<(&str, &[u8])> = fixture_files("bert").to_vec();
    files[0] = ("config.json", br#"{"model_type": "gpt2"}"#);
    let err = Explainer::new(js_files(&files), None).err().unwrap();
    assert_eq!(
        message(err),
        "unsupported model_type \"gpt2\" in config.json; bertlens supports: bert, roberta, \
         xlm-roberta, camembert, distilbert, albert, electra, deberta-v2, modernbert"
    );
    let files: Vec<(&str, &[u8])> = fixture_files("bert")[..2].to_vec();
    let err = Explainer::new(js_files(&files), Some("the dropped files".into()))
        .err()
        .unwrap();
    assert!(message(err).starts_with("the dropped files has no weights"));
    let ex = load("bert");
    assert_eq!(
        message(ex.attribute("  ", None, JsValue::UNDEFINED).unwrap_err()),
        "the text is empty: type a sentence to explain"
    );
    let bad = js_sys::JSON::parse(r#"{"nsteps": 3}"#).unwrap();
    assert!(
        message(ex.attribute("good", None, bad).unwrap_err()).contains("unknown field `nsteps`")
    );
    let info = json(ex.info().unwrap());
    assert_eq!(
        info["labels"],
        serde_json::json!(["negative", "neutral", "positive"])
    );
    assert_eq!(info["layers"], 2);
}

//! The binding in a browser (wasm-bindgen-test in headless Chromium): the
//! `Explainer` the page uses gives what the native core gives on the same
//! fixture models, for every task, and its errors reach JavaScript as
//! messages.

#![cfg(target_arch = "wasm32")]

use bertlens_wasm::{bertlens_run, take_result, Explainer, Session};
use js_sys::{
    Array, Float32Array, Float64Array, Int32Array, Object, Reflect, Uint32Array, Uint8Array,
};
use serde::Serialize;
use serde_json::{json, Value};
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

type Files = &'static [(&'static str, &'static [u8])];

/// Every file of a fixture folder but its goldens, as the native side reads it.
fn fixture_files(name: &str) -> Files {
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
        "bert-qa" => fixture!(
            "bert-qa",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "vocab.txt",
            "model.safetensors"
        ),
        "bert-ner" => fixture!(
            "bert-ner",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "vocab.txt",
            "model.safetensors"
        ),
        "bert-mlm" => fixture!(
            "bert-mlm",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "vocab.txt",
            "model.safetensors"
        ),
        "roberta-encoder" => fixture!(
            "roberta-encoder",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "vocab.json",
            "merges.txt",
            "model.safetensors"
        ),
        "deberta-v3-qa" => fixture!(
            "deberta-v3-qa",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "spm.model",
            "model.safetensors"
        ),
        "deberta-v3-ner" => fixture!(
            "deberta-v3-ner",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "spm.model",
            "model.safetensors"
        ),
        "modernbert-mlm" => fixture!(
            "modernbert-mlm",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "model.safetensors"
        ),
        "modernbert-qa" => fixture!(
            "modernbert-qa",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "model.safetensors"
        ),
        "albert" => fixture!(
            "albert",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "spiece.model",
            "model.safetensors"
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

/// A JSON value as the page passes it (plain objects).
fn js(v: &Value) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap()
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

/// max |a − b| ≤ tol · max(1, max |b|)
fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1f64, |m, x| m.max(x.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol * scale, "{what}[{i}]: {a} vs {b}");
    }
}

/// The same JSON, numbers within tol · max(1, |want|).
fn same(what: &str, got: &Value, want: &Value, tol: f64) {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= tol * b.abs().max(1.0),
                "{what}: {a} vs {b}"
            );
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{what}: lengths");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                same(&format!("{what}[{i}]"), x, y, tol);
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, y) in b {
                same(
                    &format!("{what}.{k}"),
                    a.get(k).unwrap_or(&Value::Null),
                    y,
                    tol,
                );
            }
        }
        (a, b) => assert_eq!(a, b, "{what}"),
    }
}

/// `base` with `extra`'s fields over it.
fn with(base: &Value, extra: Value) -> Value {
    let mut o = base.clone();
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

/// The options of a method, as native_snapshot names them.
fn method_options(key: &str) -> Value {
    match key {
        "saliency-l1" => json!({"method": "saliency", "norm": "l1"}),
        m => json!({ "method": m }),
    }
}

#[wasm_bindgen_test]
fn equals_the_native_core() {
    let native: Value = serde_json::from_str(NATIVE).unwrap();
    let Some(cases) = native.as_array() else {
        panic!("no native snapshot: run the wasm tests with `make test-wasm`");
    };
    assert!(cases.len() >= 12);
    for case in cases {
        let name = case["model"].as_str().unwrap();
        let text = case["text"].as_str().unwrap();
        let pair = case["pair"].as_str().map(str::to_string);
        let base = &case["options"];
        let what = format!("{name}: {text:?} {base}");
        let ex = load(name);
        assert_eq!(json(ex.info().unwrap())["task"], case["task"], "{what}");

        // One pass with every attention: the prediction and the rollout.
        let session = ex.prepare(text, pair.clone(), js(base), true).unwrap();
        let a = session.attentions(js(base)).unwrap();
        let e = json(Reflect::get(&a, &"explanation".into()).unwrap());
        assert_eq!(e["input_ids"], case["input_ids"], "{what}");
        same(
            &format!("{what} prediction and rollout"),
            &e,
            &case["methods"]["rollout"],
            1e-5,
        );
        // The maps come a view at a time: each layer's heads, each head with
        // its vectors, every layer at once, the rollout; none with the sizes.
        assert!(
            !Reflect::has(&a, &"probabilities".into()).unwrap(),
            "{what}"
        );
        let size = |key: &str| Reflect::get(&a, &key.into()).unwrap().as_f64().unwrap() as usize;
        let (layers, heads) = (size("layers"), size("heads"));
        let mut by_layer = Vec::new();
        let mut by_head: [Vec<f64>; 4] = Default::default();
        for l in 0..layers {
            by_layer.extend(typed(
                &session.attention_layer(l, None).unwrap(),
                "probabilities",
            ));
            for k in 0..heads {
                let m = session.attention_layer(l, Some(k)).unwrap();
                for (i, key) in ["probabilities", "queries", "keys", "positionScores"]
                    .iter()
                    .enumerate()
                {
                    by_head[i].extend(typed(&m, key));
                }
            }
        }
        assert!(session.attention_layer(layers, None).is_err(), "{what}");
        assert!(session.attention_layer(0, Some(heads)).is_err(), "{what}");
        let all: Vec<f64> = session
            .attention_maps()
            .unwrap()
            .to_vec()
            .into_iter()
            .map(f64::from)
            .collect();
        let rollout: Vec<f64> = session
            .rollout()
            .unwrap()
            .to_vec()
            .into_iter()
            .map(f64::from)
            .collect();
        let [probabilities, queries, keys, position] = by_head;
        for (key, got, native) in [
            ("attentionLayer", by_layer, "attentions"),
            ("attentionLayer by head", probabilities, "attentions"),
            ("queries", queries, "queries"),
            ("keys", keys, "keys"),
            ("positionScores", position, "position_scores"),
            ("attentionMaps", all, "attentions"),
            ("rollout", rollout, "rollout"),
        ] {
            close(&format!("{what} {key}"), &got, &floats(&case[native]), 1e-5);
        }
        let scale = Reflect::get(&a, &"scale".into()).unwrap().as_f64().unwrap();
        assert!(
            (scale - case["scale"].as_f64().unwrap()).abs() < 1e-7,
            "{what}"
        );
        assert_eq!(
            json(Reflect::get(&a, &"windows".into()).unwrap()),
            case["windows"],
            "{what}"
        );

        // Each method, from the same session and in one call without one.
        for (key, want) in case["methods"].as_object().unwrap() {
            let opts = with(base, method_options(key));
            session.explain(js(&opts)).unwrap();
            let got = json(ran());
            same(&format!("{what} {key}"), &got, want, 1e-5);
            let got = json(ex.attribute(text, pair.clone(), js(&opts)).unwrap());
            same(&format!("{what} {key} (no session)"), &got, want, 1e-5);
        }

        // The step-through: every vector as the native core records it.
        let want = &case["steps"];
        let layer = want["layer"].as_u64().unwrap() as usize;
        let token = want["token"].as_u64().unwrap() as usize;
        let got = json(session.steps(layer, token).unwrap());
        same(&format!("{what} steps"), &got, want, 1e-5);

        let mut session = ex.prepare(text, pair.clone(), js(base), false).unwrap();
        if case["task"] == "encoder" {
            let err = session.ig_start(js(base), 2).unwrap_err();
            assert!(
                message(err).starts_with("this model is a bare encoder"),
                "{what}"
            );
            continue;
        }

        // Integrated Gradients in jobs, as the workers share them, gives the same.
        let started = json(session.ig_start(js(base), 3).unwrap());
        let ig = &case["methods"]["ig"];
        assert_eq!(started["target"], ig["target"], "{what} target");
        assert_eq!(started["target_label"], ig["target_label"], "{what}");
        assert_eq!(started["token"], ig["token"], "{what} token");
        assert!(
            started["round"]["jobs"].as_array().unwrap().len() > 1,
            "{what}"
        );
        drive(&ex, &mut session, &started, base, &what);
        let got = json(session.ig_finish().unwrap());
        same(&format!("{what} IG in jobs"), &got, ig, 1e-5);

        // The IG path, point by point: its running sum ends on the same attributions.
        let path = json(session.ig_path(js(base)).unwrap());
        close(
            &format!("{what} IG path"),
            &floats(&path["attributions"]),
            &floats(&ig["attributions"]),
            1e-5,
        );
        assert_eq!(path["target"], ig["target"], "{what} IG path target");

        // n_steps "auto", driven round by round as the page's workers do.
        let auto = with(base, json!({"n_steps": "auto"}));
        let started = json(session.ig_start(js(&auto), 2).unwrap());
        assert_eq!(started["auto"], true, "{what}");
        let rounds = drive(&ex, &mut session, &started, &auto, &what);
        assert!(rounds >= 1, "{what}");
        let got = json(session.ig_finish().unwrap());
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

/// The staged call's result, run as a worker without JSPI runs it (the
/// CPU, nothing suspended).
fn ran() -> JsValue {
    bertlens_run(0);
    take_result().unwrap()
}

/// Drives a started run as pool.js does: each round's jobs through
/// `igSum` (the job alone, no session), its scores through `igScores`, the
/// results to the session's driver. The jobs are computed last to first,
/// as workers may finish them. Returns the rounds.
fn drive(
    ex: &Explainer,
    session: &mut Session,
    started: &Value,
    opts: &Value,
    what: &str,
) -> usize {
    let job = js(&started["job"]);
    let size = started["size"].as_u64().unwrap() as usize;
    let mut round = started["round"].clone();
    let mut rounds = 0;
    while !round.is_null() {
        let jobs = round["jobs"].as_array().unwrap();
        let mut sums = vec![0f64; jobs.len() * size];
        for (k, points) in jobs.iter().enumerate().rev() {
            ex.ig_sum(job.clone(), js(opts), js(points)).unwrap();
            let part = Float64Array::from(ran()).to_vec();
            sums[k * size..(k + 1) * size].copy_from_slice(&part);
        }
        let alphas: Vec<f64> = floats(&round["scores_at"]);
        ex.ig_scores(job.clone(), js(opts), &alphas).unwrap();
        let scores = Float32Array::from(ran()).to_vec();
        let submitted = json(session.ig_submit(&sums, &scores).unwrap());
        round = submitted["round"].clone();
        rounds += 1;
        assert!(rounds < 100, "{what}: the run does not end");
    }
    rounds
}

#[wasm_bindgen_test]
fn tells_the_page_about_each_task() {
    let info = |name: &str| json(load(name).info().unwrap());
    let qa = info("bert-qa");
    assert_eq!(qa["task"], "question-answering");
    assert_eq!(qa["mask_token"], "[MASK]");
    assert_eq!(qa["warnings"], json!([]));
    assert_eq!(info("bert-ner")["labels"][1], "B-PER");
    assert_eq!(info("roberta-encoder")["mask_token"], "<mask>");
    assert_eq!(info("modernbert-mlm")["task"], "fill-mask");

    // The end of the answer explained alone reports which token it is.
    let ex = load("bert-qa");
    let mut session = ex
        .prepare(
            "Where is the hotel?",
            Some("The hotel is near the old bank in São Paulo.".into()),
            JsValue::UNDEFINED,
            false,
        )
        .unwrap();
    let started = json(session.ig_start(js(&json!({"part": "end"})), 2).unwrap());
    assert_eq!(started["target_label"], "end");
    assert!(started["token"].as_u64().unwrap() > 7);

    // A head that the architecture does not name is said, not silently dropped.
    let mut files = fixture_files("bert-qa").to_vec();
    let config: Value = serde_json::from_slice(files[0].1).unwrap();
    let bare = serde_json::to_vec(&with(&config, json!({"architectures": ["BertModel"]}))).unwrap();
    files[0] = ("config.json", &bare);
    let ex = Explainer::new(js_files(&files), None).unwrap();
    let info = json(ex.info().unwrap());
    assert_eq!(info["task"], "encoder");
    assert!(
        info["warnings"][0]
            .as_str()
            .unwrap()
            .contains("the weights hold tensors bertlens does not use"),
        "{info}"
    );
}

#[wasm_bindgen_test]
fn reads_a_tokenizer_from_slow_files() {
    let text = "The movie was wonderful, and the acting superb!";
    let fast = json(
        load("albert")
            .prepare(text, None, JsValue::UNDEFINED, false)
            .unwrap()
            .prediction(JsValue::UNDEFINED)
            .unwrap(),
    );
    let slow: Vec<_> = fixture_files("albert")
        .iter()
        .filter(|(n, _)| *n != "tokenizer.json")
        .copied()
        .collect();
    let ex = Explainer::new(js_files(&slow), Some("albert".into())).unwrap();
    let e = json(
        ex.prepare(text, None, JsValue::UNDEFINED, false)
            .unwrap()
            .prediction(JsValue::UNDEFINED)
            .unwrap(),
    );
    assert_eq!(e["input_ids"], fast["input_ids"]);
    same(
        "probabilities",
        &e["probabilities"],
        &fast["probabilities"],
        1e-6,
    );
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
    // The page passes a foreign weights file by name alone (no bytes).
    let files: Vec<(&str, &[u8])> = vec![
        fixture_files("bert")[0],
        fixture_files("bert")[1],
        ("tf_model.h5", b""),
    ];
    let err = Explainer::new(js_files(&files), Some("the folder".into()))
        .err()
        .unwrap();
    let msg = message(err);
    assert!(
        msg.starts_with("the folder: it holds TensorFlow weights (tf_model.h5)"),
        "{msg}"
    );
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
    let mlm = load("bert-mlm");
    assert!(message(
        mlm.attribute("no mask here", None, JsValue::UNDEFINED)
            .unwrap_err()
    )
    .starts_with("the text has no [MASK] token"));
}

/// The workbench's binding: a batch gives each row as `predict` does and
/// marks a row that cannot run; labels match, metrics and nearest rows are
/// the core's; a class the model lacks is an error.
#[wasm_bindgen_test]
fn predicts_a_batch_and_measures_it() {
    let ex = load("bert");
    let texts: Vec<String> = ["a great film", "", "it was terrible"]
        .map(String::from)
        .to_vec();
    let b = ex.predict_batch(texts.clone(), None, true).unwrap();
    let get = |k: &str| Reflect::get(&b, &k.into()).unwrap();
    let predicted = Int32Array::new(&get("predicted")).to_vec();
    assert_eq!(predicted[1], -1);
    let errors = json(get("errors"));
    assert!(errors[0].is_null() && errors[1].is_string(), "{errors}");
    let classes = get("classes").as_f64().unwrap() as usize;
    assert_eq!(classes, 3);
    let probabilities = typed(&b, "probabilities");
    for i in [0, 2] {
        let one = json(
            ex.prepare(&texts[i], None, JsValue::UNDEFINED, false)
                .unwrap()
                .prediction(JsValue::UNDEFINED)
                .unwrap(),
        );
        assert_eq!(predicted[i] as u64, one["predicted"].as_u64().unwrap());
        close(
            "probabilities",
            &probabilities[i * classes..(i + 1) * classes],
            &floats(&one["probabilities"]),
            1e-5,
        );
    }
    let dim = get("dim").as_f64().unwrap() as usize;
    let vectors = Float32Array::new(&get("vectors")).to_vec();
    assert_eq!(vectors.len(), 3 * dim);

    // The query's own vector is its nearest; `skip` leaves it out.
    let rows = [0u32, 2];
    let set: Vec<f32> = [&vectors[..dim], &vectors[2 * dim..]].concat();
    let near = bertlens_wasm::nearest_rows(&vectors[..dim], &set, &rows, 2, None).unwrap();
    let near_rows = Uint32Array::new(&Reflect::get(&near, &"rows".into()).unwrap()).to_vec();
    assert_eq!(near_rows, vec![0, 2]);
    assert!((typed(&near, "similarity")[0] - 1.0).abs() < 1e-6);
    let near = bertlens_wasm::nearest_rows(&vectors[..dim], &set, &rows, 2, Some(0)).unwrap();
    let near_rows = Uint32Array::new(&Reflect::get(&near, &"rows".into()).unwrap()).to_vec();
    assert_eq!(near_rows, vec![2]);

    let m = ex
        .match_labels(
            ["positive", "2", "Negative", "nope", ""]
                .map(String::from)
                .to_vec(),
        )
        .unwrap();
    let indices = Int32Array::new(&Reflect::get(&m, &"indices".into()).unwrap()).to_vec();
    assert_eq!(indices, vec![2, 2, 0, -1, -1]);
    assert_eq!(
        json(Reflect::get(&m, &"unmatched".into()).unwrap()),
        json!([{"label": "nope", "count": 1, "rows": [3]}])
    );

    // y_true = [0, 0, 1, 2, 2, 2], y_pred = [0, 1, 1, 2, 0, 2] (the core's hand-checked case).
    let got = json(
        ex.metrics(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 0, 2])
            .unwrap(),
    );
    assert!((got["accuracy"].as_f64().unwrap() - 4.0 / 6.0).abs() < 1e-12);
    assert_eq!(
        got["confusion"]["matrix"],
        json!([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    );
    assert_eq!(got["per_class"][2]["label"], "positive");
    let err = message(ex.metrics(&[5], &[0]).unwrap_err());
    assert_eq!(err, "class 5 is not one of the model's 3 classes");
}

/// The workbench's probe through the binding (features in blocks, one
/// layer per call, the report) equals scikit-learn's on the BERT fixture
/// (tests/fixtures/probe.json, gen_probe.py).
#[wasm_bindgen_test]
fn probes_as_scikit_learn_does() {
    let golden: Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/probe.json")).unwrap();
    let case = golden["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "bert" && c["pool"] == "cls")
        .unwrap();
    let csv = include_str!("../../../tests/fixtures/analysis/probe-set.csv");
    let (texts, labels): (Vec<String>, Vec<String>) = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[2].to_string())
        })
        .unzip();
    let options = js(&json!({"test_every": 4, "pool": "cls", "seed": 3}));
    let ex = load("bert");
    let (mut features, mut read) = (Vec::new(), Vec::new());
    let mut width = 0;
    for block in texts.chunks(64) {
        let b = ex
            .probe_features(block.to_vec(), None, "cls".into())
            .unwrap();
        width = Reflect::get(&b, &"width".into()).unwrap().as_f64().unwrap() as usize;
        features.extend(Float32Array::new(&Reflect::get(&b, &"features".into()).unwrap()).to_vec());
        read.extend(Uint8Array::new(&Reflect::get(&b, &"read".into()).unwrap()).to_vec());
    }
    assert_eq!(
        read.iter().filter(|&&r| r == 0).count(),
        1,
        "the empty text"
    );
    let want = case["layers"].as_array().unwrap();
    let hidden = width / want.len();
    let mut fits = Vec::new();
    for l in 0..want.len() {
        let x: Vec<f32> = features
            .chunks_exact(width)
            .flat_map(|row| row[l * hidden..(l + 1) * hidden].iter().copied())
            .collect();
        let fit = json(
            bertlens_wasm::probe_layer(labels.clone(), &read, &x, l, options.clone()).unwrap(),
        );
        for key in ["accuracy", "train_accuracy", "control_accuracy"] {
            let (a, b) = (fit[key].as_f64().unwrap(), want[l][key].as_f64().unwrap());
            assert!((a - b).abs() < 1e-12, "layer {l}: {key} {a} vs {b}");
        }
        fits.push(fit);
    }
    let report = json(
        bertlens_wasm::probe_summary(
            labels.clone(),
            &read,
            js(&Value::Array(fits)),
            options.clone(),
        )
        .unwrap(),
    );
    for key in ["n", "n_test", "skipped", "labels"] {
        assert_eq!(report[key], case[key], "{key}");
    }
    let one = vec!["same".to_string(); 10];
    let err = message(
        bertlens_wasm::probe_summary(one, &[1; 10], js(&json!([])), JsValue::UNDEFINED)
            .unwrap_err(),
    );
    assert!(err.contains("at least two labels"), "{err}");
}

/// Counterfactuals and a question's windows through the binding: the texts
/// the PyTorch search finds (tests/fixtures/counterfactual.json, a pair with
/// a target) and the windows transformers' tokenizer cuts, with the best
/// window's answer (tests/fixtures/windows.json).
#[wasm_bindgen_test]
fn searches_counterfactuals_and_reads_windows() {
    let golden: Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/counterfactual.json")).unwrap();
    let case = golden["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "bert" && !c["target"].is_null())
        .unwrap();
    let got = json(
        load("bert")
            .counterfactuals(
                case["text"].as_str().unwrap(),
                case["pair"].as_str().map(String::from),
                js(&json!({"target": case["target"]})),
            )
            .unwrap(),
    );
    let (got, want) = (
        got["counterfactuals"].as_array().unwrap(),
        case["counterfactuals"].as_array().unwrap(),
    );
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g["text"], w["text"]);
        assert_eq!(g["label"], w["label"]);
        let (p, q) = (
            g["probability"].as_f64().unwrap(),
            w["probability"].as_f64().unwrap(),
        );
        assert!((p - q).abs() < 1e-4, "{p} vs {q}");
    }

    let golden: Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/windows.json")).unwrap();
    let case = &golden["cases"][0];
    assert_eq!(case["model"], "bert-qa");
    let options = js(&json!({
        "max_length": case["max_length"],
        "doc_stride": case["doc_stride"],
        "method": "saliency",
    }));
    let session = load("bert-qa")
        .prepare(
            case["question"].as_str().unwrap(),
            case["context"].as_str().map(String::from),
            options.clone(),
            false,
        )
        .unwrap();
    let e = json(session.prediction(options).unwrap());
    let best = case["best"].as_u64().unwrap() as usize;
    assert_eq!(
        e["windows"].as_array().unwrap().len(),
        case["windows"].as_array().unwrap().len()
    );
    assert_eq!(e["answer"]["window"], best);
    assert_eq!(e["answer"]["text"], case["windows"][best]["answer"]["text"]);
    assert_eq!(e["input_ids"], case["windows"][best]["input_ids"]);
}

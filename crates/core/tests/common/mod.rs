//! Helpers shared by the integration tests: fixture models, their goldens,
//! and comparisons with named, readable failures.
#![allow(dead_code)]

use std::path::PathBuf;

use bertlens_core::attribution::ig::{integrated_gradients, IgAttribution, IgOptions};
use bertlens_core::attribution::{ForwardFunc, Scalar};
use bertlens_core::engine::Rows;
use bertlens_core::explain::{explain_tokens, ExplainOptions, Method, Target};
use bertlens_core::reference::Reference;
use bertlens_core::tokenizer::Tokenized;
use bertlens_core::{AttributionLayer, Baseline, Integration, Model, ModelFiles, TargetOutput};
use serde_json::Value;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// A JSON golden file of tests/fixtures (`flow.json`, `lens.json`, …).
pub fn golden_file(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A golden case's tokens (`input_ids`), checked against `input`'s.
pub fn assert_ids(case: &Value, input: &Tokenized, what: &str) {
    let want: Vec<u32> = case["input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(input.ids, want, "{what}: tokens");
}

pub fn fixture_files(name: &str) -> ModelFiles {
    ModelFiles::read_dir(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn load(name: &str) -> Model {
    Model::load(fixture_files(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The real default model (`make model`), or `None` when it is not built,
/// unless BERTLENS_REQUIRE_DEFAULT_MODEL is set (as `make test` does).
pub fn default_model() -> Option<Model> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/models/minilm-intent");
    if !dir.join("model.safetensors").is_file() {
        assert!(
            std::env::var_os("BERTLENS_REQUIRE_DEFAULT_MODEL").is_none(),
            "{} is missing: run `make model`",
            dir.display()
        );
        eprintln!("skipped: {} is missing (run `make model`)", dir.display());
        return None;
    }
    let files = ModelFiles::read_dir(&dir).unwrap();
    Some(Model::load(files).unwrap())
}

/// The reference implementation of the same model (candle tensors and autograd).
pub fn load_reference(name: &str) -> Reference {
    Reference::load(fixture_files(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Captum's `forward_func` for class `class` of a sequence classifier at `layer`.
pub fn ff<'a>(
    model: &'a Model,
    input: &'a Tokenized,
    layer: AttributionLayer,
    class: usize,
    output: TargetOutput,
) -> ForwardFunc<'a> {
    let scalar = Scalar {
        rows: Rows::Pooled,
        contrast: None,
        class,
        output,
    };
    ForwardFunc::new(model, input, layer, scalar).unwrap()
}

/// Integrated Gradients of a sequence classifier's class `class` logit at the embeddings block.
pub fn ig(
    model: &Model,
    input: &Tokenized,
    class: usize,
    opts: &IgOptions,
) -> bertlens_core::Result<IgAttribution> {
    let f = ff(
        model,
        input,
        AttributionLayer::Embeddings,
        class,
        TargetOutput::Logit,
    );
    let baseline = opts.baseline.ids(model, input)?;
    integrated_gradients(&f, &input.ids, baseline.as_deref(), opts)
}

pub fn expected(name: &str) -> Value {
    let path = fixtures().join(name).join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .flat_map(|x| match x {
            Value::Array(_) => floats(x),
            _ => vec![x.as_f64().unwrap()],
        })
        .collect()
}

pub fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Every |a − b| ≤ tol.
pub fn assert_close_abs(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (i, err) = max_err(got, want);
    assert!(
        err <= tol,
        "{what}: |got − want| = {err:.3e} > {tol:.0e} at {i} (got {}, want {})",
        got[i],
        want[i]
    );
}

/// max |a − b| ≤ tol · max |b|: relative to the vector's scale, so that
/// near-zero entries do not demand impossible precision.
pub fn assert_close_rel(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-12);
    let (i, err) = max_err(got, want);
    assert!(
        err <= tol * scale,
        "{what}: max |got − want| = {err:.3e} > {tol:.0e} × {scale:.3e} at {i} (got {}, want {})\n got: {got:?}\nwant: {want:?}",
        got[i],
        want[i]
    );
}

fn max_err(got: &[f32], want: &[f64]) -> (usize, f64) {
    got.iter()
        .zip(want)
        .map(|(a, b)| (*a as f64 - b).abs())
        .enumerate()
        .fold(
            (0, 0.0),
            |(bi, be), (i, e)| if e > be { (i, e) } else { (bi, be) },
        )
}

pub fn text_of(case: &Value) -> (String, Option<String>) {
    (
        case["text"].as_str().unwrap().to_string(),
        case["pair"].as_str().map(str::to_string),
    )
}

/// The options that reproduce one golden entry.
pub fn options_of(a: &Value) -> ExplainOptions {
    let method = Method::parse(a["method"].as_str().unwrap()).unwrap();
    let layer: AttributionLayer = serde_json::from_value(a["layer"].clone()).unwrap();
    ExplainOptions {
        method: Some(method),
        target: a["target"].as_u64().map(|t| Target::Index(t as usize)),
        layer: Some(layer),
        n_steps: (a["n_steps"].as_u64().unwrap_or(50) as usize).into(),
        integration: a["integration"]
            .as_str()
            .map(|s| Integration::parse(s).unwrap())
            .unwrap_or_default(),
        baseline: a["baseline"]
            .as_str()
            .map(|s| Baseline::parse(s).unwrap())
            .unwrap_or_default(),
        internal_batch_size: a["internal_batch_size"].as_u64().map(|v| v as usize),
        token: a["token"].as_u64().map(|v| v as usize),
        part: a["part"]
            .as_str()
            .map(|p| serde_json::from_value(p.into()).unwrap()),
        output: match a["output"].as_str() {
            Some("probability") => TargetOutput::Probability,
            _ => TargetOutput::Logit,
        },
        ..Default::default()
    }
}

/// Whether the embeddings block is LayerNorm(word embeddings) alone.
pub fn words_only(model: &Model) -> bool {
    let e = &model.network().encoder.embeddings;
    e.position.is_none() && e.token_type.is_none() && e.project.is_none()
}

/// Whether position ids depend on the ids (RoBERTa's), which puts Captum's
/// F(x′) off the path at the word embeddings.
pub fn roberta_like(model: &Model) -> bool {
    matches!(
        model.config().model_type.as_str(),
        "roberta" | "xlm-roberta" | "camembert"
    )
}

pub fn check_attributions(name: &str, model: &Model) -> usize {
    let mut checked = 0;
    for case in expected(name)["cases"].as_array().unwrap() {
        let (text, pair) = text_of(case);
        let t = model.tokenize(&text, pair.as_deref()).unwrap();
        for a in case["attributions"].as_array().into_iter().flatten() {
            check_entry(name, model, &t, [&text, pair.as_deref().unwrap_or("")], a);
            checked += 1;
        }
    }
    checked
}

/// One golden attribution entry: bertlens with the same options gives the
/// same attributions (1e-4 of the largest), delta and L1 saliency.
pub fn check_entry(name: &str, model: &Model, t: &Tokenized, texts: [&str; 2], a: &Value) {
    let opts = options_of(a);
    let what = format!("{name}: {a_cfg} for {:?}", texts[0], a_cfg = describe(a));
    let e = explain_tokens(model, t, texts, &opts).unwrap_or_else(|err| panic!("{what}: {err}"));
    assert_eq!(
        e.token,
        a["token"].as_u64().map(|t| t as usize),
        "{what}: token"
    );
    let mut want = floats(&a["attributions"]);
    let mut want_delta = a["delta"].as_f64();
    if opts.integration == Integration::RiemannTrapezoid && opts.method == Some(Method::Ig) {
        // Captum's trapezoid weights sum to (n−1)/n; bertlens's to 1.
        let n = a["n_steps"].as_u64().unwrap() as f64;
        let sum: f64 = want.iter().sum();
        want.iter_mut().for_each(|v| *v *= n / (n - 1.0));
        want_delta = want_delta.map(|d| d + sum / (n - 1.0));
    }
    let zero = opts.method == Some(Method::InputXGradient)
        && opts.layer == Some(AttributionLayer::WordEmbeddings)
        && words_only(model);
    if zero {
        // x·∇F at the word embeddings of a model whose embeddings block is
        // LayerNorm(words) alone is exactly 0 (LayerNorm is scale-invariant):
        // both sides are float noise, which must agree in absolute terms.
        assert_close_abs(&what, &e.attributions, &want, 1e-5);
    } else {
        assert_close_rel(&what, &e.attributions, &want, 1e-4);
    }
    if let Some(l1) = a.get("saliency_l1") {
        let opts = ExplainOptions {
            norm: bertlens_core::SaliencyNorm::L1,
            ..opts.clone()
        };
        let e = explain_tokens(model, t, texts, &opts)
            .unwrap_or_else(|err| panic!("{what} (l1): {err}"));
        assert_close_rel(&format!("{what} (l1)"), &e.attributions, &floats(l1), 1e-4);
    }
    let scale: f64 = want.iter().map(|v| v.abs()).sum::<f64>().max(1e-6);
    match (e.delta, want_delta) {
        // RoBERTa positions depend on the ids: Captum evaluates F(x′) with
        // the baseline's positions, off the path it integrates along
        // (word-embedding layer only), so its delta is not the
        // integration error. bertlens reports F at the path's end.
        (Some(d), Some(_))
            if roberta_like(model) && opts.layer == Some(AttributionLayer::WordEmbeddings) =>
        {
            let span = e.score.unwrap() - e.ig.as_ref().unwrap().baseline_score;
            assert!(
                (d as f64).abs() <= 0.05 * scale + 0.5 * (span as f64).abs(),
                "{what}: delta {d}"
            );
        }
        (Some(d), Some(w)) => assert!(
            (d as f64 - w).abs() <= 1e-4 * scale + 2e-6,
            "{what}: delta {d} vs Captum's {w} (scale {scale})"
        ),
        (None, None) => {}
        (d, w) => panic!("{what}: delta {d:?} vs {w:?}"),
    }
}

fn describe(a: &Value) -> String {
    let mut parts = vec![
        a["method"].as_str().unwrap().to_string(),
        a["layer"].as_str().unwrap().to_string(),
    ];
    for k in [
        "part",
        "token",
        "integration",
        "n_steps",
        "baseline",
        "internal_batch_size",
        "output",
        "target",
    ] {
        if !a[k].is_null() {
            parts.push(format!("{k}={}", a[k]));
        }
    }
    parts.join(" ")
}

/// A fixture's files as bytes, to be damaged by a test before loading.
#[derive(Clone)]
pub struct RawFiles {
    pub config: Vec<u8>,
    pub tokenizer: Vec<u8>,
    pub weights: Vec<(String, Vec<u8>)>,
    pub head: Option<Vec<u8>>,
}

pub fn raw_files(name: &str) -> RawFiles {
    let dir = fixtures().join(name);
    let read = |f: &str| std::fs::read(dir.join(f)).ok();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let weights = bertlens_core::files::weight_files(name, &names)
        .unwrap()
        .into_iter()
        .map(|n| (n.clone(), read(&n).unwrap()))
        .collect();
    RawFiles {
        config: read("config.json").unwrap(),
        tokenizer: read("tokenizer.json").unwrap(),
        weights,
        head: read("head.json"),
    }
}

impl RawFiles {
    pub fn model_files(&self) -> ModelFiles {
        let mut named = vec![
            ("config.json".to_string(), self.config.clone()),
            ("tokenizer.json".to_string(), self.tokenizer.clone()),
        ];
        named.extend(self.weights.iter().cloned());
        if let Some(h) = &self.head {
            named.push(("head.json".into(), h.clone()));
        }
        ModelFiles::from_named("the model", named).unwrap()
    }
}

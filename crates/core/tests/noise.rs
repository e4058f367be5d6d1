//! SmoothGrad and VarGrad against Captum's NoiseTunnel given the same noise
//! (tests/fixtures/gen_noise.py records Captum's draws; the test feeds
//! them in), around saliency, input × gradient and IG, on a classifier, a
//! token classifier and a QA model; then the noise bertlens draws itself:
//! reproduced from a seed, and with no noise the base method.

mod common;

use bertlens_core::attribution::ig::{IgOptions, Steps};
use bertlens_core::attribution::noise::{
    draw_noise, noise_tunnel_with, NoiseBase, NoiseOptions, NtType,
};
use bertlens_core::attribution::{Differentiable, ForwardFunc, Scalar};
use bertlens_core::engine::Rows;
use bertlens_core::explain::{explain, ExplainOptions, Explanation, Method};
use bertlens_core::{AttributionLayer, Baseline, Error, Integration, Model, SaliencyNorm};
use common::*;
use serde_json::Value;

fn goldens() -> Value {
    let path = fixtures().join("noise.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// max |got − want| / max |want|.
fn rel_err(got: &[f32], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-12);
    let err = got
        .iter()
        .zip(want)
        .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
    err / scale
}

fn close(what: &str, got: f32, want: f64, tol: f64) {
    assert!(
        (got as f64 - want).abs() <= tol * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

/// The scalar a golden explains: the class of a classifier, the label at a
/// token, QA's start (class 0) or end (class 1) at a token.
fn scalar_of(case: &Value) -> Scalar {
    let token = case["token"].as_u64().map(|t| t as usize);
    let class = match case["part"].as_str() {
        Some("start") => 0,
        Some(_) => 1,
        None => case["target"].as_u64().unwrap() as usize,
    };
    Scalar {
        rows: token.map_or(Rows::Pooled, Rows::Token),
        contrast: None,
        class,
        output: Default::default(),
    }
}

fn nt_type_of(method: &str) -> NtType {
    Method::parse(method).unwrap().nt_type().unwrap()
}

#[test]
fn noise_tunnels_match_captum_given_its_noise() {
    let goldens = goldens();
    let mut models: Vec<(String, Model)> = Vec::new();
    let mut worst: Vec<(String, f64)> = Vec::new();
    let mut checked = 0;
    for case in goldens["cases"].as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        if !models.iter().any(|(n, _)| n == name) {
            models.push((name.to_string(), load(name)));
        }
        let model = &models.iter().find(|(n, _)| n == name).unwrap().1;
        let (method, base) = (
            case["method"].as_str().unwrap(),
            case["base"].as_str().unwrap(),
        );
        let layer = match case["layer"].as_str().unwrap() {
            "embeddings" => AttributionLayer::Embeddings,
            _ => AttributionLayer::WordEmbeddings,
        };
        let what = format!(
            "{name} {:?} {method} of {base} at {layer:?} (part {})",
            case["text"], case["part"]
        );
        let input = model
            .tokenize(case["text"].as_str().unwrap(), case["pair"].as_str())
            .unwrap();
        assert_eq!(input.ids, u32s(&case["input_ids"]), "{what}: ids");
        let f = ForwardFunc::new(model, &input, layer, scalar_of(case)).unwrap();
        let base = NoiseBase::parse(base).unwrap();
        let opts = NoiseOptions {
            nt_type: nt_type_of(method),
            base,
            nt_samples: case["nt_samples"].as_u64().unwrap() as usize,
            stdevs: case["stdevs"].as_f64().unwrap(),
            seed: 0,
            norm: SaliencyNorm::L2,
            ig: IgOptions {
                n_steps: Steps::Fixed(case["n_steps"].as_u64().unwrap_or(50) as usize),
                method: Integration::GaussLegendre,
                baseline: Baseline::Pad,
                ..IgOptions::default()
            },
        };
        let noise: Vec<f32> = floats(&case["noise"]).iter().map(|&v| v as f32).collect();
        assert_eq!(
            noise.len(),
            opts.nt_samples * input.len() * f.width(),
            "{what}: noise"
        );
        let baseline = Baseline::Pad.ids(model, &input).unwrap();
        let run = |opts: &NoiseOptions| {
            noise_tunnel_with(&f, &input.ids, baseline.as_deref(), opts, &noise, &|_| {})
                .unwrap_or_else(|e| panic!("{what}: {e}"))
        };
        let r = run(&opts);
        let want = floats(&case["attributions"]);
        assert_close_rel(&what, &r.attributions, &want, 1e-4);
        let key = format!("{method} of {}", base.name());
        let err = rel_err(&r.attributions, &want);
        match worst.iter_mut().find(|(k, _)| *k == key) {
            Some((_, w)) => *w = w.max(err),
            None => worst.push((key, err)),
        }
        if base == NoiseBase::Saliency {
            let l1 = run(&NoiseOptions {
                norm: SaliencyNorm::L1,
                ..opts
            });
            let want = floats(&case["saliency_l1"]);
            assert_close_rel(&format!("{what} (L1)"), &l1.attributions, &want, 1e-4);
        }
        close(
            &format!("{what}: F(x)"),
            r.score,
            case["score"].as_f64().unwrap(),
            1e-4,
        );
        let mean = case["mean_score"].as_f64().unwrap();
        close(&format!("{what}: E[F(x̃)]"), r.mean_score, mean, 1e-4);
        if base == NoiseBase::Ig {
            let fb = case["baseline_score"].as_f64().unwrap();
            close(
                &format!("{what}: F(x′)"),
                r.baseline_score.unwrap(),
                fb,
                1e-4,
            );
            let deltas = floats(&case["deltas"]);
            let delta = deltas.iter().sum::<f64>() / deltas.len() as f64;
            let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
            let got = r.mean_delta.unwrap() as f64;
            assert!(
                (got - delta).abs() <= 1e-4 * scale.max(1.0) * input.len() as f64,
                "{what}: mean delta {got} vs Captum's {delta}"
            );
            assert_eq!(r.n_steps, case["n_steps"].as_u64().map(|n| n as usize));
        }
        if opts.nt_type == NtType::VarGrad {
            assert!(
                r.attributions.iter().all(|&v| v >= -1e-6),
                "{what}: a variance"
            );
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} goldens");
    for (k, w) in &worst {
        eprintln!("{k}: worst max |bertlens − Captum| / max |Captum| = {w:.2e}");
    }
}

fn noisy(model: &Model, text: &str, opts: ExplainOptions) -> Explanation {
    explain(model, text, None, &opts).unwrap()
}

/// What `explain` computed, redone from the ForwardFunc with the noise
/// drawn from the same seed.
fn by_hand(model: &Model, text: &str, e: &Explanation, opts: &ExplainOptions) -> Vec<f32> {
    let input = model.tokenize(text, None).unwrap();
    let scalar = Scalar {
        rows: e.token.map_or(Rows::Pooled, Rows::Token),
        contrast: None,
        class: e.target.unwrap(),
        output: Default::default(),
    };
    let f = ForwardFunc::new(model, &input, e.layer.unwrap(), scalar).unwrap();
    let nt = opts.noise(e.method.nt_type().unwrap());
    let noise = draw_noise(nt.seed, nt.nt_samples, input.len() * f.width(), nt.stdevs);
    let baseline = opts.baseline.ids(model, &input).unwrap();
    let baseline = baseline.as_deref().filter(|_| nt.base == NoiseBase::Ig);
    noise_tunnel_with(&f, &input.ids, baseline, &nt, &noise, &|_| {})
        .unwrap()
        .attributions
}

#[test]
fn explain_draws_the_noise_from_its_seed() {
    let model = load("bert");
    let text = "The movie was wonderful, and the acting superb!";
    let opts = ExplainOptions {
        method: Some(Method::SmoothGrad),
        nt_base: NoiseBase::InputXGradient,
        nt_samples: 3,
        stdevs: 0.5,
        seed: 7,
        ..ExplainOptions::default()
    };
    let e = noisy(&model, text, opts.clone());
    assert_eq!(e.method, Method::SmoothGrad);
    assert_eq!(e.layer, Some(AttributionLayer::WordEmbeddings));
    let report = e.noise.as_ref().expect("a noise report");
    assert_eq!(
        (
            report.nt_type,
            report.base,
            report.nt_samples,
            report.stdevs,
            report.seed
        ),
        (NtType::SmoothGrad, NoiseBase::InputXGradient, 3, 0.5, 7)
    );
    assert!(e.ig.is_none() && e.delta.is_none());
    assert_eq!(e.attributions, by_hand(&model, text, &e, &opts));
    assert_eq!(
        noisy(&model, text, opts.clone()).attributions,
        e.attributions,
        "same seed"
    );
    let other = noisy(
        &model,
        text,
        ExplainOptions {
            seed: 8,
            ..opts.clone()
        },
    );
    assert_ne!(other.attributions, e.attributions, "other seed");

    // VarGrad of IG: at the embeddings block, with IG's settings reported.
    let opts = ExplainOptions {
        method: Some(Method::VarGrad),
        nt_base: NoiseBase::Ig,
        nt_samples: 2,
        stdevs: 0.2,
        n_steps: Steps::Fixed(6),
        ..ExplainOptions::default()
    };
    let e = noisy(&model, text, opts.clone());
    assert_eq!(e.layer, Some(AttributionLayer::Embeddings));
    assert_eq!(e.ig.as_ref().map(|ig| ig.n_steps), Some(6));
    assert!(e.noise.as_ref().unwrap().mean_delta.is_some());
    assert_eq!(e.attributions, by_hand(&model, text, &e, &opts));
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["method"], "vargrad");
    assert_eq!(json["noise"]["base"], "ig");
    assert_eq!(json["noise"]["nt_type"], "vargrad");

    // A token classifier: the explained token's label.
    let ner = load("distilbert-ner");
    let text = "John Smith works for Acme in Paris.";
    let opts = ExplainOptions {
        method: Some(Method::VarGrad),
        nt_samples: 4,
        stdevs: 0.3,
        ..ExplainOptions::default()
    };
    let e = noisy(&ner, text, opts.clone());
    assert!(e.token.is_some());
    assert_eq!(e.attributions, by_hand(&ner, text, &e, &opts));
}

#[test]
fn without_noise_a_tunnel_is_its_base_method() {
    let model = load("bert");
    let text = "The movie was wonderful, and the acting superb!";
    for (base, plain) in [
        (NoiseBase::Saliency, Method::Saliency),
        (NoiseBase::InputXGradient, Method::InputXGradient),
        (NoiseBase::Ig, Method::Ig),
    ] {
        let opts = ExplainOptions {
            nt_base: base,
            nt_samples: 2,
            stdevs: 0.0,
            n_steps: Steps::Fixed(8),
            ..ExplainOptions::default()
        };
        let want = noisy(
            &model,
            text,
            ExplainOptions {
                method: Some(plain),
                ..opts.clone()
            },
        );
        let want: Vec<f64> = want.attributions.iter().map(|&v| v as f64).collect();
        let smooth = noisy(
            &model,
            text,
            ExplainOptions {
                method: Some(Method::SmoothGrad),
                ..opts.clone()
            },
        );
        assert_close_rel(
            &format!("smoothgrad of {base:?}"),
            &smooth.attributions,
            &want,
            1e-5,
        );
        let var = noisy(
            &model,
            text,
            ExplainOptions {
                method: Some(Method::VarGrad),
                ..opts
            },
        );
        let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
        assert!(
            var.attributions
                .iter()
                .all(|&v| (v as f64).abs() <= 1e-5 * scale * scale),
            "vargrad of {base:?}: {:?}",
            var.attributions
        );
    }
}

#[test]
fn bad_noise_options_are_refused() {
    let model = load("bert");
    for (opts, field) in [
        (
            ExplainOptions {
                nt_samples: 0,
                ..ExplainOptions::default()
            },
            "nt_samples",
        ),
        (
            ExplainOptions {
                stdevs: -1.0,
                ..ExplainOptions::default()
            },
            "stdevs",
        ),
    ] {
        let opts = ExplainOptions {
            method: Some(Method::SmoothGrad),
            ..opts
        };
        match explain(&model, "Fine.", None, &opts) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(Method::parse("vargrad").unwrap(), Method::VarGrad);
    assert!(Method::NAMES.contains(&"smoothgrad"));
}

//! Contrastive attribution against Captum (tests/fixtures/gen_contrast.py:
//! forward_func = the target's logit minus the contrast's): Integrated
//! Gradients and saliency for a classifier (class against class), a token
//! classifier (label against label), fill-mask (filler against filler) and
//! question answering (the start or end at the answer's token against the
//! same logit at another token); and the options' refusals.

mod common;

use bertlens_core::explain::{explain, ExplainOptions, Method, Part, Target};
use common::*;
use serde_json::Value;

fn options_of(case: &Value) -> ExplainOptions {
    let index = |k: &str| case[k].as_u64().map(|v| v as usize);
    let part = case["part"].as_str().map(|p| match p {
        "start" => Part::Start,
        _ => Part::End,
    });
    ExplainOptions {
        method: Some(Method::parse(case["method"].as_str().unwrap()).unwrap()),
        token: index("token"),
        part,
        // QA's class is its part's; its contrast is a token.
        target: index("target")
            .filter(|_| part.is_none())
            .map(Target::Index),
        contrast: index("contrast").map(Target::Index),
        ..ExplainOptions::default()
    }
}

#[test]
fn contrastive_attributions_match_captum() {
    let g = golden_file("contrast.json");
    let cases = g["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["model"].as_str().unwrap();
        let model = load(name);
        let opts = options_of(case);
        let what = format!("{name} {} {}", case["method"], case["text"]);
        let e = explain(
            &model,
            case["text"].as_str().unwrap(),
            case["pair"].as_str(),
            &opts,
        )
        .unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(e.input_ids, u32s(&case["input_ids"]), "{what}: ids");
        // QA: the part asked for is the top-level attribution.
        let (attributions, score, delta, contrast) = match opts.part {
            Some(Part::Start) => {
                let a = e.start.as_ref().unwrap();
                (&a.attributions, a.score, a.delta, a.contrast)
            }
            Some(Part::End) => {
                let a = e.end.as_ref().unwrap();
                (&a.attributions, a.score, a.delta, a.contrast)
            }
            None => (&e.attributions, e.score, e.delta, e.contrast),
        };
        assert_eq!(
            contrast.map(|c| c as u64),
            case["contrast"].as_u64(),
            "{what}: contrast"
        );
        assert_close_rel(&what, attributions, &floats(&case["attributions"]), 1e-4);
        let want = case["score"].as_f64().unwrap();
        let got = score.unwrap() as f64;
        assert!(
            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
            "{what}: F(x) {got} vs {want}"
        );
        if let Some(d) = case["delta"].as_f64() {
            // Completeness: Σ attributions = F(x) − F(x′), within IG's own delta.
            assert!(
                delta.unwrap().abs() as f64 <= 1e-3 * want.abs().max(1.0) + d.abs(),
                "{what}: delta"
            );
        }
    }
}

#[test]
fn a_contrast_is_refused_where_it_means_nothing() {
    let model = load("bert");
    let text = "The movie was wonderful.";
    let err = |opts: ExplainOptions| explain(&model, text, None, &opts).unwrap_err().to_string();
    let same = err(ExplainOptions {
        target: Some("positive".into()),
        contrast: Some("positive".into()),
        ..ExplainOptions::default()
    });
    assert!(same.contains("the target itself"), "{same}");
    let rollout = err(ExplainOptions {
        method: Some(Method::Rollout),
        contrast: Some("negative".into()),
        ..ExplainOptions::default()
    });
    assert!(rollout.contains("reads the attention alone"), "{rollout}");
    let unknown = err(ExplainOptions {
        contrast: Some("nope".into()),
        ..ExplainOptions::default()
    });
    assert!(unknown.contains("nope"), "{unknown}");
}

#[test]
fn every_method_explains_the_difference_of_the_two_scores() {
    // F(target) − F(contrast) is linear in F: occlusion of the difference is the
    // difference of the occlusions, exactly as the forward passes are the same.
    let model = load("bert");
    let text = "The hotel was quiet and clean.";
    let run = |target: &str, contrast: Option<&str>| {
        let opts = ExplainOptions {
            method: Some(Method::Occlusion),
            target: Some(target.into()),
            contrast: contrast.map(Into::into),
            ..ExplainOptions::default()
        };
        explain(&model, text, None, &opts).unwrap()
    };
    let (a, b, d) = (
        run("positive", None),
        run("negative", None),
        run("positive", Some("negative")),
    );
    assert_eq!(d.contrast_label.as_deref(), Some("negative"));
    for ((x, y), z) in a
        .attributions
        .iter()
        .zip(&b.attributions)
        .zip(&d.attributions)
    {
        assert!(
            (x - y - z).abs() <= 1e-5 * (1.0 + z.abs()),
            "{x} − {y} vs {z}"
        );
    }
}

#[test]
fn the_rollout_preview_ignores_a_contrast() {
    // The page's first view is rollout while the method runs: a contrast (for the
    // method) must not take it away.
    use bertlens_core::session::Session;
    let model = load("bert");
    let s = Session::new(&model, "The movie was wonderful.", None, 5, true).unwrap();
    let opts = ExplainOptions {
        contrast: Some("negative".into()),
        ..ExplainOptions::default()
    };
    let e = s.prediction(&model, &opts);
    assert_eq!(e.method, Method::Rollout);
    assert_eq!(e.attributions.len(), e.tokens.len());
    assert!(e.contrast.is_none());
}

//! `--device`: where the layers run, said in every JSON, and the CPU with a
//! notice when the GPU cannot run the model. The GPU's numbers are held to
//! the CPU engine's in the core's tests/gpu.rs; here, what a user sees.

mod common;

use common::*;
use serde_json::Value;

fn explain(model: &str, device: &str, text: &str) -> (i32, Value, String) {
    let m = fixture(model);
    let (code, out, err) = run(
        &[
            "explain",
            "--model",
            s(&m),
            "--device",
            device,
            "--method",
            "saliency",
            "--json",
            text,
        ],
        None,
    );
    let v = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, v, err)
}

fn gpu_required() -> bool {
    std::env::var("BERTLENS_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

#[test]
fn cpu_and_gpu_say_where_they_ran_and_agree() {
    let (code, cpu, _) = explain("bert", "cpu", "the film was a quiet triumph");
    assert_eq!(code, 0);
    assert_eq!(cpu["device"], serde_json::json!({"kind": "cpu"}));
    let (code, gpu, err) = explain("bert", "gpu", "the film was a quiet triumph");
    assert_eq!(code, 0, "{err}");
    match gpu["device"]["kind"].as_str() {
        Some("gpu") => {
            assert!(gpu["device"]["adapter"]
                .as_str()
                .is_some_and(|a| !a.is_empty()));
            let (a, b) = (&cpu["attributions"], &gpu["attributions"]);
            let (a, b) = (a.as_array().unwrap(), b.as_array().unwrap());
            let largest = a
                .iter()
                .map(|x| x.as_f64().unwrap().abs())
                .fold(0f64, f64::max);
            for (x, y) in a.iter().zip(b) {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!((x - y).abs() <= 1e-4 * largest, "{x} vs {y}");
            }
        }
        _ => {
            assert!(!gpu_required(), "no GPU with BERTLENS_REQUIRE_GPU=1: {err}");
            // No adapter: the CPU's numbers, and the notice in the JSON and on stderr.
            assert!(gpu["device"]["notice"].as_str().is_some());
            assert!(err.contains("bertlens: notice: the GPU"), "{err}");
            assert_eq!(gpu["attributions"], cpu["attributions"]);
        }
    }
}

#[test]
fn a_family_the_gpu_does_not_run_falls_back_with_a_notice() {
    let (code, v, err) = explain("deberta-v2-conv", "gpu", "a quiet film");
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["device"]["kind"], "cpu");
    let notice = v["device"]["notice"].as_str().unwrap();
    assert!(notice.ends_with("computed on the CPU"), "{notice}");
    assert!(err.contains(notice), "the notice is on stderr too: {err}");
}

#[test]
fn auto_keeps_small_models_on_the_cpu_silently() {
    let (code, v, err) = explain("bert", "auto", "a quiet film");
    assert_eq!(code, 0);
    assert_eq!(v["device"], serde_json::json!({"kind": "cpu"}));
    assert!(!err.contains("notice"), "{err}");
}

#[test]
fn an_unknown_device_is_a_usage_error() {
    let m = fixture("bert");
    let (code, _, err) = run(
        &[
            "explain",
            "--model",
            s(&m),
            "--device",
            "tpu",
            "a quiet film",
        ],
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("auto") && err.contains("gpu"), "{err}");
}

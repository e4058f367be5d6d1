//! The CLI as scripts use it: exit codes, JSON, JSON Lines, messages.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bertlens"))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn golden_case(name: &str, i: usize) -> Value {
    let text = std::fs::read_to_string(fixture(name).join("expected.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"][i].clone()
}

#[test]
fn explain_json_is_the_contract() {
    let model = fixture("bert");
    let case = golden_case("bert", 0);
    let text = case["text"].as_str().unwrap();
    let (code, out, err) = run(&[
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--json",
        text,
    ]);
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    for key in [
        "tokens",
        "input_ids",
        "offsets",
        "labels",
        "probabilities",
        "predicted",
        "target",
        "method",
        "attributions",
        "delta",
        "truncated",
    ] {
        assert!(!e[key].is_null(), "missing {key}");
    }
    assert_eq!(e["method"], "ig");
    assert_eq!(e["layer"], "embeddings");
    assert_eq!(e["input_ids"], case["input_ids"]);
    assert_eq!(e["predicted"], case["predicted"]);
    // Captum's default-settings IG for this text (the first golden entry).
    let want = &case["attributions"][0];
    assert_eq!(want["n_steps"], 50);
    let got: Vec<f64> = e["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let want: Vec<f64> = want["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-4 * scale, "{got:?} vs {want:?}");
    }
    assert!(e["delta"].as_f64().unwrap().abs() < 1e-4);
}

#[test]
fn explain_in_the_terminal() {
    let model = fixture("bert");
    let (code, out, _) = run(&[
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--color",
        "never",
        "--words",
        "--target",
        "positive",
        "The movie was wonderful",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("prediction: "), "{out}");
    assert!(
        out.contains("Integrated Gradients of positive's logit"),
        "{out}"
    );
    assert!(out.contains("convergence delta"), "{out}");
    assert!(out.contains("wonderful"), "{out}");
    assert!(!out.contains('\x1b'), "colour with --color never");
    let (_, out, _) = run(&[
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--color",
        "always",
        "--method",
        "saliency",
        "good",
    ]);
    assert!(out.contains("\x1b[48;2;"), "colour with --color always");
    assert!(out.contains("Gradient saliency"), "{out}");
}

#[test]
fn batch_prints_one_json_line_per_input_line() {
    let dir = std::env::temp_dir().join(format!("bertlens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("texts.txt");
    std::fs::write(&file, "good film\n\nterrible plot, I hated it\n").unwrap();
    let model = fixture("distilbert");
    let (code, out, err) = run(&[
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--batch",
        file.to_str().unwrap(),
        "--method",
        "rollout",
    ]);
    assert_eq!(code, 1, "a failed line makes the exit code 1");
    assert!(err.contains("1 line(s) could not be explained"), "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["method"], "rollout");
    assert_eq!(
        lines[1]["error"],
        "the text is empty: type a sentence to explain"
    );
    assert_eq!(lines[2]["text"], "terrible plot, I hated it");
    // Standard input works too.
    let mut child = bin()
        .args([
            "explain",
            "--model",
            model.to_str().unwrap(),
            "--batch",
            "-",
            "--method",
            "saliency",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_input_gets_a_message_and_a_nonzero_exit() {
    let (code, _, err) = run(&["explain", "--model", "/nonexistent", "hello"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("bertlens: cannot read /nonexistent"),
        "{err}"
    );
    let model = fixture("bert");
    let m = model.to_str().unwrap();
    let (code, _, err) = run(&["explain", "--model", m, "--target", "spam", "hello"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "bertlens: unknown target \"spam\": the model's classes are 0=negative, 1=neutral, 2=positive");
    let (code, _, err) = run(&["explain", "--model", m, ""]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "bertlens: the text is empty: type a sentence to explain"
    );
    let (code, _, err) = run(&["explain", "--model", m, "--integration", "simpson", "hello"]);
    assert_eq!(code, 2, "usage errors exit 2: {err}");
    let (code, _, err) = run(&[
        "explain",
        "--model",
        fixture("seed-mean-mlp").join("model.pt").to_str().unwrap(),
        "x",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn long_text_is_truncated_and_says_so() {
    let model = fixture("bert");
    let text = "the quick brown fox ".repeat(100);
    let (code, out, _) = run(&[
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--json",
        "--method",
        "saliency",
        &text,
    ]);
    assert_eq!(code, 0);
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["truncated"], true);
    assert_eq!(e["tokens"].as_array().unwrap().len(), 64);
    let (_, out, _) = run(&[
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--color",
        "never",
        &text,
    ]);
    assert!(out.contains("the text was cut to 64 tokens"), "{out}");
}

#[test]
fn info_describes_the_model() {
    let (code, out, _) = run(&[
        "info",
        "--model",
        fixture("seed-pooler-relu").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["layers"], 2);
    assert_eq!(
        v["labels"],
        serde_json::json!(["LABEL_0", "LABEL_1", "LABEL_2"])
    );
}

/// Kills the server even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serve_binds_loopback_and_serves_wasm_as_wasm() {
    let (code, _, err) = run(&["serve", "--host", "0.0.0.0", "--dir", "."]);
    assert_eq!(code, 1);
    assert!(err.contains("not a loopback address"), "{err}");

    let dir = std::env::temp_dir().join(format!("bertlens-serve-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    std::fs::write(dir.join("pkg/x.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let mut child = KillOnDrop(
        bin()
            .args(["serve", "--dir", dir.to_str().unwrap(), "--port", "0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let index = http_get(port, "/");
    let wasm = http_get(port, "/pkg/x.wasm");
    let missing = http_get(port, "/../../etc/passwd");
    drop(child);
    std::fs::remove_dir_all(&dir).ok();
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert!(
        index.to_lowercase().contains("content-type: text/html"),
        "{index}"
    );
    assert!(
        wasm.to_lowercase()
            .contains("content-type: application/wasm"),
        "{wasm}"
    );
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}

#[test]
fn occlusion_and_shapley_from_the_command_line() {
    let model = fixture("bert");
    let m = model.to_str().unwrap();
    let text = "a quiet hotel near the station";
    let (code, out, err) = run(&[
        "explain", "--model", m, "--method", "shapley", "--json", text,
    ]);
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["method"], "shapley");
    assert_eq!(e["perturbation"]["exact"], true);
    assert!(e["delta"].as_f64().unwrap().abs() < 1e-4, "{}", e["delta"]);

    let (code, out, err) = run(&[
        "explain",
        "--model",
        m,
        "--method",
        "shapley",
        "--n-samples",
        "3",
        "--seed",
        "5",
        "--json",
        text,
    ]);
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["perturbation"]["n_samples"], 3);
    assert_eq!(e["perturbation"]["seed"], 5);

    let (code, out, err) = run(&[
        "explain",
        "--model",
        m,
        "--method",
        "occlusion",
        "--window",
        "2",
        "--words",
        "--color",
        "never",
        text,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Occlusion (windows of 2, stride 1)"), "{out}");
    assert!(out.contains("words replaced by [PAD]"), "{out}");

    let (code, _, err) = run(&[
        "explain",
        "--model",
        m,
        "--method",
        "occlusion",
        "--window",
        "0",
        text,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("window") && err.contains("at least 1"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "explain",
        "--model",
        m,
        "--method",
        "occlusion",
        "--window",
        "40",
        text,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("wider than the text's"), "{err}");

    let (code, out, err) = run(&["info", "--model", m, "--json"]);
    assert_eq!(code, 0, "{err}");
    let info: Value = serde_json::from_str(&out).unwrap();
    let methods: Vec<&str> = info["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(
        methods.contains(&"occlusion") && methods.contains(&"shapley"),
        "{methods:?}"
    );
    // Each method as the core describes it: what it is and the options it reads.
    let occlusion = &info["methods"][methods.iter().position(|&m| m == "occlusion").unwrap()];
    assert_eq!(occlusion["kind"], "perturbation");
    assert_eq!(occlusion["needs_head"], true);
    let reads: Vec<&str> = occlusion["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        reads.contains(&"window") && reads.contains(&"stride"),
        "{reads:?}"
    );
    assert_eq!(info["defaults"]["window"], 1);
    assert_eq!(info["default_method"]["encoder"], "rollout");
}

#[test]
fn smoothgrad_and_vargrad_from_the_command_line() {
    let model = fixture("bert");
    let m = model.to_str().unwrap();
    let text = "a quiet hotel near the station";
    let args = |method: &'static str, rest: &[&'static str]| {
        let mut v = vec!["explain", "--model", m, "--method", method];
        v.extend_from_slice(rest);
        v.push(text);
        v
    };
    let (code, out, err) = run(&args(
        "smoothgrad",
        &[
            "--nt-samples",
            "3",
            "--stdevs",
            "0.25",
            "--seed",
            "4",
            "--json",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["method"], "smoothgrad");
    assert_eq!(e["layer"], "word-embeddings");
    let n = &e["noise"];
    assert_eq!(
        (&n["nt_type"], &n["base"], &n["nt_samples"], &n["seed"]),
        (
            &json!("smoothgrad"),
            &json!("saliency"),
            &json!(3),
            &json!(4)
        )
    );
    assert_eq!(n["stdevs"], 0.25);

    let (code, out, err) = run(&args(
        "vargrad",
        &[
            "--nt-base",
            "ig",
            "--nt-samples",
            "2",
            "--n-steps",
            "4",
            "--color",
            "never",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("VarGrad of"), "{out}");
    assert!(
        out.contains("the variance of Integrated Gradients (4 gausslegendre steps"),
        "{out}"
    );
    assert!(
        out.contains("over 2 inputs with Gaussian noise (σ = 1, seed 0)"),
        "{out}"
    );

    let (code, _, err) = run(&args("smoothgrad", &["--nt-samples", "0"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nt_samples"), "{err}");
}

#[test]
fn kernel_shap_and_lime_from_the_command_line() {
    let model = fixture("bert");
    let m = model.to_str().unwrap();
    let text = "a quiet hotel near the station";
    for (method, name) in [("kernel-shap", "KernelSHAP"), ("lime", "LIME")] {
        let args = [
            "explain",
            "--model",
            m,
            "--method",
            method,
            "--n-samples",
            "30",
            "--seed",
            "4",
        ];
        let (code, out, err) = run(&[&args[..], &["--json", text]].concat());
        assert_eq!(code, 0, "{err}");
        let e: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(e["method"], method);
        let p = &e["perturbation"];
        assert_eq!(
            (p["n_samples"].as_u64(), p["seed"].as_u64()),
            (Some(30), Some(4))
        );
        assert!(
            p["intercept"].is_number() && p["baseline_score"].is_number(),
            "{p}"
        );
        let (code, again, _) = run(&[&args[..], &["--json", text]].concat());
        assert_eq!(code, 0);
        let again: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(
            again["attributions"], e["attributions"],
            "{method}: same seed"
        );

        let (code, out, err) = run(&[&args[..], &["--color", "never", text]].concat());
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(&format!("{name} (30 sampled coalitions, seed 4")),
            "{out}"
        );
    }
    let (code, _, err) = run(&[
        "explain",
        "--model",
        m,
        "--method",
        "lime",
        "--n-samples",
        "0",
        text,
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("n_samples") || err.contains("n-samples"),
        "{err}"
    );
}

/// `--lens`: the head on every layer (held to transformers in the core's
/// tests/lens.rs), in the JSON and as text: one reading per layer, the last
/// the prediction.
#[test]
fn explain_lens_reads_every_layer() {
    let model = fixture("bert");
    let m = model.to_str().unwrap();
    let text = "The movie was wonderful.";
    let (code, out, err) = run(&[
        "explain", "--model", m, "--json", "--lens", "--method", "saliency", text,
    ]);
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    let lens = e["lens"].as_array().unwrap();
    let layers: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        lens.len() as u64,
        layers["num_hidden_layers"].as_u64().unwrap() + 1
    );
    for (l, reading) in lens.iter().enumerate() {
        assert_eq!(reading["layer"], json!(l));
        let p = reading["probabilities"].as_array().unwrap();
        let sum: f64 = p.iter().map(|x| x.as_f64().unwrap()).sum();
        assert!(
            (sum - 1.0).abs() < 1e-5,
            "layer {l}: probabilities sum to {sum}"
        );
    }
    let last = &lens.last().unwrap()["probabilities"];
    for (a, b) in last
        .as_array()
        .unwrap()
        .iter()
        .zip(e["probabilities"].as_array().unwrap())
    {
        assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-6);
    }
    // Without --lens, no lens; as text, a line per layer.
    let (_, plain, _) = run(&[
        "explain", "--model", m, "--json", "--method", "saliency", text,
    ]);
    assert!(serde_json::from_str::<Value>(&plain)
        .unwrap()
        .get("lens")
        .is_none());
    let (code, out, err) = run(&[
        "explain", "--model", m, "--lens", "--method", "saliency", "--color", "never", text,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("The lens on every layer"), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with("layer "))
            .count(),
        lens.len(),
        "{out}"
    );
    // A fill-mask text without a mask: a clear message, exit 1.
    let (code, _, err) = run(&[
        "explain",
        "--model",
        fixture("bert-mlm").to_str().unwrap(),
        "--lens",
        "No mask here.",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("mask"), "{err}");
}

#[test]
fn explain_contrast_explains_the_difference_of_two_classes() {
    let model = fixture("bert");
    let m = model.to_str().unwrap();
    let text = "The movie was wonderful.";
    let (code, out, err) = run(&[
        "explain",
        "--model",
        m,
        "--json",
        "--method",
        "saliency",
        "--target",
        "positive",
        "--contrast",
        "0",
        text,
    ]);
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["contrast"], json!(0));
    assert_eq!(e["contrast_label"], json!("negative"));
    let z: Vec<f64> = e["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let score = e["score"].as_f64().unwrap();
    assert!(
        (score - (z[2] - z[0])).abs() < 1e-5,
        "F = {score}, logits {z:?}"
    );
    let (code, out, err) = run(&[
        "explain",
        "--model",
        m,
        "--method",
        "ig",
        "--n-steps",
        "8",
        "--target",
        "positive",
        "--contrast",
        "negative",
        text,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("of positive's logit minus negative's"),
        "{out}"
    );
    let (code, _, err) = run(&["explain", "--model", m, "--contrast", "nope", text]);
    assert_ne!(code, 0);
    assert!(err.contains("nope"), "{err}");
}

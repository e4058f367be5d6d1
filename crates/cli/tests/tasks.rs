//! The CLI's contract for every task: `info --json` names the task; QA,
//! token classification and fill-mask give their fields, held to the
//! transformers + Captum goldens; `--batch` works for every one-text task;
//! a task's input given to another task's model is a message, not a crash.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bertlens"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn golden(name: &str) -> Value {
    let text = std::fs::read_to_string(PathBuf::from(fixture(name)).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// max |a − b| ≤ tol · max |b|
fn close(what: &str, got: &Value, want: &Value, tol: f64) {
    let (g, w) = (floats(got), floats(want));
    assert_eq!(g.len(), w.len(), "{what}: lengths");
    let scale = w.iter().fold(1e-12f64, |m, x| m.max(x.abs()));
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!((a - b).abs() <= tol * scale, "{what}[{i}]: {a} vs {b}");
    }
}

/// The golden IG entry (embeddings, 24 Gauss–Legendre steps) of a case matching `pick`.
fn ig_entry(case: &Value, pick: impl Fn(&Value) -> bool) -> &Value {
    case["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["method"] == "ig" && a["layer"] == "embeddings" && pick(a))
        .expect("a golden IG entry")
}

#[test]
fn info_names_every_task() {
    for (name, task) in [
        ("bert", "sequence-classification"),
        ("albert-qa", "question-answering"),
        ("deberta-v3-ner", "token-classification"),
        ("modernbert-mlm", "fill-mask"),
        ("electra-encoder", "encoder"),
    ] {
        let info = json(&["info", "--model", &fixture(name), "--json"]);
        assert_eq!(info["task"], task, "{name}");
    }
    let info = json(&["info", "--model", &fixture("roberta-mlm"), "--json"]);
    assert_eq!(info["mask_token"], "<mask>");
}

#[test]
fn question_answering_gives_the_answer_and_its_start_and_end_attributed() {
    for name in ["bert-qa", "deberta-v3-qa", "modernbert-qa"] {
        let case = &golden(name)["cases"][0];
        let (q, c) = (
            case["question"].as_str().unwrap(),
            case["context"].as_str().unwrap(),
        );
        let e = json(&[
            "explain",
            "--model",
            &fixture(name),
            "--question",
            q,
            "--context",
            c,
            "--n-steps",
            "24",
            "--json",
        ]);
        assert_eq!(e["task"], "question-answering");
        for k in ["text", "start", "end", "token_start", "token_end"] {
            assert_eq!(e["answer"][k], case["answer"][k], "{name}: answer {k}");
        }
        assert!(
            (e["answer"]["score"].as_f64().unwrap() - case["answer"]["score"].as_f64().unwrap())
                .abs()
                < 1e-5
        );
        assert_eq!(e["answers"].as_array().unwrap().len(), 5, "{name}");
        assert_eq!(e["input_ids"], case["input_ids"], "{name}");
        for part in ["start", "end"] {
            let want = ig_entry(case, |a| a["part"] == part);
            assert_eq!(e[part]["token"], want["token"], "{name} {part}");
            close(
                &format!("{name} {part}"),
                &e[part]["attributions"],
                &want["attributions"],
                1e-4,
            );
            let d = e[part]["delta"].as_f64().unwrap();
            assert!(
                (d - want["delta"].as_f64().unwrap()).abs() < 1e-3,
                "{name} {part} delta {d}"
            );
        }
        // The top level is the start's.
        assert_eq!(e["attributions"], e["start"]["attributions"]);
        // One part only.
        let end = json(&[
            "explain",
            "--model",
            &fixture(name),
            "--question",
            q,
            "--context",
            c,
            "--part",
            "end",
            "--json",
        ]);
        assert_eq!(end["target_label"], "end");
        assert!(end.get("start").is_none(), "{name}: only the end");
    }
}

#[test]
fn token_classification_gives_labels_entities_and_a_token_attributed() {
    let name = "bert-ner";
    let case = &golden(name)["cases"][0];
    let text = case["text"].as_str().unwrap();
    let want = ig_entry(case, |_| true);
    let token = want["token"].as_u64().unwrap().to_string();
    let e = json(&[
        "explain",
        "--model",
        &fixture(name),
        "--token",
        &token,
        "--n-steps",
        "24",
        "--json",
        text,
    ]);
    assert_eq!(e["task"], "token-classification");
    assert_eq!(e["token"], want["token"]);
    assert_eq!(e["target"], want["target"]);
    assert_eq!(
        e["token_labels"].as_array().unwrap().len(),
        case["input_ids"].as_array().unwrap().len()
    );
    let entities = e["entities"].as_array().unwrap();
    assert_eq!(entities.len(), case["entities"].as_array().unwrap().len());
    for (g, w) in entities.iter().zip(case["entities"].as_array().unwrap()) {
        for k in ["entity_group", "word", "start", "end"] {
            assert_eq!(g[k], w[k], "entity {k}");
        }
    }
    close(
        "ner attributions",
        &e["attributions"],
        &want["attributions"],
        1e-4,
    );
    // By default: the first token of the highest-scoring entity.
    let e = json(&[
        "explain",
        "--model",
        &fixture(name),
        "--method",
        "saliency",
        "--json",
        text,
    ]);
    let best = entities
        .iter()
        .max_by(|a, b| {
            a["score"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["score"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(e["token"], best["tokens"][0]);
}

#[test]
fn fill_mask_gives_fillers_and_explains_one() {
    let name = "bert-mlm";
    let case = &golden(name)["cases"][0];
    let text = case["text"].as_str().unwrap();
    let e = json(&[
        "explain",
        "--model",
        &fixture(name),
        "--n-steps",
        "24",
        "--json",
        text,
    ]);
    assert_eq!(e["task"], "fill-mask");
    let fill = e["fill"].as_array().unwrap();
    let want_fill = case["fill"][0].as_array().unwrap();
    assert_eq!(fill.len(), 5);
    for (g, w) in fill.iter().zip(want_fill) {
        assert_eq!(g["token_id"], w["token"]);
        assert_eq!(g["token"], w["token_str"]);
    }
    let want = ig_entry(case, |a| a["target"] == want_fill[0]["token"]);
    assert_eq!(e["token"], want["token"]);
    close(
        "mlm attributions",
        &e["attributions"],
        &want["attributions"],
        1e-4,
    );
    // Another filler, by its token.
    let second = ig_entry(case, |a| a["target"] == want_fill[1]["token"]);
    let token = want_fill[1]["token_str"].as_str().unwrap();
    let e = json(&[
        "explain",
        "--model",
        &fixture(name),
        "--target",
        token,
        "--n-steps",
        "24",
        "--json",
        text,
    ]);
    assert_eq!(e["target"], second["target"]);
    close(
        "mlm second filler",
        &e["attributions"],
        &second["attributions"],
        1e-4,
    );
}

#[test]
fn batch_works_for_every_one_text_task() {
    for (name, lines) in [
        (
            "bert-ner",
            "John lives in Paris\n\nthe bank is near the station\n",
        ),
        ("bert-mlm", "the movie was [MASK]\nno mask here\n"),
        ("roberta-encoder", "good film\nbad film\n"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bertlens"))
            .args([
                "explain",
                "--model",
                &fixture(name),
                "--batch",
                "-",
                "--method",
            ])
            .arg(if name.ends_with("encoder") {
                "rollout"
            } else {
                "saliency"
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(lines.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let records: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), lines.lines().count(), "{name}");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r["line"], i + 1, "{name}");
        }
        let errors: Vec<&str> = records.iter().filter_map(|r| r["error"].as_str()).collect();
        match name {
            // The empty line; the line without a mask.
            "bert-ner" => assert_eq!(errors, ["the text is empty: type a sentence to explain"]),
            "bert-mlm" => {
                assert_eq!(errors.len(), 1);
                assert!(
                    errors[0].starts_with("the text has no [MASK] token"),
                    "{}",
                    errors[0]
                );
            }
            _ => assert!(errors.is_empty(), "{errors:?}"),
        }
        assert_eq!(
            out.status.code(),
            Some(if errors.is_empty() { 0 } else { 1 }),
            "{name}"
        );
    }
}

#[test]
fn inputs_of_the_wrong_task_are_messages() {
    let expect = |args: &[&str], start: &str| {
        let (code, _, err) = run(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(
            err.starts_with(&format!("bertlens: {start}")),
            "{args:?}: {err}"
        );
    };
    expect(
        &["explain", "--model", &fixture("bert-qa"), "where?"],
        "a question-answering model takes --question and --context",
    );
    expect(
        &["explain", "--model", &fixture("bert"), "--question", "q", "--context", "c"],
        "--question and --context are for question-answering models; this one is a sequence-classification model",
    );
    expect(
        &["explain", "--model", &fixture("bert-qa"), "--batch", "-"],
        "--batch reads one text per line",
    );
    expect(
        &["explain", "--model", &fixture("bert-mlm"), "no mask here"],
        "the text has no [MASK] token",
    );
    expect(
        &[
            "explain",
            "--model",
            &fixture("bert-encoder"),
            "--method",
            "ig",
            "good",
        ],
        "this model is a bare encoder (no task head)",
    );
    expect(
        &[
            "explain",
            "--model",
            &fixture("bert-ner"),
            "--token",
            "99",
            "good",
        ],
        "invalid option token: token 99 is not below",
    );
    expect(
        &[
            "explain",
            "--model",
            &fixture("bert-qa"),
            "--question",
            "where?",
            "--context",
            "here",
            "--output",
            "probability",
        ],
        "invalid option output",
    );
    // A bare encoder explains by rollout unless told otherwise.
    let e = json(&[
        "explain",
        "--model",
        &fixture("bert-encoder"),
        "--json",
        "good film",
    ]);
    assert_eq!(e["method"], "rollout");
    // Or by attention flow: one value per token, none above 1.
    let e = json(&[
        "explain",
        "--model",
        &fixture("bert-encoder"),
        "--method",
        "attention-flow",
        "--words",
        "--json",
        "good film",
    ]);
    assert_eq!(e["method"], "attention-flow");
    let flow = e["attributions"].as_array().unwrap();
    assert_eq!(flow.len(), e["tokens"].as_array().unwrap().len());
    assert!(flow
        .iter()
        .all(|v| (0.0..=1.0 + 1e-6).contains(&v.as_f64().unwrap())));
    assert!(e["words"].as_array().is_some_and(|w| !w.is_empty()));
}

/// A context longer than a window: `--max-length` and `--doc-stride` cut it as
/// transformers' pipeline did (tests/fixtures/windows.json); the answer is the
/// best window's, and the listing says which window that is.
#[test]
fn a_long_context_is_read_in_windows() {
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("windows.json")).unwrap()).unwrap();
    let case = &g["cases"][0];
    let model = fixture(case["model"].as_str().unwrap());
    let (max, stride) = (
        case["max_length"].to_string(),
        case["doc_stride"].to_string(),
    );
    let args = [
        "explain",
        "--model",
        &model,
        "--method",
        "saliency",
        "--max-length",
        &max,
        "--doc-stride",
        &stride,
        "--question",
        case["question"].as_str().unwrap(),
        "--context",
        case["context"].as_str().unwrap(),
    ];
    let (code, out, err) = run(&[&args[..], &["--json", "--lens"]].concat());
    assert_eq!(code, 0, "{err}");
    let e: serde_json::Value = serde_json::from_str(&out).unwrap();
    let best = case["best"].as_u64().unwrap();
    assert_eq!(
        e["windows"].as_array().unwrap().len(),
        case["windows"].as_array().unwrap().len()
    );
    assert_eq!(e["answer"]["window"], best);
    assert_eq!(
        e["answer"]["text"],
        case["windows"][best as usize]["answer"]["text"]
    );
    assert_eq!(e["input_ids"], case["windows"][best as usize]["input_ids"]);
    // The lens reads the same window: its last layer gives the answer.
    let lens = e["lens"].as_array().unwrap();
    assert_eq!(lens[lens.len() - 1]["answer"]["text"], e["answer"]["text"]);
    let (code, out, err) = run(&[&args[..], &["--color", "never"]].concat());
    assert_eq!(code, 0, "{err}");
    let said = format!(
        "the context was read in {} windows of up to {max} tokens; the answer is window {}'s",
        case["windows"].as_array().unwrap().len(),
        best + 1
    );
    assert!(out.contains(&said), "{out}");
    assert!(out.contains("← the answer"), "{out}");
}

#[test]
fn a_long_text_is_classified_in_windows() {
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("windows.json")).unwrap()).unwrap();
    let case = g["classified"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["method"] == "input-x-gradient")
        .unwrap();
    let model = fixture(case["model"].as_str().unwrap());
    let (max, stride) = (
        case["max_length"].to_string(),
        case["doc_stride"].to_string(),
    );
    let text = case["text"].as_str().unwrap();
    let args = [
        "explain",
        "--model",
        &model,
        "--method",
        "input-x-gradient",
        "--windows",
        "--max-length",
        &max,
        "--doc-stride",
        &stride,
        text,
    ];
    let (code, out, err) = run(&[&args[..], &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let e: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["input_ids"], case["input_ids"], "the whole text's tokens");
    assert_eq!(e["predicted"], case["predicted"]);
    let windows = e["windows"].as_array().unwrap();
    assert_eq!(windows.len(), case["windows"].as_array().unwrap().len());
    for (g, w) in windows.iter().zip(case["windows"].as_array().unwrap()) {
        assert_eq!(g["token_range"], w["token_range"]);
        assert_eq!(g["predicted"], w["predicted"]);
    }
    let got: Vec<f64> = e["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let want: Vec<f64> = case["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
    assert!(got
        .iter()
        .zip(&want)
        .all(|(a, b)| (a - b).abs() <= 1e-4 * scale));
    let (code, out, err) = run(&[&args[..], &["--color", "never"]].concat());
    assert_eq!(code, 0, "{err}");
    let said = format!("read in {} windows of up to {max} tokens", windows.len());
    assert!(out.contains(&said), "{out}");
    assert!(out.contains("window 1: characters"), "{out}");
    // Without --windows no windows are read (the text fits the fixture's 64 positions).
    let cut = ["explain", "--model", &model, "--max-length", &max, text];
    let (code, out, _) = run(&cut);
    assert_eq!(code, 0);
    assert!(!out.contains("windows"), "{out}");
    // A pair with --windows: clap refuses.
    let (code, _, err) = run(&[&args[..], &["--pair", "a second text"]].concat());
    assert_eq!(code, 2, "{err}");
    // --lens with --windows reads the text as cut (at the model's length), as without --windows.
    let lens = |extra: &[&str]| -> serde_json::Value {
        let a = [
            &[
                "explain", "--model", &model, "--method", "saliency", "--lens", "--json",
            ][..],
            extra,
            &[text],
        ]
        .concat();
        let (code, out, err) = run(&a);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let windowed = lens(&["--windows", "--max-length", &max, "--doc-stride", &stride]);
    assert!(windowed["windows"].as_array().is_some_and(|w| w.len() > 1));
    let cut = lens(&[]);
    assert!(windowed["lens"].as_array().is_some_and(|l| !l.is_empty()));
    assert_eq!(windowed["lens"], cut["lens"]);
}

#[test]
fn a_long_text_is_tagged_in_windows() {
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("windows.json")).unwrap()).unwrap();
    let case = g["tagged"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["token"] == 20)
        .unwrap();
    let model = fixture(case["model"].as_str().unwrap());
    let args = [
        "explain",
        "--model",
        &model,
        "--windows",
        "--max-length",
        "24",
        "--doc-stride",
        "6",
        "--token",
        "20",
        case["text"].as_str().unwrap(),
    ];
    let (code, out, err) = run(&[&args[..], &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let e: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["input_ids"], case["input_ids"]);
    assert_eq!(e["token"], 20);
    assert_eq!(e["target"], case["target"]);
    let held = e["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w.get("probabilities").is_some())
        .count();
    assert_eq!(
        held, 2,
        "token 20 is in the overlap of the first two windows"
    );
    let (code, out, err) = run(&[&args[..], &["--color", "never"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("token 20 is in window 1 ("), "{out}");
}

/// `--windows` without `--max-length` reads windows of the model's own
/// length (MiniLM's tokenizer reads 256), as the page does; `--max-length`
/// asks for shorter ones.
#[test]
fn windows_are_the_models_own_length_unless_asked() {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/models/minilm-intent");
    if !model.join("config.json").is_file() {
        assert!(
            std::env::var_os("BERTLENS_REQUIRE_DEFAULT_MODEL").is_none(),
            "the default model is required (make model)"
        );
        eprintln!("skipped: no default model (make model)");
        return;
    }
    let text = "my card was declined at the grocery store and ".repeat(50);
    let model = model.to_str().unwrap();
    let explain = |extra: &[&str]| -> Value {
        let args = [
            &[
                "explain",
                "--model",
                model,
                "--method",
                "saliency",
                "--windows",
                "--json",
            ][..],
            extra,
            &[text.trim()],
        ]
        .concat();
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let sizes = |e: &Value| -> Vec<u64> {
        e["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["tokens"].as_u64().unwrap())
            .collect()
    };
    let own = explain(&[]);
    assert_eq!(own["tokens"].as_array().unwrap().len(), 452);
    assert_eq!(
        sizes(&own),
        [256, 256, 200],
        "windows of the model's 256 tokens: 254 of the text each, 128 shared"
    );
    let asked = explain(&["--max-length", "200", "--doc-stride", "50"]);
    assert_eq!(
        sizes(&asked),
        [200, 200, 156],
        "198 of the text each, 50 shared"
    );
    assert_eq!(
        asked["tokens"], own["tokens"],
        "the whole text's tokens either way"
    );
}

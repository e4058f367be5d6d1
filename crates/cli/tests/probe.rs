//! `bertlens probe` as scripts use it: the JSON report held to scikit-learn's
//! probes (tests/fixtures/probe.json), the table, and the messages of a set
//! that cannot be probed.

mod common;

use common::{repo, run, s};
use serde_json::Value;

/// `bertlens probe` of the BERT fixture on tests/fixtures/analysis/probe-set.csv, with `extra`.
fn probe(extra: &[&str]) -> (i32, String, String) {
    let (data, model) = (
        repo("tests/fixtures/analysis/probe-set.csv"),
        repo("tests/fixtures/bert"),
    );
    let mut args = vec!["probe", "--model", s(&model), "--data", s(&data)];
    args.extend_from_slice(extra);
    run(&args, None)
}

#[test]
fn the_json_report_is_scikit_learns_probe() {
    let g: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("tests/fixtures/probe.json")).unwrap())
            .unwrap();
    let case = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "bert" && c["pool"] == "cls")
        .unwrap();
    let (code, out, err) = probe(&[
        "--label-column",
        "number",
        "--pool",
        "cls",
        "--test-every",
        "4",
        "--seed",
        "3",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    for key in ["n", "n_test", "skipped", "labels"] {
        assert_eq!(r[key], case[key], "{key}");
    }
    let (got, want) = (
        r["layers"].as_array().unwrap(),
        case["layers"].as_array().unwrap(),
    );
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g["layer"], w["layer"]);
        for key in ["accuracy", "train_accuracy", "control_accuracy"] {
            let (a, b) = (g[key].as_f64().unwrap(), w[key].as_f64().unwrap());
            assert!(
                (a - b).abs() < 1e-12,
                "layer {}: {key} {a} vs {b}",
                w["layer"]
            );
        }
    }
}

#[test]
fn the_table_marks_the_best_layer() {
    let (code, out, err) = probe(&["--label-column", "tense"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "157 rows (32 test: every 5th row; 3 left out), 3 labels: future, past, present"
        ),
        "{out}"
    );
    assert_eq!(out.matches("← best").count(), 1, "{out}");
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("2 ")),
        "{out}"
    );
}

#[test]
fn a_set_that_cannot_be_probed_says_why() {
    let (code, _, err) = probe(&["--label-column", "tense", "--test-every", "1"]);
    assert_ne!(code, 0);
    assert!(err.contains("K is at least 2"), "{err}");
    let (code, _, err) = probe(&["--label-column", "nope"]);
    assert_ne!(code, 0);
    assert!(err.contains("nope"), "{err}");
}

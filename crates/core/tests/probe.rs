//! Probes against transformers and scikit-learn (tests/fixtures/gen_probe.py):
//! the pooled hidden states of every layer, the split, the control task's
//! shuffle, and each layer's L2 logistic regression (its objective at the
//! solution, the test rows' probabilities, the accuracies), on the
//! two-layer BERT fixture, ModernBERT (a final norm) and the default model.

mod common;

use bertlens_core::analysis::probe::{features, fit_layer, report, ProbeSet};
use bertlens_core::analysis::{ProbeOptions, ProbePool, Row};
use bertlens_core::Model;
use common::*;
use serde_json::Value;

/// tests/fixtures/analysis/probe-set.csv (no field of it is quoted).
fn probe_set(label: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(fixtures().join("analysis/probe-set.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == label).unwrap();
    lines
        .enumerate()
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), header.len(), "line {}", i + 2);
            let label = Some(fields[col]).filter(|l| !l.is_empty());
            Row::new(i, fields[0], label)
        })
        .collect()
}

fn check(case: &Value, model: &Model) {
    let what = format!(
        "{} {} {}",
        case["model"], case["label_column"], case["pool"]
    );
    let rows = probe_set(case["label_column"].as_str().unwrap());
    let options = ProbeOptions {
        test_every: case["test_every"].as_u64().unwrap() as usize,
        pool: match case["pool"].as_str().unwrap() {
            "cls" => ProbePool::Cls,
            _ => ProbePool::Mean,
        },
        seed: case["seed"].as_u64().unwrap(),
    };
    let feats = features(model, &rows, options.pool).unwrap();
    let read: Vec<bool> = feats.iter().map(Option::is_some).collect();
    let set = ProbeSet::new(&rows, &read, options).unwrap();
    let x: Vec<&[f32]> = set
        .rows
        .iter()
        .map(|&i| feats[i].as_deref().unwrap())
        .collect();
    let h = model.hidden_size();

    if let Some(f) = case.get("features") {
        let want_rows: Vec<usize> = f["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(set.rows[..3], want_rows[..], "{what}: rows");
        for (l, layer) in f["layers"].as_array().unwrap().iter().enumerate() {
            for (r, want) in layer.as_array().unwrap().iter().enumerate() {
                let want = floats(want);
                let got = &x[r][l * h..(l + 1) * h];
                let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (*g as f64 - w).abs() <= 1e-4 * scale,
                        "{what}: layer {l} row {r}: {g} vs {w}"
                    );
                }
            }
        }
    }

    let got = report(&set, &x, h);
    assert_eq!(got.n as u64, case["n"].as_u64().unwrap(), "{what}: n");
    assert_eq!(
        got.n_test as u64,
        case["n_test"].as_u64().unwrap(),
        "{what}: n_test"
    );
    assert_eq!(
        got.skipped as u64,
        case["skipped"].as_u64().unwrap(),
        "{what}: skipped"
    );
    let labels: Vec<&str> = case["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(got.labels, labels, "{what}: labels");
    let majority = case["majority_accuracy"].as_f64().unwrap();
    assert!(
        (got.majority_accuracy - majority).abs() < 1e-12,
        "{what}: majority"
    );

    let want = case["layers"].as_array().unwrap();
    assert_eq!(got.layers.len(), want.len(), "{what}: layers");
    for (l, w) in want.iter().enumerate() {
        let lw = format!("{what} layer {l}");
        let fit = fit_layer(
            &set,
            l,
            &x.iter().map(|r| &r[l * h..(l + 1) * h]).collect::<Vec<_>>(),
        );
        assert!(
            fit.probe.converged && fit.control.converged,
            "{lw}: converged"
        );
        for (got, key) in [
            (fit.probe.objective, "objective"),
            (fit.control.objective, "control_objective"),
        ] {
            let want = w[key].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                "{lw}: {key} {got} vs {want}"
            );
        }
        let p = floats(&w["test_probabilities"]);
        assert_eq!(
            fit.test_probabilities.len(),
            p.len(),
            "{lw}: test rows × classes"
        );
        let worst = fit
            .test_probabilities
            .iter()
            .zip(&p)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst <= 1e-4, "{lw}: test probabilities differ by {worst}");
        let layer = &got.layers[l];
        assert_eq!(layer.layer, l);
        for (got, key) in [
            (layer.accuracy, "accuracy"),
            (layer.train_accuracy, "train_accuracy"),
            (layer.control_accuracy, "control_accuracy"),
        ] {
            let want = w[key].as_f64().unwrap();
            assert!((got - want).abs() < 1e-12, "{lw}: {key} {got} vs {want}");
        }
        assert_eq!(*layer, fit.layer, "{lw}: the report is the layer's fit");
    }
}

#[test]
fn probes_match_scikit_learn_on_the_fixtures() {
    let g = golden_file("probe.json");
    let mut checked = 0;
    for case in g["cases"].as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        if name != "default" {
            check(case, &load(name));
            checked += 1;
        }
    }
    assert_eq!(checked, 3);
}

#[test]
fn probes_match_scikit_learn_on_the_default_model() {
    let Some(model) = default_model() else { return };
    let g = golden_file("probe.json");
    let cases: Vec<&Value> = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["model"] == "default")
        .collect();
    assert_eq!(cases.len(), 2, "gen_probe.py --default-model");
    for case in cases {
        check(case, &model);
    }
}

#[test]
fn a_set_of_one_label_is_refused() {
    let model = load("bert");
    let rows: Vec<Row> = (0..10)
        .map(|i| Row::new(i, "A cat sat.", Some("x")))
        .collect();
    let err = bertlens_core::analysis::probe(&model, &rows, ProbeOptions::default()).unwrap_err();
    assert!(err.to_string().contains("at least two labels"), "{err}");
}

#[test]
fn any_task_is_probed_on_its_texts_alone() {
    // A question-answering model reads the texts as they are (no context needed),
    // and labels are read without their surrounding spaces.
    let model = load("bert-qa");
    let mut rows = probe_set("tense");
    for r in rows.iter_mut().step_by(2) {
        r.label = r.label.as_ref().map(|l| format!(" {l} "));
    }
    let report = bertlens_core::analysis::probe(&model, &rows, ProbeOptions::default()).unwrap();
    assert_eq!((report.n, report.n_test, report.skipped), (157, 32, 3));
    assert_eq!(report.labels, ["future", "past", "present"]);
    assert!(report.layers.iter().all(|l| l.converged));
}

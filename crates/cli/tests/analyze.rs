//! `bertlens analyze` and `bertlens merge` as scripts use them: the files
//! they write, the report's contract, JSON Lines on stdin, shards that
//! merge into the report of one run, and the messages of bad input.

mod common;

use std::path::Path;

use common::{repo, run, s, scratch};
use serde_json::Value;

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn golden() -> Value {
    read(&repo("tests/fixtures/analysis/bert-set.json"))
}

#[test]
fn the_report_is_the_contract() {
    let out = scratch("analyze-contract");
    let data = repo("tests/fixtures/analysis/bert-set.csv");
    let model = repo("tests/fixtures/bert");
    let (code, _, err) = run(
        &[
            "analyze",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--neighbours",
            "3",
            "--out",
            s(&out),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("label(s) match no class of the model: \"mixed\""),
        "{err}"
    );
    let r = read(&out.join("report.json"));
    let g = golden();
    assert_eq!(
        r["accuracy"].as_f64().unwrap(),
        g["sklearn"]["accuracy"].as_f64().unwrap()
    );
    assert_eq!(r["confusion"]["matrix"], g["sklearn"]["matrix"]);
    assert_eq!(
        r["confusion"]["labels"],
        serde_json::json!(["negative", "neutral", "positive"])
    );
    for key in ["precision", "recall", "f1", "support"] {
        assert!(r["per_class"][0][key].is_number(), "{key}");
    }
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 140);
    for (i, (row, want)) in rows.iter().zip(g["rows"].as_array().unwrap()).enumerate() {
        assert_eq!(row["index"], i, "rows in input order");
        assert_eq!(row["text"], want["text"]);
        if want["error"].as_bool() == Some(true) {
            assert!(row["error"].is_string());
            continue;
        }
        assert_eq!(
            row["predicted"],
            g["labels"][want["predicted"].as_u64().unwrap() as usize]
        );
        assert!(row["probability"].is_number() && row["attributions"].is_array());
        let near = row["neighbours"].as_array().unwrap();
        assert_eq!(near.len(), 3);
        assert!(near
            .iter()
            .all(|n| n["row"].as_u64().unwrap() as usize != i && n["similarity"].is_number()));
    }
    assert!(r["words"]["neutral"]["toward"][0]["word"].is_string());
    // The page: self-contained, no request anywhere (SVG's and XHTML's
    // namespaces are names, not requests), the report and the workbench's
    // views inlined.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("default-src 'none'"));
    let html = html
        .replace("http://www.w3.org/2000/svg", "")
        .replace("http://www.w3.org/1999/xhtml", "");
    for bad in ["http://", "https://", "src=\"", "href=\""] {
        assert!(!html.contains(bad), "report.html holds {bad:?}");
    }
    // The inlined report and modules close no script early: three scripts, three ends.
    assert_eq!(html.matches("</script>").count(), 3);
    assert!(html.contains("\"accuracy\":"));
    assert!(html.contains("<bert-lens id=\"result\" view=\"dataset\">"));
    assert!(html.contains("js/views/report.js"));
}

#[test]
fn json_lines_on_stdin_and_tsv_by_column_index() {
    let g = golden();
    let jsonl: String = g["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!({"id": r["index"], "sentence": r["text"], "gold": r["label"]})
                .to_string()
                + "\n"
        })
        .collect();
    let model = repo("tests/fixtures/bert");
    let out = scratch("analyze-stdin");
    let (code, _, err) = run(
        &[
            "analyze",
            "--model",
            s(&model),
            "--data",
            "-",
            "--label-column",
            "gold",
            "--method",
            "none",
            "--out",
            s(&out),
        ],
        Some(&jsonl),
    );
    assert_eq!(code, 0, "{err}");
    let r = read(&out.join("report.json"));
    assert_eq!(
        r["accuracy"].as_f64().unwrap(),
        g["sklearn"]["accuracy"].as_f64().unwrap()
    );
    assert!(r["rows"][0]["attributions"].is_null());
    // TSV, columns named by index.
    let tsv_path = out.join("set.tsv");
    let tsv: String = g["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\n",
                r["label"].as_str().unwrap_or(""),
                r["text"].as_str().unwrap()
            )
        })
        .collect();
    std::fs::write(&tsv_path, format!("gold\tutterance\n{tsv}")).unwrap();
    let (code, _, err) = run(
        &[
            "analyze",
            "--model",
            s(&model),
            "--data",
            s(&tsv_path),
            "--text-column",
            "1",
            "--label-column",
            "0",
            "--method",
            "none",
            "--out",
            s(&out),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&out.join("report.json"))["accuracy"], r["accuracy"]);
}

#[test]
fn two_shards_merged_are_one_run() {
    let data = repo("tests/fixtures/analysis/bert-set.csv");
    let model = repo("tests/fixtures/bert");
    let common = [
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--neighbours",
        "3",
        "--faithfulness",
        "--faithfulness-rows",
        "70",
        "--n-steps",
        "8",
        "--perturb-samples",
        "3",
    ];
    let one = scratch("analyze-one");
    let (code, _, err) = run(
        &[&["analyze"][..], &common, &["--out", s(&one)]].concat(),
        None,
    );
    assert_eq!(code, 0, "{err}");
    let shards = scratch("analyze-shards");
    for k in ["1/2", "0/2"] {
        let (code, _, err) = run(
            &[
                &["analyze"][..],
                &common,
                &["--shard", k, "--out", s(&shards)],
            ]
            .concat(),
            None,
        );
        assert_eq!(code, 0, "{err}");
    }
    assert!(
        !shards.join("report.html").exists(),
        "a shard writes its JSON alone"
    );
    let a = shards.join("report-0-of-2.json");
    let b = shards.join("report-1-of-2.json");
    let merged = scratch("analyze-merged");
    let (code, _, err) = run(&["merge", s(&b), s(&a), "--out", s(&merged)], None);
    assert_eq!(code, 0, "{err}");
    let (x, y) = (
        std::fs::read_to_string(merged.join("report.json")).unwrap(),
        std::fs::read_to_string(one.join("report.json")).unwrap(),
    );
    assert!(x == y, "the merged report.json differs from one run's");
    let f = &read(&one.join("report.json"))["faithfulness"];
    for m in [
        "ig",
        "saliency",
        "input-x-gradient",
        "rollout",
        "attention-flow",
        "random",
    ] {
        for key in [
            "aopc_comprehensiveness",
            "aopc_sufficiency",
            "infidelity",
            "sensitivity_max",
            "deletion_curve",
        ] {
            assert!(!f[m][key].is_null(), "faithfulness.{m}.{key}");
        }
    }
    // Shards that do not make a set.
    let (code, _, err) = run(&["merge", s(&a), "--out", s(&merged)], None);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "bertlens: cannot merge these reports: shard(s) 1/2 are missing"
    );
}

#[test]
fn bad_input_says_what_to_do() {
    let model = repo("tests/fixtures/bert");
    let out = scratch("analyze-bad");
    let csv = out.join("x.csv");
    std::fs::write(&csv, "body,y\nhello,1\n").unwrap();
    let (code, _, err) = run(
        &[
            "analyze",
            "--model",
            s(&model),
            "--data",
            s(&csv),
            "--out",
            s(&out),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("no text column") && err.contains("--text-column") && err.contains("body, y"),
        "{err}"
    );
    let (code, _, err) = run(
        &[
            "analyze",
            "--model",
            s(&model),
            "--data",
            s(&csv),
            "--text-column",
            "txt",
            "--out",
            s(&out),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("the text column \"txt\" is not in the data; its columns are: body, y"),
        "{err}"
    );
    let (code, _, err) = run(
        &[
            "analyze",
            "--model",
            s(&model),
            "--data",
            s(&csv),
            "--text-column",
            "body",
            "--shard",
            "2/2",
            "--out",
            s(&out),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("invalid option shard: \"2/2\""), "{err}");
    let qa = repo("tests/fixtures/bert-qa");
    let (code, _, err) = run(
        &[
            "analyze",
            "--model",
            s(&qa),
            "--data",
            s(&csv),
            "--text-column",
            "body",
            "--out",
            s(&out),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("needs a sequence classifier"), "{err}");
}

#[test]
fn anchors_of_the_first_rows() {
    let out = scratch("analyze-anchors");
    let data = repo("tests/fixtures/analysis/bert-set.csv");
    let model = repo("tests/fixtures/bert");
    let (code, _, err) = run(
        &[
            "analyze",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--method",
            "none",
            "--anchors",
            "2",
            "--out",
            s(&out),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let r = read(&out.join("report.json"));
    let rows = r["rows"].as_array().unwrap();
    assert!(rows.len() > 2);
    for row in &rows[..2] {
        let a = &row["anchor"];
        let text: Vec<char> = row["text"].as_str().unwrap().chars().collect();
        assert_eq!(
            a["predicted_label"], row["predicted"],
            "the anchor explains the prediction"
        );
        let precision = a["precision"].as_f64().unwrap();
        if a["success"].as_bool().unwrap() {
            assert!(precision >= 0.95 - 1e-9, "{precision}");
        }
        assert!((0.0..=1.0).contains(&a["coverage"].as_f64().unwrap()));
        assert!(a["samples"].as_u64().unwrap() > 0);
        for w in a["words"].as_array().unwrap() {
            let (start, end) = (
                w["offsets"][0].as_u64().unwrap() as usize,
                w["offsets"][1].as_u64().unwrap() as usize,
            );
            let cut: String = text[start..end].iter().collect();
            assert_eq!(
                cut,
                w["word"].as_str().unwrap(),
                "a word of the text, at its offsets"
            );
        }
    }
    assert!(rows[2].get("anchor").is_none(), "only the first 2 rows");
    assert_eq!(r["settings"]["anchor_rows"], 2);
}

//! Bad input as an attacker or a careless user gives it: crafted files,
//! a line that is not UTF-8 in a batch, shards of different data, options
//! that do not fit the task, too many steps, ragged tables. Each gets a
//! message and an exit code, never a panic, and nothing good is dropped.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, run_bytes as run, s};
use serde_json::{json, Value};

/// A fresh folder under the target directory, named for this file.
fn scratch(name: &str) -> PathBuf {
    common::scratch(&format!("bad-input-{name}"))
}

/// A copy of a fixture's folder, to be damaged.
fn copy_of(name: &str, into: &str) -> PathBuf {
    let dir = scratch(into);
    for e in std::fs::read_dir(fixture(name)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

#[test]
fn a_shape_that_wraps_around_is_a_message_not_a_crash() {
    let dir = copy_of("bert", "wrapped-shape");
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    // (3 + 2^57) · 32 floats is 384 bytes modulo 2^64: the real size.
    header["classifier.weight"]["shape"] = json!([3u64 + (1u64 << 57), 32]);
    let h = serde_json::to_vec(&header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(&bytes[8 + n..]);
    std::fs::write(&path, out).unwrap();
    for args in [
        vec!["explain", "--model", s(&dir), "hello"],
        vec!["info", "--model", s(&dir)],
    ] {
        let (code, _, err) = run(&args, b"");
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("tensor `classifier.weight`: shape [144115188075855875, 32] is too large"),
            "{err}"
        );
    }
}

#[test]
fn a_raw_pickle_says_what_it_is() {
    let dir = copy_of("bert", "raw-pickle");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    // What torch.save(…, _use_new_zipfile_serialization=False) begins with.
    let mut legacy = vec![0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20];
    legacy.extend([0u8; 64]);
    std::fs::write(dir.join("pytorch_model.bin"), legacy).unwrap();
    let (code, _, err) = run(&["explain", "--model", s(&dir), "hello"], b"");
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "pytorch_model.bin is not a PyTorch checkpoint bertlens can read: it is a raw pickle"
        ),
        "{err}"
    );
    assert!(err.contains("safetensors"), "{err}");
}

#[test]
fn num_labels_that_the_head_does_not_have_is_refused() {
    let dir = copy_of("bert", "num-labels");
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let c = config.as_object_mut().unwrap();
    c.remove("id2label");
    c.remove("label2id");
    c.insert("num_labels".into(), json!(40));
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let (code, _, err) = run(&["info", "--model", s(&dir)], b"");
    assert_eq!(code, 1);
    assert!(
        err.contains("config.json: num_labels is 40 but the head has 3 outputs"),
        "{err}"
    );
}

#[test]
fn a_batch_line_that_is_not_utf8_is_that_lines_error() {
    let model = fixture("bert");
    let (code, out, err) = run(
        &[
            "explain",
            "--model",
            s(&model),
            "--json",
            "--method",
            "saliency",
            "--batch",
            "-",
        ],
        b"good line one\n\xff bad\nlast\n",
    );
    assert_eq!(code, 1, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0]["line"], 1);
    assert!(lines[0]["error"].is_null());
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(
        lines[1]["error"],
        "the line is not valid UTF-8 (byte 1 of the line is not); save the file as UTF-8"
    );
    assert_eq!(lines[2]["line"], 3);
    assert_eq!(lines[2]["text"], "last");
    assert!(!lines[2]["attributions"].is_null());
}

#[test]
fn options_that_do_not_fit_the_task_are_usage_errors() {
    let qa = fixture("bert-qa");
    let cls = fixture("bert");
    let mlm = fixture("bert-mlm");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--model", s(&qa), "--question", "where?", "--context", "here it is", "--token", "5"],
            "invalid option token: with question answering, token needs part",
        ),
        (
            vec!["--model", s(&qa), "--question", "where?", "--context", "here", "--target", "1"],
            "invalid option target: question answering explains the answer's start and end",
        ),
        (
            vec!["--model", s(&cls), "--part", "start", "good film"],
            "invalid option part: part (start or end) is for question answering, not sequence-classification",
        ),
        (
            vec!["--model", s(&cls), "--token", "1", "good film"],
            "invalid option token: a sequence classifier explains the whole text",
        ),
        (
            vec!["--model", s(&mlm), "--part", "end", "a [MASK] film"],
            "invalid option part",
        ),
    ];
    for (args, want) in cases {
        let (code, _, err) = run(&[&["explain"][..], &args].concat(), b"");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("bertlens: {want}")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn too_many_steps_are_refused_naming_the_cap() {
    let model = fixture("bert");
    let (code, _, err) = run(
        &[
            "explain",
            "--model",
            s(&model),
            "--n-steps",
            "100000",
            "hello",
        ],
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("100000 is more than 2000, the most steps bertlens computes"),
        "{err}"
    );
    // The cap itself is fine.
    let (code, _, err) = run(
        &[
            "explain",
            "--model",
            s(&model),
            "--n-steps",
            "2000",
            "--json",
            "hi",
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_mask_cut_off_by_truncation_says_so() {
    let model = fixture("bert-mlm");
    let text = format!("{} [MASK].", "the quick brown fox ".repeat(40));
    let (code, _, err) = run(&["explain", "--model", s(&model), &text], b"");
    assert_eq!(code, 1);
    assert!(
        err.starts_with("bertlens: the text's [MASK] is past the model's 64 tokens"),
        "{err}"
    );
}

fn analyze(data: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let model = fixture("bert");
    run(
        &[
            &[
                "analyze",
                "--model",
                s(&model),
                "--data",
                s(data),
                "--method",
                "none",
            ][..],
            extra,
            &["--out", s(out)],
        ]
        .concat(),
        b"",
    )
}

#[test]
fn ragged_rows_stop_the_run_or_are_skipped_as_asked() {
    let dir = scratch("ragged");
    let csv = dir.join("set.csv");
    std::fs::write(
        &csv,
        "text,label\ngood film,positive\nbad,negative,extra\nfine film,neutral\n\"never closed,positive\nlost,negative\n",
    )
    .unwrap();
    let out = dir.join("out");
    let (code, _, err) = analyze(&csv, &out, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("2 bad row(s): line 3: 3 field(s) where the header has 2; line 5: a quote opened on line 5 is never closed"),
        "{err}"
    );
    assert!(err.contains("--on-bad-row skip"), "{err}");
    assert!(!out.join("report.json").exists());
    let (code, _, err) = analyze(&csv, &out, &["--on-bad-row", "skip"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("skipped 2 bad row(s): line 3"), "{err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["rows_total"], 2);
    let texts: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["good film", "fine film"]);
}

#[test]
fn a_header_without_rows_is_an_error() {
    let dir = scratch("empty");
    let csv = dir.join("set.csv");
    std::fs::write(&csv, "text,label\n").unwrap();
    let (code, _, err) = analyze(&csv, &dir.join("out"), &[]);
    assert_eq!(code, 1);
    assert!(
        err.trim().ends_with("set.csv has a header but no rows"),
        "{err}"
    );
}

#[test]
fn an_out_path_that_is_a_file_fails_before_any_row_is_run() {
    let dir = scratch("out-file");
    let csv = dir.join("set.csv");
    std::fs::write(&csv, "text,label\ngood film,positive\n").unwrap();
    let file = dir.join("taken");
    std::fs::write(&file, "x").unwrap();
    let (code, _, err) = analyze(&csv, &file, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("is a file: give a folder"), "{err}");
    assert!(!err.contains("rows/s"), "rows were run first: {err}");
}

#[test]
fn shards_of_different_data_do_not_merge() {
    let dir = scratch("shards");
    let rows: Vec<String> = (0..140)
        .map(|i| {
            format!(
                "text number {i},{}",
                ["negative", "neutral", "positive"][i % 3]
            )
        })
        .collect();
    let write = |name: &str, rows: &[String]| {
        let p = dir.join(name);
        std::fs::write(&p, format!("text,label\n{}\n", rows.join("\n"))).unwrap();
        p
    };
    let a = write("a.csv", &rows);
    let mut reordered = rows.clone();
    reordered.reverse();
    let b = write("b.csv", &reordered);
    let out = dir.join("out");
    let (code, _, err) = analyze(&a, &out, &["--shard", "0/2"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = analyze(&b, &out, &["--shard", "1/2"]);
    assert_eq!(code, 0, "{err}");
    let merged = dir.join("merged");
    let (code, _, err) = run(
        &[
            "merge",
            s(&out.join("report-0-of-2.json")),
            s(&out.join("report-1-of-2.json")),
            "--out",
            s(&merged),
        ],
        b"",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("shard 1/2 was run on other data than shard 0/2"),
        "{err}"
    );
    assert!(!merged.join("report.json").exists());
    // The same data in both: they merge.
    let (code, _, err) = analyze(&a, &out, &["--shard", "1/2"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(
        &[
            "merge",
            s(&out.join("report-0-of-2.json")),
            s(&out.join("report-1-of-2.json")),
            "--out",
            s(&merged),
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["rows_total"], 140);
    assert_eq!(report["fingerprint"]["rows"], 140);
}

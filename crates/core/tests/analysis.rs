//! Dataset analysis against its references (tests/fixtures/gen_analysis.py):
//! metrics against scikit-learn, rank correlations against scipy, KL bounds
//! against alibi, predictions and nearest rows against transformers and a
//! numpy brute force, comprehensiveness/sufficiency/AOPC against ferret's
//! definitions, infidelity and sensitivity-max against Captum with the same
//! perturbations; shards that merge into one run; anchors whose precision
//! holds when estimated again without the anchor code.

mod common;
#[path = "common/analysis.rs"]
mod helpers;

use std::collections::BTreeMap;

use bertlens_core::analysis::batch::probabilities;
use bertlens_core::analysis::dataset::Shard;
use bertlens_core::analysis::evaluate::{attributions_of, evaluate_row, Perturbations};
use bertlens_core::analysis::faithfulness::{
    agreement, EvalMethod, FaithfulnessOptions, Removal, RemovalPlan,
};
use bertlens_core::analysis::kl_lucb::{beta, kl_lower, kl_upper};
use bertlens_core::analysis::metrics::metrics;
use bertlens_core::analysis::perturbation::{infidelity, infidelity_deltas};
use bertlens_core::analysis::rank::{kendall_tau_b, spearman};
use bertlens_core::analysis::Fingerprint;
use bertlens_core::analysis::{analyze_rows, anchor, AnalysisOptions, AnchorOptions, Report};
use bertlens_core::explain::ExplainOptions;
use bertlens_core::{Error, Model, Steps};
use common::load;
use helpers::*;
use serde_json::Value;

#[test]
fn metrics_match_scikit_learn() {
    let g = golden("metrics.json");
    let names: Vec<String> = g["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().into())
        .collect();
    let pairs: Vec<(usize, usize)> = usizes(&g["y_true"])
        .into_iter()
        .zip(usizes(&g["y_pred"]))
        .collect();
    let m = metrics(&pairs, &names);
    let sk = &g["sklearn"];
    assert_eq!(m.confusion.indices, usizes(&sk["labels"]));
    let matrix: Vec<Vec<usize>> = sk["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(usizes)
        .collect();
    assert_eq!(m.confusion.matrix, matrix);
    close(
        m.accuracy,
        sk["accuracy"].as_f64().unwrap(),
        1e-12,
        "accuracy",
    );
    for (i, c) in m.per_class.iter().enumerate() {
        close(
            c.precision,
            f64s(&sk["precision"])[i],
            1e-12,
            &format!("precision of {}", c.label),
        );
        close(
            c.recall,
            f64s(&sk["recall"])[i],
            1e-12,
            &format!("recall of {}", c.label),
        );
        close(
            c.f1,
            f64s(&sk["f1"])[i],
            1e-12,
            &format!("f1 of {}", c.label),
        );
        assert_eq!(c.support, usizes(&sk["support"])[i]);
    }
    for (avg, key) in [(&m.macro_avg, "macro"), (&m.weighted_avg, "weighted")] {
        for (v, k) in [
            (avg.precision, "precision"),
            (avg.recall, "recall"),
            (avg.f1, "f1"),
        ] {
            close(
                v,
                sk[key][k].as_f64().unwrap(),
                1e-12,
                &format!("{key} {k}"),
            );
        }
    }
}

#[test]
fn rank_correlations_match_scipy() {
    for c in golden("rank.json")["cases"].as_array().unwrap() {
        let (x, y) = (f64s(&c["x"]), f64s(&c["y"]));
        let finite = |v: f64| v.is_finite().then_some(v);
        close_opt(
            &[finite(spearman(&x, &y))],
            &[c["spearman"].as_f64()],
            1e-12,
            "spearman",
        );
        close_opt(
            &[finite(kendall_tau_b(&x, &y))],
            &[c["kendall"].as_f64()],
            1e-12,
            "kendall",
        );
    }
}

#[test]
fn kl_bounds_match_alibi() {
    let g = golden("kl.json");
    let (p, level) = (f64s(&g["p"]), f64s(&g["level"]));
    for i in 0..p.len() {
        close(
            kl_upper(p[i], level[i]),
            f64s(&g["upper"])[i],
            1e-12,
            "dup_bernoulli",
        );
        close(
            kl_lower(p[i], level[i]),
            f64s(&g["lower"])[i],
            1e-12,
            "dlow_bernoulli",
        );
    }
    for b in g["beta"].as_array().unwrap() {
        let got = beta(
            b["arms"].as_u64().unwrap() as usize,
            b["t"].as_u64().unwrap() as usize,
            b["delta"].as_f64().unwrap(),
        );
        close(got, b["beta"].as_f64().unwrap(), 1e-12, "compute_beta");
    }
}

fn set_report(opts: &AnalysisOptions) -> (Value, Report) {
    let g = golden("bert-set.json");
    let model = load("bert");
    let rows = analyze_rows(&model, &set_rows(&g), opts).unwrap();
    let report = Report::from_rows("bert", model.labels(), opts, None, rows);
    (g, report)
}

#[test]
fn a_labelled_set_against_transformers_numpy_and_scikit_learn() {
    let opts = AnalysisOptions {
        neighbours: 3,
        ..AnalysisOptions::default()
    };
    let (g, r) = set_report(&opts);
    for (row, want) in r.rows.iter().zip(g["rows"].as_array().unwrap()) {
        assert_eq!(row.index as u64, want["index"].as_u64().unwrap());
        if want["error"].as_bool() == Some(true) {
            assert!(
                row.error.as_deref().unwrap().contains("empty"),
                "{:?}",
                row.error
            );
            continue;
        }
        assert_eq!(
            row.predicted_index.unwrap() as u64,
            want["predicted"].as_u64().unwrap(),
            "row {}",
            row.index
        );
        assert_eq!(
            row.label_index.map(|i| i as u64),
            want["label_index"].as_u64(),
            "row {}",
            row.index
        );
        let p = f64s(&want["probabilities"]);
        close(
            row.probability.unwrap() as f64,
            p[row.predicted_index.unwrap()],
            1e-5,
            "probability",
        );
        // Nearest rows: the same similarities; the same rows unless two are within rounding.
        let near = row.neighbours.as_ref().unwrap();
        for (k, (n, w)) in near
            .iter()
            .zip(want["neighbours"].as_array().unwrap())
            .enumerate()
        {
            close(
                n.similarity as f64,
                w["similarity"].as_f64().unwrap(),
                1e-5,
                "similarity",
            );
            let tied = near
                .get(k + 1)
                .is_some_and(|m| (m.similarity - n.similarity).abs() < 1e-5)
                || (k > 0 && (near[k - 1].similarity - n.similarity).abs() < 1e-5);
            assert!(
                tied || n.row as u64 == w["row"].as_u64().unwrap(),
                "row {}'s neighbour {k}",
                row.index
            );
        }
        assert!(row.pooled.is_none(), "vectors are dropped unless asked for");
    }
    let sk = &g["sklearn"];
    assert_eq!(r.confusion.indices, usizes(&sk["labels"]));
    let matrix: Vec<Vec<usize>> = sk["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(usizes)
        .collect();
    assert_eq!(r.confusion.matrix, matrix);
    close(
        r.accuracy,
        sk["accuracy"].as_f64().unwrap(),
        1e-12,
        "accuracy",
    );
    for (i, c) in r.per_class.iter().enumerate() {
        close(c.f1, f64s(&sk["f1"])[i], 1e-12, "f1");
    }
    close(
        r.macro_avg.f1,
        sk["macro"]["f1"].as_f64().unwrap(),
        1e-12,
        "macro f1",
    );
    assert_eq!(r.rows_failed, 1);
    assert_eq!(r.unmatched_labels[0].label, "mixed");
    // Mistakes: misclassified rows, most confident first.
    let probs: Vec<f32> = r
        .mistakes
        .iter()
        .map(|&i| r.rows[i].probability.unwrap())
        .collect();
    assert!(probs.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(
        r.mistakes.len(),
        r.rows.iter().filter(|x| x.correct == Some(false)).count()
    );
    // Words per class: the predicted classes, totals that add up.
    let toward: f64 = r
        .words
        .values()
        .flat_map(|w| &w.toward)
        .map(|w| w.total)
        .sum();
    assert!(toward.is_finite() && !r.words.is_empty());
}

#[test]
fn two_shards_merged_are_one_run() {
    let opts = AnalysisOptions {
        neighbours: 3,
        faithfulness: Some(FaithfulnessOptions {
            methods: vec![
                EvalMethod::Saliency,
                EvalMethod::Rollout,
                EvalMethod::Random,
            ],
            ..FaithfulnessOptions::default()
        }),
        faithfulness_rows: Some(80),
        ..AnalysisOptions::default()
    };
    let (g, whole) = set_report(&opts);
    let model = load("bert");
    let rows = set_rows(&g);
    // Every shard carries the whole set's fingerprint, as `bertlens analyze` marks it.
    let fingerprint = Fingerprint::of(&rows, &opts);
    let whole = whole.fingerprinted(fingerprint.clone());
    let shards: Vec<Report> = (0..2)
        .map(|k| {
            let shard = Shard { index: k, count: 2 };
            let mine: Vec<_> = rows
                .iter()
                .filter(|r| shard.contains(r.index))
                .cloned()
                .collect();
            assert!(!mine.is_empty());
            // A shard keeps its rows' pooled vectors: the nearest rows are found at the merge.
            let done = analyze_rows(&model, &mine, &opts).unwrap();
            Report::from_rows("bert", model.labels(), &opts, Some(shard), done)
                .fingerprinted(fingerprint.clone())
        })
        .collect();
    // In any order. (Through JSON, as `bertlens merge` reads them, in the CLI's tests:
    // its serde_json parses floats exactly, `float_roundtrip`.)
    let shards: Vec<Report> = shards.into_iter().rev().collect();
    let merged = Report::merge(shards.clone()).unwrap();
    let (a, b) = (
        serde_json::to_value(&merged).unwrap(),
        serde_json::to_value(&whole).unwrap(),
    );
    if let Some(path) = first_difference(&a, &b, String::new()) {
        panic!("the merged report differs from one run's at {path}");
    }
    // Shards that do not make one set.
    let e = Report::merge(vec![shards[0].clone()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot merge these reports: shard(s) 0/2 are missing"
    );
    let e = Report::merge(vec![shards[0].clone(), shards[0].clone()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot merge these reports: shard 1/2 is given twice"
    );
    // A shard of other data (the same rows in another order), or of none known.
    let mut reordered = rows.clone();
    reordered.reverse();
    let other = shards[1]
        .clone()
        .fingerprinted(Fingerprint::of(&reordered, &opts));
    let e = Report::merge(vec![shards[0].clone(), other]).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "cannot merge these reports: shard 0/2 was run on other data than shard 1/2: the \
             fingerprints of their sets differ"
        ),
        "{e}"
    );
    let mut unmarked = shards[1].clone();
    unmarked.fingerprint = None;
    let e = Report::merge(vec![shards[0].clone(), unmarked]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot merge these reports: shard 0/2 has no fingerprint of its data (an older \
         bertlens wrote it): run it again"
    );
    assert!(matches!(Report::merge(vec![whole]), Err(Error::Merge(_))));
}

/// The JSON path of the first difference of two values.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, format!("{at}.{k}")),
                _ => Some(format!("{at}.{k} (in one only)")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, format!("{at}[{i}]"))),
        _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
    }
}

fn explain_opts() -> ExplainOptions {
    ExplainOptions {
        n_steps: Steps::Fixed(24),
        ..ExplainOptions::default()
    }
}

const METHODS: [(&str, EvalMethod); 5] = [
    ("ig", EvalMethod::Ig),
    ("saliency", EvalMethod::Saliency),
    ("input-x-gradient", EvalMethod::InputXGradient),
    ("rollout", EvalMethod::Rollout),
    ("random", EvalMethod::Random),
];

fn removal_checks(
    model: &Model,
    case: &Value,
    attributions: &[f32],
    removal: Removal,
    want: &Value,
    what: &str,
) {
    let input = model
        .tokenize(case["text"].as_str().unwrap(), None)
        .unwrap();
    let target = case["target"].as_u64().unwrap() as usize;
    let opts = FaithfulnessOptions {
        removal,
        ..FaithfulnessOptions::default()
    };
    let plan = RemovalPlan::new(model, &input, attributions, &opts).unwrap();
    let probs: Vec<f64> = probabilities(model, &plan.inputs)
        .unwrap()
        .iter()
        .map(|p| p[target] as f64)
        .collect();
    let full = case["probability"].as_f64().unwrap();
    let got = plan.finish(full, &probs);
    close_opt(
        &got.comprehensiveness,
        &opt_f64s(&want["comprehensiveness"]),
        1e-5,
        &format!("{what} comprehensiveness"),
    );
    close_opt(
        &got.sufficiency,
        &opt_f64s(&want["sufficiency"]),
        1e-5,
        &format!("{what} sufficiency"),
    );
    close(
        got.aopc_comprehensiveness,
        want["aopc_comprehensiveness"].as_f64().unwrap(),
        1e-5,
        what,
    );
    close(
        got.aopc_sufficiency,
        want["aopc_sufficiency"].as_f64().unwrap(),
        1e-5,
        what,
    );
    let curve = f64s(&want["deletion_curve"]);
    assert_eq!(got.deletion_curve.len(), curve.len(), "{what}");
    for (a, b) in got.deletion_curve.iter().zip(&curve) {
        close(*a, *b, 1e-5, &format!("{what} deletion curve"));
    }
}

fn faithfulness_against_the_references(fixture: &str) {
    let g = golden(&format!("faithfulness-{fixture}.json"));
    let model = load(fixture);
    let explain = explain_opts();
    for case in g["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let input = model.tokenize(text, None).unwrap();
        assert_eq!(
            input.ids,
            usizes(&case["input_ids"])
                .iter()
                .map(|&i| i as u32)
                .collect::<Vec<_>>()
        );
        let row = case["row"].as_u64().unwrap() as usize;
        let target = case["target"].as_u64().unwrap() as usize;
        let p = model.predict(&input).unwrap();
        assert_eq!(p.predicted, target, "{text}");
        close(
            p.probabilities[target] as f64,
            case["probability"].as_f64().unwrap(),
            1e-5,
            "p(ŷ|x)",
        );
        // ferret's definitions, fed the reference's attributions.
        let golden_attr: BTreeMap<EvalMethod, Vec<f32>> = METHODS
            .iter()
            .map(|(name, m)| (*m, f32s(&case["methods"][name]["attributions"])))
            .collect();
        for (name, m) in METHODS {
            let what = format!("{fixture} {text:?} {name}");
            removal_checks(
                &model,
                case,
                &golden_attr[&m],
                Removal::Delete,
                &case["methods"][name],
                &what,
            );
        }
        if let Some(mask) = case.get("mask") {
            removal_checks(
                &model,
                case,
                &golden_attr[&EvalMethod::Saliency],
                Removal::Mask,
                mask,
                "mask",
            );
        }
        // Captum's infidelity, with its perturbations.
        let perturbations: Vec<Vec<f32>> = case["perturbations"]["infidelity"]
            .as_array()
            .unwrap()
            .iter()
            .map(f32s)
            .collect();
        let deltas = infidelity_deltas(&model, &input, target, &perturbations, &explain).unwrap();
        for (name, m) in METHODS {
            let want = &case["methods"][name];
            for (normalize, key) in [(true, "infidelity"), (false, "infidelity_unnormalized")] {
                let got = infidelity(&perturbations, &deltas, &golden_attr[&m], normalize);
                let w = want[key].as_f64().unwrap();
                close(
                    got,
                    w,
                    1e-4 * w.abs().max(1e-3),
                    &format!("{fixture} {text:?} {name} {key}"),
                );
            }
        }
        // scipy's rank agreement, of the reference's attributions.
        for (got, want) in agreement(&input, &golden_attr)
            .iter()
            .zip(case["agreement"].as_array().unwrap())
        {
            assert_eq!(serde_json::to_value(got.a).unwrap(), want["a"]);
            close_opt(
                &[got.spearman, got.kendall],
                &[want["spearman"].as_f64(), want["kendall"].as_f64()],
                1e-9,
                "agreement",
            );
        }
        // bertlens' own attributions, then Captum's sensitivity-max with its perturbations.
        let known: BTreeMap<EvalMethod, Vec<f32>> = METHODS
            .iter()
            .map(|(name, m)| {
                let a = attributions_of(&model, &input, row, target, *m, &explain, 0).unwrap();
                let want = &golden_attr[m];
                let scale = want.iter().fold(0f32, |s, v| s.max(v.abs())) as f64;
                for (x, y) in a.iter().zip(want) {
                    close(
                        *x as f64,
                        *y as f64,
                        1e-4 * scale,
                        &format!("{fixture} {text:?} {name} attributions"),
                    );
                }
                (*m, a)
            })
            .collect();
        let given = Perturbations {
            infidelity: Some(perturbations.clone()),
            sensitivity: Some(
                case["perturbations"]["sensitivity"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(f32s)
                    .collect(),
            ),
        };
        let opts = FaithfulnessOptions::default();
        let r = evaluate_row(
            &model,
            &input,
            row,
            target,
            p.probabilities[target] as f64,
            &known,
            &opts,
            &explain,
            &given,
        )
        .unwrap();
        for (name, m) in METHODS {
            let want = case["methods"][name]["sensitivity_max"].as_f64().unwrap();
            let got = r.methods[&m].sensitivity_max.unwrap();
            close(
                got,
                want,
                2e-3 * want.abs().max(1e-2),
                &format!("{fixture} {text:?} {name} sensitivity_max"),
            );
        }
        assert_eq!(r.methods[&EvalMethod::Random].sensitivity_max, Some(0.0));
    }
}

#[test]
fn faithfulness_of_bert_against_ferret_and_captum() {
    faithfulness_against_the_references("bert");
}

#[test]
fn faithfulness_of_roberta_against_ferret_and_captum() {
    faithfulness_against_the_references("roberta");
}

#[test]
fn the_random_baseline_is_seeded_splitmix64() {
    // Mixed with the row as random.rs documents: seed ^ rotl(row · φ, 17), one draw dropped.
    let (seed, row) = (0u64, 3u64);
    let mut mix = Mix(seed ^ row.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17));
    mix.next();
    let want: Vec<f32> = (0..6).map(|_| mix.unit() as f32).collect();
    let model = load("bert");
    let input = model.tokenize("the movie was good", None).unwrap();
    let got =
        attributions_of(&model, &input, 3, 0, EvalMethod::Random, &explain_opts(), 0).unwrap();
    assert_eq!(got, want);
}

#[test]
fn analysis_needs_a_sequence_classifier() {
    let model = load("bert-qa");
    let e = analyze_rows(
        &model,
        &[bertlens_core::analysis::Row::new(0, "hi", None)],
        &AnalysisOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "dataset analysis needs a sequence classifier; this model is a question-answering model"
    );
}

fn check_anchor(model: &Model, text: &str, opts: &AnchorOptions) {
    let a = anchor(model, text, None, opts).unwrap();
    let positions: Vec<usize> = a.words.iter().map(|w| w.position).collect();
    let again = precision_by_resampling(model, text, &positions, a.predicted, 400);
    eprintln!(
        "{text:?}: {:?} precision {:.3} (again: {again:.3}), coverage {:.3}",
        a.words.iter().map(|w| &w.word).collect::<Vec<_>>(),
        a.precision,
        a.coverage
    );
    if a.success {
        assert!(a.precision >= opts.threshold, "{text}: {}", a.precision);
        assert!(
            again >= opts.threshold - opts.tau,
            "{text}: re-estimated precision {again}"
        );
    }
    assert!(
        (again - a.precision).abs() < 0.1,
        "{text}: {again} vs {}",
        a.precision
    );
    // Coverage: the chance that every anchor word survives, ½ each.
    close(
        a.coverage,
        0.5f64.powi(positions.len() as i32),
        0.03,
        "coverage",
    );
    for ex in &a.covered_true {
        for w in &a.words {
            assert!(ex.contains(&w.word), "{ex:?} keeps {:?}", w.word);
        }
    }
}

#[test]
fn an_anchors_precision_holds_when_estimated_again() {
    let model = load("bert");
    for text in [
        "the movie was wonderful and the acting superb",
        "i love this film but the plot was boring",
    ] {
        check_anchor(&model, text, &AnchorOptions::default());
        // One word at most: an anchor that falls short, whose precision is no formality.
        let short = AnchorOptions {
            max_anchor_size: Some(1),
            ..AnchorOptions::default()
        };
        check_anchor(&model, text, &short);
    }
}

#[test]
fn the_default_model_anchor_and_example_set() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/models/minilm-intent");
    if !dir.join("model.safetensors").is_file() {
        assert!(
            std::env::var_os("BERTLENS_REQUIRE_DEFAULT_MODEL").is_none(),
            "{} is missing",
            dir.display()
        );
        eprintln!("skipped: {} is missing (run `make model`)", dir.display());
        return;
    }
    let model = Model::load(bertlens_core::ModelFiles::read_dir(&dir).unwrap()).unwrap();
    check_anchor(
        &model,
        "my card was declined at the grocery store",
        &AnchorOptions::default(),
    );
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/analysis/intents-example.json");
    if !path.is_file() {
        eprintln!(
            "skipped the example set: gen_analysis.py --default-model has not written its golden"
        );
        return;
    }
    let g = golden("intents-example.json");
    let text = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/intents-example.csv"),
    )
    .unwrap();
    let rows: Vec<bertlens_core::analysis::Row> = text
        .lines()
        .skip(1)
        .enumerate()
        .map(|(i, l)| {
            let (t, label) = l.rsplit_once(',').unwrap();
            bertlens_core::analysis::Row::new(i, t.trim_matches('"'), Some(label))
        })
        .collect();
    let opts = AnalysisOptions {
        method: None,
        ..AnalysisOptions::default()
    };
    let done = analyze_rows(&model, &rows, &opts).unwrap();
    let r = Report::from_rows("minilm-intent", model.labels(), &opts, None, done);
    let predicted = usizes(&g["predicted"]);
    for (row, want) in r.rows.iter().zip(&predicted) {
        assert_eq!(row.predicted_index, Some(*want), "{:?}", row.text);
    }
    close(
        r.accuracy,
        g["sklearn"]["accuracy"].as_f64().unwrap(),
        1e-12,
        "accuracy",
    );
    let matrix: Vec<Vec<usize>> = g["sklearn"]["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(usizes)
        .collect();
    assert_eq!(r.confusion.matrix, matrix);
    close(
        r.macro_avg.f1,
        g["sklearn"]["macro"]["f1"].as_f64().unwrap(),
        1e-12,
        "macro f1",
    );
}

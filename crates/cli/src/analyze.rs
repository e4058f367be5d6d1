//! `bertlens analyze`: a labelled set (CSV, TSV, JSON Lines or one text per
//! line; a file or standard input) through the model, written as
//! `report.json` and a self-contained `report.html`; with `--shard K/N`
//! only the K-th of N deterministic shards, as `report-K-of-N.json`, for
//! `bertlens merge`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use bertlens_core::analysis::dataset::{Shard, BLOCK};
use bertlens_core::analysis::faithfulness::{EvalMethod, FaithfulnessOptions, Removal};
use bertlens_core::analysis::{
    analyze_rows, AnalysisOptions, AnchorOptions, Fingerprint, Report, Row,
};
use bertlens_core::explain::Method;
use bertlens_core::Steps;
use clap::{Args, ValueEnum};

use crate::explain::load;
use crate::merge::{check_out, write_report};
use crate::rows::SetArgs;
use crate::DeviceArg;

#[derive(Args)]
pub struct AnalyzeArgs {
    /// The model folder (a sequence classifier).
    #[arg(long)]
    pub model: PathBuf,
    /// Where the layers' passes run (as `explain --device`).
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    #[command(flatten)]
    pub set: SetArgs,
    /// The method that explains each row's prediction ("none": predictions only).
    #[arg(long, value_enum, default_value_t = RowMethod::Saliency)]
    pub method: RowMethod,
    /// Integrated Gradients steps (for --method ig and --faithfulness).
    #[arg(long, default_value = "50")]
    pub n_steps: Steps,
    /// Also evaluate the explanations of every method (ig, saliency, input-x-gradient, rollout,
    /// attention-flow, random).
    #[arg(long)]
    pub faithfulness: bool,
    /// Evaluate faithfulness on the first N rows only (IG's sensitivity costs 10 IG runs a row).
    #[arg(long, value_name = "N")]
    pub faithfulness_rows: Option<usize>,
    /// How faithfulness removes a token: delete the wordpiece, or replace it with the mask or pad token.
    #[arg(long, value_enum, default_value_t = RemovalArg::Delete)]
    pub removal: RemovalArg,
    /// Perturbation samples for infidelity and sensitivity-max (0: skip them).
    #[arg(long, default_value_t = 10)]
    pub perturb_samples: usize,
    /// The K nearest rows of every row, by the model's pooled vector.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub neighbours: usize,
    /// The anchor of the prediction of each of the first N rows (alibi's AnchorText, its defaults:
    /// 95% precision, words hidden by the mask token; hundreds of forward passes a row).
    #[arg(long, value_name = "N")]
    pub anchors: Option<usize>,
    /// Words listed per class.
    #[arg(long, default_value_t = 10)]
    pub words_top: usize,
    /// Seed of the random baseline and the perturbations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Process only shard K of N (0-based K; blocks of 64 rows, round robin) and write report-K-of-N.json.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Keep each row's pooled vector in report.json.
    #[arg(long)]
    pub keep_vectors: bool,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The folder to write the report to.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RowMethod {
    Saliency,
    InputXGradient,
    Ig,
    Rollout,
    AttentionFlow,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RemovalArg {
    Delete,
    Mask,
    Pad,
}

pub fn options(args: &AnalyzeArgs) -> AnalysisOptions {
    let mut opts = AnalysisOptions {
        method: match args.method {
            RowMethod::Saliency => Some(Method::Saliency),
            RowMethod::InputXGradient => Some(Method::InputXGradient),
            RowMethod::Ig => Some(Method::Ig),
            RowMethod::Rollout => Some(Method::Rollout),
            RowMethod::AttentionFlow => Some(Method::AttentionFlow),
            RowMethod::None => None,
        },
        neighbours: args.neighbours,
        words_top: args.words_top,
        keep_vectors: args.keep_vectors,
        faithfulness_rows: args.faithfulness_rows,
        anchors: args.anchors.map(|_| AnchorOptions {
            seed: args.seed,
            ..AnchorOptions::default()
        }),
        anchor_rows: args.anchors,
        ..AnalysisOptions::default()
    };
    opts.explain.n_steps = args.n_steps;
    if args.faithfulness {
        let mut f = FaithfulnessOptions {
            methods: EvalMethod::ALL.to_vec(),
            removal: match args.removal {
                RemovalArg::Delete => Removal::Delete,
                RemovalArg::Mask => Removal::Mask,
                RemovalArg::Pad => Removal::Pad,
            },
            seed: args.seed,
            ..FaithfulnessOptions::default()
        };
        f.infidelity.n_perturb_samples = args.perturb_samples;
        f.sensitivity.n_perturb_samples = args.perturb_samples;
        opts.faithfulness = Some(f);
    }
    opts
}

pub fn run(args: &AnalyzeArgs) -> Result<ExitCode, String> {
    crate::rows::use_threads(args.threads)?;
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    // A shard's report keeps its rows' pooled vectors when --neighbours asks for
    // nearest rows: they are found when the shards merge.
    let opts = options(args);
    check_out(&args.out)?;
    let all = args.set.read()?;
    let model = load(&args.model, args.device.into())?;
    // Of the whole set, so that every shard of it carries the same one.
    let fingerprint = Fingerprint::of(&all, &opts);
    let rows: Vec<Row> = all
        .into_iter()
        .filter(|r| shard.is_none_or(|s| s.contains(r.index)))
        .collect();
    let started = Instant::now();
    let mut results = Vec::with_capacity(rows.len());
    // Pieces of whole blocks, with progress in between.
    let mut done = 0;
    for piece in rows.chunk_by(|a, b| a.index / (4 * BLOCK) == b.index / (4 * BLOCK)) {
        results.extend(analyze_rows(&model, piece, &opts).map_err(|e| e.to_string())?);
        done += piece.len();
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "bertlens: {done}/{} rows ({:.1} rows/s)",
            rows.len(),
            done as f64 / secs.max(1e-9)
        );
    }
    let name = args.model.file_name().map_or_else(
        || args.model.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let report =
        Report::from_rows(&name, model.labels(), &opts, shard, results).fingerprinted(fingerprint);
    let path = write_report(&report, &args.out)?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "bertlens: {} rows in {secs:.1} s ({:.1} rows/s); accuracy {:.4} over {} labelled rows; wrote {}",
        report.rows_total,
        report.rows_total as f64 / secs.max(1e-9),
        report.accuracy,
        report.rows_labelled,
        path.display()
    );
    if !report.unmatched_labels.is_empty() {
        let shown: Vec<String> = report
            .unmatched_labels
            .iter()
            .take(8)
            .map(|u| format!("{:?} ×{}", u.label, u.count))
            .collect();
        eprintln!(
            "bertlens: warning: {} label(s) match no class of the model: {}",
            report.unmatched_labels.len(),
            shown.join(", ")
        );
    }
    if report.rows_failed > 0 {
        eprintln!(
            "bertlens: warning: {} row(s) could not be run (see their \"error\")",
            report.rows_failed
        );
    }
    Ok(ExitCode::SUCCESS)
}

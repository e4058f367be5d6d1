//! `bertlens probe`: which layer of the model knows a property of the text?
//! A linear probe per layer on a labelled set (the protocol of
//! `bertlens_core::analysis::probe`, checked against scikit-learn), with
//! its control task; a table in the terminal or the report as JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use bertlens_core::analysis::{probe, ProbeOptions, ProbePool, ProbeReport};
use bertlens_core::DeviceChoice;
use clap::{Args, ValueEnum};

use crate::explain::load;
use crate::rows::SetArgs;

#[derive(Args)]
pub struct ProbeArgs {
    /// The model folder (any task: the probe reads the encoder's layers).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub set: SetArgs,
    /// Every K-th row is a test row: the rows whose index i in the file has i % K == K − 1.
    #[arg(long, value_name = "K", default_value_t = ProbeOptions::default().test_every)]
    pub test_every: usize,
    /// The vector of each layer the probe reads: the mean over every token, or the first token's.
    #[arg(long, value_enum, default_value_t = PoolArg::Mean)]
    pub pool: PoolArg,
    /// Seed of the control task's shuffle of the labels.
    #[arg(long, default_value_t = ProbeOptions::default().seed)]
    pub seed: u64,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PoolArg {
    Mean,
    Cls,
}

pub fn run(args: &ProbeArgs) -> Result<ExitCode, String> {
    crate::rows::use_threads(args.threads)?;
    let options = ProbeOptions {
        test_every: args.test_every,
        pool: match args.pool {
            PoolArg::Mean => ProbePool::Mean,
            PoolArg::Cls => ProbePool::Cls,
        },
        seed: args.seed,
    };
    let rows = args.set.read()?;
    let model = load(&args.model, DeviceChoice::Cpu)?;
    let started = Instant::now();
    eprintln!(
        "bertlens: probing {} rows × {} layers",
        rows.len(),
        model.num_layers() + 1
    );
    let report = probe(&model, &rows, options).map_err(|e| e.to_string())?;
    eprintln!(
        "bertlens: probed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    crate::rows::print_report(args.json, &report, || table(&report))
}

/// The report as a table, each layer's test accuracy drawn as a bar.
fn table(r: &ProbeReport) -> String {
    let mut out = format!(
        "{} rows ({} test: every {} row; {} left out), {} labels: {}\n\
         a probe on {} pooling per layer; always answering the most frequent label scores {:.3}\n\n",
        r.n,
        r.n_test,
        ordinal(r.options.test_every),
        r.skipped,
        r.labels.len(),
        r.labels.join(", "),
        match r.options.pool {
            ProbePool::Mean => "mean",
            ProbePool::Cls => "first-token",
        },
        r.majority_accuracy,
    );
    out.push_str("layer  accuracy  train  control  selectivity\n");
    let best = r
        .layers
        .iter()
        .map(|l| l.accuracy)
        .fold(f64::NEG_INFINITY, f64::max);
    for l in &r.layers {
        let bar = "█".repeat((l.accuracy * 20.0).round() as usize);
        let mark = if l.accuracy == best { "  ← best" } else { "" };
        out.push_str(&format!(
            "{:>5}  {:>8.3}  {:>5.3}  {:>7.3}  {:>11.3}  {bar}{mark}\n",
            l.layer, l.accuracy, l.train_accuracy, l.control_accuracy, l.selectivity
        ));
    }
    out.push_str(
        "\nlayer 0 is the embeddings' output; control: the same probe on shuffled labels \
         (selectivity = accuracy − control)\n",
    );
    out
}

/// 2nd, 3rd, 5th, 11th, 21st…
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

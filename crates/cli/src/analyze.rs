//! `bertlens analyze`: a labelled set (CSV, TSV, JSON Lines or one text per
//! line; a file or standard input) through the model, written as
//! `report.json` and a self-contained `report.html`; with `--shard K/N`
//! only the K-th of N deterministic shards, as `report-K-of-N.json`, for
//! `bertlens merge`.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use bertlens_core::analysis::dataset::{Shard, BLOCK};
use bertlens_core::analysis::faithfulness::{EvalMethod, FaithfulnessOptions, Removal};
use bertlens_core::analysis::{analyze_rows, AnalysisOptions, AnchorOptions, Report, Row};
use bertlens_core::explain::Method;
use bertlens_core::Steps;
use clap::{Args, ValueEnum};

use crate::explain::load;
use crate::merge::write_report;

#[derive(Args)]
pub struct AnalyzeArgs {
    /// The model folder (a sequence classifier).
    #[arg(long)]
    pub model: PathBuf,
    /// The labelled set: a .csv, .tsv, .jsonl or .txt file, or "-" for standard input (JSON Lines unless --format says).
    #[arg(long)]
    pub data: PathBuf,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The column (CSV/TSV header name, JSON key, or 0-based index) of the text (default: text, sentence, utterance, query…).
    #[arg(long)]
    pub text_column: Option<String>,
    /// The column of a second text (sentence pairs).
    #[arg(long)]
    pub pair_column: Option<String>,
    /// The column of the label, a class name or index (default: label, intent, class, category…).
    #[arg(long)]
    pub label_column: Option<String>,
    /// The method that explains each row's prediction ("none": predictions only).
    #[arg(long, value_enum, default_value_t = RowMethod::Saliency)]
    pub method: RowMethod,
    /// Integrated Gradients steps (for --method ig and --faithfulness).
    #[arg(long, default_value = "50")]
    pub n_steps: Steps,
    /// Also evaluate the explanations of every method (ig, saliency, input-x-gradient, rollout, random).
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

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
    Text,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RowMethod {
    Saliency,
    InputXGradient,
    Ig,
    Rollout,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RemovalArg {
    Delete,
    Mask,
    Pad,
}

const TEXT_NAMES: &[&str] = &[
    "text",
    "sentence",
    "utterance",
    "query",
    "question",
    "review",
    "content",
];
const LABEL_NAMES: &[&str] = &[
    "label", "labels", "intent", "class", "category", "target", "y",
];

/// A table's column: by name, else by 0-based index.
fn column(
    header: &[String],
    wanted: Option<&str>,
    defaults: &[&str],
    what: &str,
) -> Result<Option<usize>, String> {
    let Some(name) = wanted else {
        return Ok(defaults
            .iter()
            .find_map(|d| header.iter().position(|h| h.trim().eq_ignore_ascii_case(d))));
    };
    if let Some(i) = header
        .iter()
        .position(|h| h == name || h.trim() == name.trim())
    {
        return Ok(Some(i));
    }
    match name.parse::<usize>() {
        Ok(i) if i < header.len() => Ok(Some(i)),
        _ => Err(format!(
            "the {what} column {name:?} is not in the data; its columns are: {}",
            header.join(", ")
        )),
    }
}

fn format_of(path: &Path, given: Option<Format>) -> Format {
    given.unwrap_or_else(|| {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .as_deref()
        {
            Some("csv") => Format::Csv,
            Some("tsv") | Some("tab") => Format::Tsv,
            Some("txt") => Format::Text,
            _ => Format::Jsonl,
        }
    })
}

fn open(path: &Path) -> Result<Box<dyn Read>, String> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(Box::new(std::io::BufReader::new(f)))
}

/// The rows of the set, numbered from 0 in file order.
pub fn read_rows(args: &AnalyzeArgs) -> Result<Vec<Row>, String> {
    let path = &args.data;
    let shown = path.display();
    let reader = open(path)?;
    let (text_col, pair_col, label_col) = (
        args.text_column.as_deref(),
        args.pair_column.as_deref(),
        args.label_column.as_deref(),
    );
    let mut rows = Vec::new();
    match format_of(path, args.format) {
        Format::Csv | Format::Tsv => {
            let tsv = format_of(path, args.format) == Format::Tsv;
            let mut r = csv::ReaderBuilder::new()
                .delimiter(if tsv { b'\t' } else { b',' })
                .flexible(true)
                .from_reader(reader);
            let header: Vec<String> = r
                .headers()
                .map_err(|e| format!("{shown}: {e}"))?
                .iter()
                .map(str::to_string)
                .collect();
            let text = column(&header, text_col, TEXT_NAMES, "text")?.ok_or_else(|| {
                format!(
                    "{shown}: no text column (looked for {}): name it with --text-column; the columns are: {}",
                    TEXT_NAMES.join(", "),
                    header.join(", ")
                )
            })?;
            let pair = column(&header, pair_col, &[], "pair")?;
            let label = column(&header, label_col, LABEL_NAMES, "label")?;
            for (i, rec) in r.records().enumerate() {
                let rec = rec.map_err(|e| format!("{shown}: {e}"))?;
                let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::to_string);
                rows.push(Row {
                    index: i,
                    text: get(Some(text)).unwrap_or_default(),
                    pair: get(pair).filter(|p| !p.is_empty()),
                    label: get(label).filter(|l| !l.trim().is_empty()),
                });
            }
        }
        Format::Jsonl => {
            let mut cols: Option<(String, Option<String>, Option<String>)> = None;
            for (n, line) in std::io::BufReader::new(reader).lines().enumerate() {
                let line = line.map_err(|e| format!("{shown}:{}: {e}", n + 1))?;
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(&line)
                    .map_err(|e| format!("{shown}:{}: not a JSON object: {e}", n + 1))?;
                let obj = v
                    .as_object()
                    .ok_or_else(|| format!("{shown}:{}: not a JSON object", n + 1))?;
                if cols.is_none() {
                    let keys: Vec<String> = obj.keys().cloned().collect();
                    let pick = |c: Option<usize>| c.map(|i| keys[i].clone());
                    let text =
                        pick(column(&keys, text_col, TEXT_NAMES, "text")?).ok_or_else(|| {
                            format!(
                                "{shown}: no text key (looked for {}): name it with --text-column",
                                TEXT_NAMES.join(", ")
                            )
                        })?;
                    cols = Some((
                        text,
                        pick(column(&keys, pair_col, &[], "pair")?),
                        pick(column(&keys, label_col, LABEL_NAMES, "label")?),
                    ));
                }
                let (t, p, l) = cols.as_ref().expect("set above");
                let as_text = |key: &str| match obj.get(key) {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                };
                rows.push(Row {
                    index: rows.len(),
                    text: as_text(t).unwrap_or_default(),
                    pair: p.as_deref().and_then(as_text),
                    label: l.as_deref().and_then(as_text),
                });
            }
        }
        Format::Text => {
            for line in std::io::BufReader::new(reader).lines() {
                let line = line.map_err(|e| format!("{shown}: {e}"))?;
                rows.push(Row::new(rows.len(), line, None));
            }
        }
    }
    Ok(rows)
}

pub fn options(args: &AnalyzeArgs) -> AnalysisOptions {
    let mut opts = AnalysisOptions {
        method: match args.method {
            RowMethod::Saliency => Some(Method::Saliency),
            RowMethod::InputXGradient => Some(Method::InputXGradient),
            RowMethod::Ig => Some(Method::Ig),
            RowMethod::Rollout => Some(Method::Rollout),
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
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| e.to_string())?;
    }
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    // A shard's report keeps its rows' pooled vectors when --neighbours asks for
    // nearest rows: they are found when the shards merge.
    let opts = options(args);
    let model = load(&args.model)?;
    let rows: Vec<Row> = read_rows(args)?
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
    let report = Report::from_rows(&name, model.labels(), &opts, shard, results);
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

//! `bertlens counterfactual`: the fewest word substitutions that change a
//! classifier's prediction (or make it a class asked for), or move a
//! question-answering model's answer to another span, found by the
//! gradient-guided search of `bertlens_core::explain::counterfactual`;
//! each text listed was run through the model.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use bertlens_core::explain::counterfactual::{
    counterfactuals, Counterfactual, CounterfactualOptions, CounterfactualReport, MAX_EDITS,
};
use bertlens_core::{DeviceChoice, Target};
use clap::Args;

use crate::explain::load;

#[derive(Args)]
pub struct CounterfactualArgs {
    /// The model folder: a sequence classifier, a token classifier (with --token), or a
    /// question-answering model (TEXT the question, --pair the context).
    #[arg(long)]
    pub model: PathBuf,
    /// The class to reach (name or index; default: any class but the predicted one).
    #[arg(long)]
    pub target: Option<String>,
    /// At most this many words replaced (1 to 8).
    #[arg(long, default_value_t = CounterfactualOptions::default().max_edits)]
    pub max_edits: usize,
    /// Texts kept from one number of edits to the next.
    #[arg(long, default_value_t = CounterfactualOptions::default().beam)]
    pub beam: usize,
    /// Substitutions run through the model per text kept (the best first-order estimates).
    #[arg(long, default_value_t = CounterfactualOptions::default().candidates)]
    pub candidates: usize,
    /// At most this many counterfactuals listed.
    #[arg(long, default_value_t = CounterfactualOptions::default().count)]
    pub count: usize,
    /// Token classification: the token whose label is to change, by index (default: the first
    /// token of the highest-scoring entity, as explain's).
    #[arg(long)]
    pub token: Option<usize>,
    /// The second text of a sentence pair, or a question's context (its words can be replaced
    /// too, but for the answer's).
    #[arg(long)]
    pub pair: Option<String>,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The text.
    pub text: String,
}

pub fn run(args: &CounterfactualArgs) -> Result<ExitCode, String> {
    crate::rows::use_threads(args.threads)?;
    let options = CounterfactualOptions {
        target: args.target.as_deref().map(Target::from),
        max_edits: args.max_edits,
        beam: args.beam,
        candidates: args.candidates,
        count: args.count,
        token: args.token,
    };
    let model = load(&args.model, DeviceChoice::Cpu)?;
    let started = Instant::now();
    let report = counterfactuals(&model, &args.text, args.pair.as_deref(), &options)
        .map_err(|e| e.to_string())?;
    eprintln!(
        "bertlens: {} texts run through the model in {:.2} s",
        report.searched.verified,
        started.elapsed().as_secs_f64()
    );
    let texts = [args.text.as_str(), args.pair.as_deref().unwrap_or("")];
    crate::rows::print_report(args.json, &report, || listing(&report, texts))
}

/// The report for a terminal: each text with its edits as `[from → to]`.
fn listing(r: &CounterfactualReport, texts: [&str; 2]) -> String {
    let qa = r.original.answer.is_some();
    let goal = match (&r.target, qa) {
        (Some(t), _) => format!("to make it {t}"),
        (None, true) => "to move the answer to another span".to_string(),
        (None, false) => format!("to change it from {}", r.original.label),
    };
    let what = match (r.token, &r.word, qa) {
        (Some(i), Some(w), _) => format!("labels token {i} ({w:?})"),
        (.., true) => "answers".to_string(),
        _ => "predicts".to_string(),
    };
    let label = match qa {
        true => format!("{:?}", r.original.label),
        false => r.original.label.clone(),
    };
    let mut out = format!(
        "the model {what} {label} ({:.3}); searching {goal}, up to {} of {} replaceable words\n\n",
        r.original.probability, r.options.max_edits, r.searched.words
    );
    for c in &r.counterfactuals {
        out.push_str(&line(c, texts));
    }
    if r.counterfactuals.is_empty() {
        let n = r.options.max_edits;
        out.push_str(&format!(
            "no text of up to {n} edit{} found ({} tried; --max-edits goes up to {MAX_EDITS})\n",
            if n == 1 { "" } else { "s" },
            r.searched.verified
        ));
        if let Some(c) = &r.closest {
            out.push_str("closest:\n");
            out.push_str(&line(c, texts));
        }
    }
    out
}

/// One counterfactual: the original texts with its edits as `[from → to]`, and its prediction.
fn line(c: &Counterfactual, texts: [&str; 2]) -> String {
    let mark = |seq: u8| {
        let chars: Vec<char> = texts[seq as usize].chars().collect();
        let mut s = String::new();
        let mut at = 0;
        for e in c.edits.iter().filter(|e| e.sequence == seq) {
            s.extend(&chars[at..e.start]);
            s.push_str(&format!("[{} → {}]", e.from, e.to));
            at = e.end;
        }
        s.extend(&chars[at..]);
        s
    };
    let mut text = mark(0);
    if c.pair.is_some() {
        text = format!("{text} ‖ {}", mark(1));
    }
    let (label, original) = match &c.answer {
        Some(a) => (format!("answer {:?}", a.text), "answer"),
        None => (c.label.clone(), "class"),
    };
    format!(
        "{text}\n    → {label} ({:.3}; the original {original} now {:.3})\n",
        c.probability, c.original_probability
    )
}

//! `bertlens explain` and `bertlens info`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use bertlens_core::explain::{explain, explain_text_observed, Part, RolloutRow};
use bertlens_core::session::Session;
use bertlens_core::{
    AttributionLayer, Baseline, DeviceChoice, ExplainOptions, Integration, Method, Model,
    ModelFiles, NoiseBase, SaliencyNorm, Steps, TargetOutput, Task,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::{html, render};
use crate::{
    BaselineArg, ColorArg, ExplainArgs, LayerArg, MethodArg, NormArg, NtBaseArg, OutputArg,
    PartArg, RowArg,
};

/// Loads a model folder and places its layers on `device`; what the user
/// should know about either goes to stderr.
pub fn load(dir: &Path, device: DeviceChoice) -> Result<Model, String> {
    let files = ModelFiles::read_dir(dir).map_err(|e| e.to_string())?;
    let model = Model::load(files).map_err(|e| format!("{}: {e}", dir.display()))?;
    for w in model.warnings() {
        eprintln!("bertlens: warning: {}: {w}", dir.display());
    }
    if let Some(notice) = model.place(device).notice {
        eprintln!("bertlens: notice: {notice}");
    }
    Ok(model)
}

pub fn options(args: &ExplainArgs) -> Result<ExplainOptions, String> {
    Ok(ExplainOptions {
        method: args.method.map(|m| match m {
            MethodArg::Ig => Method::Ig,
            MethodArg::Saliency => Method::Saliency,
            MethodArg::InputXGradient => Method::InputXGradient,
            MethodArg::Rollout => Method::Rollout,
            MethodArg::Occlusion => Method::Occlusion,
            MethodArg::Shapley => Method::Shapley,
            MethodArg::AttentionFlow => Method::AttentionFlow,
            MethodArg::SmoothGrad => Method::SmoothGrad,
            MethodArg::VarGrad => Method::VarGrad,
            MethodArg::KernelShap => Method::KernelShap,
            MethodArg::Lime => Method::Lime,
        }),
        target: args.target.clone().map(Into::into),
        contrast: args.contrast.clone().map(Into::into),
        token: args.token,
        part: args.part.map(|p| match p {
            PartArg::Start => Part::Start,
            PartArg::End => Part::End,
        }),
        norm: match args.norm {
            NormArg::L2 => SaliencyNorm::L2,
            NormArg::L1 => SaliencyNorm::L1,
        },
        top_k: args.top.max(1),
        max_length: args
            .max_length
            .unwrap_or(bertlens_core::explain::DEFAULT_MAX_LENGTH),
        doc_stride: args.doc_stride,
        windows: args.windows,
        layer: args.layer.map(|l| match l {
            LayerArg::Embeddings => AttributionLayer::Embeddings,
            LayerArg::WordEmbeddings => AttributionLayer::WordEmbeddings,
        }),
        n_steps: args.n_steps,
        tolerance: args.tolerance,
        integration: Integration::parse(&args.integration).map_err(|e| e.to_string())?,
        baseline: match args.baseline {
            BaselineArg::Pad => Baseline::Pad,
            BaselineArg::PadAll => Baseline::PadAll,
            BaselineArg::Mask => Baseline::Mask,
            BaselineArg::Zero => Baseline::Zero,
        },
        internal_batch_size: args.internal_batch_size,
        output: match args.output {
            OutputArg::Logit => TargetOutput::Logit,
            OutputArg::Probability => TargetOutput::Probability,
        },
        rollout_row: args.rollout_row.map(|r| match r {
            RowArg::Cls => RolloutRow::Cls,
            RowArg::Mean => RolloutRow::Mean,
            RowArg::Token => RolloutRow::Token,
        }),
        words: args.words,
        window: args.window,
        stride: args.stride,
        n_samples: args.n_samples,
        seed: args.seed,
        nt_base: match args.nt_base {
            NtBaseArg::Saliency => NoiseBase::Saliency,
            NtBaseArg::InputXGradient => NoiseBase::InputXGradient,
            NtBaseArg::Ig => NoiseBase::Ig,
        },
        nt_samples: args.nt_samples,
        stdevs: args.stdevs,
    })
}

pub fn run(args: &ExplainArgs) -> Result<ExitCode, String> {
    let mut opts = options(args)?;
    let model = load(&args.model, args.device.into())?;
    // A long text read in windows: of the model's own length unless asked otherwise, as the page
    // reads it (question answering keeps the pipeline's 384).
    if args.windows && args.max_length.is_none() && model.task() != Task::QuestionAnswering {
        opts.max_length = model.tokenizer().max_tokens();
    }
    if let Err(e) = opts.check(model.task()) {
        // A usage error, as clap's are: the options do not fit this model's task.
        eprintln!("bertlens: {e} (this model is a {} model)", model.task());
        return Ok(ExitCode::from(2));
    }
    let qa = model.task() == Task::QuestionAnswering;
    if let Some(path) = &args.batch {
        if qa {
            return Err(
                "--batch reads one text per line; a question-answering model needs \
                        --question and --context"
                    .into(),
            );
        }
        return batch(&model, path, args.pair.as_deref(), &opts);
    }
    let (text, pair) = match (&args.question, &args.context) {
        (Some(q), Some(c)) if qa => (q.as_str(), Some(c.as_str())),
        (Some(_), _) => {
            return Err(format!(
            "--question and --context are for question-answering models; this one is a {} model",
            model.task()
        ))
        }
        _ if qa => {
            return Err("a question-answering model takes --question and --context".into());
        }
        _ => (
            args.text.as_deref().unwrap_or_default(),
            args.pair.as_deref(),
        ),
    };
    let mut e = explain_with_progress(&model, text, pair, &opts).map_err(|e| e.to_string())?;
    if args.lens {
        // The lens reads the input the explanation is of (a long context: its best window; a
        // long text read in windows: the text as cut, its first window at the model's length).
        let session =
            Session::prepare(&model, text, pair, &opts, false).map_err(|e| e.to_string())?;
        e.lens = Some(
            session
                .lens(&model, opts.top_k)
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(path) = &args.html {
        let json = serde_json::to_string(&e).map_err(|e| e.to_string())?;
        // With --lens, the figure draws the lens too (from the JSON it carries).
        let view = if args.lens { "all lens" } else { "all" };
        let mut attrs = vec![("view", view)];
        if qa {
            attrs.extend([("question", text), ("context", pair.unwrap_or_default())]);
        } else {
            attrs.push(("text", text));
            if let Some(p) = pair {
                attrs.push(("pair", p));
            }
        }
        if args.words {
            attrs.push(("words", ""));
        }
        let name = args.model.file_name().unwrap_or(args.model.as_os_str());
        let short: String = text.chars().take(80).collect();
        let more = if short.len() < text.len() { "…" } else { "" };
        let heading = format!("bertlens: {} on “{short}{more}”", name.to_string_lossy());
        std::fs::write(path, html::page(&heading, &attrs, &json))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("bertlens: wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&e).map_err(|e| e.to_string())?);
    } else {
        let color = match args.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let texts = [text, pair.unwrap_or("")];
        print!("{}", render::explanation(&e, texts, args.top, color));
    }
    Ok(ExitCode::SUCCESS)
}

/// [`explain`], with a progress bar on stderr while Integrated Gradients'
/// steps run, when stderr is a terminal (indicatif draws nothing otherwise).
fn explain_with_progress(
    model: &Model,
    text: &str,
    pair: Option<&str>,
    opts: &ExplainOptions,
) -> bertlens_core::Result<bertlens_core::Explanation> {
    let task = model.task();
    // IG, alone or on each of a noise tunnel's samples.
    let method = opts.method_for(task);
    let runs = match method {
        Method::Ig => 1,
        Method::SmoothGrad | Method::VarGrad if opts.nt_base == NoiseBase::Ig => opts.nt_samples,
        _ => return explain(model, text, pair, opts),
    };
    let parts = if task == Task::QuestionAnswering && opts.part.is_none() {
        2
    } else {
        1
    };
    let bar = match opts.n_steps {
        Steps::Fixed(n) => ProgressBar::new((n * parts * runs) as u64).with_style(
            ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} steps, {eta} left")
                .expect("a valid template"),
        ),
        Steps::Auto => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{msg} {spinner} {pos} steps").expect("a valid template"),
        ),
    }
    .with_message("Integrated Gradients");
    bar.set_draw_target(ProgressDrawTarget::stderr());
    let e = explain_text_observed(model, text, pair, opts, &|n| bar.inc(n as u64));
    bar.finish_and_clear();
    e
}

/// One JSON line per input line, in order; a line that fails gives
/// `{"line": n, "error": "…"}` and the run goes on, exiting 1 at the end.
fn batch(
    model: &Model,
    path: &Path,
    pair: Option<&str>,
    opts: &ExplainOptions,
) -> Result<ExitCode, String> {
    let mut reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0usize;
    let mut bytes = Vec::new();
    for n in 1.. {
        bytes.clear();
        let read = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| format!("{}:{n}: {e}", path.display()))?;
        if read == 0 {
            break;
        }
        let raw = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // A line that is not UTF-8 is that line's error; the others go on.
        let line = match std::str::from_utf8(raw) {
            Ok(line) => line,
            Err(e) => {
                failed += 1;
                let record = json!({
                    "line": n,
                    "text": String::from_utf8_lossy(raw),
                    "error": format!(
                        "the line is not valid UTF-8 (byte {} of the line is not); save the \
                         file as UTF-8",
                        e.valid_up_to() + 1
                    ),
                });
                writeln!(out, "{record}").map_err(|e| e.to_string())?;
                continue;
            }
        };
        let record = match explain(model, line, pair, opts) {
            Ok(e) => {
                let mut v = serde_json::to_value(&e).map_err(|e| e.to_string())?;
                v["line"] = json!(n);
                v["text"] = json!(line);
                v
            }
            Err(e) => {
                failed += 1;
                json!({ "line": n, "text": line, "error": e.to_string() })
            }
        };
        writeln!(out, "{record}").map_err(|e| e.to_string())?;
    }
    if failed > 0 {
        eprintln!("bertlens: {failed} line(s) could not be explained (see their \"error\")");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn info(dir: &Path, as_json: bool) -> Result<ExitCode, String> {
    let model = load(dir, DeviceChoice::Cpu)?;
    let cfg = model.config();
    let mut info = json!({
        "model_type": cfg.model_type,
        "architecture": cfg.architecture,
        "task": model.task(),
        "mask_token": model.tokenizer().mask_token(),
        "warnings": model.warnings(),
        "layers": model.num_layers(),
        "heads": model.num_heads(),
        "hidden_size": model.hidden_size(),
        "max_tokens": model.tokenizer().max_tokens(),
        "output": model.output(),
        "labels": model.labels(),
        "max_n_steps": bertlens_core::MAX_N_STEPS,
        "attention": bertlens_core::families::attention_of(&cfg.model_type),
        "devices": DeviceChoice::NAMES,
    });
    // The core's vocabulary: the methods (what each is, needs and reads), the defaults.
    if let (Some(info), serde_json::Value::Object(words)) = (
        info.as_object_mut(),
        serde_json::to_value(bertlens_core::vocabulary()).map_err(|e| e.to_string())?,
    ) {
        info.extend(words);
    }
    if as_json {
        println!("{info}");
    } else {
        let classes = match model.task() {
            Task::SequenceClassification => {
                format!(", {} classes ({:?})", model.labels().len(), model.output())
            }
            Task::TokenClassification => format!(", {} labels per token", model.labels().len()),
            _ => String::new(),
        };
        println!(
            "{} ({}, {}): {} layers, {} heads, hidden size {}, up to {} tokens{classes}",
            dir.display(),
            cfg.architecture.as_deref().unwrap_or(&cfg.model_type),
            model.task(),
            model.num_layers(),
            model.num_heads(),
            model.hidden_size(),
            model.tokenizer().max_tokens(),
        );
        if matches!(
            model.task(),
            Task::SequenceClassification | Task::TokenClassification
        ) {
            for (i, l) in model.labels().iter().enumerate() {
                println!("  {i:>4}  {l}");
            }
        }
        if let Some(mask) = model
            .tokenizer()
            .mask_token()
            .filter(|_| model.task() == Task::FillMask)
        {
            println!("  mask token: {mask}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

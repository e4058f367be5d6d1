//! `bertlens`: explain a text classifier's prediction in the terminal, over
//! a file of texts, or serve the page that does it in the browser.

mod analyze;
mod bench;
mod counterfactual;
mod explain;
mod html;
mod merge;
mod probe;
mod render;
mod rows;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use bertlens_core::Steps;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "bertlens",
    version,
    about = "Explain BERT-family models (classifiers, question answering, token classification, \
             fill-mask, bare encoders): which tokens pushed the prediction where"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Predict and attribute a text (or each line of a file) to its tokens.
    Explain(ExplainArgs),
    /// Run a labelled set (CSV, TSV, JSON Lines) through a classifier: errors, words per
    /// class, nearest rows, faithfulness; writes report.json and report.html.
    Analyze(analyze::AnalyzeArgs),
    /// Which layer knows a property of the text: a linear probe per layer on a labelled set,
    /// with a control task (labels shuffled).
    Probe(probe::ProbeArgs),
    /// What would change the prediction: the fewest word substitutions that make a classifier
    /// predict another class (or --target), found by a gradient-guided beam search (HotFlip).
    Counterfactual(counterfactual::CounterfactualArgs),
    /// Merge shard reports (`analyze --shard K/N`) into the report of the whole set.
    Merge {
        /// The shard reports (report-K-of-N.json).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// The folder to write report.json and report.html to.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Describe a model: architecture, task, sizes, classes.
    Info {
        /// The model folder (config.json, tokenizer.json, weights, optional head.json).
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Time a forward pass, saliency and Integrated Gradients on this machine (JSON).
    Bench {
        /// The model folder.
        #[arg(long)]
        model: PathBuf,
        /// Where saliency's and Integrated Gradients' passes run (as `explain --device`).
        #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
        device: DeviceArg,
        /// Threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Input lengths in tokens, special tokens included.
        #[arg(long, value_delimiter = ',', default_value = "20,120")]
        tokens: Vec<usize>,
        /// Timed runs per measurement (the median is reported, after a warm-up run).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Integrated Gradients steps.
        #[arg(long, default_value_t = 50)]
        n_steps: usize,
    },
    /// Serve the page (www/) on the loopback interface.
    Serve {
        /// The folder to serve.
        #[arg(long, default_value = "www")]
        dir: PathBuf,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The address to bind; only loopback addresses are accepted.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The model folder (config.json, tokenizer.json, weights, optional head.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Where the layers' passes run: auto takes a hardware GPU (Vulkan, Metal, DX12) when
    /// there is one that runs the model; gpu takes any adapter, software ones too.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// What to explain: a class (name or index; default: the predicted one); for
    /// token classification a label; for fill-mask a filler token or its id.
    #[arg(long)]
    pub target: Option<String>,
    /// Explain the target's score minus this one's ("why this rather than that"): a class (name
    /// or index), a token's label, a filler; for question answering another token's index (a
    /// start, or an end with --part end, against the answer's).
    #[arg(long)]
    pub contrast: Option<String>,
    /// The attribution method (default: ig; rollout for a bare encoder, which also takes attention-flow).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Token classification: the token to explain (default: the first token of the
    /// highest-scoring entity). Fill-mask: which mask, by token index (default: the first).
    #[arg(long)]
    pub token: Option<usize>,
    /// Question answering: the question (with --context).
    #[arg(long, requires = "context", conflicts_with_all = ["text", "pair", "batch"])]
    pub question: Option<String>,
    /// Question answering: the context the answer is cut from (with --question).
    #[arg(long, requires = "question")]
    pub context: Option<String>,
    /// Question answering (and --windows): a context longer than this many tokens (the question's
    /// and the special tokens included; at most the model's positions) is read in windows, as
    /// transformers' question-answering pipeline read them; the answer is the best span of all
    /// windows. Default: 384 for question answering; with --windows, the model's own length (as
    /// the page reads it).
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Question answering (and --windows): tokens each window shares with the one before (at
    /// most half a window).
    #[arg(long, default_value_t = bertlens_core::explain::DEFAULT_DOC_STRIDE)]
    pub doc_stride: usize,
    /// Sequence and token classification, fill-mask: read a text longer than --max-length tokens
    /// in overlapping windows instead of cutting it: a prediction per window, their mean for the
    /// text (for each token, each mask), and each token's attribution the mean over the windows
    /// that hold it (--token: an index into the whole text's tokens).
    #[arg(long, conflicts_with = "pair")]
    pub windows: bool,
    /// Question answering: explain only the answer's start or its end (default: both).
    #[arg(long, value_enum)]
    pub part: Option<PartArg>,
    /// Saliency's norm over the hidden dimension: l2 (‖∂F/∂x‖) or l1 (Σ|∂F/∂x|).
    #[arg(long, value_enum, default_value_t = NormArg::L2)]
    pub norm: NormArg,
    /// Where to attribute (default: embeddings for ig, occlusion and shapley, word-embeddings for
    /// saliency and input-x-gradient; smoothgrad and vargrad: their --nt-base's).
    #[arg(long, value_enum)]
    pub layer: Option<LayerArg>,
    /// Integrated Gradients steps, or "auto": as few as keep the convergence delta within --tolerance.
    #[arg(long, default_value = "50")]
    pub n_steps: Steps,
    /// With --n-steps auto: the largest |delta| / |F(x) − F(x′)| accepted.
    #[arg(long, default_value_t = 0.01)]
    pub tolerance: f64,
    /// Integrated Gradients quadrature.
    #[arg(long, default_value = "gausslegendre",
          value_parser = ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"])]
    pub integration: String,
    /// The baseline: of Integrated Gradients, and the tokens occlusion, shapley, kernel-shap
    /// and lime put in place of the removed ones (special tokens are never removed).
    #[arg(long, value_enum, default_value_t = BaselineArg::Pad)]
    pub baseline: BaselineArg,
    /// Steps per forward/backward pass (default: as many as fit in memory).
    #[arg(long)]
    pub internal_batch_size: Option<usize>,
    /// Attribute the target's logit or its probability.
    #[arg(long, value_enum, default_value_t = OutputArg::Logit)]
    pub output: OutputArg,
    /// Which rollout row is the per-token score, or which position attention flow goes into
    /// (default: cls for sequence-level heads, the explained token's for per-token heads).
    #[arg(long, value_enum)]
    pub rollout_row: Option<RowArg>,
    /// Also merge wordpiece scores into words; for occlusion, shapley, kernel-shap and lime,
    /// each word is one feature (removed whole).
    #[arg(long)]
    pub words: bool,
    /// Also apply the head to every layer's hidden states (the lens on every layer):
    /// class probabilities, the first mask's fillers, each token's label or the best
    /// answer per layer, from the embeddings' output (layer 0) to the last. A long text read
    /// with --windows: the lens reads the text as cut at the model's length (the first window
    /// at the default --max-length), as the page's does.
    #[arg(long, conflicts_with = "batch")]
    pub lens: bool,
    /// Occlusion: features (tokens, or words with --words) per window (Captum's
    /// sliding_window_shapes); 1 is feature ablation.
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// Occlusion: features from one window to the next (Captum's strides).
    #[arg(long, default_value_t = 1)]
    pub stride: usize,
    /// Shapley: permutations to sample (default: exact Shapley values up to 12 features,
    /// else 25 permutations, Captum's ShapleyValueSampling). kernel-shap and lime: coalitions
    /// to sample (default 25, Captum's).
    #[arg(long)]
    pub n_samples: Option<usize>,
    /// Shapley, kernel-shap and lime: the seed of the samples; smoothgrad and vargrad: of the
    /// noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Smoothgrad and vargrad: the method run on each noisy input (at its own default layer).
    #[arg(long, value_enum, default_value_t = NtBaseArg::Saliency)]
    pub nt_base: NtBaseArg,
    /// Smoothgrad and vargrad: noisy inputs (Captum's nt_samples).
    #[arg(long, default_value_t = bertlens_core::attribution::noise::DEFAULT_NT_SAMPLES)]
    pub nt_samples: usize,
    /// Smoothgrad and vargrad: the standard deviation of the Gaussian noise added to the
    /// activation at the layer, absolute (Captum's stdevs; embeddings are of order 0.1–1, so
    /// 1.0 is strong noise: try 0.1–0.3 for a gentler smoothing).
    #[arg(long, default_value_t = bertlens_core::attribution::noise::DEFAULT_STDEVS)]
    pub stdevs: f64,
    /// Print one JSON object (JSON Lines with --batch).
    #[arg(long)]
    pub json: bool,
    /// Also write the explanation as one self-contained HTML file (the page's own figure, inlined;
    /// opens offline).
    #[arg(long, value_name = "FILE", conflicts_with = "batch")]
    pub html: Option<PathBuf>,
    /// The second text of a sentence pair.
    #[arg(long)]
    pub pair: Option<String>,
    /// Explain every line of FILE ("-" for standard input); prints JSON Lines.
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub batch: Option<PathBuf>,
    /// How many classes, answers or fillers to list.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Colour the output: auto (when a terminal and NO_COLOR is unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// The text to explain.
    #[arg(required_unless_present_any = ["batch", "question"])]
    pub text: Option<String>,
}

/// Where the encoder's layers run (`--device`).
#[derive(Clone, Copy, Default, ValueEnum)]
pub enum DeviceArg {
    /// A hardware GPU when there is one that runs the model, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// The GPU, a software adapter too; the CPU with a notice when there is none.
    Gpu,
}

impl From<DeviceArg> for bertlens_core::DeviceChoice {
    fn from(d: DeviceArg) -> Self {
        match d {
            DeviceArg::Auto => Self::Auto,
            DeviceArg::Cpu => Self::Cpu,
            DeviceArg::Gpu => Self::Gpu,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum MethodArg {
    Ig,
    Saliency,
    InputXGradient,
    Rollout,
    /// Captum's Occlusion (--window, --stride); with window 1, FeatureAblation.
    Occlusion,
    /// Shapley values: exact up to 12 features, else sampled (--n-samples, --seed).
    Shapley,
    /// Attention flow (Abnar & Zuidema 2020): max-flow through the attention graph (--rollout-row).
    AttentionFlow,
    /// SmoothGrad: Captum's NoiseTunnel, the mean of --nt-base over --nt-samples noisy inputs.
    #[value(name = "smoothgrad")]
    SmoothGrad,
    /// VarGrad: the variance of --nt-base over --nt-samples noisy inputs.
    #[value(name = "vargrad")]
    VarGrad,
    /// Captum's KernelShap: a weighted linear fit over sampled coalitions (--n-samples, --seed).
    KernelShap,
    /// Captum's Lime: a Lasso fit over coalitions weighted by their cosine similarity
    /// (--n-samples, --seed).
    Lime,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum NtBaseArg {
    Saliency,
    InputXGradient,
    Ig,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LayerArg {
    Embeddings,
    WordEmbeddings,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum BaselineArg {
    Pad,
    PadAll,
    Mask,
    Zero,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutputArg {
    Logit,
    Probability,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RowArg {
    Cls,
    Mean,
    Token,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PartArg {
    Start,
    End,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum NormArg {
    L2,
    L1,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so a closed pipe (`bertlens … | head`) would make
    // println! panic; the default ends the process quietly, as for other tools.
    #[cfg(unix)]
    // SAFETY: called first, before any thread starts; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(args) => explain::run(&args),
        Command::Analyze(args) => analyze::run(&args),
        Command::Probe(args) => probe::run(&args),
        Command::Counterfactual(args) => counterfactual::run(&args),
        Command::Merge { reports, out } => merge::run(&reports, &out),
        Command::Info { model, json } => explain::info(&model, json),
        Command::Serve { dir, port, host } => serve::run(&dir, &host, port),
        Command::Bench {
            model,
            device,
            threads,
            tokens,
            runs,
            n_steps,
        } => bench::run(
            &model,
            device.into(),
            threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            &tokens,
            runs,
            n_steps,
        ),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("bertlens: {message}");
            ExitCode::FAILURE
        }
    }
}

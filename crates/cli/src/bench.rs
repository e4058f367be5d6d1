//! `bertlens bench`: how long this machine takes for a forward pass,
//! saliency and Integrated Gradients on a model, at given input lengths.
//! `make bench` runs it beside the browser and Captum (tests/bench/).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use bertlens_core::attribution::gradient::saliency;
use bertlens_core::attribution::ig::{integrated_gradients, IgOptions};
use bertlens_core::attribution::{ForwardFunc, Scalar};
use bertlens_core::engine::Rows;
use bertlens_core::{AttributionLayer, Model, SaliencyNorm, Steps, TargetOutput};
use serde_json::json;

use crate::explain::load;
use bertlens_core::DeviceChoice;

/// Words the benchmark's texts are made of (an intent-classifier's kind of sentence).
const WORDS: &str = "my card was declined at the grocery store yesterday and i need to know \
    why the bank blocked it because i have enough money in my checking account please help \
    me sort this out before the weekend since i am travelling to lisbon on saturday";

/// A text of exactly `tokens` tokens (special tokens included), or the
/// longest the words give.
pub fn text_of(model: &Model, tokens: usize) -> String {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut text = String::new();
    for w in words.iter().cycle().take(4 * tokens) {
        let next = if text.is_empty() {
            w.to_string()
        } else {
            format!("{text} {w}")
        };
        match model.tokenize(&next, None) {
            Ok(t) if t.len() <= tokens && !t.truncated => text = next,
            _ => break,
        }
    }
    text
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Milliseconds of `f`, median of `runs` after one warm-up run.
fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..runs.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// The peak resident memory of this process, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn run(
    dir: &Path,
    device: DeviceChoice,
    threads: usize,
    lengths: &[usize],
    runs: usize,
    n_steps: usize,
) -> Result<ExitCode, String> {
    let model = load(dir, device)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for &tokens in lengths {
        let text = text_of(&model, tokens);
        let input = model.tokenize(&text, None).map_err(|e| e.to_string())?;
        let class = model.predict(&input).map_err(|e| e.to_string())?.predicted;
        let scalar = Scalar {
            rows: Rows::Pooled,
            contrast: None,
            class,
            output: TargetOutput::Logit,
        };
        let f = |layer| ForwardFunc::new(&model, &input, layer, scalar).map_err(|e| e.to_string());
        let (words, embeddings) = (
            f(AttributionLayer::WordEmbeddings)?,
            f(AttributionLayer::Embeddings)?,
        );
        let baseline = IgOptions::default()
            .baseline
            .ids(&model, &input)
            .map_err(|e| e.to_string())?;
        let ig_of = |opts: &IgOptions| {
            integrated_gradients(&embeddings, &input.ids, baseline.as_deref(), opts).expect("ig")
        };
        let (forward, sal, ig, ig_auto, auto_steps) = pool.install(|| {
            let forward = time(runs, || {
                model.predict(&input).expect("predicts");
            });
            let sal = time(runs, || {
                saliency(&words, &input.ids, SaliencyNorm::L2).expect("saliency");
            });
            let opts = IgOptions {
                n_steps: n_steps.into(),
                ..Default::default()
            };
            let ig = time(runs, || {
                ig_of(&opts);
            });
            let auto = IgOptions {
                n_steps: Steps::Auto,
                ..Default::default()
            };
            let mut auto_steps = 0;
            let ig_auto = time(runs, || {
                auto_steps = ig_of(&auto).n_steps;
            });
            (forward, sal, ig, ig_auto, auto_steps)
        });
        results.push(json!({
            "tokens": input.len(),
            "text": text,
            "forward_ms": forward,
            "saliency_ms": sal,
            "ig_ms": ig,
            "n_steps": n_steps,
            "ig_auto_ms": ig_auto,
            "auto_steps": auto_steps,
        }));
    }
    println!(
        "{}",
        json!({
            "engine": "bertlens native",
            // Where saliency's and Integrated Gradients' passes ran (the forward
            // pass of `forward_ms` is the CPU engine's).
            "device": model.device(),
            "threads": threads,
            "runs": runs,
            "peak_rss_bytes": peak_rss(),
            "results": results,
        })
    );
    Ok(ExitCode::SUCCESS)
}

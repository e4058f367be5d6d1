//! The terminal view of an explanation: the task's prediction (top classes,
//! entities, the answer, the fillers of each mask), then for each explained
//! scalar the text with each token's background coloured by its attribution
//! (green positive, red negative, as Captum's `visualize_text`), and a
//! per-token bar chart.

use std::fmt::Write;

use bertlens_core::attribution::ablation::{FeatureUnit, PerturbationReport};
use bertlens_core::explain::lens::LensLayer;
use bertlens_core::explain::{Attribution, IgReport, Method, NoiseReport, Word};
use bertlens_core::{AttributionLayer, Baseline, Explanation, NoiseBase, TargetOutput, Task};

const BAR: usize = 24;

/// A token as the user typed it (the text span), or the vocabulary's
/// spelling for special tokens.
fn display(e: &Explanation, i: usize, texts: [&str; 2]) -> String {
    let [a, b] = e.offsets[i];
    match e.sequence_ids[i] {
        Some(s) if b > a => {
            let span: String = texts[s as usize].chars().skip(a).take(b - a).collect();
            let continues = i > 0 && e.word_ids[i].is_some() && e.word_ids[i] == e.word_ids[i - 1];
            if continues {
                format!("·{span}")
            } else {
                span
            }
        }
        _ => e.tokens[i].clone(),
    }
}

/// Captum's palette (`visualize_text`'s `_get_color`): green for positive,
/// red for negative, lightness `100 − int(50·w)` or `100 − int(40·|w|)` percent.
fn background(weight: f32) -> (u8, u8, u8) {
    let w = weight.clamp(-1.0, 1.0);
    let (hue, lightness) = if w > 0.0 {
        (120.0, 100 - (50.0 * w) as i32)
    } else {
        (0.0, 100 - (-40.0 * w) as i32)
    };
    hsl(hue, 0.75, lightness as f32 / 100.0)
}

fn hsl(h: f32, s: f32, l: f32) -> (u8, u8, u8) {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = l - c / 2.0;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let to = |v: f32| ((v + m) * 255.0).round() as u8;
    (to(r), to(g), to(b))
}

fn paint(s: &str, weight: f32, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let (r, g, b) = background(weight);
    format!("\x1b[48;2;{r};{g};{b}m\x1b[38;2;0;0;0m{s}\x1b[0m")
}

/// One attributed scalar, whichever part of an explanation holds it.
struct Block<'a> {
    title: Option<&'a str>,
    target_label: &'a str,
    contrast_label: Option<&'a str>,
    score: Option<f32>,
    delta: Option<f32>,
    ig: Option<&'a IgReport>,
    perturbation: Option<&'a PerturbationReport>,
    noise: Option<&'a NoiseReport>,
    attributions: &'a [f32],
    words: Option<&'a Vec<Word>>,
}

impl<'a> Block<'a> {
    fn top(e: &'a Explanation) -> Self {
        Self {
            title: None,
            target_label: e.target_label.as_deref().unwrap_or(""),
            contrast_label: e.contrast_label.as_deref(),
            score: e.score,
            delta: e.delta,
            ig: e.ig.as_ref(),
            perturbation: e.perturbation.as_ref(),
            noise: e.noise.as_ref(),
            attributions: &e.attributions,
            words: e.words.as_ref(),
        }
    }

    fn part(title: &'a str, a: &'a Attribution) -> Self {
        Self {
            title: Some(title),
            target_label: &a.target_label,
            contrast_label: a.contrast_label.as_deref(),
            score: a.score,
            delta: a.delta,
            ig: a.ig.as_ref(),
            perturbation: a.perturbation.as_ref(),
            noise: a.noise.as_ref(),
            attributions: &a.attributions,
            words: a.words.as_ref(),
        }
    }
}

fn method_sentence(e: &Explanation, b: &Block) -> String {
    let what = match e.output {
        TargetOutput::Logit => "logit",
        TargetOutput::Probability => "probability",
    };
    let layer = match e.layer {
        Some(AttributionLayer::Embeddings) => "the embeddings block's output",
        Some(AttributionLayer::WordEmbeddings) => "the word embeddings",
        None => "",
    };
    // "positive's logit", "the start logit at token 13 (\",\")", "B-PER's logit at token 2 (\"john\")"
    let at = |t: usize| format!(" at token {t} ({:?})", e.tokens[t]);
    let target = match (e.task, e.token) {
        (Task::QuestionAnswering, Some(t)) => format!("the {} {what}{}", b.target_label, at(t)),
        (Task::TokenClassification | Task::FillMask, Some(t)) => {
            format!("{:?}'s {what}{}", b.target_label, at(t))
        }
        _ => format!("{}'s {what}", b.target_label),
    };
    // "positive's logit minus negative's": why this rather than that.
    let target = match (b.contrast_label, e.task) {
        (Some(c), Task::QuestionAnswering) => format!("{target} minus the {c}"),
        (Some(c), Task::SequenceClassification) => format!("{target} minus {c}'s"),
        (Some(c), _) => format!("{target} minus {c:?}'s"),
        (None, _) => target,
    };
    match (e.method, b.ig) {
        (Method::Ig, Some(ig)) => format!(
            "Integrated Gradients of {target}, at {layer}: {n} {q} steps{auto} from a {base} baseline",
            n = ig.n_steps,
            q = ig.integration.name(),
            auto = if ig.auto { " (auto)" } else { "" },
            base = baseline_name(ig.baseline),
        ),
        (Method::Saliency, _) => format!("Gradient saliency (the norm of ∂F/∂x) of {target}, at {layer}"),
        (Method::InputXGradient, _) => format!("Input × gradient of {target}, at {layer}"),
        (Method::Occlusion | Method::Shapley | Method::KernelShap | Method::Lime, _) => {
            perturbation_sentence(e.method, &target, b)
        }
        (Method::AttentionFlow, _) => "Attention flow (Abnar & Zuidema 2020): each input token's \
                                       maximum flow through the layered attention graph"
            .to_string(),
        (Method::SmoothGrad | Method::VarGrad, _) => noise_sentence(e.method, &target, layer, b),
        _ => "Attention rollout (Abnar & Zuidema 2020)".to_string(),
    }
}

/// SmoothGrad's or VarGrad's sentence: the base method, the noise and how it ran.
fn noise_sentence(method: Method, target: &str, layer: &str, b: &Block) -> String {
    let Some(n) = b.noise else {
        return format!("{method:?} of {target}");
    };
    let (name, of) = match method {
        Method::VarGrad => ("VarGrad", "variance"),
        _ => ("SmoothGrad", "mean"),
    };
    let base = match (n.base, b.ig) {
        (NoiseBase::Saliency, _) => "gradient saliency".to_string(),
        (NoiseBase::InputXGradient, _) => "input × gradient".to_string(),
        (NoiseBase::Ig, Some(ig)) => format!(
            "Integrated Gradients ({} {} steps from a {} baseline)",
            ig.n_steps,
            ig.integration.name(),
            baseline_name(ig.baseline)
        ),
        (NoiseBase::Ig, None) => "Integrated Gradients".to_string(),
    };
    let mut s = format!(
        "{name} of {target}, at {layer}: the {of} of {base} over {k} inputs with Gaussian noise \
         (σ = {sd}, seed {seed}); E[F(x̃)] = {mean:.4}",
        k = n.nt_samples,
        sd = n.stdevs,
        seed = n.seed,
        mean = n.mean_score,
    );
    if let Some(d) = n.mean_delta {
        s.push_str(&format!(", mean convergence delta {d:+.2e}"));
    }
    s
}

/// A perturbation method's sentence: what was removed, how, and how often.
fn perturbation_sentence(method: Method, target: &str, b: &Block) -> String {
    let Some(p) = b.perturbation else {
        return format!("{method:?} of {target}");
    };
    let unit = match p.unit {
        FeatureUnit::Token => "tokens",
        FeatureUnit::Word => "words",
    };
    let base = match p.baseline {
        Baseline::Pad | Baseline::PadAll => "[PAD]",
        Baseline::Mask => "[MASK]",
        Baseline::Zero => "zero activations",
    };
    let how = match (method, p.window, p.stride, p.exact) {
        (Method::Occlusion, Some(1), Some(1), _) => "Feature ablation".to_string(),
        (Method::Occlusion, Some(w), Some(s), _) => {
            format!("Occlusion (windows of {w}, stride {s})")
        }
        (_, _, _, Some(true)) => "Exact Shapley values (every coalition)".to_string(),
        (Method::KernelShap, ..) => format!(
            "KernelSHAP ({} sampled coalitions, seed {}; weighted least squares)",
            p.n_samples.unwrap_or(0),
            p.seed.unwrap_or(0)
        ),
        (Method::Lime, ..) => format!(
            "LIME ({} sampled coalitions, seed {}; Lasso α = 0.01, cosine kernel)",
            p.n_samples.unwrap_or(0),
            p.seed.unwrap_or(0)
        ),
        _ => format!(
            "Shapley value sampling ({} permutations, seed {})",
            p.n_samples.unwrap_or(0),
            p.seed.unwrap_or(0)
        ),
    };
    let mut s = format!(
        "{how} of {target}: {n} {unit} replaced by {base}, {e} inputs scored",
        n = p.features,
        e = p.evaluations
    );
    if let Some(note) = &p.note {
        s.push_str(&format!("\nnote: {note}"));
    }
    s
}

fn baseline_name(b: Baseline) -> &'static str {
    match b {
        Baseline::Pad => "[PAD]",
        Baseline::PadAll => "all-[PAD]",
        Baseline::Mask => "[MASK]",
        Baseline::Zero => "zero",
    }
}

/// A bar of `p` (0..1) of `BAR` cells.
fn bar(p: f32) -> String {
    let filled = ((p * BAR as f32).round() as usize).min(BAR);
    format!("{}{}", "█".repeat(filled), "░".repeat(BAR - filled))
}

/// What the model predicted, by task.
fn prediction(out: &mut String, e: &Explanation, top: usize) {
    match e.task {
        Task::SequenceClassification => {
            let mut order: Vec<usize> = (0..e.probabilities.len()).collect();
            order.sort_by(|&a, &b| e.probabilities[b].total_cmp(&e.probabilities[a]));
            let width = order
                .iter()
                .take(top)
                .map(|&i| e.labels[i].chars().count())
                .max()
                .unwrap_or(0);
            if let Some(p) = e.predicted {
                let _ = writeln!(
                    out,
                    "prediction: {} ({:.1}%)",
                    e.labels[p],
                    100.0 * e.probabilities[p]
                );
            }
            for &i in order.iter().take(top.max(1)) {
                let mark = if Some(i) == e.target {
                    "◀ target"
                } else if Some(i) == e.contrast {
                    "◀ versus"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "  {:<width$}  {}  {:>5.1}%  {mark}",
                    e.labels[i],
                    bar(e.probabilities[i]),
                    100.0 * e.probabilities[i],
                );
            }
            // A long text, read in windows: each window's prediction.
            if let Some(windows) = &e.windows {
                let _ = writeln!(
                    out,
                    "read in {} windows of up to {} tokens (the prediction is their mean; a \
                     token's attribution, the mean over the windows that hold it):",
                    windows.len(),
                    windows.iter().map(|w| w.tokens).max().unwrap_or(0),
                );
                for (k, w) in windows.iter().enumerate() {
                    let (Some(p), Some(probabilities)) = (w.predicted, &w.probabilities) else {
                        continue;
                    };
                    let _ = writeln!(
                        out,
                        "  window {}: characters {}–{}: {} ({:.1}%)",
                        k + 1,
                        w.start,
                        w.end,
                        e.labels[p],
                        100.0 * probabilities[p]
                    );
                }
            }
        }
        Task::TokenClassification => {
            let entities = e.entities.as_deref().unwrap_or_default();
            let _ = writeln!(
                out,
                "entities: {}",
                if entities.is_empty() { "none" } else { "" }
            );
            for en in entities {
                let _ = writeln!(
                    out,
                    "  {:<8} {:?} (characters {}–{}, {:.1}%)",
                    en.entity_group,
                    en.word,
                    en.start,
                    en.end,
                    100.0 * en.score
                );
            }
            if let (Some(t), Some(labels)) = (e.token, &e.token_labels) {
                let _ = writeln!(
                    out,
                    "token {t} ({}) is {} ({:.1}%)",
                    e.tokens[t],
                    labels[t].label,
                    100.0 * labels[t].score
                );
            }
            windows_holding(
                out,
                e,
                "each token's labels are the mean over the windows that hold it",
            );
        }
        Task::QuestionAnswering => match &e.answer {
            Some(a) => {
                let _ = writeln!(
                    out,
                    "answer: {:?} ({:.1}%, characters {}–{} of the context, tokens {}–{})",
                    a.text,
                    100.0 * a.score,
                    a.start,
                    a.end,
                    a.token_start,
                    a.token_end
                );
                for a in e
                    .answers
                    .iter()
                    .flatten()
                    .skip(1)
                    .take(top.saturating_sub(1))
                {
                    let _ = writeln!(out, "  next: {:?} ({:.1}%)", a.text, 100.0 * a.score);
                }
                // A long context, read in windows: where the answer is, and each window's best.
                if let (Some(windows), Some(k)) = (&e.windows, a.window) {
                    let _ = writeln!(
                        out,
                        "the context was read in {} windows of up to {} tokens; the answer is \
                         window {}'s (characters {}–{}), whose tokens are explained below",
                        windows.len(),
                        windows.iter().map(|w| w.tokens).max().unwrap_or(0),
                        k + 1,
                        windows[k].start,
                        windows[k].end
                    );
                    for (i, w) in windows.iter().enumerate() {
                        let best = w.answer.as_ref().map_or("none".to_string(), |a| {
                            format!("{:?} ({:.1}%)", a.text, 100.0 * a.score)
                        });
                        let mark = if i == k { "  ← the answer" } else { "" };
                        let _ = writeln!(
                            out,
                            "  window {:>2}: characters {:>5}–{:<5} {best}{mark}",
                            i + 1,
                            w.start,
                            w.end
                        );
                    }
                }
            }
            None => {
                let _ = writeln!(out, "answer: none (the context is empty)");
            }
        },
        Task::FillMask => {
            for m in e.masks.iter().flatten() {
                let _ = writeln!(out, "mask at token {}:", m.token);
                let width = m
                    .fill
                    .iter()
                    .map(|f| f.token.chars().count())
                    .max()
                    .unwrap_or(0);
                for f in m.fill.iter().take(top.max(1)) {
                    let here = e.token == Some(m.token);
                    let id = Some(f.token_id as usize);
                    let mark = if here && e.target == id {
                        "◀ target"
                    } else if here && e.contrast == id {
                        "◀ versus"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "  {:<width$}  {}  {:>5.1}%  {mark}",
                        f.token,
                        bar(f.score),
                        100.0 * f.score
                    );
                }
            }
            windows_holding(
                out,
                e,
                "each mask's fillers are the mean over the windows that hold it",
            );
        }
        Task::Encoder => {
            let method = match e.method {
                Method::AttentionFlow => "attention flow",
                _ => "attention rollout",
            };
            let _ = writeln!(out, "a bare encoder (no task head): {method}");
        }
    }
}

pub fn explanation(e: &Explanation, texts: [&str; 2], top: usize, color: bool) -> String {
    let mut out = String::new();
    prediction(&mut out, e, top);
    let blocks = match (&e.start, &e.end) {
        (Some(s), Some(en)) => vec![Block::part("start", s), Block::part("end", en)],
        _ => vec![Block::top(e)],
    };
    for b in blocks {
        attribution(&mut out, e, &b, texts, color);
    }
    if let Some(layers) = &e.lens {
        lens(&mut out, e, layers);
    }
    if e.truncated {
        let _ = writeln!(
            out,
            "\n  note: the {} was cut to {} tokens, the most the model takes",
            if e.task == Task::QuestionAnswering {
                "context"
            } else {
                "text"
            },
            e.tokens.len()
        );
    }
    out
}

/// The lens on every layer: what the head reads from each layer's hidden
/// states, one line a layer.
fn lens(out: &mut String, e: &Explanation, layers: &[LensLayer]) {
    let _ = writeln!(
        out,
        "\nThe lens on every layer (the head on each layer's hidden states; 0: the embeddings):"
    );
    for l in layers {
        let read = if let Some(p) = &l.probabilities {
            let best = (0..p.len()).fold(0, |b, i| if p[i] > p[b] { i } else { b });
            let mut read = format!(
                "{} {:.1}%",
                e.labels.get(best).map_or("?", String::as_str),
                100.0 * p[best]
            );
            if let (Some(t), Some(label)) = (e.target, &e.target_label) {
                if t != best && t < p.len() {
                    let _ = write!(read, "   ({label} {:.1}%)", 100.0 * p[t]);
                }
            }
            read
        } else if let Some(fill) = &l.fill {
            fill.iter()
                .map(|f| format!("{} {:.1}%", f.token, 100.0 * f.score))
                .collect::<Vec<_>>()
                .join(", ")
        } else if let Some(labels) = &l.token_labels {
            labels
                .iter()
                .map(|t| t.label.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        } else if let Some(a) = &l.answer {
            format!("“{}” {:.1}%", a.text, 100.0 * a.score)
        } else {
            "no answer".into()
        };
        let _ = writeln!(out, "  layer {:>2}: {read}", l.layer);
    }
}

/// One attribution: what it explains, its delta, the painted text and a bar per token.
fn attribution(out: &mut String, e: &Explanation, b: &Block, texts: [&str; 2], color: bool) {
    if let Some(title) = b.title {
        let _ = writeln!(out, "\n── {title} ──");
    }
    let _ = writeln!(out, "\n{}", method_sentence(e, b));
    let baseline_score =
        b.ig.map(|ig| ig.baseline_score)
            .or(b.perturbation.and_then(|p| p.baseline_score));
    if let (Some(delta), Some(baseline_score), Some(score)) = (b.delta, baseline_score, b.score) {
        let span = score - baseline_score;
        let pct = if span != 0.0 {
            100.0 * delta.abs() / span.abs()
        } else {
            0.0
        };
        let pct = if pct < 0.01 {
            "<0.01%".to_string()
        } else {
            format!("{pct:.2}%")
        };
        let _ = writeln!(
            out,
            "convergence delta {delta:+.2e}: {pct} of F(x) − F(x′) = {span:.4} (F(x) = {score:.4}, F(x′) = {baseline_score:.4})",
        );
    }
    out.push('\n');

    // The text, painted. Weights are normalised by the largest |attribution|.
    let (items, scores): (Vec<String>, Vec<f32>) = match b.words {
        Some(words) => words
            .iter()
            .map(|w| (w.text.clone(), w.attribution))
            .unzip(),
        None => (0..e.tokens.len().min(b.attributions.len()))
            .map(|i| (display(e, i, texts), b.attributions[i]))
            .unzip(),
    };
    let max = scores
        .iter()
        .fold(0f32, |m, s| m.max(s.abs()))
        .max(f32::MIN_POSITIVE);
    let painted: Vec<String> = items
        .iter()
        .zip(&scores)
        .map(|(t, s)| paint(t, s / max, color))
        .collect();
    let _ = writeln!(out, "  {}\n", painted.join(" "));

    // A bar per token, centred at zero.
    let name_width = items
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
        .min(24);
    let half = BAR / 2;
    for (t, &s) in items.iter().zip(&scores) {
        let n = ((s.abs() / max) * half as f32).round() as usize;
        let (left, right) = if s < 0.0 {
            (
                format!(
                    "{}{}",
                    " ".repeat(half - n),
                    paint(&"█".repeat(n), -1.0, color)
                ),
                " ".repeat(half),
            )
        } else {
            (
                " ".repeat(half),
                format!(
                    "{}{}",
                    paint(&"█".repeat(n), 1.0, color),
                    " ".repeat(half - n)
                ),
            )
        };
        let shown: String = t.chars().take(24).collect();
        let _ = writeln!(out, "  {shown:<name_width$} {left}│{right} {s:+.4}");
    }
    if color {
        let legend: Vec<String> = [-1.0, -0.5, 0.0, 0.5, 1.0]
            .iter()
            .map(|&w| paint("   ", w, true))
            .collect();
        let _ = writeln!(out, "\n  legend: negative {} positive", legend.join(""));
    }
}

/// A long text read in windows, for a per-token head: how it was read, and
/// which windows hold the token explained (with each one's prediction there).
fn windows_holding(out: &mut String, e: &Explanation, rule: &str) {
    let (Some(windows), Some(t)) = (&e.windows, e.token) else {
        return;
    };
    let holding: Vec<String> = windows
        .iter()
        .enumerate()
        .filter_map(|(k, w)| {
            let label = w.predicted_label.as_ref()?;
            let p = match (w.predicted, &w.probabilities) {
                (Some(i), Some(p)) => format!(" {:.1}%", 100.0 * p[i]),
                _ => String::new(),
            };
            Some(format!("{} ({label}{p})", k + 1))
        })
        .collect();
    let _ = writeln!(
        out,
        "read in {} windows of up to {} tokens ({rule}); token {t} is in window {}",
        windows.len(),
        windows.iter().map(|w| w.tokens).max().unwrap_or(0),
        holding.join(", window ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_is_captums() {
        assert_eq!(background(0.0), (255, 255, 255));
        // hsl(120, 75%, 50%) and hsl(0, 75%, 60%)
        assert_eq!(background(1.0), (32, 223, 32));
        assert_eq!(background(-1.0), (230, 77, 77));
        // int() truncates: 100 − int(50 · 0.33) = 84%
        assert_eq!(background(0.33), hsl(120.0, 0.75, 0.84));
    }
}

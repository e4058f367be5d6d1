//! The terminal view of an explanation: top classes as bars, the text with
//! each token's background coloured by its attribution (green positive,
//! red negative, as Captum's `visualize_text`), and a per-token bar chart.

use std::fmt::Write;

use bertlens_core::explain::Method;
use bertlens_core::{AttributionLayer, Baseline, Explanation, TargetOutput};

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

fn method_sentence(e: &Explanation) -> String {
    let what = match e.output {
        TargetOutput::Logit => "logit",
        TargetOutput::Probability => "probability",
    };
    let layer = match e.layer {
        Some(AttributionLayer::Embeddings) => "the embeddings block's output",
        Some(AttributionLayer::WordEmbeddings) => "the word embeddings",
        None => "",
    };
    match (e.method, &e.ig) {
        (Method::Ig, Some(ig)) => format!(
            "Integrated Gradients of {target}'s {what} at {layer}: {n} {q} steps{auto} from a {b} baseline",
            target = e.target_label,
            n = ig.n_steps,
            q = ig.integration.name(),
            auto = if ig.auto { " (auto)" } else { "" },
            b = match ig.baseline {
                Baseline::Pad => "[PAD]",
                Baseline::PadAll => "all-[PAD]",
                Baseline::Mask => "[MASK]",
                Baseline::Zero => "zero",
            },
        ),
        (Method::Saliency, _) => format!("Gradient saliency (‖∂{what}/∂x‖) of {} at {layer}", e.target_label),
        (Method::InputXGradient, _) => format!("Input × gradient of {}'s {what} at {layer}", e.target_label),
        _ => "Attention rollout (Abnar & Zuidema 2020)".to_string(),
    }
}

pub fn explanation(e: &Explanation, texts: [&str; 2], top: usize, color: bool) -> String {
    let mut out = String::new();
    let mut order: Vec<usize> = (0..e.probabilities.len()).collect();
    order.sort_by(|&a, &b| e.probabilities[b].total_cmp(&e.probabilities[a]));
    let width = order
        .iter()
        .take(top)
        .map(|&i| e.labels[i].chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "prediction: {} ({:.1}%)",
        e.predicted_label,
        100.0 * e.probabilities[e.predicted]
    );
    for &i in order.iter().take(top.max(1)) {
        let p = e.probabilities[i];
        let filled = (p * BAR as f32).round() as usize;
        let mark = if i == e.target { "◀ target" } else { "" };
        let _ = writeln!(
            out,
            "  {:<width$}  {}{}  {:>5.1}%  {mark}",
            e.labels[i],
            "█".repeat(filled),
            "░".repeat(BAR - filled.min(BAR)),
            100.0 * p,
        );
    }
    let _ = writeln!(out, "\n{}", method_sentence(e));
    if let (Some(delta), Some(ig), Some(score)) = (e.delta, &e.ig, e.score) {
        let span = score - ig.baseline_score;
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
            "convergence delta {delta:+.2e}: {pct} of F(x) − F(x′) = {span:.4} (F(x) = {score:.4}, F(x′) = {:.4})",
            ig.baseline_score
        );
    }
    out.push('\n');

    // The text, painted. Weights are normalised by the largest |attribution|.
    let (items, scores): (Vec<String>, Vec<f32>) = match &e.words {
        Some(words) => words
            .iter()
            .map(|w| (w.text.clone(), w.attribution))
            .unzip(),
        None => (0..e.tokens.len())
            .map(|i| (display(e, i, texts), e.attributions[i]))
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
    if e.truncated {
        let _ = writeln!(
            out,
            "\n  note: the text was cut to {} tokens, the most the model takes",
            e.tokens.len()
        );
    }
    out
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

//! Occlusion (Zeiler & Fergus 2014) over the features of a text, as
//! Captum's `Occlusion` computes it on a one-dimensional input
//! (`captum/attr/_core/occlusion.py`, `feature_ablation.py`): a window of
//! `window` features slides by `stride` (`sliding_window_shapes=(window,)`,
//! `strides=(stride,)`); each window's delta is F(x) − F(x with the
//! window's features replaced by the baseline's); a feature's attribution
//! is the mean of the deltas of the windows that cover it. With window 1
//! and stride 1 it is Captum's `FeatureAblation`: attributionᵢ = F(x) −
//! F(x with feature i removed).
//!
//! Windows start at 0, stride, 2·stride …, 1 + ⌈(n − window) / stride⌉ of
//! them (Captum's `shift_counts`); the last may end past the text and is
//! cut at its end, as Captum's negative padding cuts it. A feature that no
//! window covers (stride > window) gets 0, where Captum divides 0 by 0.

use super::ablation::{PerturbationAttribution, PerturbationReport, Scorer};
use super::Baseline;
use crate::error::{Error, Result};

/// Captum's `sliding_window_shapes` and `strides`, in features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub window: usize,
    pub stride: usize,
}

impl Window {
    /// Refuses a window or stride of 0, and a window wider than the text.
    pub fn check(self, features: usize) -> Result<()> {
        if self.window == 0 {
            return Err(Error::option("window", "must be at least 1 feature"));
        }
        if self.stride == 0 {
            return Err(Error::option("stride", "must be at least 1 feature"));
        }
        if features > 0 && self.window > features {
            return Err(Error::option(
                "window",
                format!(
                    "a window of {} features is wider than the text's {features} (tokens, or \
                     words with words; special tokens are never occluded)",
                    self.window
                ),
            ));
        }
        Ok(())
    }

    /// The `[start, end)` features of each window over `n` features.
    pub fn spans(self, n: usize) -> Vec<(usize, usize)> {
        if n == 0 {
            return Vec::new();
        }
        let shifts = (n - self.window).div_ceil(self.stride) + 1;
        (0..shifts)
            .map(|k| (k * self.stride, (k * self.stride + self.window).min(n)))
            .collect()
    }
}

/// Occlusion of every window of `window` over the features of `ab`.
pub fn occlusion(
    ab: &impl Scorer,
    baseline: Baseline,
    window: Window,
) -> Result<PerturbationAttribution> {
    let n = ab.features().len();
    window.check(n)?;
    let spans = window.spans(n);
    // The input itself first, then one input per window.
    let mut sets = vec![vec![false; n]];
    sets.extend(
        spans
            .iter()
            .map(|&(a, b)| (0..n).map(|j| a <= j && j < b).collect()),
    );
    let scores = ab.scores(&sets)?;
    let fx = scores[0];
    let mut total = vec![0.0f64; n];
    let mut covered = vec![0usize; n];
    for (&(a, b), &s) in spans.iter().zip(&scores[1..]) {
        for j in a..b {
            total[j] += fx - s;
            covered[j] += 1;
        }
    }
    let per_feature: Vec<f64> = total
        .iter()
        .zip(&covered)
        .map(|(&t, &c)| if c == 0 { 0.0 } else { t / c as f64 })
        .collect();
    Ok(PerturbationAttribution {
        attributions: ab.features().per_token(&per_feature),
        feature_attributions: per_feature,
        score: fx as f32,
        delta: None,
        report: PerturbationReport {
            unit: ab.features().unit(),
            features: n,
            baseline,
            evaluations: ab.evaluations(),
            window: Some(window.window),
            stride: Some(window.stride),
            exact: None,
            n_samples: None,
            seed: None,
            baseline_score: None,
            intercept: None,
            note: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_captums_shifts() {
        let w = |window, stride| Window { window, stride };
        assert_eq!(w(1, 1).spans(3), [(0, 1), (1, 2), (2, 3)]);
        assert_eq!(w(2, 1).spans(3), [(0, 2), (1, 3)]);
        // ⌈(5 − 2) / 2⌉ + 1 = 3 windows; the last is cut at the end.
        assert_eq!(w(2, 2).spans(5), [(0, 2), (2, 4), (4, 5)]);
        assert_eq!(w(3, 2).spans(4), [(0, 3), (2, 4)]);
        assert!(w(1, 1).spans(0).is_empty());
    }

    #[test]
    fn a_zero_or_too_wide_window_is_refused() {
        let w = |window, stride| Window { window, stride };
        let msg = |r: Result<()>| r.unwrap_err().to_string();
        assert!(msg(w(0, 1).check(4)).contains("window"));
        assert!(msg(w(1, 0).check(4)).contains("stride"));
        assert!(msg(w(5, 1).check(4)).contains("wider than the text's 4"));
        assert!(w(4, 9).check(4).is_ok());
    }
}

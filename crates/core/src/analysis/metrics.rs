//! Accuracy, the confusion matrix and per-class precision, recall, F1 and
//! support, with scikit-learn's conventions: the classes are those that
//! occur as a true or a predicted label (`unique_labels(y_true, y_pred)`,
//! in class order), a ratio whose denominator is 0 is 0 (`zero_division=0`,
//! what the default `"warn"` returns), F1 is 2·tp / (2·tp + fp + fn), the
//! macro average is the unweighted mean over those classes and the weighted
//! average weighs each class by its support.

use serde::{Deserialize, Serialize};

/// Precision, recall, F1 and support of one class (or an average).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub label: String,
    /// The class's index in the model's labels (`null` for averages).
    pub index: Option<usize>,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows whose true label is this class.
    pub support: usize,
}

/// The confusion matrix over `labels`: `matrix[true][predicted]` counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub labels: Vec<String>,
    /// The model's class index of each of `labels`.
    pub indices: Vec<usize>,
    pub matrix: Vec<Vec<usize>>,
}

/// Every metric of a set of (true, predicted) pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Correct / all (0 for no rows).
    pub accuracy: f64,
    /// Rows counted (rows with a matched label).
    pub support: usize,
    pub confusion: Confusion,
    pub per_class: Vec<ClassMetrics>,
    pub macro_avg: ClassMetrics,
    pub weighted_avg: ClassMetrics,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// The metrics of `pairs` of (true, predicted) class indices; `names` are
/// the model's class names.
pub fn metrics(pairs: &[(usize, usize)], names: &[String]) -> Metrics {
    let mut present: Vec<usize> = pairs.iter().flat_map(|&(t, p)| [t, p]).collect();
    present.sort_unstable();
    present.dedup();
    let slot = |c: usize| present.binary_search(&c).expect("present");
    let k = present.len();
    let mut matrix = vec![vec![0usize; k]; k];
    for &(t, p) in pairs {
        matrix[slot(t)][slot(p)] += 1;
    }
    let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let per_class: Vec<ClassMetrics> = (0..k)
        .map(|i| {
            let tp = matrix[i][i];
            let predicted: usize = (0..k).map(|r| matrix[r][i]).sum();
            let support: usize = matrix[i].iter().sum();
            let (fp, fn_) = (predicted - tp, support - tp);
            ClassMetrics {
                label: name(present[i]),
                index: Some(present[i]),
                precision: ratio(tp, predicted),
                recall: ratio(tp, support),
                f1: ratio(2 * tp, 2 * tp + fp + fn_),
                support,
            }
        })
        .collect();
    let total = pairs.len();
    let correct = (0..k).map(|i| matrix[i][i]).sum();
    let mean = |f: &dyn Fn(&ClassMetrics) -> f64, weighted: bool| -> f64 {
        if per_class.is_empty() {
            return 0.0;
        }
        if weighted {
            if total == 0 {
                return 0.0;
            }
            per_class
                .iter()
                .map(|c| f(c) * c.support as f64)
                .sum::<f64>()
                / total as f64
        } else {
            per_class.iter().map(f).sum::<f64>() / per_class.len() as f64
        }
    };
    let average = |label: &str, weighted: bool| ClassMetrics {
        label: label.into(),
        index: None,
        precision: mean(&|c| c.precision, weighted),
        recall: mean(&|c| c.recall, weighted),
        f1: mean(&|c| c.f1, weighted),
        support: total,
    };
    Metrics {
        accuracy: ratio(correct, total),
        support: total,
        macro_avg: average("macro avg", false),
        weighted_avg: average("weighted avg", true),
        confusion: Confusion {
            labels: present.iter().map(|&c| name(c)).collect(),
            indices: present,
            matrix,
        },
        per_class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn a_small_case_by_hand() {
        // y_true = [0, 0, 1, 2, 2, 2], y_pred = [0, 1, 1, 2, 0, 2]; class 3 never occurs.
        let pairs = [(0, 0), (0, 1), (1, 1), (2, 2), (2, 0), (2, 2)];
        let m = metrics(&pairs, &names(4));
        assert_eq!(m.confusion.indices, vec![0, 1, 2]);
        assert_eq!(
            m.confusion.matrix,
            vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 2]]
        );
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let c0 = &m.per_class[0];
        assert!((c0.precision - 0.5).abs() < 1e-12 && (c0.recall - 0.5).abs() < 1e-12);
        let c2 = &m.per_class[2];
        assert!((c2.precision - 1.0).abs() < 1e-12 && (c2.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((c2.f1 - 0.8).abs() < 1e-12);
        assert_eq!(c2.support, 3);
    }

    #[test]
    fn a_class_only_ever_predicted_has_zero_recall_and_support() {
        let m = metrics(&[(0, 1), (0, 0)], &names(2));
        let c1 = &m.per_class[1];
        assert_eq!(
            (c1.precision, c1.recall, c1.f1, c1.support),
            (0.0, 0.0, 0.0, 0)
        );
        // Averages run over both classes, as scikit-learn's.
        assert!((m.macro_avg.recall - 0.25).abs() < 1e-12);
        assert!((m.weighted_avg.recall - 0.5).abs() < 1e-12);
    }

    #[test]
    fn no_rows_no_classes() {
        let m = metrics(&[], &names(3));
        assert_eq!(m.accuracy, 0.0);
        assert!(m.per_class.is_empty() && m.confusion.matrix.is_empty());
    }
}

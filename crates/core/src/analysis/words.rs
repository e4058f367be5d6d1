//! Which words pushed rows toward each class, across the set: each row's
//! attributions (for its predicted class) merged from wordpieces into words
//! ([`crate::explain::merge_words`]), then per class the total and mean
//! attribution of each word (lowercased) with its count; and the same over
//! the misclassified rows alone, the words that pulled toward the wrong class.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::explain::Word;

/// One word's attributions toward a class, over the rows predicted as it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordStat {
    pub word: String,
    pub total: f64,
    pub mean: f64,
    /// Occurrences (a word twice in a row counts twice).
    pub count: usize,
}

/// The words of one class, by total attribution, largest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClassWords {
    /// Rows predicted as the class.
    pub rows: usize,
    pub toward: Vec<WordStat>,
    /// Rows predicted as the class whose true label is another.
    pub misclassified_rows: usize,
    pub misclassified: Vec<WordStat>,
}

/// One row's contribution: its predicted class, whether that is wrong, and
/// its words with their attributions.
pub struct RowWords<'a> {
    pub predicted: usize,
    pub wrong: bool,
    pub words: &'a [Word],
}

#[derive(Default)]
struct Acc {
    rows: usize,
    words: BTreeMap<String, (f64, usize)>,
}

impl Acc {
    fn add(&mut self, words: &[Word]) {
        self.rows += 1;
        for w in words {
            let e = self.words.entry(w.text.to_lowercase()).or_insert((0.0, 0));
            e.0 += w.attribution as f64;
            e.1 += 1;
        }
    }

    fn top(&self, n: usize) -> Vec<WordStat> {
        let mut v: Vec<WordStat> = self
            .words
            .iter()
            .map(|(w, &(total, count))| WordStat {
                word: w.clone(),
                total,
                mean: total / count as f64,
                count,
            })
            .collect();
        // Largest total first; ties by word, so that pieces merge to the same order.
        v.sort_by(|a, b| {
            b.total
                .total_cmp(&a.total)
                .then_with(|| a.word.cmp(&b.word))
        });
        v.truncate(n);
        v
    }
}

/// The `top` words of every class that has rows, keyed by class name.
pub fn class_words<'a>(
    rows: impl IntoIterator<Item = RowWords<'a>>,
    labels: &[String],
    top: usize,
) -> BTreeMap<String, ClassWords> {
    let mut all: BTreeMap<usize, (Acc, Acc)> = BTreeMap::new();
    for r in rows {
        let (toward, wrong) = all.entry(r.predicted).or_default();
        toward.add(r.words);
        if r.wrong {
            wrong.add(r.words);
        }
    }
    all.into_iter()
        .map(|(c, (toward, wrong))| {
            let name = labels.get(c).cloned().unwrap_or_else(|| c.to_string());
            let words = ClassWords {
                rows: toward.rows,
                toward: toward.top(top),
                misclassified_rows: wrong.rows,
                misclassified: wrong.top(top),
            };
            (name, words)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[(&str, f32)]) -> Vec<Word> {
        w.iter()
            .map(|&(text, attribution)| Word {
                text: text.into(),
                sequence: 0,
                offsets: [0, 0],
                tokens: [0, 0],
                attribution,
                attribution_normalized: 0.0,
            })
            .collect()
    }

    #[test]
    fn totals_means_and_counts_per_class() {
        let a = words(&[("Card", 2.0), ("declined", 3.0)]);
        let b = words(&[("card", 1.0), ("the", -1.0)]);
        let c = words(&[("hi", 5.0)]);
        let rows = [
            RowWords {
                predicted: 0,
                wrong: false,
                words: &a,
            },
            RowWords {
                predicted: 0,
                wrong: true,
                words: &b,
            },
            RowWords {
                predicted: 1,
                wrong: false,
                words: &c,
            },
        ];
        let labels = vec!["card_declined".to_string(), "greeting".into()];
        let w = class_words(rows, &labels, 2);
        let cd = &w["card_declined"];
        assert_eq!((cd.rows, cd.misclassified_rows), (2, 1));
        assert_eq!(cd.toward[0].word, "card");
        assert_eq!((cd.toward[0].total, cd.toward[0].count), (3.0, 2));
        assert_eq!(cd.toward[0].mean, 1.5);
        assert_eq!(cd.toward.len(), 2);
        assert_eq!(cd.misclassified[0].word, "card");
        assert_eq!(w["greeting"].toward[0].word, "hi");
    }
}

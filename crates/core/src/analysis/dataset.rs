//! A labelled set as the analysis reads it: rows of text (optionally a
//! second text, for sentence pairs) with an optional label, each with its
//! index in the whole set; labels matched to the model's classes; and the
//! deterministic shards that split a set over machines.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One row of the set. `index` is its 0-based position in the whole set,
/// whichever piece or shard it is processed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub index: usize,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    /// The label as the file gives it (a class name or index), if any.
    #[serde(default)]
    pub label: Option<String>,
}

impl Row {
    pub fn new(index: usize, text: impl Into<String>, label: Option<&str>) -> Self {
        Self {
            index,
            text: text.into(),
            pair: None,
            label: label.map(str::to_string),
        }
    }
}

/// The model's class for a label as a file spells it: its name, else its
/// name up to case and surrounding spaces (when only one class fits), else
/// its index. `None`: unmatched.
pub fn match_label(labels: &[String], raw: &str) -> Option<usize> {
    if let Some(i) = labels.iter().position(|l| l == raw) {
        return Some(i);
    }
    let key = raw.trim().to_lowercase();
    let mut fits = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim().to_lowercase() == key);
    if let (Some((i, _)), None) = (fits.next(), fits.next()) {
        return Some(i);
    }
    match raw.trim().parse::<usize>() {
        Ok(i) if i < labels.len() => Some(i),
        _ => None,
    }
}

/// A label that matched no class, and how many rows carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedLabel {
    pub label: String,
    pub count: usize,
    /// The first few rows that carry it.
    pub rows: Vec<usize>,
}

/// Every unmatched label of `raw` (row index, label), most frequent first.
pub fn unmatched_labels<'a>(
    labels: &[String],
    raw: impl IntoIterator<Item = (usize, &'a str)>,
) -> Vec<UnmatchedLabel> {
    const SHOWN: usize = 5;
    let mut out: Vec<UnmatchedLabel> = Vec::new();
    for (row, label) in raw {
        if match_label(labels, label).is_some() {
            continue;
        }
        match out.iter_mut().find(|u| u.label == label) {
            Some(u) => {
                u.count += 1;
                if u.rows.len() < SHOWN {
                    u.rows.push(row);
                }
            }
            None => out.push(UnmatchedLabel {
                label: label.to_string(),
                count: 1,
                rows: vec![row],
            }),
        }
    }
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
    out
}

/// Rows are batched in blocks of this many consecutive rows (by index), and
/// shards are made of whole blocks: a row's batch, and so every float of
/// its result, is then the same whichever shard or piece it is run in.
pub const BLOCK: usize = 64;

/// The block of row `row`.
pub fn block_of(row: usize) -> usize {
    row / BLOCK
}

/// Shard `index` of `count` (0-based, as a Kubernetes indexed Job's
/// `JOB_COMPLETION_INDEX`): the blocks of [`BLOCK`] rows whose number is
/// `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `"K/N"`, K in `0..N`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::option("shard", format!("{s:?}: {why}"));
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| bad("expected K/N, e.g. 0/4"))?;
        let index: usize = k.trim().parse().map_err(|_| bad("K is not a number"))?;
        let count: usize = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        if count == 0 || index >= count {
            return Err(bad("K must be in 0..N (0-based) and N at least 1"));
        }
        Ok(Self { index, count })
    }

    pub fn contains(&self, row: usize) -> bool {
        block_of(row) % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["card_declined", "balance", "Yes", "yes "]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn labels_match_by_name_then_case_then_index() {
        let l = labels();
        assert_eq!(match_label(&l, "balance"), Some(1));
        assert_eq!(match_label(&l, " Balance"), Some(1));
        assert_eq!(match_label(&l, "1"), Some(1));
        // Two classes fit "YES" up to case: neither is chosen.
        assert_eq!(match_label(&l, "YES"), None);
        assert_eq!(match_label(&l, "Yes"), Some(2));
        assert_eq!(match_label(&l, "7"), None);
        let u = unmatched_labels(&l, [(0, "7"), (1, "balance"), (2, "x"), (3, "7")]);
        assert_eq!(u[0].label, "7");
        assert_eq!((u[0].count, u[0].rows.clone()), (2, vec![0, 3]));
        assert_eq!(u[1].label, "x");
    }

    #[test]
    fn shards_partition_the_rows() {
        let shards: Vec<Shard> = (0..3)
            .map(|k| Shard::parse(&format!("{k}/3")).unwrap())
            .collect();
        for row in 0..1000 {
            assert_eq!(shards.iter().filter(|s| s.contains(row)).count(), 1);
        }
        for bad in ["3/3", "1", "a/2", "0/0"] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid option shard"), "{e}");
        }
    }
}

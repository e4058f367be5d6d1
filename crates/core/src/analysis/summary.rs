//! The set-level faithfulness numbers: each method's metrics averaged over
//! the rows that have them, and the methods' agreement averaged over rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::evaluate::RowFaithfulness;
use super::faithfulness::{curve_points, EvalMethod};

/// Comprehensiveness and sufficiency at one fraction of the tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtFraction {
    pub fraction: f64,
    /// Means over the rows where the fraction made a rationale (`null`: none did).
    pub comprehensiveness: Option<f64>,
    pub sufficiency: Option<f64>,
    pub rows: usize,
}

/// One method's faithfulness over a set of rows (means over the rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSummary {
    pub rows: usize,
    /// Higher is more faithful: removing the top tokens costs probability.
    pub aopc_comprehensiveness: f64,
    /// Lower is more faithful: the top tokens alone keep the probability.
    pub aopc_sufficiency: f64,
    pub by_fraction: Vec<AtFraction>,
    /// p(ŷ) with 0, 10, …, 100% of the tokens removed, most important first.
    pub deletion_curve: Vec<f64>,
    /// The mean area under the rows' deletion curves (lower: steeper, more faithful).
    pub deletion_auc: Option<f64>,
    /// Lower is better (`null`: not computed).
    pub infidelity: Option<f64>,
    pub sensitivity_max: Option<f64>,
}

/// Two methods' mean rank agreement over the rows where it is defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementSummary {
    pub a: EvalMethod,
    pub b: EvalMethod,
    pub spearman: Option<f64>,
    pub kendall: Option<f64>,
    pub rows: usize,
}

#[derive(Default, Clone)]
struct Mean {
    sum: f64,
    n: usize,
}

impl Mean {
    fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.sum += v;
            self.n += 1;
        }
    }

    fn get(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// Every method's summary over `rows`.
pub fn summarize<'a>(
    rows: impl IntoIterator<Item = &'a RowFaithfulness> + Clone,
    fractions: &[f64],
) -> BTreeMap<EvalMethod, MethodSummary> {
    let methods: Vec<EvalMethod> = {
        let mut m: Vec<EvalMethod> = rows
            .clone()
            .into_iter()
            .flat_map(|r| r.methods.keys().copied())
            .collect();
        m.sort();
        m.dedup();
        m
    };
    methods
        .into_iter()
        .map(|m| {
            let [mut comp, mut suff, mut auc, mut inf, mut sens] =
                std::array::from_fn::<Mean, 5, _>(|_| Mean::default());
            let mut at: Vec<(Mean, Mean)> = fractions.iter().map(|_| Default::default()).collect();
            let mut curve = vec![Mean::default(); 11];
            let mut n = 0;
            for r in rows.clone() {
                let Some(f) = r.methods.get(&m) else { continue };
                n += 1;
                comp.add(Some(f.removal.aopc_comprehensiveness));
                suff.add(Some(f.removal.aopc_sufficiency));
                for (i, (c, s)) in at.iter_mut().enumerate() {
                    c.add(f.removal.comprehensiveness.get(i).copied().flatten());
                    s.add(f.removal.sufficiency.get(i).copied().flatten());
                }
                let (grid, area) = curve_points(&f.removal.deletion_curve);
                for (c, v) in curve.iter_mut().zip(grid) {
                    c.add(Some(v));
                }
                auc.add(area);
                inf.add(f.infidelity);
                sens.add(f.sensitivity_max);
            }
            let summary = MethodSummary {
                rows: n,
                aopc_comprehensiveness: comp.get().unwrap_or(0.0),
                aopc_sufficiency: suff.get().unwrap_or(0.0),
                by_fraction: fractions
                    .iter()
                    .zip(&at)
                    .map(|(&fraction, (c, s))| AtFraction {
                        fraction,
                        comprehensiveness: c.get(),
                        sufficiency: s.get(),
                        rows: c.n,
                    })
                    .collect(),
                deletion_curve: curve.iter().map(|c| c.get().unwrap_or(0.0)).collect(),
                deletion_auc: auc.get(),
                infidelity: inf.get(),
                sensitivity_max: sens.get(),
            };
            (m, summary)
        })
        .collect()
}

/// Each pair of methods' mean Spearman and Kendall over `rows`.
pub fn agreement_summary<'a>(
    rows: impl IntoIterator<Item = &'a RowFaithfulness>,
) -> Vec<AgreementSummary> {
    let mut pairs: BTreeMap<(EvalMethod, EvalMethod), (Mean, Mean)> = BTreeMap::new();
    for r in rows {
        for p in &r.agreement {
            let (s, k) = pairs.entry((p.a, p.b)).or_default();
            s.add(p.spearman);
            k.add(p.kendall);
        }
    }
    pairs
        .into_iter()
        .map(|((a, b), (s, k))| AgreementSummary {
            a,
            b,
            spearman: s.get(),
            kendall: k.get(),
            rows: s.n,
        })
        .collect()
}

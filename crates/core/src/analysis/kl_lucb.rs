//! The bandit behind anchors: KL-LUCB (Kaufmann & Kalyanakrishnan 2013)
//! picks, among candidate rules, the `top_n` whose precision is highest,
//! sampling only the two arms whose confidence bounds decide it, as
//! alibi's `AnchorBaseBeam.kllucb` does (its constants: α = 1.1,
//! k = 405.5, 17 bisection steps for the KL bounds).

use crate::error::Result;

/// KL(Bernoulli(p) ‖ Bernoulli(q)), both clipped into (0, 1) as alibi does.
pub fn kl_bernoulli(p: f64, q: f64) -> f64 {
    let m = p.clamp(1e-7, 0.999_999_999_999_999_9);
    let n = q.clamp(1e-7, 0.999_999_999_999_999_9);
    m * (m / n).ln() + (1.0 - m) * ((1.0 - m) / (1.0 - n)).ln()
}

/// The largest q ≥ p with KL(p ‖ q) ≤ `level` (bisection).
pub fn kl_upper(p: f64, level: f64) -> f64 {
    let (mut lm, mut um) = (p, (p + (level / 2.0).sqrt()).min(1.0));
    for _ in 1..17 {
        let qm = (um + lm) / 2.0;
        if kl_bernoulli(p, qm) > level {
            um = qm;
        } else {
            lm = qm;
        }
    }
    um
}

/// The smallest q ≤ p with KL(p ‖ q) ≤ `level` (bisection).
pub fn kl_lower(p: f64, level: f64) -> f64 {
    let (mut lm, mut um) = ((p - (level / 2.0).sqrt()).clamp(0.0, 1.0), p);
    for _ in 1..17 {
        let qm = (um + lm) / 2.0;
        if kl_bernoulli(p, qm) > level {
            lm = qm;
        } else {
            um = qm;
        }
    }
    lm
}

/// The exploration rate β(t) for `arms` arms at round `t`.
pub fn beta(arms: usize, t: usize, delta: f64) -> f64 {
    let temp = (405.5 * arms as f64 * (t as f64).powf(1.1) / delta).ln();
    temp + temp.ln()
}

/// Indices of `v` by value, smallest first (ties: the earlier first).
fn ascending(v: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then(a.cmp(&b)));
    order
}

/// The two arms whose bounds decide the top `top_n`: the best-bounded arm
/// outside them (`ut`) and the worst-bounded inside (`lt`), and the gap
/// B = ub(ut) − lb(lt).
fn critical(means: &[f64], n: &[f64], delta: f64, top_n: usize, t: usize) -> (usize, usize, f64) {
    let order = ascending(means);
    let b = beta(means.len(), t, delta);
    let (not_j, j) = order.split_at(order.len() - top_n);
    let ub = |i: usize| kl_upper(means[i], b / n[i]);
    let lb = |i: usize| kl_lower(means[i], b / n[i]);
    let ut = *not_j
        .iter()
        .max_by(|&&a, &&c| ub(a).total_cmp(&ub(c)).then(c.cmp(&a)))
        .expect("an arm outside the top");
    let lt = *j
        .iter()
        .min_by(|&&a, &&c| lb(a).total_cmp(&lb(c)).then(a.cmp(&c)))
        .expect("an arm in the top");
    (ut, lt, ub(ut) - lb(lt))
}

/// The `top_n` arms of highest precision, by KL-LUCB: `positives[i]` of
/// `n_samples[i]` samples of arm i kept the prediction; `draw(arms, k)`
/// draws `k` more samples for each of `arms` and returns (positives, total)
/// for each. Arms never sampled get one sample first. The counts are
/// updated in place; the result is in ascending order of precision.
pub fn kl_lucb(
    n_samples: &mut [f64],
    positives: &mut [f64],
    epsilon: f64,
    delta: f64,
    batch_size: usize,
    top_n: usize,
    mut draw: impl FnMut(&[usize], usize) -> Result<Vec<(f64, f64)>>,
) -> Result<Vec<usize>> {
    let arms = n_samples.len();
    let unseen: Vec<usize> = (0..arms).filter(|&i| n_samples[i] == 0.0).collect();
    if !unseen.is_empty() {
        for (&i, (p, t)) in unseen.iter().zip(draw(&unseen, 1)?) {
            positives[i] += p;
            n_samples[i] += t;
        }
    }
    if arms == top_n {
        return Ok((0..arms).collect());
    }
    let means = |p: &[f64], n: &[f64]| p.iter().zip(n).map(|(a, b)| a / b).collect::<Vec<_>>();
    let mut t = 1;
    let (mut ut, mut lt, mut gap) =
        critical(&means(positives, n_samples), n_samples, delta, top_n, t);
    while gap > epsilon {
        for (&i, (p, total)) in [ut, lt].iter().zip(draw(&[ut, lt], batch_size)?) {
            positives[i] += p;
            n_samples[i] += total;
        }
        t += 1;
        (ut, lt, gap) = critical(&means(positives, n_samples), n_samples, delta, top_n, t);
    }
    let order = ascending(&means(positives, n_samples));
    Ok(order[arms - top_n..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_bracket_the_mean_and_meet_the_level() {
        for &(p, level) in &[(0.5, 0.1), (0.9, 0.02), (0.0, 0.5), (1.0, 0.3)] {
            let (lo, hi) = (kl_lower(p, level), kl_upper(p, level));
            assert!(lo <= p + 1e-12 && p <= hi + 1e-12, "{p} {lo} {hi}");
            // alibi's bisection: within 2^-16 of the KL = level point.
            if hi < 1.0 && p < 1.0 {
                assert!((kl_bernoulli(p, hi) - level).abs() < 1e-3, "{p}");
            }
        }
    }

    #[test]
    fn finds_the_best_arm() {
        // Arm 2 keeps the prediction 95% of the time, the others 50% and 70%.
        let rates = [0.5, 0.7, 0.95];
        let mut rng = super::super::random::Rng::new(3);
        let (mut n, mut pos) = (vec![0.0; 3], vec![0.0; 3]);
        let best = kl_lucb(&mut n, &mut pos, 0.1, 0.1, 20, 1, |arms, k| {
            Ok(arms
                .iter()
                .map(|&a| {
                    let p = (0..k).filter(|_| rng.bernoulli(rates[a])).count();
                    (p as f64, k as f64)
                })
                .collect())
        })
        .unwrap();
        assert_eq!(best, vec![2]);
    }
}

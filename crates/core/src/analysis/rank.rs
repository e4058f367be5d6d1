//! Rank correlations as scipy computes them: Spearman's ρ (the Pearson
//! correlation of the ranks, ties given their average rank:
//! `scipy.stats.spearmanr`) and Kendall's τ-b (`scipy.stats.kendalltau`,
//! `variant="b"`). Both are NaN where scipy's are: fewer than two values,
//! or one side constant.

/// Ranks from 1, ties given the mean of the ranks they span.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson's correlation (NaN when either side is constant).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 2 || x.len() != y.len() {
        return f64::NAN;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

/// Spearman's ρ with average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Kendall's τ-b: (concordant − discordant) / √((n₀ − n₁)(n₀ − n₂)), n₀
/// the pairs, n₁ and n₂ the pairs tied in x and in y. O(n²): a sentence's
/// tokens.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 || n != y.len() {
        return f64::NAN;
    }
    let (mut s, mut tie_x, mut tie_y) = (0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = (x[i] - x[j]).partial_cmp(&0.0).map_or(0, |o| o as i64);
            let dy = (y[i] - y[j]).partial_cmp(&0.0).map_or(0, |o| o as i64);
            tie_x += (dx == 0) as i64;
            tie_y += (dy == 0) as i64;
            s += dx * dy;
        }
    }
    let pairs = (n * (n - 1) / 2) as i64;
    let den = ((pairs - tie_x) as f64).sqrt() * ((pairs - tie_y) as f64).sqrt();
    if den == 0.0 {
        return f64::NAN;
    }
    (s as f64 / den).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_get_average_ranks() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
    }

    #[test]
    fn values_scipy_gives() {
        // scipy.stats.spearmanr([1,2,3,4,5],[5,6,7,8,7]) = 0.8207826816681233
        let (x, y) = ([1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 6.0, 7.0, 8.0, 7.0]);
        assert!((spearman(&x, &y) - 0.8207826816681233).abs() < 1e-12);
        // scipy.stats.kendalltau(x, y).statistic = 0.7378647873726218
        assert!((kendall_tau_b(&x, &y) - 0.7378647873726218).abs() < 1e-12);
        assert!(spearman(&x, &[1.0; 5]).is_nan());
        assert!(kendall_tau_b(&[1.0], &[2.0]).is_nan());
    }
}

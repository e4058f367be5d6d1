//! The interpretable models of [`kernel_shap`](super::sampled) and
//! [`lime`](super::sampled), fitted as Captum fits them: through
//! scikit-learn (`captum/_utils/models/linear_model/train.py`,
//! `sklearn_train_linear_model`), with one sample weight per sample and an
//! intercept. Both solve the problem in f64.
//!
//! - [`linear_regression`], `sklearn.linear_model.LinearRegression()`,
//!   Captum's `SkLearnLinearRegression`: X and y centred on their weighted
//!   means, rows scaled by √w, then the minimum-norm least-squares solution
//!   with singular values below `1e-6 ×` the largest taken as zero
//!   (`scipy.linalg.lstsq(X, y, cond=tol)`, tol = 1e-6); here through a
//!   one-sided Jacobi SVD.
//! - [`lasso`], `sklearn.linear_model.Lasso(alpha)`, Captum's
//!   `SkLearnLasso(alpha=0.01)`: minimises
//!   `1 / (2 Σw) · Σ wᵢ (yᵢ − b − xᵢ·β)² + α ‖β‖₁` by scikit-learn's cyclic
//!   coordinate descent (`sklearn/linear_model/_cd_fast.pyx`,
//!   `enet_coordinate_descent`, gap-safe screening included), from β = 0,
//!   until its duality gap is at most `tol · ‖y‖²` (tol = 1e-4, at most
//!   1000 sweeps): the same iterates, and so the same solution, as
//!   scikit-learn's, not only the same optimum.

/// A fitted linear model: `y ≈ intercept + coef · x`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub coef: Vec<f64>,
    pub intercept: f64,
}

/// scikit-learn's `LinearRegression` `tol`: lstsq's relative cutoff of singular values.
pub const LSTSQ_COND: f64 = 1e-6;
/// scikit-learn's `Lasso` defaults.
pub const LASSO_TOL: f64 = 1e-4;
pub const LASSO_MAX_ITER: usize = 1000;

/// The centred, √w-scaled problem: columns of X `(p, n)`, y `(n,)`, and the
/// weighted means (`sklearn.linear_model._base._preprocess_data` and
/// `_rescale_data`).
struct Centred {
    cols: Vec<Vec<f64>>,
    y: Vec<f64>,
    x_offset: Vec<f64>,
    y_offset: f64,
}

fn centred(x: &[Vec<f64>], y: &[f64], w: &[f64]) -> Centred {
    let (n, p) = (x.len(), x.first().map_or(0, Vec::len));
    let total: f64 = w.iter().sum();
    let x_offset: Vec<f64> = (0..p)
        .map(|j| (0..n).map(|i| w[i] * x[i][j]).sum::<f64>() / total)
        .collect();
    let y_offset = (0..n).map(|i| w[i] * y[i]).sum::<f64>() / total;
    let sqrt_w: Vec<f64> = w.iter().map(|v| v.sqrt()).collect();
    let cols = (0..p)
        .map(|j| {
            (0..n)
                .map(|i| (x[i][j] - x_offset[j]) * sqrt_w[i])
                .collect()
        })
        .collect();
    let y = (0..n).map(|i| (y[i] - y_offset) * sqrt_w[i]).collect();
    Centred {
        cols,
        y,
        x_offset,
        y_offset,
    }
}

impl Centred {
    fn fit(self, coef: Vec<f64>) -> Fit {
        let intercept = self.y_offset - dot(&self.x_offset, &coef);
        Fit { coef, intercept }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Weighted least squares with an intercept (`x[i]`: sample i's features).
pub fn linear_regression(x: &[Vec<f64>], y: &[f64], w: &[f64]) -> Fit {
    let c = centred(x, y, w);
    let coef = lstsq(&c.cols, &c.y, LSTSQ_COND);
    c.fit(coef)
}

/// The minimum-norm solution of `A β ≈ b` (A given by its columns),
/// singular values below `cond ×` the largest dropped.
pub fn lstsq(cols: &[Vec<f64>], b: &[f64], cond: f64) -> Vec<f64> {
    let p = cols.len();
    let n = b.len();
    if p == 0 || n == 0 {
        return vec![0.0; p];
    }
    // A = U Σ Vᵀ. Jacobi orthogonalises the columns of whichever of A and
    // Aᵀ has fewer of them.
    let (u, sigma, v) = if n >= p {
        jacobi_svd(cols.to_vec())
    } else {
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| cols.iter().map(|c| c[i]).collect())
            .collect();
        // Aᵀ = U′ Σ V′ᵀ, so A = V′ Σ U′ᵀ.
        let (u2, sigma, v2) = jacobi_svd(rows);
        (v2, sigma, u2)
    };
    let max = sigma.iter().fold(0f64, |m, &s| m.max(s));
    let mut beta = vec![0.0; p];
    for (k, &s) in sigma.iter().enumerate() {
        if s <= cond * max || s == 0.0 {
            continue;
        }
        let c = dot(&u[k], b) / s;
        for (bj, vj) in beta.iter_mut().zip(&v[k]) {
            *bj += c * vj;
        }
    }
    beta
}

/// One-sided Jacobi SVD of M given by its columns `(c, r)`: the left
/// singular vectors `(c, r)` (a zero vector for σ = 0), the singular
/// values `(c,)`, the right singular vectors `(c, c)` (vector k: row k).
fn jacobi_svd(mut w: Vec<Vec<f64>>) -> (Vec<Vec<f64>>, Vec<f64>, Vec<Vec<f64>>) {
    let c = w.len();
    let mut v: Vec<Vec<f64>> = (0..c)
        .map(|k| (0..c).map(|j| f64::from(u8::from(j == k))).collect())
        .collect();
    for _sweep in 0..100 {
        let mut rotated = false;
        for a in 0..c {
            for b in a + 1..c {
                let (alpha, beta, gamma) =
                    (dot(&w[a], &w[a]), dot(&w[b], &w[b]), dot(&w[a], &w[b]));
                if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let t = if zeta == 0.0 { 1.0 } else { t };
                let cs = 1.0 / (1.0 + t * t).sqrt();
                let sn = cs * t;
                for m in [&mut w, &mut v] {
                    let (lo, hi) = m.split_at_mut(b);
                    for (x, y) in lo[a].iter_mut().zip(hi[0].iter_mut()) {
                        let (xa, yb) = (*x, *y);
                        *x = cs * xa - sn * yb;
                        *y = sn * xa + cs * yb;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let sigma: Vec<f64> = w.iter().map(|col| dot(col, col).sqrt()).collect();
    let u = w
        .into_iter()
        .zip(&sigma)
        .map(|(col, &s)| {
            if s == 0.0 {
                col
            } else {
                col.into_iter().map(|x| x / s).collect()
            }
        })
        .collect();
    (u, sigma, v)
}

/// scikit-learn's `Lasso(alpha)` with sample weights (see the module).
pub fn lasso(x: &[Vec<f64>], y: &[f64], w: &[f64], alpha: f64) -> Fit {
    let n = y.len();
    // Weights rescaled to sum to n, so that the penalty is n·α (ElasticNet.fit).
    let total: f64 = w.iter().sum();
    let w: Vec<f64> = w.iter().map(|v| v * (n as f64 / total)).collect();
    let c = centred(x, y, &w);
    let coef = coordinate_descent(&c.cols, &c.y, alpha * n as f64, LASSO_TOL, LASSO_MAX_ITER);
    c.fit(coef)
}

/// `enet_coordinate_descent` with β (the L2 penalty) 0, dense, cyclic:
/// minimises ½‖y − X w‖² + α‖w‖₁.
fn coordinate_descent(
    cols: &[Vec<f64>],
    y: &[f64],
    alpha: f64,
    tol: f64,
    max_iter: usize,
) -> Vec<f64> {
    let p = cols.len();
    let norm2: Vec<f64> = cols.iter().map(|c| dot(c, c)).collect();
    let mut w = vec![0.0f64; p];
    let mut r = y.to_vec();
    let gap_tol = tol * dot(y, y);
    let mut excluded = vec![false; p];
    let mut active: Vec<usize> = (0..p).collect();
    let axpy = |r: &mut [f64], a: f64, col: &[f64]| {
        for (ri, ci) in r.iter_mut().zip(col) {
            *ri += a * ci;
        }
    };
    // The duality gap and ‖Xᵀ R‖∞ (formulation A), with Xᵀ R.
    let gap = |w: &[f64], r: &[f64]| -> (f64, f64, Vec<f64>) {
        let xta: Vec<f64> = cols.iter().map(|c| dot(c, r)).collect();
        let dual_norm = xta.iter().fold(0f64, |m, v| m.max(v.abs()));
        let r_norm2 = dot(r, r);
        let ry = dot(r, y);
        let l1: f64 = w.iter().map(|v| v.abs()).sum();
        let primal = 0.5 * r_norm2 + alpha * l1;
        let scale = if dual_norm > alpha {
            alpha / dual_norm
        } else {
            1.0
        };
        let dual = -0.5 * scale * scale * r_norm2 + scale * ry;
        (primal - dual, dual_norm, xta)
    };
    // Gap-safe screening: features provably 0 at the optimum leave the active set.
    let screen = |w: &mut [f64],
                  r: &mut [f64],
                  excluded: &mut [bool],
                  active: &mut Vec<usize>,
                  g: f64,
                  dual_norm: f64,
                  xta: &[f64]| {
        active.clear();
        for j in 0..p {
            if excluded[j] {
                continue;
            }
            if norm2[j] == 0.0 {
                w[j] = 0.0;
                excluded[j] = true;
                continue;
            }
            let xj_theta = xta[j] / alpha.max(dual_norm);
            let d_j = (1.0 - xj_theta.abs()) / norm2[j].sqrt();
            if d_j <= (2.0 * g).sqrt() / alpha {
                active.push(j);
            } else {
                if w[j] != 0.0 {
                    axpy(r, w[j], &cols[j]);
                    w[j] = 0.0;
                }
                excluded[j] = true;
            }
        }
    };
    let (g, dual_norm, xta) = gap(&w, &r);
    if g <= gap_tol {
        return w;
    }
    screen(
        &mut w,
        &mut r,
        &mut excluded,
        &mut active,
        g,
        dual_norm,
        &xta,
    );
    for n_iter in 0..max_iter {
        let (mut w_max, mut d_w_max) = (0f64, 0f64);
        for &j in &active {
            if norm2[j] == 0.0 {
                continue;
            }
            let w_j = w[j];
            let tmp = dot(&cols[j], &r) + w_j * norm2[j];
            w[j] = soft_sign(tmp) * (tmp.abs() - alpha).max(0.0) / norm2[j];
            if w[j] != w_j {
                axpy(&mut r, w_j - w[j], &cols[j]);
            }
            d_w_max = d_w_max.max((w[j] - w_j).abs());
            w_max = w_max.max(w[j].abs());
        }
        if w_max == 0.0 || d_w_max / w_max <= tol || n_iter == max_iter - 1 {
            let (g, dual_norm, xta) = gap(&w, &r);
            if g <= gap_tol {
                break;
            }
            screen(
                &mut w,
                &mut r,
                &mut excluded,
                &mut active,
                g,
                dual_norm,
                &xta,
            );
        }
    }
    w
}

/// Cython's `fsign`: −1, 0 or 1.
fn soft_sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_an_exact_fit_and_its_intercept() {
        let x: Vec<Vec<f64>> = (0..6)
            .map(|i| vec![i as f64, ((i * i) % 5) as f64, 1.0 - (i % 2) as f64])
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|r| 0.5 + 2.0 * r[0] - r[1] + 3.0 * r[2])
            .collect();
        let f = linear_regression(&x, &y, &[1.0, 2.0, 1.0, 5.0, 1.0, 1.0]);
        for (got, want) in f.coef.iter().zip([2.0, -1.0, 3.0]) {
            assert!((got - want).abs() < 1e-10, "{:?}", f.coef);
        }
        assert!((f.intercept - 0.5).abs() < 1e-10);
    }

    #[test]
    fn underdetermined_least_squares_is_the_minimum_norm_solution() {
        // One equation, two unknowns: x + y = 2 → (1, 1).
        let b = lstsq(&[vec![1.0], vec![1.0]], &[2.0], 1e-6);
        assert!(
            (b[0] - 1.0).abs() < 1e-12 && (b[1] - 1.0).abs() < 1e-12,
            "{b:?}"
        );
        // A repeated column shares its coefficient.
        let b = lstsq(
            &[vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]],
            &[2.0, 4.0, 6.0],
            1e-6,
        );
        assert!(
            (b[0] - 1.0).abs() < 1e-12 && (b[1] - 1.0).abs() < 1e-12,
            "{b:?}"
        );
    }

    #[test]
    fn lasso_soft_thresholds_an_orthogonal_design() {
        // Orthogonal, centred columns: β = S(Xᵀy / n, α) / (‖x‖² / n).
        let x = vec![
            vec![1.0, 1.0],
            vec![1.0, -1.0],
            vec![-1.0, 1.0],
            vec![-1.0, -1.0],
        ];
        let y = vec![3.0, 1.0, -1.0, -3.0];
        let f = lasso(&x, &y, &[1.0; 4], 0.5);
        assert!((f.coef[0] - 1.5).abs() < 1e-6, "{:?}", f.coef);
        assert!((f.coef[1] - 0.5).abs() < 1e-6, "{:?}", f.coef);
        assert!(f.intercept.abs() < 1e-12);
        // A large α zeroes everything: the intercept is the weighted mean.
        let f = lasso(&x, &y, &[3.0, 1.0, 1.0, 1.0], 100.0);
        assert_eq!(f.coef, [0.0, 0.0]);
        assert!((f.intercept - 1.0).abs() < 1e-12);
    }
}

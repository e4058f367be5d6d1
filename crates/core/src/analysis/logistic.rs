//! Logistic regression with an L2 penalty, minimising scikit-learn's
//! objective for `LogisticRegression(C=c)` (lbfgs) to convergence:
//!
//! ```text
//! f(W, b) = (1/n) Σᵢ ℓ(W xᵢ + b, yᵢ) + ‖W‖² / (2·C·n)
//! ```
//!
//! the intercepts unpenalised. With more than two classes ℓ is the
//! multinomial cross-entropy over one weight row per class; with two it is
//! the binomial loss over one row for the second class, as scikit-learn
//! fits a binary problem (which is not the two-class multinomial: that one
//! halves the penalty of the same decision function). The minimiser is
//! unique in W, and in the decision function, so any solver that converges
//! agrees with scikit-learn's; this one is L-BFGS (Nocedal & Wright, alg.
//! 7.4) in f64 with a backtracking Armijo line search, stopped as scipy's
//! L-BFGS-B is under scikit-learn: a small gradient, or a step that lowers
//! the objective by less than 64 ε of its value.

/// A fitted model: `rows` weight rows of `dim` (one for a binary problem,
/// one per class otherwise) and their intercepts.
#[derive(Debug, Clone, PartialEq)]
pub struct Logistic {
    pub classes: usize,
    pub dim: usize,
    /// `(rows, dim)`, row-major.
    pub weights: Vec<f64>,
    pub intercepts: Vec<f64>,
    /// The objective at the solution.
    pub objective: f64,
    /// L-BFGS iterations taken.
    pub iterations: usize,
    /// Whether the fit stopped on its tolerances (else the iterations ran out).
    pub converged: bool,
}

/// The largest gradient entry at which the fit stops.
pub const GRADIENT_TOLERANCE: f64 = 1e-7;
/// The relative decrease of the objective below which the fit stops
/// (scikit-learn's `ftol` for lbfgs).
const VALUE_TOLERANCE: f64 = 64.0 * f64::EPSILON;
/// The most L-BFGS iterations.
pub const MAX_ITERATIONS: usize = 20_000;
/// Correction pairs L-BFGS keeps.
const HISTORY: usize = 10;

/// The problem: `x` `(n, dim)` row-major, `y` each row's class in `0..classes`.
struct Problem<'a> {
    x: &'a [f64],
    y: &'a [usize],
    n: usize,
    dim: usize,
    /// Weight rows: 1 (binary) or `classes`.
    rows: usize,
    /// The penalty's factor 1/(C·n).
    lambda: f64,
}

impl Problem<'_> {
    fn len(&self) -> usize {
        self.rows * (self.dim + 1)
    }

    /// The decision values `(n, rows)` of the parameters `theta` (weights, then intercepts).
    fn decisions(&self, theta: &[f64], x: &[f64]) -> Vec<f64> {
        let (d, r) = (self.dim, self.rows);
        let (w, b) = theta.split_at(r * d);
        let mut z = vec![0f64; x.len() / d.max(1) * r];
        // Blocks of rows, so that each weight row is read once per block.
        for (xs, zs) in x.chunks(BLOCK * d).zip(z.chunks_mut(BLOCK * r)) {
            for (k, wk) in w.chunks_exact(d).enumerate() {
                for (xi, zi) in xs.chunks_exact(d).zip(zs.chunks_exact_mut(r)) {
                    zi[k] = b[k] + dot(wk, xi);
                }
            }
        }
        z
    }

    /// The objective and its gradient.
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (d, r, n) = (self.dim, self.rows, self.n as f64);
        // The decision values, overwritten by the residuals ∂ℓ/∂z.
        let mut z = self.decisions(theta, self.x);
        let mut loss = 0f64;
        for (zi, &yi) in z.chunks_exact_mut(r).zip(self.y) {
            if r == 1 {
                let (l, p) = binomial(zi[0], yi == 1);
                loss += l;
                zi[0] = p - (yi == 1) as u8 as f64;
            } else {
                let max = zi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = zi.iter().map(|v| (v - max).exp()).sum();
                loss += max + sum.ln() - zi[yi];
                for (k, v) in zi.iter_mut().enumerate() {
                    *v = (*v - max).exp() / sum - (k == yi) as u8 as f64;
                }
            }
        }
        let mut grad = vec![0f64; theta.len()];
        let (gw, gb) = grad.split_at_mut(r * d);
        for (xs, rs) in self.x.chunks(BLOCK * d).zip(z.chunks(BLOCK * r)) {
            for (k, gk) in gw.chunks_exact_mut(d).enumerate() {
                for (xi, ri) in xs.chunks_exact(d).zip(rs.chunks_exact(r)) {
                    let res = ri[k];
                    gb[k] += res;
                    gk.iter_mut().zip(xi).for_each(|(g, v)| *g += res * v);
                }
            }
        }
        let w = &theta[..r * d];
        let penalty = 0.5 * self.lambda * dot(w, w);
        grad.iter_mut().for_each(|g| *g /= n);
        grad[..r * d]
            .iter_mut()
            .zip(w)
            .for_each(|(g, v)| *g += self.lambda * v);
        (loss / n + penalty, grad)
    }
}

/// log(1 + e^z) − y·z and σ(z), without overflow.
fn binomial(z: f64, y: bool) -> (f64, f64) {
    let softplus = z.max(0.0) + (-z.abs()).exp().ln_1p();
    let p = if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    };
    (softplus - if y { z } else { 0.0 }, p)
}

/// Rows of `x` per block of the products: a weight row is read once per block.
const BLOCK: usize = 16;

/// Σ a·b, over four running sums (which the compiler keeps in SIMD lanes).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for j in 0..4 {
            s[j] += x[j] * y[j];
        }
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0f64, |m, x| m.max(x.abs()))
}

/// Fits the model to `x` `(n, dim)` and `y` (classes `0..classes`, at least
/// two) with penalty `C = c`.
pub fn fit(x: &[f64], y: &[usize], classes: usize, c: f64) -> Logistic {
    let n = y.len();
    let dim = x.len().checked_div(n).unwrap_or(0);
    let rows = if classes == 2 { 1 } else { classes };
    let p = Problem {
        x,
        y,
        n,
        dim,
        rows,
        lambda: 1.0 / (c * n.max(1) as f64),
    };
    let mut theta = vec![0f64; p.len()];
    let (mut f, mut g) = p.value_and_gradient(&theta);
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(HISTORY);
    let mut iterations = 0;
    let mut converged = inf_norm(&g) <= GRADIENT_TOLERANCE;
    while !converged && iterations < MAX_ITERATIONS {
        iterations += 1;
        // The two-loop recursion: d = −H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, yv, rho) in history.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(yv).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = match history.last() {
            Some((s, yv, _)) => dot(s, yv) / dot(yv, yv),
            None => 1.0 / inf_norm(&g).max(1.0),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, yv, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(yv, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut direction: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &direction);
        if slope >= 0.0 {
            // Not a descent direction (rounding): restart from the gradient.
            history.clear();
            direction = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        // Backtracking until Armijo's condition holds.
        let mut step = 1.0;
        let (next, f_next, g_next) = loop {
            let trial: Vec<f64> = theta
                .iter()
                .zip(&direction)
                .map(|(t, d)| t + step * d)
                .collect();
            let (ft, gt) = p.value_and_gradient(&trial);
            if ft <= f + 1e-4 * step * slope {
                break (trial, ft, gt);
            }
            if step < 1e-20 {
                // No step lowers f: at the optimum up to rounding, or stuck. The
                // point stays; only a rise beyond rounding says the fit failed.
                converged = ft <= f + VALUE_TOLERANCE * f.abs().max(1.0);
                break (theta.clone(), f, g.clone());
            }
            step *= 0.5;
        };
        if next == theta {
            break;
        }
        let s: Vec<f64> = next.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = g_next.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &yv);
        let decrease = (f - f_next) / f.abs().max(f_next.abs()).max(1.0);
        let stalled = decrease <= VALUE_TOLERANCE;
        (theta, f, g) = (next, f_next, g_next);
        if sy > 1e-12 * dot(&yv, &yv).max(f64::MIN_POSITIVE) {
            if history.len() == HISTORY {
                history.remove(0);
            }
            history.push((s, yv, 1.0 / sy));
        }
        converged = stalled || inf_norm(&g) <= GRADIENT_TOLERANCE;
    }
    let (weights, intercepts) = theta.split_at(rows * dim);
    Logistic {
        classes,
        dim,
        weights: weights.to_vec(),
        intercepts: intercepts.to_vec(),
        objective: f,
        iterations,
        converged,
    }
}

impl Logistic {
    /// Class probabilities of `x` `(n, dim)`: `(n, classes)`.
    pub fn probabilities(&self, x: &[f64]) -> Vec<f64> {
        let d = self.dim;
        let mut out = Vec::with_capacity(x.len() / d.max(1) * self.classes);
        for xi in x.chunks_exact(d.max(1)) {
            if self.classes == 2 {
                let z = self.intercepts[0] + dot(&self.weights, xi);
                let p = binomial(z, false).1;
                out.extend([1.0 - p, p]);
            } else {
                let z: Vec<f64> = (0..self.classes)
                    .map(|k| self.intercepts[k] + dot(&self.weights[k * d..(k + 1) * d], xi))
                    .collect();
                let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
                out.extend(z.iter().map(|v| (v - max).exp() / sum));
            }
        }
        out
    }

    /// The predicted class of each row of `x`: scikit-learn's rule (the
    /// largest decision value, the first on a tie; for two classes, the
    /// second when the decision is positive).
    pub fn predict(&self, x: &[f64]) -> Vec<usize> {
        let d = self.dim.max(1);
        x.chunks_exact(d)
            .map(|xi| {
                if self.classes == 2 {
                    (self.intercepts[0] + dot(&self.weights, xi) > 0.0) as usize
                } else {
                    let mut best = (0, f64::NEG_INFINITY);
                    for k in 0..self.classes {
                        let z = self.intercepts[k] + dot(&self.weights[k * d..(k + 1) * d], xi);
                        if z > best.1 {
                            best = (k, z);
                        }
                    }
                    best.0
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The objective's gradient against central differences.
    #[test]
    fn gradient_matches_finite_differences() {
        let x = [
            0.5, -1.0, 2.0, 0.3, -0.7, 1.1, 0.0, 0.4, -2.0, 1.5, 0.9, -0.2,
        ];
        for (classes, y) in [(3, vec![0, 2, 1, 2]), (2, vec![1, 0, 0, 1])] {
            let p = Problem {
                x: &x,
                y: &y,
                n: 4,
                dim: 3,
                rows: if classes == 2 { 1 } else { classes },
                lambda: 0.25,
            };
            let theta: Vec<f64> = (0..p.len())
                .map(|i| ((i * 7 % 5) as f64 - 2.0) / 3.0)
                .collect();
            let (_, g) = p.value_and_gradient(&theta);
            for i in 0..theta.len() {
                let (mut a, mut b) = (theta.clone(), theta.clone());
                a[i] += 1e-6;
                b[i] -= 1e-6;
                let fd = (p.value_and_gradient(&a).0 - p.value_and_gradient(&b).0) / 2e-6;
                assert!(
                    (fd - g[i]).abs() < 1e-7,
                    "{classes} classes, θ{i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }

    /// At the solution the gradient vanishes, and the probabilities of a
    /// separable binary problem are held back by the penalty.
    #[test]
    fn converges() {
        let x = [1.0, 0.0, 2.0, 1.0, -1.0, 0.5, -2.0, -1.0, 0.5, 0.5];
        let fit = fit(&x, &[1, 1, 0, 0, 1], 2, 1.0);
        assert!(fit.converged, "{fit:?}");
        let p = fit.probabilities(&x);
        assert!(p[1] > 0.5 && p[1] < 0.99, "{p:?}");
        assert_eq!(fit.predict(&x), vec![1, 1, 0, 0, 1]);
    }
}

//! Quadrature rules for the path integral of Integrated Gradients: the
//! points `alphas` in [0, 1] and their weights, under Captum's names.
//!
//! Port of Captum's `captum/attr/_utils/approximation_methods.py`, with one
//! deliberate difference: Captum's `riemann_trapezoid` puts its `n` points
//! at `linspace(0, 1, n)` but weighs them `1/n` (halved at the ends), so the
//! weights sum to `(n-1)/n` and every attribution reads `1/n` low (2 % at
//! n = 50; its convergence delta is then ≈ −(F(x) − F(x′))/n). bertlens uses
//! the trapezoid rule for those points, spacing `1/(n-1)`, whose weights sum
//! to 1. Its attributions equal Captum's × n/(n−1).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `method` in Captum's `IntegratedGradients.attribute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Integration {
    #[default]
    #[serde(rename = "gausslegendre")]
    GaussLegendre,
    RiemannLeft,
    RiemannRight,
    RiemannMiddle,
    RiemannTrapezoid,
}

impl Integration {
    pub const NAMES: &'static [&'static str] = &[
        "gausslegendre",
        "riemann_left",
        "riemann_right",
        "riemann_middle",
        "riemann_trapezoid",
    ];

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "gausslegendre" => Self::GaussLegendre,
            "riemann_left" => Self::RiemannLeft,
            "riemann_right" => Self::RiemannRight,
            "riemann_middle" => Self::RiemannMiddle,
            "riemann_trapezoid" => Self::RiemannTrapezoid,
            other => {
                return Err(Error::option(
                    "integration",
                    format!("{other:?} is not one of {}", Self::NAMES.join(", ")),
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::GaussLegendre => "gausslegendre",
            Self::RiemannLeft => "riemann_left",
            Self::RiemannRight => "riemann_right",
            Self::RiemannMiddle => "riemann_middle",
            Self::RiemannTrapezoid => "riemann_trapezoid",
        }
    }

    /// The fewest points the rule is defined for.
    pub fn min_steps(self) -> usize {
        match self {
            Self::GaussLegendre | Self::RiemannLeft | Self::RiemannRight | Self::RiemannMiddle => 1,
            Self::RiemannTrapezoid => 2,
        }
    }

    /// `(alphas, weights)` for `n` points, ascending in alpha.
    pub fn rule(self, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        if n < self.min_steps() {
            return Err(Error::option(
                "n_steps",
                format!(
                    "{} needs at least {} steps, got {n}",
                    self.name(),
                    self.min_steps()
                ),
            ));
        }
        let nf = n as f64;
        Ok(match self {
            Self::GaussLegendre => {
                let (x, w) = gauss_legendre(n);
                // Scaling from [-1, 1] to [0, 1]
                (
                    x.iter().map(|x| 0.5 * (1.0 + x)).collect(),
                    w.iter().map(|w| 0.5 * w).collect(),
                )
            }
            Self::RiemannLeft => ((0..n).map(|i| i as f64 / nf).collect(), vec![1.0 / nf; n]),
            Self::RiemannRight => ((1..=n).map(|i| i as f64 / nf).collect(), vec![1.0 / nf; n]),
            Self::RiemannMiddle => (
                (0..n).map(|i| (i as f64 + 0.5) / nf).collect(),
                vec![1.0 / nf; n],
            ),
            Self::RiemannTrapezoid => {
                let h = 1.0 / (nf - 1.0);
                let mut w = vec![h; n];
                w[0] = h / 2.0;
                w[n - 1] = h / 2.0;
                ((0..n).map(|i| i as f64 * h).collect(), w)
            }
        })
    }
}

/// Gauss–Legendre nodes (ascending) and weights on [-1, 1], as numpy's
/// `leggauss`: Newton's method on the Legendre polynomial from Tricomi's
/// initial guesses, exact for polynomials of degree < 2n.
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            // Legendre recurrence: P_j = ((2j−1)·z·P_{j−1} − (j−1)·P_{j−2}) / j
            let (mut p0, mut p1) = (1.0, z);
            for j in 2..=n {
                let jf = j as f64;
                let p2 = ((2.0 * jf - 1.0) * z * p1 - (jf - 1.0) * p0) / jf;
                p0 = p1;
                p1 = p2;
            }
            // P_n' = n·(z·P_n − P_{n−1}) / (z² − 1)
            dp = nf * (z * p1 - p0) / (z * z - 1.0);
            let dz = p1 / dp;
            z -= dz;
            if dz.abs() < 1e-16 {
                break;
            }
        }
        x[i] = -z;
        x[n - 1 - i] = z;
        let wi = 2.0 / ((1.0 - z * z) * dp * dp);
        w[i] = wi;
        w[n - 1 - i] = wi;
    }
    if n % 2 == 1 {
        x[n / 2] = 0.0;
    }
    (x, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_matches_numpy_leggauss() {
        // np.polynomial.legendre.leggauss(3), leggauss(4)
        let (x, w) = gauss_legendre(3);
        let sq = (3.0f64 / 5.0).sqrt();
        for (a, b) in x.iter().zip([-sq, 0.0, sq]) {
            assert!((a - b).abs() < 1e-15);
        }
        for (a, b) in w.iter().zip([5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0]) {
            assert!((a - b).abs() < 1e-15);
        }
        let (x, w) = gauss_legendre(4);
        let want_x = [
            -0.861136311594053,
            -0.339981043584856,
            0.339981043584856,
            0.861136311594053,
        ];
        let want_w = [
            0.347854845137454,
            0.652145154862546,
            0.652145154862546,
            0.347854845137454,
        ];
        for i in 0..4 {
            assert!((x[i] - want_x[i]).abs() < 1e-14, "{x:?}");
            assert!((w[i] - want_w[i]).abs() < 1e-14, "{w:?}");
        }
        let (x, w) = gauss_legendre(1);
        assert_eq!((x, w), (vec![0.0], vec![2.0]));
    }

    #[test]
    fn every_rule_integrates_what_it_should() {
        // ∫₀¹ p(a) da for a polynomial p of degree 2·50−1 = 99 is exact under
        // 50-point Gauss–Legendre; the Riemann rules converge at 1/n or 1/n².
        for n in [1, 2, 7, 50, 200] {
            let (a, w) = Integration::GaussLegendre.rule(n).unwrap();
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-13);
            let deg = 2 * n - 1;
            let integral: f64 = a.iter().zip(&w).map(|(a, w)| w * a.powi(deg as i32)).sum();
            assert!((integral - 1.0 / (deg as f64 + 1.0)).abs() < 1e-12, "n={n}");
        }
        for m in [
            Integration::RiemannLeft,
            Integration::RiemannRight,
            Integration::RiemannMiddle,
            Integration::RiemannTrapezoid,
        ] {
            let (a, w) = m.rule(50).unwrap();
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-13, "{m:?}");
            let lin: f64 = a.iter().zip(&w).map(|(a, w)| w * a).sum();
            let exact_for_linear = matches!(
                m,
                Integration::RiemannMiddle | Integration::RiemannTrapezoid
            );
            if exact_for_linear {
                assert!((lin - 0.5).abs() < 1e-13, "{m:?}");
            } else {
                assert!((lin - 0.5).abs() - 0.01 < 1e-13, "{m:?}: {lin}");
            }
        }
        let (a, _) = Integration::RiemannTrapezoid.rule(5).unwrap();
        assert_eq!(a, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn too_few_steps_is_an_error_not_a_panic() {
        let err = Integration::RiemannTrapezoid.rule(1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid option n_steps: riemann_trapezoid needs at least 2 steps, got 1"
        );
        assert!(Integration::GaussLegendre.rule(0).is_err());
        assert!(Integration::parse("simpson")
            .unwrap_err()
            .to_string()
            .contains("gausslegendre"));
    }
}

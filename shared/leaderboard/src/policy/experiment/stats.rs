//! The statistics of an experiment's results: two-proportion z, Welch's t, χ² for the split,
//! Wilson and t intervals.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

/// A test statistic and its two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    /// z, t or χ².
    pub statistic: f64,
    /// Degrees of freedom (t and χ²).
    pub df: Option<f64>,
    /// Two-sided (χ²: upper-tail) p-value.
    pub p_value: f64,
}

fn normal() -> Normal {
    Normal::standard()
}

/// Pooled two-proportion z-test of treatment `(c2, n2)` against control `(c1, n1)`; `None`
/// when an arm has no units. Equal rates at 0 or 1 give z = 0, p = 1.
pub fn two_proportion_z(c1: u64, n1: u64, c2: u64, n2: u64) -> Option<Test> {
    if n1 == 0 || n2 == 0 || c1 > n1 || c2 > n2 {
        return None;
    }
    let (c1, n1, c2, n2) = (c1 as f64, n1 as f64, c2 as f64, n2 as f64);
    let pooled = (c1 + c2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return Some(Test {
            statistic: 0.0,
            df: None,
            p_value: 1.0,
        });
    }
    let z = (c2 / n2 - c1 / n1) / se;
    Some(Test {
        statistic: z,
        df: None,
        p_value: (2.0 * normal().sf(z.abs())).min(1.0),
    })
}

/// Summary statistics of one arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Units.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub sd: f64,
}

impl Summary {
    /// From the count, sum and sum of squares; `None` for fewer than 2 units.
    pub fn from_sums(n: u64, sum: f64, sum_sq: f64) -> Option<Self> {
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let mean = sum / nf;
        let var = ((sum_sq - sum * sum / nf) / (nf - 1.0)).max(0.0);
        Some(Self {
            n,
            mean,
            sd: var.sqrt(),
        })
    }
}

/// Welch's t-test of treatment `b` against control `a` (t = (mean_b − mean_a) / se); `None` when
/// undefined (an arm with < 2 units, or no variance while the means differ).
pub fn welch_t(a: Summary, b: Summary) -> Option<Test> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let va = a.sd * a.sd / a.n as f64;
    let vb = b.sd * b.sd / b.n as f64;
    let se2 = va + vb;
    if se2 == 0.0 {
        return (a.mean == b.mean).then_some(Test {
            statistic: 0.0,
            df: None,
            p_value: 1.0,
        });
    }
    let t = (b.mean - a.mean) / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.n as f64 - 1.0) + vb * vb / (b.n as f64 - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(Test {
        statistic: t,
        df: Some(df),
        p_value: (2.0 * dist.sf(t.abs())).min(1.0),
    })
}

/// χ² goodness of fit of `observed` counts against `weights` (normalised here); `None` with
/// fewer than two cells, no observations or a non-positive weight.
pub fn chi_square(observed: &[u64], weights: &[f64]) -> Option<Test> {
    if observed.len() < 2 || observed.len() != weights.len() || weights.iter().any(|w| *w <= 0.0) {
        return None;
    }
    let total: f64 = observed.iter().map(|o| *o as f64).sum();
    let wsum: f64 = weights.iter().sum();
    if total == 0.0 {
        return None;
    }
    let stat: f64 = observed
        .iter()
        .zip(weights)
        .map(|(o, w)| {
            let e = total * w / wsum;
            (*o as f64 - e).powi(2) / e
        })
        .sum();
    let df = (observed.len() - 1) as f64;
    let p = ChiSquared::new(df).ok()?.sf(stat);
    Some(Test {
        statistic: stat,
        df: Some(df),
        p_value: p,
    })
}

/// The two-sided critical value of the standard normal at `alpha`.
pub(super) fn z_crit(alpha: f64) -> f64 {
    normal().inverse_cdf(1.0 - alpha / 2.0)
}

/// Wilson score interval of a proportion at level 1 − `alpha`.
pub fn wilson(successes: u64, trials: u64, alpha: f64) -> Option<(f64, f64)> {
    if trials == 0 || successes > trials {
        return None;
    }
    let (k, n) = (successes as f64, trials as f64);
    let z = z_crit(alpha);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Student-t interval of a mean at level 1 − `alpha`.
pub fn mean_interval(s: Summary, alpha: f64) -> Option<(f64, f64)> {
    let t = StudentsT::new(0.0, 1.0, s.n as f64 - 1.0)
        .ok()?
        .inverse_cdf(1.0 - alpha / 2.0);
    let half = t * s.sd / (s.n as f64).sqrt();
    Some((s.mean - half, s.mean + half))
}

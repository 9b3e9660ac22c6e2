//! What a run measured, reduced to the result line.
//!
//! Percentiles are hand-written rather than taken from a histogram crate: every latency of a run
//! is kept (a run is capped in requests, 200 000 latencies are 3.2 MB), sorted once, and read by
//! the nearest-rank method — the smallest recorded value such that at least `p` % of the values
//! are less than or equal to it. Exact, and small enough to check by hand.

use std::time::Duration;

use serde::Serialize;

/// The raw outcome of one measured phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Latency of every request that got a response (any status), in any order.
    pub latencies: Vec<Duration>,
    /// Responses whose status was not 2xx (they are in `latencies` too).
    pub non_2xx: u64,
    /// Requests that got no response (connect/protocol errors, timeouts).
    pub errors: u64,
    /// Wall time from the start of the phase to its last completed request.
    pub elapsed: Duration,
}

/// The result of a run, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// What was measured (`--label`).
    pub label: String,
    /// Connections, each with one request in flight at a time.
    pub concurrency: usize,
    /// Requests sent: responses plus errors.
    pub requests: u64,
    /// Requests without a response.
    pub errors: u64,
    /// Responses with a status outside 200–299.
    pub non_2xx: u64,
    /// Responses per second of `elapsed_s`.
    pub req_per_s: f64,
    /// Median latency of the responses, in ms (`None` without responses).
    pub p50_ms: Option<f64>,
    /// 99th-percentile latency, in ms.
    pub p99_ms: Option<f64>,
    /// Slowest response, in ms.
    pub max_ms: Option<f64>,
    /// Length of the measured phase, in seconds.
    pub elapsed_s: f64,
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of an ascending slice; `None` when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    // rank = ceil(p/100 · n), 1-based, clamped to 1..=n.
    let rank = (p / 100.0 * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

fn ms(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1e3, 3)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl Summary {
    /// Summarises a tally (sorts its latencies).
    pub fn new(label: &str, concurrency: usize, mut tally: Tally) -> Self {
        tally.latencies.sort_unstable();
        let responses = tally.latencies.len() as u64;
        let secs = tally.elapsed.as_secs_f64();
        let req_per_s = if secs > 0.0 {
            round(responses as f64 / secs, 1)
        } else {
            0.0
        };
        Self {
            label: label.to_string(),
            concurrency,
            requests: responses + tally.errors,
            errors: tally.errors,
            non_2xx: tally.non_2xx,
            req_per_s,
            p50_ms: percentile(&tally.latencies, 50.0).map(ms),
            p99_ms: percentile(&tally.latencies, 99.0).map(ms),
            max_ms: tally.latencies.last().copied().map(ms),
            elapsed_s: round(secs, 3),
        }
    }

    /// The human-readable result line: the label, then `key=value` fields (easy to `awk`).
    pub fn line(&self) -> String {
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
        format!(
            "{}  concurrency={} requests={} errors={} non_2xx={} req/s={:.1} p50_ms={} p99_ms={} max_ms={}",
            self.label,
            self.concurrency,
            self.requests,
            self.errors,
            self.non_2xx,
            self.req_per_s,
            opt(self.p50_ms),
            opt(self.p99_ms),
            opt(self.max_ms),
        )
    }

    /// The result as one JSON object (no trailing newline).
    pub fn json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(v: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        v.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn percentile_of_nothing_is_none() {
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn percentile_of_one_value_is_that_value() {
        let one = millis([7]);
        for p in [0.1, 50.0, 99.0, 100.0] {
            assert_eq!(percentile(&one, p), Some(Duration::from_millis(7)));
        }
    }

    #[test]
    fn nearest_rank_on_one_to_hundred() {
        let v = millis(1..=100);
        assert_eq!(percentile(&v, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&v, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&v, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&v, 0.5), Some(Duration::from_millis(1)));
    }

    #[test]
    fn nearest_rank_rounds_up() {
        // n = 10: p50 → rank 5, p99 → rank ceil(9.9) = 10, p91 → rank ceil(9.1) = 10.
        let v = millis([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        assert_eq!(percentile(&v, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&v, 51.0), Some(Duration::from_millis(60)));
        assert_eq!(percentile(&v, 99.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&v, 90.0), Some(Duration::from_millis(90)));
    }

    #[test]
    fn summary_sorts_counts_and_rates() {
        let mut latencies = millis(1..=100);
        latencies.reverse();
        let s = Summary::new(
            "hello",
            4,
            Tally {
                latencies,
                non_2xx: 3,
                errors: 2,
                elapsed: Duration::from_secs(2),
            },
        );
        assert_eq!(
            s,
            Summary {
                label: "hello".into(),
                concurrency: 4,
                requests: 102,
                errors: 2,
                non_2xx: 3,
                req_per_s: 50.0,
                p50_ms: Some(50.0),
                p99_ms: Some(99.0),
                max_ms: Some(100.0),
                elapsed_s: 2.0,
            }
        );
    }

    #[test]
    fn sub_millisecond_latencies_keep_microseconds() {
        let s = Summary::new(
            "fast",
            1,
            Tally {
                latencies: vec![Duration::from_nanos(812_345); 3],
                elapsed: Duration::from_millis(3),
                ..Tally::default()
            },
        );
        assert_eq!(s.p50_ms, Some(0.812));
        assert_eq!(s.req_per_s, 1000.0);
    }

    #[test]
    fn empty_run_prints_dashes_and_nulls() {
        let s = Summary::new(
            "down",
            2,
            Tally {
                errors: 5,
                elapsed: Duration::from_secs(1),
                ..Tally::default()
            },
        );
        assert_eq!(
            s.line(),
            "down  concurrency=2 requests=5 errors=5 non_2xx=0 req/s=0.0 p50_ms=- p99_ms=- max_ms=-"
        );
        let json: serde_json::Value =
            serde_json::from_str(&s.json().unwrap_or_default()).unwrap_or_default();
        assert_eq!(json["requests"], 5);
        assert!(json["p50_ms"].is_null());
    }

    #[test]
    fn line_and_json_carry_the_same_figures() {
        let s = Summary::new(
            "hello",
            32,
            Tally {
                latencies: millis([1, 2, 3]),
                non_2xx: 1,
                errors: 0,
                elapsed: Duration::from_millis(1500),
            },
        );
        assert_eq!(
            s.line(),
            "hello  concurrency=32 requests=3 errors=0 non_2xx=1 req/s=2.0 p50_ms=2.000 p99_ms=3.000 max_ms=3.000"
        );
        assert_eq!(
            s.json().unwrap_or_default(),
            r#"{"label":"hello","concurrency":32,"requests":3,"errors":0,"non_2xx":1,"req_per_s":2.0,"p50_ms":2.0,"p99_ms":3.0,"max_ms":3.0,"elapsed_s":1.5}"#
        );
    }
}

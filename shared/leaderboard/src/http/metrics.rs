//! Metrics kept outside the instance: each series is one integer in the region's KV store,
//! bumped with `wasi:keyvalue/atomics.increment`, and rendered in the Prometheus text exposition
//! format (0.0.4) by `/metrics`. This module is the pure part: the series' key names, the latency
//! buckets and the rendering.
//!
//! One request costs **one** increment for its request series (route, method, status, cache
//! outcome, submission outcome and latency bucket in one key, so the request counter, the cache
//! counters, the rate-limited counter, the submission outcomes and the latency histogram are all
//! sums over those keys) and one for the route's latency sum. Handlers add a counter of their own
//! only where it carries information the request does not (flags evaluated, events applied,
//! async submissions per board).

use std::collections::BTreeMap;
use std::fmt::Write;

/// Every metrics key starts with this.
pub const PREFIX: &str = "metrics:";
/// The list of series keys ever created (JSON array), what `/metrics` reads.
pub const INDEX: &str = "metrics:index";
/// Separator of the labels inside a key (not valid in a route, method or outcome).
const SEP: char = '\u{1f}';

/// Latency bucket upper bounds in seconds (`le`), `+Inf` after the last.
pub const BUCKETS_SECS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The bucket index of a duration (`BUCKETS_SECS.len()`: `+Inf`).
pub fn bucket(duration_secs: f64) -> usize {
    BUCKETS_SECS
        .iter()
        .position(|le| duration_secs <= *le)
        .unwrap_or(BUCKETS_SECS.len())
}

/// One request as the metrics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLabels<'a> {
    /// The app's route that served it ([`crate::http::routes`]), e.g.
    /// `/api/:v/boards/:board/entries`.
    pub route: &'a str,
    /// The method.
    pub method: &'a str,
    /// The status code.
    pub status: u16,
    /// `HIT`, `MISS`, `STALE` or empty.
    pub cache: &'a str,
    /// A submission's outcome (`created`, `improved`, `unchanged`, `accepted`, …) or empty.
    pub outcome: &'a str,
}

fn clean(s: &str) -> String {
    s.chars().filter(|c| *c != SEP && !c.is_control()).collect()
}

/// The key of a request series.
pub fn request_key(labels: &RequestLabels<'_>, bucket: usize) -> String {
    format!(
        "{PREFIX}r:{}{SEP}{}{SEP}{}{SEP}{}{SEP}{}{SEP}{bucket}",
        clean(labels.route),
        clean(labels.method),
        labels.status,
        clean(labels.cache),
        clean(labels.outcome)
    )
}

/// The key of a route's latency sum (microseconds).
pub fn duration_key(route: &str) -> String {
    format!("{PREFIX}d:{}", clean(route))
}

/// The key of a plain counter (`flag_evaluations`, `events_applied`).
pub fn counter_key(name: &str) -> String {
    format!("{PREFIX}c:{}", clean(name))
}

/// The key of a board's async-submission counter (`tenant/board`).
pub fn board_key(tenant: &str, board: &str) -> String {
    format!("{PREFIX}b:{}{SEP}{}", clean(tenant), clean(board))
}

/// The async boards the series name (`(tenant, board)`), for the gauges read from Redis.
pub fn boards(keys: &[String]) -> Vec<(String, String)> {
    keys.iter()
        .filter_map(|k| k.strip_prefix(PREFIX)?.strip_prefix("b:"))
        .filter_map(|rest| {
            let (t, b) = rest.split_once(SEP)?;
            Some((t.to_string(), b.to_string()))
        })
        .collect()
}

/// Gauges measured at scrape time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Per async board `(tenant, board)`: entries waiting in its inbox, and dead letters.
    pub boards: Vec<BoardGauges>,
    /// The Redis circuit breaker's state (`closed`, `open`, `half_open`).
    pub circuit_state: &'static str,
    /// How many times in a row it has opened.
    pub circuit_openings: u32,
}

/// One async board's backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardGauges {
    /// Tenant.
    pub tenant: String,
    /// Board.
    pub board: String,
    /// Entries in the inbox not yet applied (`None`: Redis did not answer).
    pub inbox: Option<u64>,
    /// Dead letters.
    pub dead: Option<u64>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_le(le: f64) -> String {
    format!("{le}")
}

/// What the stored series add up to, per family.
#[derive(Default)]
struct Tally {
    /// (route, method, status) → requests.
    requests: BTreeMap<(String, String, u16), i64>,
    /// (route, cache outcome) → reads.
    cache: BTreeMap<(String, String), i64>,
    /// route → requests refused with 429.
    limited: BTreeMap<String, i64>,
    /// outcome → submissions.
    submissions: BTreeMap<String, i64>,
    /// route → requests per duration bucket.
    buckets: BTreeMap<String, Vec<i64>>,
    /// route → microseconds spent.
    sums: BTreeMap<String, i64>,
    /// name → count.
    counters: BTreeMap<String, i64>,
    /// (tenant, board) → async submissions.
    async_boards: BTreeMap<(String, String), i64>,
}

impl Tally {
    /// Adds up the stored series (`(key, value)`); keys of no known shape are skipped.
    fn of(series: &[(String, i64)]) -> Self {
        let mut tally = Self::default();
        let Self {
            requests,
            cache,
            limited,
            submissions,
            buckets,
            sums,
            counters,
            async_boards,
        } = &mut tally;
        for (key, value) in series {
            let Some(rest) = key.strip_prefix(PREFIX) else {
                continue;
            };
            if let Some(r) = rest.strip_prefix("r:") {
                let parts: Vec<&str> = r.split(SEP).collect();
                let [route, method, status, cache_outcome, outcome, bucket] = parts[..] else {
                    continue;
                };
                let (Ok(status), Ok(bucket)) = (status.parse::<u16>(), bucket.parse::<usize>())
                else {
                    continue;
                };
                *requests
                    .entry((route.into(), method.into(), status))
                    .or_default() += value;
                if !cache_outcome.is_empty() {
                    *cache
                        .entry((route.into(), cache_outcome.into()))
                        .or_default() += value;
                }
                if status == 429 {
                    *limited.entry(route.into()).or_default() += value;
                }
                if !outcome.is_empty() {
                    *submissions.entry(outcome.into()).or_default() += value;
                }
                let counts = buckets
                    .entry(route.into())
                    .or_insert_with(|| vec![0; BUCKETS_SECS.len() + 1]);
                if let Some(c) = counts.get_mut(bucket.min(BUCKETS_SECS.len())) {
                    *c += value;
                }
            } else if let Some(route) = rest.strip_prefix("d:") {
                *sums.entry(route.into()).or_default() += value;
            } else if let Some(name) = rest.strip_prefix("c:") {
                *counters.entry(name.into()).or_default() += value;
            } else if let Some(b) = rest.strip_prefix("b:")
                && let Some((t, board)) = b.split_once(SEP)
            {
                *async_boards.entry((t.into(), board.into())).or_default() += value;
            }
        }
        tally
    }
}

/// Writes a family's `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders the stored series (`(key, value)`) and the scrape-time gauges as Prometheus text.
pub fn render(series: &[(String, i64)], gauges: &Gauges) -> String {
    let tally = Tally::of(series);
    let mut out = String::new();
    render_http(&mut out, &tally);
    render_counters(&mut out, &tally);
    render_boards(&mut out, &tally, gauges);
    render_breaker(&mut out, gauges);
    out
}

/// Requests, their durations, cache outcomes, rate-limit refusals and submissions.
fn render_http(out: &mut String, tally: &Tally) {
    family(
        out,
        "lb_http_requests_total",
        "counter",
        "HTTP requests served by the app's components, by route, method and status.",
    );
    for ((route, method, status), n) in &tally.requests {
        let _ = writeln!(
            out,
            "lb_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
            escape(route),
            escape(method)
        );
    }

    render_durations(out, tally);

    family(
        out,
        "lb_cache_requests_total",
        "counter",
        "Ranked reads by edge-cache outcome (HIT, MISS, STALE).",
    );
    for ((route, outcome), n) in &tally.cache {
        let _ = writeln!(
            out,
            "lb_cache_requests_total{{route=\"{}\",outcome=\"{}\"}} {n}",
            escape(route),
            escape(outcome)
        );
    }

    family(
        out,
        "lb_rate_limited_requests_total",
        "counter",
        "Requests refused with 429 by a rate limit or quota, by route.",
    );
    for (route, n) in &tally.limited {
        let _ = writeln!(
            out,
            "lb_rate_limited_requests_total{{route=\"{}\"}} {n}",
            escape(route)
        );
    }

    family(
        out,
        "lb_score_submissions_total",
        "counter",
        "Score submissions by outcome (created, improved, unchanged, accepted for an async board, replayed).",
    );
    for (outcome, n) in &tally.submissions {
        let _ = writeln!(
            out,
            "lb_score_submissions_total{{outcome=\"{}\"}} {n}",
            escape(outcome)
        );
    }
}

/// The requests' duration histogram, by route.
fn render_durations(out: &mut String, tally: &Tally) {
    family(
        out,
        "lb_http_request_duration_seconds",
        "histogram",
        "Time the component spent on a request (from the handler's start to its response), by route.",
    );
    for (route, counts) in &tally.buckets {
        let route = escape(route);
        let mut cumulative = 0;
        for (i, c) in counts.iter().enumerate() {
            cumulative += c;
            let le = BUCKETS_SECS
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| fmt_le(*b));
            let _ = writeln!(
                out,
                "lb_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let sum_us = tally.sums.get(route.as_str()).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "lb_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
            sum_us as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "lb_http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}"
        );
    }
}

/// The plain counters.
fn render_counters(out: &mut String, tally: &Tally) {
    for (name, help) in [
        (
            "flag_evaluations",
            "Flags evaluated over OFREP (a bulk request counts each flag).",
        ),
        (
            "events_applied",
            "Events applied to boards by drains (the Redis-triggered projector and the drain route).",
        ),
        (
            "webhook_delivered",
            "Webhook delivery attempts answered 2xx.",
        ),
        (
            "webhook_failed_attempts",
            "Webhook delivery attempts that failed (non-2xx, timeout, connection error, refused target).",
        ),
        (
            "webhook_dead_lettered",
            "Webhook messages that failed for good (no retry left, 410 Gone, subscription disabled or deleted).",
        ),
        (
            "push_published",
            "Board states the worker published to the push tier.",
        ),
        (
            "push_publish_failures",
            "Publishes the push tier did not take (down, refused, timed out); the board's next change publishes again.",
        ),
        (
            "cache_invalidation_failures",
            "Cached copies a write could not drop (an edge-cache invalidation here, its announcement to other regions, a remembered value): served until their TTL.",
        ),
        (
            "webhook_attempt_ms",
            "Milliseconds spent in webhook delivery attempts (divided by the attempts: the mean latency).",
        ),
    ] {
        let metric = format!("lb_{name}_total");
        family(out, &metric, "counter", help);
        let _ = writeln!(
            out,
            "{metric} {}",
            tally.counters.get(name).copied().unwrap_or(0)
        );
    }
}

/// Per async board: submissions, and the inbox and dead letters read at scrape time.
fn render_boards(out: &mut String, tally: &Tally, gauges: &Gauges) {
    family(
        out,
        "lb_async_submissions_total",
        "counter",
        "Submissions accepted into an async board's inbox, by board.",
    );
    for ((tenant, board), n) in &tally.async_boards {
        let _ = writeln!(
            out,
            "lb_async_submissions_total{{tenant=\"{}\",board=\"{}\"}} {n}",
            escape(tenant),
            escape(board)
        );
    }

    family(
        out,
        "lb_inbox_entries",
        "gauge",
        "Entries waiting in an async board's inbox (stream lag), read from Redis at scrape time.",
    );
    for g in &gauges.boards {
        if let Some(n) = g.inbox {
            let _ = writeln!(
                out,
                "lb_inbox_entries{{tenant=\"{}\",board=\"{}\"}} {n}",
                escape(&g.tenant),
                escape(&g.board)
            );
        }
    }
    family(
        out,
        "lb_dead_letters",
        "gauge",
        "Dead letters of an async board, read from Redis at scrape time.",
    );
    for g in &gauges.boards {
        if let Some(n) = g.dead {
            let _ = writeln!(
                out,
                "lb_dead_letters{{tenant=\"{}\",board=\"{}\"}} {n}",
                escape(&g.tenant),
                escape(&g.board)
            );
        }
    }
}

/// The region's Redis circuit breaker.
fn render_breaker(out: &mut String, gauges: &Gauges) {
    family(
        out,
        "lb_redis_circuit_state",
        "gauge",
        "The region's Redis circuit breaker: 1 for its current state.",
    );
    for state in ["closed", "open", "half_open"] {
        let _ = writeln!(
            out,
            "lb_redis_circuit_state{{state=\"{state}\"}} {}",
            u8::from(gauges.circuit_state == state)
        );
    }
    family(
        out,
        "lb_redis_circuit_openings",
        "gauge",
        "How many times in a row the breaker has opened (0 when closed).",
    );
    let _ = writeln!(out, "lb_redis_circuit_openings {}", gauges.circuit_openings);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_upper_bounds() {
        assert_eq!(bucket(0.0005), 0);
        assert_eq!(bucket(0.001), 0);
        assert_eq!(bucket(0.0011), 1);
        assert_eq!(bucket(7.0), BUCKETS_SECS.len());
    }

    #[test]
    fn series_sum_into_families() {
        let entries = RequestLabels {
            route: "/api/:v/boards/:board/entries",
            method: "GET",
            status: 200,
            cache: "HIT",
            outcome: "",
        };
        let submit = RequestLabels {
            route: "/api/:v/boards/:board/scores",
            method: "POST",
            status: 201,
            cache: "",
            outcome: "created",
        };
        let limited = RequestLabels {
            status: 429,
            outcome: "",
            ..submit.clone()
        };
        let series = vec![
            (request_key(&entries, 0), 3),
            (request_key(&entries, 2), 1),
            (
                request_key(
                    &RequestLabels {
                        cache: "MISS",
                        ..entries.clone()
                    },
                    4,
                ),
                2,
            ),
            (duration_key(entries.route), 12_500),
            (request_key(&submit, 3), 4),
            (request_key(&limited, 0), 2),
            (counter_key("events_applied"), 9),
            (board_key("acme", "q\"1"), 5),
            ("unrelated".into(), 1),
        ];
        let text = render(
            &series,
            &Gauges {
                boards: vec![BoardGauges {
                    tenant: "acme".into(),
                    board: "q\"1".into(),
                    inbox: Some(2),
                    dead: Some(0),
                }],
                circuit_state: "closed",
                circuit_openings: 0,
            },
        );
        for line in [
            "lb_http_requests_total{route=\"/api/:v/boards/:board/entries\",method=\"GET\",status=\"200\"} 6",
            "lb_http_requests_total{route=\"/api/:v/boards/:board/scores\",method=\"POST\",status=\"429\"} 2",
            "lb_cache_requests_total{route=\"/api/:v/boards/:board/entries\",outcome=\"HIT\"} 4",
            "lb_cache_requests_total{route=\"/api/:v/boards/:board/entries\",outcome=\"MISS\"} 2",
            "lb_http_request_duration_seconds_bucket{route=\"/api/:v/boards/:board/entries\",le=\"0.001\"} 3",
            "lb_http_request_duration_seconds_bucket{route=\"/api/:v/boards/:board/entries\",le=\"0.005\"} 4",
            "lb_http_request_duration_seconds_bucket{route=\"/api/:v/boards/:board/entries\",le=\"+Inf\"} 6",
            "lb_http_request_duration_seconds_sum{route=\"/api/:v/boards/:board/entries\"} 0.0125",
            "lb_http_request_duration_seconds_count{route=\"/api/:v/boards/:board/entries\"} 6",
            "lb_rate_limited_requests_total{route=\"/api/:v/boards/:board/scores\"} 2",
            "lb_score_submissions_total{outcome=\"created\"} 4",
            "lb_events_applied_total 9",
            "lb_flag_evaluations_total 0",
            "lb_async_submissions_total{tenant=\"acme\",board=\"q\\\"1\"} 5",
            "lb_inbox_entries{tenant=\"acme\",board=\"q\\\"1\"} 2",
            "lb_redis_circuit_state{state=\"closed\"} 1",
            "lb_redis_circuit_state{state=\"open\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        assert_eq!(
            boards(&series.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()),
            vec![("acme".to_string(), "q\"1".to_string())]
        );
    }
}

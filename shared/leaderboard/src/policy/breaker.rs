//! The circuit breaker around Redis: a small state machine kept as one JSON value in a region's KV
//! store, so every instance of the region (each request is a fresh instance) sees the same state.
//!
//! - **closed**: requests go to Redis; failing requests are counted per fixed window
//!   ([`Policy::window_ms`], [`window`]); [`Policy::threshold`] of them within one window open
//!   the breaker ([`Breaker::trip`]).
//! - **open** until `open_until_ms`: nothing contacts Redis. Writes fail at once with `503` and a
//!   `Retry-After` of the time left; cached reads serve their stale copy (stale-if-error).
//! - **half-open** after that: the first request claims the probe (for [`Policy::probe_ms`]) and
//!   goes to Redis; the others still fail fast. The probe's success closes the breaker, its
//!   failure opens it again for the same short [`Policy::open_ms`].
//!
//! The open window is short and does not grow: a probe costs one connection attempt (a refused
//! connect answers in well under a millisecond), so probing every [`Policy::open_ms`] bounds
//! the load on a failing Redis at about two connections a second per region, and writes come
//! back within about one open window of Redis answering again, however long the outage was. (A
//! window that doubled after each failed probe, as this one did up to 60 s, turned a 20 s Redis
//! failover into 35 s without writes.)
//!
//! The state is shared only as far as the region's KV store is atomic: two instances may both
//! count a failure in the same window or both claim a probe. That bounds nothing important (one
//! extra Redis attempt) and costs no extra round trip on the hot path.

use serde::{Deserialize, Serialize};

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failing requests within one window that open the breaker.
    pub threshold: u32,
    /// The failure-counting window.
    pub window_ms: i64,
    /// How long the breaker stays open (after it trips, and after each failed probe).
    pub open_ms: i64,
    /// How long a claimed probe keeps other requests out (a probe that never reports, e.g. one
    /// that waits on a black-holed Redis, gives way after this).
    pub probe_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            threshold: 5,
            window_ms: 10_000,
            open_ms: 500,
            probe_ms: 2_000,
        }
    }
}

/// The shared state (`{}` when closed and healthy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Breaker {
    /// Failures counted in the current window.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub failures: u32,
    /// When the current window started.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub window_start_ms: i64,
    /// Open until this time (0: closed).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub open_until_ms: i64,
    /// A probe is in flight until this time.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub probe_until_ms: i64,
    /// How many times in a row it opened (the trip, then each failed probe), for
    /// `/health/detailed`, metrics and the problem's detail.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub openings: u32,
    /// When it first opened in this outage (for `/health/detailed` and logs).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub opened_at_ms: i64,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// The fixed failure-counting window `now_ms` falls in (`now_ms / window_ms`).
pub fn window(policy: &Policy, now_ms: i64) -> i64 {
    now_ms.div_euclid(policy.window_ms.max(1))
}

/// What a request may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go to Redis.
    Closed,
    /// Half-open and no probe in flight: this request may claim the probe ([`Breaker::claim_probe`]).
    Probe,
    /// Open (or a probe is in flight): do not contact Redis; retry after this long.
    Reject {
        /// How long until a request may try (the open time left, or the probe's).
        retry_after_ms: i64,
    },
}

/// The breaker's state as reported (`/health/detailed`, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Requests go to Redis.
    Closed,
    /// Nothing contacts Redis.
    Open,
    /// One probe may.
    HalfOpen,
}

impl State {
    /// `closed`, `open`, `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

impl Breaker {
    /// Decodes the stored value; anything unreadable counts as closed (a breaker must never keep
    /// the app away from Redis because of its own bookkeeping).
    pub fn decode(raw: Option<&[u8]>) -> Self {
        raw.and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default()
    }

    /// The stored form (JSON).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Whether there is nothing to remember (closed, no failures counted).
    pub fn is_clear(&self) -> bool {
        *self == Self::default()
    }

    /// The state at `now_ms`.
    pub fn state(&self, now_ms: i64) -> State {
        if self.open_until_ms == 0 {
            State::Closed
        } else if now_ms < self.open_until_ms {
            State::Open
        } else {
            State::HalfOpen
        }
    }

    /// What a request may do at `now_ms`.
    pub fn admit(&self, now_ms: i64) -> Admission {
        match self.state(now_ms) {
            State::Closed => Admission::Closed,
            State::Open => Admission::Reject {
                retry_after_ms: self.open_until_ms - now_ms,
            },
            State::HalfOpen if now_ms < self.probe_until_ms => Admission::Reject {
                retry_after_ms: self.probe_until_ms - now_ms,
            },
            State::HalfOpen => Admission::Probe,
        }
    }

    /// Claims the half-open probe; `false` if another request holds it (or it is not half-open).
    pub fn claim_probe(&mut self, policy: &Policy, now_ms: i64) -> bool {
        if self.admit(now_ms) != Admission::Probe {
            return false;
        }
        self.probe_until_ms = now_ms + policy.probe_ms;
        true
    }

    /// Counts a failed request; whether the breaker opened because of it.
    pub fn failed(&mut self, policy: &Policy, now_ms: i64) -> bool {
        if self.open_until_ms != 0 {
            // A failed probe (or a request that started before it opened): open again.
            if self.state(now_ms) == State::Open && self.probe_until_ms == 0 {
                return false;
            }
            self.open(policy, now_ms);
            return true;
        }
        if self.failures == 0 || now_ms - self.window_start_ms >= policy.window_ms {
            self.window_start_ms = now_ms;
            self.failures = 0;
        }
        self.failures += 1;
        if self.failures >= policy.threshold {
            self.open(policy, now_ms);
            return true;
        }
        false
    }

    /// Opens a closed breaker (its failures were counted elsewhere: the edge counts them with an
    /// atomic increment per window, since a compare-and-swap on an absent key is not atomic on
    /// Spin's stores). Whether it opened.
    pub fn trip(&mut self, policy: &Policy, now_ms: i64) -> bool {
        if self.state(now_ms) != State::Closed {
            return false;
        }
        self.open(policy, now_ms);
        true
    }

    fn open(&mut self, policy: &Policy, now_ms: i64) {
        *self = Self {
            openings: self.openings.saturating_add(1),
            open_until_ms: now_ms + policy.open_ms,
            opened_at_ms: if self.opened_at_ms != 0 {
                self.opened_at_ms
            } else {
                now_ms
            },
            ..Self::default()
        };
    }

    /// Records a request that reached Redis: closes the breaker and forgets counted failures.
    /// Whether anything changed (only then does the stored value need a write).
    pub fn succeeded(&mut self) -> bool {
        if self.is_clear() {
            return false;
        }
        *self = Self::default();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        threshold: 3,
        window_ms: 1_000,
        open_ms: 500,
        probe_ms: 100,
    };

    #[test]
    fn opens_after_threshold_failures_within_one_window() {
        let mut b = Breaker::default();
        assert!(!b.failed(&P, 0));
        assert!(!b.failed(&P, 400));
        assert_eq!(b.admit(500), Admission::Closed);
        assert!(b.failed(&P, 900));
        assert_eq!(b.state(900), State::Open);
        assert_eq!(
            b.admit(1_000),
            Admission::Reject {
                retry_after_ms: 400
            }
        );
    }

    #[test]
    fn failures_in_different_windows_do_not_add_up() {
        let mut b = Breaker::default();
        assert!(!b.failed(&P, 0));
        assert!(!b.failed(&P, 500));
        // A new window starts at 1 000: the count restarts.
        assert!(!b.failed(&P, 1_000));
        assert!(!b.failed(&P, 1_100));
        assert_eq!(b.state(1_100), State::Closed);
        assert!(b.failed(&P, 1_200));
    }

    #[test]
    fn half_open_lets_one_probe_through_and_success_closes() {
        let mut b = Breaker::default();
        for t in [0, 1, 2] {
            b.failed(&P, t);
        }
        assert_eq!(b.admit(502), Admission::Probe);
        assert!(b.claim_probe(&P, 502));
        assert_eq!(b.admit(503), Admission::Reject { retry_after_ms: 99 });
        assert!(!b.claim_probe(&P, 503));
        assert!(b.succeeded());
        assert!(b.is_clear());
        assert_eq!(b.admit(504), Admission::Closed);
        assert!(!b.succeeded(), "nothing to write when already clear");
    }

    #[test]
    fn a_failed_probe_reopens_for_the_same_short_window_however_long_the_outage() {
        let mut b = Breaker::default();
        for t in [0, 1, 2] {
            b.failed(&P, t);
        }
        assert_eq!(b.open_until_ms, 502);
        // An outage of a minute: a probe every open window, each failing.
        let mut t = 502;
        for _ in 0..100 {
            assert!(b.claim_probe(&P, t));
            assert!(b.failed(&P, t + 3));
            assert_eq!(b.open_until_ms, t + 3 + 500, "never longer than open_ms");
            t = b.open_until_ms;
        }
        assert_eq!(b.openings, 101);
        assert_eq!(b.opened_at_ms, 2, "the outage's start is kept");
        // Redis is back: the next probe (at most one open window later) closes it.
        assert_eq!(b.admit(t), Admission::Probe);
        assert!(b.claim_probe(&P, t));
        assert!(b.succeeded());
        assert_eq!(b.admit(t + 1), Admission::Closed);
    }

    #[test]
    fn a_probe_that_never_reports_gives_way_after_probe_ms() {
        let mut b = Breaker::default();
        assert!(b.trip(&P, 0));
        assert!(b.claim_probe(&P, 500));
        assert_eq!(b.admit(550), Admission::Reject { retry_after_ms: 50 });
        assert_eq!(b.admit(600), Admission::Probe);
        assert!(b.claim_probe(&P, 600));
    }

    #[test]
    fn a_late_failure_while_open_does_not_extend_it() {
        let mut b = Breaker::default();
        for t in [0, 1, 2] {
            b.failed(&P, t);
        }
        assert!(!b.failed(&P, 100));
        assert_eq!(b.open_until_ms, 502);
    }

    #[test]
    fn trip_opens_only_a_closed_breaker() {
        let mut b = Breaker::default();
        assert!(b.trip(&P, 10));
        assert_eq!(b.state(11), State::Open);
        assert_eq!(b.open_until_ms, 510);
        assert!(!b.trip(&P, 20), "already open");
        assert_eq!(b.open_until_ms, 510);
    }

    /// The failure-counting window a time falls in.
    #[test]
    fn windows_are_fixed() {
        assert_eq!(window(&P, 999), 0);
        assert_eq!(window(&P, 1_000), 1);
    }

    #[test]
    fn the_stored_form_round_trips_and_garbage_reads_as_closed() {
        let mut b = Breaker::default();
        assert_eq!(b.encode(), b"{}");
        b.failed(&P, 7);
        assert_eq!(Breaker::decode(Some(&b.encode())), b);
        assert!(Breaker::decode(Some(b"\x01\x02")).is_clear());
        assert!(Breaker::decode(None).is_clear());
    }
}

//! Board analytics (`GET /api/{v}/boards/{board}/stats?window&step`): what the board did per
//! step of a window, and how its current standings are spread.
//!
//! # What is counted, and where
//!
//! Every submission a board judges is counted in a one-minute bucket of the time it was made
//! (`Unix ms / 60 000`), in Redis, by the script that decides its fate (no extra round trip on an
//! applied write):
//!
//! | counter | counts |
//! | --- | --- |
//! | `accepted` | submissions applied to the board (a `flag`ged one included; an async board's when the projector applies it) |
//! | `flagged` | accepted submissions an integrity rule flagged |
//! | `held` | submissions an integrity rule held for review (an approval later is not counted again) |
//! | `rejected` | submissions an integrity rule rejected (bounds and other `4xx` never reach Redis and are not counted) |
//! | `personal_bests` | applied submissions that improved the player's standing (approvals included) |
//! | `new_players` | applied submissions that were the player's first in the period |
//! | `unique_players` | distinct players with an accepted, held or rejected submission (HyperLogLog: ±0.81 % standard error, exact while small) |
//!
//! A bucket expires [`RETAIN_SECS`] after its last write, so a board's stats hold at most a day
//! and a bit: a hash of six counters, a HyperLogLog (≤ 12 KiB) and the minute's top
//! [`CLIMBERS_KEPT`] climbers per minute with submissions.
//!
//! **Climbers** are the players whose own improvements gained them the most ranks within the
//! window, measured when each was written (rank before − rank after; a player new to the period
//! is not a climber, and being overtaken later is not subtracted).
//!
//! **Distribution**: over the current period's standings, the best and worst scores, the
//! percentiles p50/p90/p99 — the score of the standing that is at least as good as that share of
//! the standings (nearest rank, counted from the worst: p99 is near the top whatever the board's
//! direction) — and a histogram of at most [`HISTOGRAM_BUCKETS`] + 1 equal, round-width buckets
//! (1, 2 or 5 × 10ⁿ minor units) from the lowest score to the highest, counted exactly.

use serde::Serialize;

use crate::error::{LeaderboardError, Result};

mod report;

pub use report::{Distribution, DistributionQuery, WindowStats, document};

/// The width of a bucket: one minute.
pub const BUCKET_MS: i64 = 60_000;
/// How long a bucket stays after its last write (25 hours: a full day is always readable).
pub const RETAIN_SECS: u64 = 25 * 3600;
/// The longest window: one day.
pub const MAX_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// The window when none is asked for.
pub const DEFAULT_WINDOW: &str = "1h";
/// The step when none is asked for.
pub const DEFAULT_STEP: &str = "1m";
/// Buckets a histogram aims at.
pub const HISTOGRAM_BUCKETS: usize = 20;
/// The percentiles of the distribution.
pub const PERCENTILES: [u8; 3] = [50, 90, 99];
/// Climbers kept per minute bucket (the minute's best).
pub const CLIMBERS_KEPT: usize = 100;
/// Climbers shown for a window.
pub const CLIMBERS_SHOWN: usize = 10;

/// One counter of a minute bucket (the field name in its Redis hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Applied.
    Accepted,
    /// Applied and flagged.
    Flagged,
    /// Held for review.
    Held,
    /// Rejected by an integrity rule.
    Rejected,
    /// Improved the player's standing.
    PersonalBest,
    /// The player's first in the period.
    NewPlayer,
}

impl Counter {
    /// Every counter, in the order a bucket is read.
    pub const ALL: [Counter; 6] = [
        Counter::Accepted,
        Counter::Flagged,
        Counter::Held,
        Counter::Rejected,
        Counter::PersonalBest,
        Counter::NewPlayer,
    ];

    /// The hash field (and JSON name).
    pub fn as_str(self) -> &'static str {
        match self {
            Counter::Accepted => "accepted",
            Counter::Flagged => "flagged",
            Counter::Held => "held",
            Counter::Rejected => "rejected",
            Counter::PersonalBest => "personal_bests",
            Counter::NewPlayer => "new_players",
        }
    }
}

/// The counters an applied write increments: a submission as it `arrived` counts as accepted
/// (and `flagged` when a rule flagged it); an approval of a held one was counted as held when
/// it arrived and adds only what it does to the board: a personal best when it `improved` the
/// standing, a new player when it is the player's `first` in the period.
pub fn applied_counters(arrived: bool, flagged: bool, improved: bool, first: bool) -> Vec<Counter> {
    [
        (arrived, Counter::Accepted),
        (arrived && flagged, Counter::Flagged),
        (improved, Counter::PersonalBest),
        (first, Counter::NewPlayer),
    ]
    .into_iter()
    .filter_map(|(on, c)| on.then_some(c))
    .collect()
}

/// The minute bucket of a moment.
pub fn minute(at_ms: i64) -> i64 {
    at_ms.div_euclid(BUCKET_MS)
}

/// Parses a duration: a positive integer and a unit, `s`, `m`, `h` or `d` (`90s`, `5m`, `1h`).
pub fn parse_duration(name: &str, raw: &str) -> Result<i64> {
    let bad = || {
        LeaderboardError::InvalidBody(format!(
            "query parameter '{name}' must be a duration such as 30m, 1h or 1d (a positive \
             integer and s, m, h or d), got '{raw}'"
        ))
    };
    // ASCII only: anything else is refused before it is split (a byte index inside a character
    // would panic).
    if !raw.is_ascii() || raw.len() < 2 {
        return Err(bad());
    }
    let (n, unit) = raw.split_at(raw.len() - 1);
    if !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 100_000)
        .ok_or_else(bad)?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    Ok(n * unit_ms)
}

/// The steps a stats read covers: `window` long, ending with the step that holds now; steps
/// are aligned to multiples of `step` since the Unix epoch, so two reads a little apart show the
/// same steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start of the first step (Unix ms).
    pub start_ms: i64,
    /// End of the last step (exclusive; the last step is in progress).
    pub end_ms: i64,
    /// Step length (ms): a whole number of minutes.
    pub step_ms: i64,
}

impl Window {
    /// Parses `window` and `step` (defaults [`DEFAULT_WINDOW`], [`DEFAULT_STEP`]) at `now_ms`:
    /// the step a whole number of minutes, the window a whole number of steps and at most a day.
    pub fn parse(window: Option<&str>, step: Option<&str>, now_ms: i64) -> Result<Self> {
        let window_ms = parse_duration("window", window.unwrap_or(DEFAULT_WINDOW))?;
        let step_ms = parse_duration("step", step.unwrap_or(DEFAULT_STEP))?;
        let bad = |m: String| Err(LeaderboardError::InvalidBody(m));
        if step_ms % BUCKET_MS != 0 {
            return bad(format!(
                "step must be a whole number of minutes (stats are kept per minute), got {} s",
                step_ms / 1000
            ));
        }
        if window_ms > MAX_WINDOW_MS {
            return bad("window must be at most 1d (stats are kept for a day)".into());
        }
        if window_ms % step_ms != 0 {
            return bad(format!(
                "window ({} s) must be a whole number of steps ({} s)",
                window_ms / 1000,
                step_ms / 1000
            ));
        }
        let end_ms = (now_ms.div_euclid(step_ms) + 1) * step_ms;
        Ok(Self {
            start_ms: end_ms - window_ms,
            end_ms,
            step_ms,
        })
    }

    /// How many steps.
    pub fn steps(&self) -> usize {
        usize::try_from((self.end_ms - self.start_ms) / self.step_ms).unwrap_or(0)
    }

    /// Minute buckets per step.
    pub fn minutes_per_step(&self) -> usize {
        usize::try_from(self.step_ms / BUCKET_MS).unwrap_or(1)
    }

    /// The minute buckets of the window, oldest first.
    pub fn minutes(&self) -> impl Iterator<Item = i64> {
        minute(self.start_ms)..minute(self.end_ms)
    }
}

/// What one step (or the whole window) counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Applied submissions.
    pub accepted: u64,
    /// Applied and flagged.
    pub flagged: u64,
    /// Held for review.
    pub held: u64,
    /// Rejected by an integrity rule.
    pub rejected: u64,
    /// Improvements of a player's standing.
    pub personal_bests: u64,
    /// Players new to the period.
    pub new_players: u64,
    /// Distinct players (HyperLogLog estimate).
    pub unique_players: u64,
}

impl Counts {
    /// Adds a counter read from a bucket.
    pub fn add(&mut self, counter: Counter, n: u64) {
        let slot = match counter {
            Counter::Accepted => &mut self.accepted,
            Counter::Flagged => &mut self.flagged,
            Counter::Held => &mut self.held,
            Counter::Rejected => &mut self.rejected,
            Counter::PersonalBest => &mut self.personal_bests,
            Counter::NewPlayer => &mut self.new_players,
        };
        *slot += n;
    }

    /// The sum of two counts; `unique_players` is not additive and is left to the caller.
    pub fn plus(mut self, other: &Counts) -> Counts {
        for c in Counter::ALL {
            self.add(c, other.get(c));
        }
        self
    }

    /// One counter.
    pub fn get(&self, counter: Counter) -> u64 {
        match counter {
            Counter::Accepted => self.accepted,
            Counter::Flagged => self.flagged,
            Counter::Held => self.held,
            Counter::Rejected => self.rejected,
            Counter::PersonalBest => self.personal_bests,
            Counter::NewPlayer => self.new_players,
        }
    }
}

/// The zero-based index, in the sorted set (best first), of the standing at percentile `pct` of
/// `n` standings: nearest rank counted from the worst, `⌈pct/100 · n⌉`-th worst.
pub fn percentile_index(n: u64, pct: u8) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let from_worst = (u64::from(pct) * n).div_ceil(100).max(1);
    Some(n - from_worst)
}

/// Histogram buckets from `lowest` to `highest` score (minor units, inclusive): equal widths of
/// 1, 2 or 5 × 10ⁿ, the first starting at a multiple of the width, at most `wanted` + 1 of them.
pub fn histogram_buckets(lowest: i64, highest: i64, wanted: usize) -> Vec<(i64, i64)> {
    let (lo, hi) = (lowest.min(highest), lowest.max(highest));
    let span = i128::from(hi) - i128::from(lo) + 1;
    let wanted = i128::try_from(wanted.max(1)).unwrap_or(1);
    let raw = (span + wanted - 1) / wanted;
    let mut width: i128 = 1;
    'outer: loop {
        for m in [1, 2, 5] {
            if width * m >= raw {
                width *= m;
                break 'outer;
            }
        }
        width *= 10;
    }
    let first = i128::from(lo).div_euclid(width) * width;
    let mut out = Vec::new();
    let mut at = first;
    while at <= i128::from(hi) {
        let end = (at + width - 1).min(i128::from(hi));
        let start = at.max(i128::from(lo));
        if let (Ok(s), Ok(e)) = (i64::try_from(start), i64::try_from(end)) {
            out.push((s, e));
        }
        at += width;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_counts_only_what_it_does_to_the_board() {
        use Counter::*;
        assert_eq!(
            applied_counters(true, true, true, true),
            [Accepted, Flagged, PersonalBest, NewPlayer]
        );
        assert_eq!(applied_counters(true, false, false, false), [Accepted]);
        assert_eq!(applied_counters(false, true, true, false), [PersonalBest]);
    }

    #[test]
    fn durations_parse_with_their_unit_and_refuse_the_rest() {
        assert_eq!(parse_duration("w", "90s").unwrap(), 90_000);
        assert_eq!(parse_duration("w", "5m").unwrap(), 300_000);
        assert_eq!(parse_duration("w", "1h").unwrap(), 3_600_000);
        assert_eq!(parse_duration("w", "1d").unwrap(), 86_400_000);
        for bad in [
            "",
            "h",
            "0m",
            "-1h",
            "1.5h",
            "1w",
            "1 h",
            "99999999999m",
            "8ü¸",
            "1ü",
            "ü",
            "+1h",
        ] {
            assert!(parse_duration("w", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_window_ends_with_the_step_in_progress_and_holds_whole_steps() {
        let now = 1_700_000_123_456;
        let w = Window::parse(Some("1h"), Some("5m"), now).unwrap();
        assert_eq!(w.steps(), 12);
        assert_eq!(w.minutes_per_step(), 5);
        assert_eq!(w.end_ms % 300_000, 0);
        assert!(w.start_ms <= now - 3_300_000 && now < w.end_ms);
        assert_eq!(w.minutes().count(), 60);
        assert_eq!(w.minutes().last(), Some(minute(w.end_ms) - 1));
        let d = Window::parse(None, None, now).unwrap();
        assert_eq!((d.steps(), d.step_ms), (60, 60_000));
        assert!(d.minutes().any(|m| m == minute(now)));
        for (window, step) in [("2d", "1h"), ("1h", "90s"), ("1h", "7m"), ("1h", "30s")] {
            assert!(
                Window::parse(Some(window), Some(step), now).is_err(),
                "{window}/{step}"
            );
        }
    }

    #[test]
    fn percentiles_count_from_the_worst_by_nearest_rank() {
        // Ten standings, best first at index 0: p50 is the 5th worst (index 5), p90 the 9th
        // worst (index 1), p99 the 10th worst (the best).
        assert_eq!(percentile_index(10, 50), Some(5));
        assert_eq!(percentile_index(10, 90), Some(1));
        assert_eq!(percentile_index(10, 99), Some(0));
        assert_eq!(percentile_index(1, 50), Some(0));
        assert_eq!(percentile_index(0, 50), None);
        assert_eq!(percentile_index(1000, 99), Some(10));
    }

    #[test]
    fn histogram_buckets_are_round_equal_and_cover_the_range() {
        assert_eq!(
            histogram_buckets(0, 99, 10),
            (0..10).map(|i| (i * 10, i * 10 + 9)).collect::<Vec<_>>()
        );
        let b = histogram_buckets(-37, 1234, 20);
        assert_eq!(b.first().unwrap().0, -37);
        assert_eq!(b.last().unwrap().1, 1234);
        assert!(b.len() <= 21);
        // Width 100 (1271 / 20 = 64 → 100); inner buckets are whole widths at multiples.
        assert_eq!(b[1], (0, 99));
        for w in b.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0);
        }
        assert_eq!(histogram_buckets(5, 5, 20), vec![(5, 5)]);
        let wide = histogram_buckets(i64::MIN + 1, i64::MAX, 20);
        assert!(wide.len() <= 21 && !wide.is_empty());
    }
}

//! Periods: which leaderboard instance a timestamp belongs to (all UTC).
//!
//! | kind      | id           | starts                          |
//! |-----------|--------------|---------------------------------|
//! | all_time  | `all`        | never resets                    |
//! | daily     | `2026-11-21` | 00:00 UTC                       |
//! | weekly    | `2026-W47`   | Monday 00:00 UTC, **ISO** year  |
//! | monthly   | `2026-11`    | the 1st, 00:00 UTC              |
//!
//! ISO weeks belong to the year of their Thursday, so 2021-01-01 is in `2020-W53` and 2024-12-30 in
//! `2025-W01`. Timestamps are Unix milliseconds in `0..=MAX_PERIOD_TIME_MS` (1970 to the end of
//! 9999). Retention: the current period is always readable, so are the `retain_periods` periods
//! immediately before it; future periods are not.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{LeaderboardError, Result};

/// Milliseconds per day.
pub const DAY_MS: i64 = 86_400_000;

/// Last supported timestamp: 9999-12-31T23:59:59.999Z.
pub const MAX_PERIOD_TIME_MS: i64 = 253_402_300_799_999;

/// 1970-01-01, day 0. `NaiveDate::default()` is the Unix epoch.
fn epoch() -> NaiveDate {
    NaiveDate::default()
}

/// Days from 1970-01-01 (a Thursday) back to the Monday that starts ISO week 1970-W01.
const WEEK_EPOCH_OFFSET_DAYS: i64 = 3;

/// A board's reset cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// Never resets.
    #[default]
    AllTime,
    /// Resets at 00:00 UTC.
    Daily,
    /// Resets Monday 00:00 UTC (ISO weeks).
    Weekly,
    /// Resets on the 1st, 00:00 UTC.
    Monthly,
}

impl PeriodKind {
    /// `"all_time"`, `"daily"`, `"weekly"` or `"monthly"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllTime => "all_time",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }
}

/// One period. Serialises as its id string (`"all"`, `"2026-11-21"`, `"2026-W47"`, `"2026-11"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodId {
    /// The single all-time period.
    AllTime,
    /// A UTC day.
    Day(NaiveDate),
    /// An ISO week.
    Week {
        /// ISO week-numbering year.
        year: i32,
        /// Week 1..=53.
        week: u32,
    },
    /// A calendar month.
    Month {
        /// Year.
        year: i32,
        /// Month 1..=12.
        month: u32,
    },
}

fn days_since_epoch(date: NaiveDate) -> i64 {
    date.signed_duration_since(epoch()).num_days()
}

fn date_from_days(days: i64) -> Option<NaiveDate> {
    epoch().checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

impl PeriodId {
    /// The kind of this period.
    pub fn kind(&self) -> PeriodKind {
        match self {
            Self::AllTime => PeriodKind::AllTime,
            Self::Day(_) => PeriodKind::Daily,
            Self::Week { .. } => PeriodKind::Weekly,
            Self::Month { .. } => PeriodKind::Monthly,
        }
    }

    /// Consecutive index of the period within its kind (days, weeks or months since 1970).
    fn index(&self) -> i64 {
        match *self {
            Self::AllTime => 0,
            Self::Day(d) => days_since_epoch(d),
            Self::Week { year, week } => {
                NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon).map_or(0, |monday| {
                    (days_since_epoch(monday) + WEEK_EPOCH_OFFSET_DAYS).div_euclid(7)
                })
            }
            Self::Month { year, month } => i64::from(year) * 12 + i64::from(month) - 1,
        }
    }

    fn from_index(kind: PeriodKind, index: i64) -> Option<Self> {
        match kind {
            PeriodKind::AllTime => (index == 0).then_some(Self::AllTime),
            PeriodKind::Daily => date_from_days(index).map(Self::Day),
            PeriodKind::Weekly => {
                let monday = date_from_days(index.checked_mul(7)? - WEEK_EPOCH_OFFSET_DAYS)?;
                let iso = monday.iso_week();
                Some(Self::Week {
                    year: iso.year(),
                    week: iso.week(),
                })
            }
            PeriodKind::Monthly => Some(Self::Month {
                year: i32::try_from(index.div_euclid(12)).ok()?,
                month: u32::try_from(index.rem_euclid(12) + 1).ok()?,
            }),
        }
    }

    /// The first day of the period (None for all-time).
    fn first_day(&self) -> Option<NaiveDate> {
        match *self {
            Self::AllTime => None,
            Self::Day(d) => Some(d),
            Self::Week { year, week } => {
                NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)
            }
            Self::Month { year, month } => NaiveDate::from_ymd_opt(year, month, 1),
        }
    }

    /// Start of the period in Unix ms (None for all-time).
    pub fn start_ms(&self) -> Option<i64> {
        self.first_day().map(|d| days_since_epoch(d) * DAY_MS)
    }

    /// End of the period (exclusive) = start of the next one, in Unix ms (None for all-time).
    pub fn end_ms(&self) -> Option<i64> {
        self.next().and_then(|n| n.start_ms())
    }

    /// The period immediately before (None for all-time).
    pub fn previous(&self) -> Option<Self> {
        match self {
            Self::AllTime => None,
            _ => Self::from_index(self.kind(), self.index() - 1),
        }
    }

    /// The period immediately after (None for all-time).
    pub fn next(&self) -> Option<Self> {
        match self {
            Self::AllTime => None,
            _ => Self::from_index(self.kind(), self.index() + 1),
        }
    }
}

impl fmt::Display for PeriodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AllTime => f.write_str("all"),
            Self::Day(d) => write!(f, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
            Self::Week { year, week } => write!(f, "{year:04}-W{week:02}"),
            Self::Month { year, month } => write!(f, "{year:04}-{month:02}"),
        }
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl FromStr for PeriodId {
    type Err = LeaderboardError;

    /// Parses any period id; the format tells the kind.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| LeaderboardError::InvalidPeriod(format!("{s:?}: {why}"));
        if s == "all" {
            return Ok(Self::AllTime);
        }
        let year = s
            .get(0..4)
            .and_then(digits)
            .and_then(|y| i32::try_from(y).ok())
            .filter(|_| s.as_bytes().get(4) == Some(&b'-'))
            .ok_or_else(|| bad("expected \"all\", YYYY-MM-DD, YYYY-Www or YYYY-MM"))?;
        if !(1970..=9999).contains(&year) {
            return Err(bad("year must be within 1970..=9999"));
        }
        let id = match (s.len(), s.as_bytes().get(5)) {
            (8, Some(b'W')) => {
                let week = s
                    .get(6..8)
                    .and_then(digits)
                    .ok_or_else(|| bad("week must be two digits"))?;
                NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)
                    .ok_or_else(|| bad(&format!("ISO year {year} has no week {week}")))?;
                Self::Week { year, week }
            }
            (7, _) => {
                let month = s
                    .get(5..7)
                    .and_then(digits)
                    .filter(|m| (1..=12).contains(m));
                Self::Month {
                    year,
                    month: month.ok_or_else(|| bad("month must be 01..=12"))?,
                }
            }
            (10, _) if s.as_bytes().get(7) == Some(&b'-') => {
                let (m, d) = (s.get(5..7).and_then(digits), s.get(8..10).and_then(digits));
                let date = m
                    .zip(d)
                    .and_then(|(m, d)| NaiveDate::from_ymd_opt(year, m, d));
                Self::Day(date.ok_or_else(|| bad("not a valid calendar date"))?)
            }
            _ => return Err(bad("expected \"all\", YYYY-MM-DD, YYYY-Www or YYYY-MM")),
        };
        Ok(id)
    }
}

impl Serialize for PeriodId {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PeriodId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Checks `0 <= now_ms <= MAX_PERIOD_TIME_MS`.
fn check_time(ms: i64) -> Result<()> {
    if (0..=MAX_PERIOD_TIME_MS).contains(&ms) {
        Ok(())
    } else {
        Err(LeaderboardError::InvalidTimestamp(format!(
            "{ms} ms is outside the supported range 0..={MAX_PERIOD_TIME_MS} (1970 to 9999)"
        )))
    }
}

/// The run (period of `kind`) a window ending at `end_ms` closes with: the one its last moment
/// falls in: a tournament's last run, what `tournament.ended` reports the final top of and its
/// rewards are for.
pub fn run_ending_at(kind: PeriodKind, end_ms: i64) -> Result<PeriodId> {
    period_id(kind, end_ms.saturating_sub(1))
}

/// The period of `kind` containing `now_ms`.
pub fn period_id(kind: PeriodKind, now_ms: i64) -> Result<PeriodId> {
    check_time(now_ms)?;
    if kind == PeriodKind::AllTime {
        return Ok(PeriodId::AllTime);
    }
    let date = DateTime::from_timestamp_millis(now_ms)
        .ok_or_else(|| LeaderboardError::InvalidTimestamp(format!("{now_ms} ms")))?
        .date_naive();
    Ok(match kind {
        PeriodKind::AllTime => PeriodId::AllTime,
        PeriodKind::Daily => PeriodId::Day(date),
        PeriodKind::Weekly => {
            let iso = date.iso_week();
            PeriodId::Week {
                year: iso.year(),
                week: iso.week(),
            }
        }
        PeriodKind::Monthly => PeriodId::Month {
            year: date.year(),
            month: date.month(),
        },
    })
}

/// Start (Unix ms) of the period of `kind` containing `now_ms`; None for all-time.
pub fn period_start_ms(kind: PeriodKind, now_ms: i64) -> Result<Option<i64>> {
    Ok(period_id(kind, now_ms)?.start_ms())
}

/// When the period containing `now_ms` ends and the next begins (strictly after `now_ms`); None for
/// all-time.
pub fn next_reset_ms(kind: PeriodKind, now_ms: i64) -> Result<Option<i64>> {
    Ok(period_id(kind, now_ms)?.end_ms())
}

/// Parses a period id and checks that it is of `kind`.
pub fn parse_period_id(kind: PeriodKind, s: &str) -> Result<PeriodId> {
    let id: PeriodId = s.parse()?;
    if id.kind() != kind {
        return Err(LeaderboardError::InvalidPeriod(format!(
            "{s:?} is a {} period but the board's period is {}",
            id.kind().as_str(),
            kind.as_str()
        )));
    }
    Ok(id)
}

/// The period immediately before `id` (None for all-time). `kind` must match `id`.
pub fn previous(kind: PeriodKind, id: &PeriodId) -> Option<PeriodId> {
    (id.kind() == kind).then(|| id.previous()).flatten()
}

/// Whether `id` is readable at `now_ms`: the current period, or one of the `retain_periods` periods
/// immediately before it. Future periods are not.
pub fn is_retained(id: &PeriodId, now_ms: i64, retain_periods: u32) -> Result<bool> {
    let current = period_id(id.kind(), now_ms)?;
    let behind = current.index() - id.index();
    Ok((0..=i64::from(retain_periods)).contains(&behind))
}

/// Like [`is_retained`] but an error saying why not ([`LeaderboardError::PeriodNotRetained`]).
pub fn ensure_retained(id: &PeriodId, now_ms: i64, retain_periods: u32) -> Result<()> {
    if is_retained(id, now_ms, retain_periods)? {
        return Ok(());
    }
    let current = period_id(id.kind(), now_ms)?;
    Err(LeaderboardError::PeriodNotRetained(if *id > current {
        format!("period {id} has not started yet (current period is {current})")
    } else {
        format!(
            "period {id} is older than the {retain_periods} retained {} period(s) before {current}",
            id.kind().as_str()
        )
    }))
}

/// When data of period `id` may be dropped: the start of the period in which it stops being
/// retained (start of `id + retain_periods + 1`). None for all-time (kept forever).
pub fn expire_at_ms(id: &PeriodId, retain_periods: u32) -> Option<i64> {
    match id {
        PeriodId::AllTime => None,
        _ => {
            PeriodId::from_index(id.kind(), id.index() + i64::from(retain_periods) + 1)?.start_ms()
        }
    }
}

/// Resolves a requested period (`None`/`"current"` → the current one, `"previous"` → the one
/// before, else an id of the board's kind) and checks retention.
pub fn resolve(
    kind: PeriodKind,
    requested: Option<&str>,
    now_ms: i64,
    retain_periods: u32,
) -> Result<PeriodId> {
    let current = period_id(kind, now_ms)?;
    let id = match requested {
        None | Some("current") => return Ok(current),
        Some("previous") => current.previous().ok_or_else(|| {
            LeaderboardError::InvalidPeriod("an all_time board has no previous period".into())
        })?,
        Some(s) => parse_period_id(kind, s)?,
    };
    ensure_retained(&id, now_ms, retain_periods)?;
    Ok(id)
}

#[cfg(test)]
#[path = "period_tests.rs"]
mod tests;

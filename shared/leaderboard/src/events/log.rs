//! The board's log as a source of projections: the fold of events into projection writes (replay
//! and time travel), and `as_of` positions. Its retention settings are
//! [`crate::board::retention`].
//!
//! A projection is what reads use: per period, the record hash, the member hash and the sorted
//! set. `score_applied` events carry the whole record after the write, so folding them is exact:
//! the projection a fold produces is byte-for-byte the one the writes produced. `record_deleted`
//! removes an entry, `period_started` marks a period as having data; `board_created` and
//! `score_submitted` (an acceptance; its effect is the `score_applied` that follows) change no
//! projection.
//!
//! Long logs are bounded by snapshots: every `snapshot_every` events the drain copies the
//! projection (with the id of the last event it covers), keeps the newest `keep_snapshots`, and
//! once that many exist trims the log behind the oldest one kept (so the log always reaches back
//! at least `keep_snapshots - 1` snapshot intervals; with 1 it keeps only the tail). Replay and time travel start from a snapshot and fold
//! the log's tail.

use crate::board::config::Board;
use crate::board::period::{self, PeriodId};
use crate::error::{LeaderboardError, Result};
use crate::events::event::{Event, EventEnvelope};
use crate::ids::PlayerId;

/// Most entries one page of a log read holds (the board's events, the audit log, dead letters).
pub const MAX_PAGE: u32 = 1000;

/// One write to a projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// The period has data.
    Start(PeriodId),
    /// Set a player's record in a period.
    Put {
        /// The period.
        period: PeriodId,
        /// The player.
        player: PlayerId,
        /// The record (JSON, exactly as the write stored it).
        record: String,
        /// Its sorted-set member.
        member: String,
        /// Its rank value.
        rank_value: u64,
    },
    /// Remove a player's entry from a period, or from every period (`None`).
    Delete {
        /// The period, or all.
        period: Option<PeriodId>,
        /// The player.
        player: PlayerId,
    },
}

/// The projection writes of one event (none for events that change no projection). Periods that
/// `skip` says are gone (expired) are left out.
pub fn fold(
    board: &Board,
    event: &EventEnvelope,
    skip: &dyn Fn(&PeriodId) -> bool,
) -> Result<Vec<Op>> {
    Ok(match &event.event {
        Event::ScoreApplied(a) if !skip(&a.period) => {
            let key = a.record.sort_key(board, &a.player)?;
            let record = serde_json::to_string(&a.record)
                .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
            vec![
                Op::Start(a.period),
                Op::Put {
                    period: a.period,
                    player: a.player.clone(),
                    record,
                    member: key.member,
                    rank_value: key.rank_value,
                },
            ]
        }
        Event::RecordDeleted(d) if !d.period.as_ref().is_some_and(skip) => vec![Op::Delete {
            period: d.period,
            player: d.player.clone(),
        }],
        Event::PeriodStarted(p) if !skip(&p.period) => vec![Op::Start(p.period)],
        _ => Vec::new(),
    })
}

/// Whether a period of `board` is gone at `now_ms` (its keys expired: past `retain_periods`).
pub fn expired(board: &Board, period: &PeriodId, now_ms: i64) -> bool {
    period::expire_at_ms(period, board.retain_periods).is_some_and(|at| at <= now_ms)
}

/// A position in a board's log: a point in time or an event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOf {
    /// The last stream id included (`<ms>-<seq>`; a time includes every event of its millisecond).
    pub upto: String,
    /// The time it stands for (Unix ms).
    pub at_ms: i64,
}

/// Parses `as_of`: an RFC 3339 time (`2026-11-21T18:00:00Z`) or an event id (`<ms>-<seq>`, as in
/// the log's `stream_id`).
pub fn parse_as_of(raw: &str) -> Result<AsOf> {
    let raw = raw.trim();
    let bad = || {
        LeaderboardError::InvalidTimestamp(format!(
            "as_of '{raw}' is neither an RFC 3339 time (2026-11-21T18:00:00Z) nor an event id \
             (<ms>-<seq>)"
        ))
    };
    if let Some((ms, seq)) = raw.split_once('-')
        && !ms.is_empty()
        && ms.bytes().all(|b| b.is_ascii_digit())
        && seq.bytes().all(|b| b.is_ascii_digit())
        && !seq.is_empty()
    {
        let at_ms: i64 = ms.parse().map_err(|_| bad())?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        return Ok(AsOf {
            upto: format!("{at_ms}-{seq}"),
            at_ms,
        });
    }
    let at_ms = crate::time::parse(raw).ok_or_else(bad)?;
    if at_ms < 0 {
        return Err(bad());
    }
    Ok(AsOf {
        upto: format!("{at_ms}-{}", u64::MAX),
        at_ms,
    })
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;

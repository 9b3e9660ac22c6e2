//! Sort-key encoding: how a standing becomes a Redis sorted-set `(score, member)` pair.
//!
//! Redis orders a sorted set by a double score, then by member bytes. The encoding is fixed:
//!
//! - **Score** (`rank_value`): an integer `< 2^53`, so exactly representable as an `f64`, where
//!   **ascending means better first** for both sort directions:
//!   `primary = desc ? score_max − score : score − score_min`,
//!   `secondary` likewise for the subscore within its own bounds and direction (0 without one),
//!   `rank_value = primary × sub_width + secondary`, `sub_width = sub_max − sub_min + 1` (1 without
//!   a subscore). A board is valid only if `(score_max − score_min + 1) × sub_width ≤ 2^53`.
//! - **Member**: `format!("{:013x}{player}", achieved_at_ms)` — 13 lowercase hex digits of the
//!   achievement time then the player id, so equal standings list the earliest achievement first,
//!   then player ids in byte order.
//!
//! The whole order of `(rank_value, member)` is therefore: better score, better subscore, earlier
//! achievement, smaller player id — and the encoding is injective.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::board::config::{Board, RANK_VALUE_LIMIT, SortOrder};
use crate::board::decimal::Decimal;
use crate::error::{LeaderboardError, Result};
use crate::ids::PlayerId;

/// Largest achievement time a member can carry: 16^13 − 1 ms (13 hex digits).
pub const MAX_MEMBER_TIME_MS: i64 = (1 << 52) - 1;

/// Hex digits of the time prefix of a member.
pub const MEMBER_TIME_DIGITS: usize = 13;

/// A score and optional subscore: what ranks a player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standing {
    /// Score in minor units.
    pub score: i64,
    /// Subscore, when the board has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscore: Option<i64>,
}

/// The sorted-set representation of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SortKey {
    /// Sorted-set score: ascending = better.
    pub rank_value: u64,
    /// Sorted-set member: `{achieved_at_ms:013x}{player}`.
    pub member: String,
}

fn directed(order: SortOrder, a: i64, b: i64) -> Ordering {
    match order {
        SortOrder::Desc => b.cmp(&a),
        SortOrder::Asc => a.cmp(&b),
    }
}

/// Compares two standings on `board`: `Less` means `a` is **better** than `b`.
///
/// Scores compare per `board.sort`, then subscores per the subscore's own direction (a missing
/// subscore compares equal).
pub fn compare_standings(board: &Board, a: &Standing, b: &Standing) -> Ordering {
    directed(board.sort, a.score, b.score).then_with(|| {
        match (board.subscore, a.subscore, b.subscore) {
            (Some(sub), Some(x), Some(y)) => directed(sub.sort, x, y),
            _ => Ordering::Equal,
        }
    })
}

/// Offset of `v` within `min..=max` counted from the better end.
fn offset(order: SortOrder, v: i64, min: i64, max: i64) -> u64 {
    let off = match order {
        SortOrder::Desc => i128::from(max) - i128::from(v),
        SortOrder::Asc => i128::from(v) - i128::from(min),
    };
    u64::try_from(off).unwrap_or(u64::MAX)
}

fn from_offset(order: SortOrder, off: u64, min: i64, max: i64) -> Option<i64> {
    let v = match order {
        SortOrder::Desc => i128::from(max) - i128::from(off),
        SortOrder::Asc => i128::from(min) + i128::from(off),
    };
    i64::try_from(v).ok().filter(|v| (min..=max).contains(v))
}

pub(crate) fn out_of_range(
    board: &Board,
    field: &str,
    v: i64,
    min: i64,
    max: i64,
) -> LeaderboardError {
    let fmt = |x| {
        if field.contains("subscore") {
            i64::to_string(&x)
        } else {
            board.format_score(x)
        }
    };
    LeaderboardError::ScoreOutOfRange {
        field: field.to_owned(),
        value: fmt(v),
        min: fmt(min),
        max: fmt(max),
    }
}

/// Checks that a standing is within the board's bounds and has a subscore iff the board does.
pub fn check_standing(board: &Board, standing: &Standing) -> Result<()> {
    let (min, max) = (board.score_min, board.score_max);
    if !(min..=max).contains(&standing.score) {
        return Err(out_of_range(board, "score", standing.score, min, max));
    }
    match (board.subscore, standing.subscore) {
        (None, None) => Ok(()),
        (Some(sub), Some(v)) if (sub.min..=sub.max).contains(&v) => Ok(()),
        (Some(sub), Some(v)) => Err(out_of_range(board, "subscore", v, sub.min, sub.max)),
        (Some(_), None) => Err(LeaderboardError::InvalidScore(format!(
            "board {} requires a subscore",
            board.id
        ))),
        (None, Some(_)) => Err(LeaderboardError::InvalidScore(format!(
            "board {} has no subscore",
            board.id
        ))),
    }
}

fn sub_width(board: &Board) -> u64 {
    board.subscore.map_or(1, |s| s.width())
}

/// Number of distinct rank values the board uses (`≤ 2^53`).
pub fn rank_value_count(board: &Board) -> u64 {
    let score_width = i128::from(board.score_max) - i128::from(board.score_min) + 1;
    u64::try_from(score_width)
        .unwrap_or(0)
        .saturating_mul(sub_width(board))
}

/// Encodes a standing's rank value (the sorted-set score).
pub fn encode_rank_value(board: &Board, standing: &Standing) -> Result<u64> {
    check_standing(board, standing)?;
    let primary = offset(board.sort, standing.score, board.score_min, board.score_max);
    let secondary = match (board.subscore, standing.subscore) {
        (Some(sub), Some(v)) => offset(sub.sort, v, sub.min, sub.max),
        _ => 0,
    };
    // Validated boards guarantee primary × width + secondary < 2^53.
    primary
        .checked_mul(sub_width(board))
        .and_then(|p| p.checked_add(secondary))
        .filter(|rv| *rv < RANK_VALUE_LIMIT)
        .ok_or_else(|| {
            LeaderboardError::Internal(format!("board {} exceeds the encoding", board.id))
        })
}

/// Encodes the sorted-set member for `player` achieving at `achieved_at_ms`.
pub fn encode_member(achieved_at_ms: i64, player: &PlayerId) -> Result<String> {
    check_member_time(achieved_at_ms)?;
    Ok(format!("{:013x}{player}", achieved_at_ms.unsigned_abs()))
}

/// Checks `0 <= ms <= MAX_MEMBER_TIME_MS`.
pub fn check_member_time(ms: i64) -> Result<()> {
    if (0..=MAX_MEMBER_TIME_MS).contains(&ms) {
        Ok(())
    } else {
        Err(LeaderboardError::InvalidTimestamp(format!(
            "{ms} ms is outside the supported range 0..={MAX_MEMBER_TIME_MS}"
        )))
    }
}

/// Encodes a full sort key.
pub fn encode(
    board: &Board,
    score: i64,
    subscore: Option<i64>,
    achieved_at_ms: i64,
    player: &PlayerId,
) -> Result<SortKey> {
    Ok(SortKey {
        rank_value: encode_rank_value(board, &Standing { score, subscore })?,
        member: encode_member(achieved_at_ms, player)?,
    })
}

/// Decodes a member into `(achieved_at_ms, player)`; rejects anything [`encode_member`] would not
/// produce.
pub fn decode_member(member: &str) -> Result<(i64, PlayerId)> {
    let corrupt =
        |why: &str| LeaderboardError::CorruptData(format!("sorted-set member {member:?}: {why}"));
    let bytes = member.as_bytes();
    if bytes.len() <= MEMBER_TIME_DIGITS {
        return Err(corrupt("too short"));
    }
    let mut ms: i64 = 0;
    for b in &bytes[..MEMBER_TIME_DIGITS] {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return Err(corrupt("time prefix is not 13 lowercase hex digits")),
        };
        ms = (ms << 4) | i64::from(digit);
    }
    // The prefix is ASCII, so byte 13 is a char boundary.
    let player =
        PlayerId::new(&member[MEMBER_TIME_DIGITS..]).map_err(|e| corrupt(&e.to_string()))?;
    Ok((ms, player))
}

/// Decodes a rank value back into `(score, subscore)`.
pub fn decode_rank_value(board: &Board, rank_value: u64) -> Result<(i64, Option<i64>)> {
    let corrupt = || {
        LeaderboardError::CorruptData(format!(
            "rank value {rank_value} is outside board {}'s encoding (0..{})",
            board.id,
            rank_value_count(board)
        ))
    };
    if rank_value >= rank_value_count(board) {
        return Err(corrupt());
    }
    let width = sub_width(board);
    let (primary, secondary) = (rank_value / width, rank_value % width);
    let score =
        from_offset(board.sort, primary, board.score_min, board.score_max).ok_or_else(corrupt)?;
    let subscore = match board.subscore {
        Some(sub) => Some(from_offset(sub.sort, secondary, sub.min, sub.max).ok_or_else(corrupt)?),
        None => None,
    };
    Ok((score, subscore))
}

/// Inclusive rank-value range covering every subscore of `score` (for score-bounded queries).
pub fn rank_value_range_for_score(board: &Board, score: i64) -> Result<(u64, u64)> {
    let (min, max) = (board.score_min, board.score_max);
    if !(min..=max).contains(&score) {
        return Err(out_of_range(board, "score", score, min, max));
    }
    let width = sub_width(board);
    let first = offset(board.sort, score, min, max) * width;
    Ok((first, first + (width - 1)))
}

/// The rank value as the `f64` Redis stores (exact: every rank value is below 2^53).
pub fn rank_value_as_f64(rank_value: u64) -> f64 {
    rank_value as f64
}

/// Parses a sorted-set score as Redis returns it (`"123"`, `"1.2e+15"`, `"1200000000000000"`) into
/// a rank value, exactly; rejects negatives, fractions, `inf`/`nan` and values ≥ 2^53.
pub fn parse_redis_score(text: &str) -> Result<u64> {
    let corrupt =
        |why: &str| LeaderboardError::CorruptData(format!("sorted-set score {text:?}: {why}"));
    let value = Decimal::parse(text)
        .map_err(|_| corrupt("not a number"))?
        .to_scaled(0)
        .map_err(|_| corrupt("not an integer below 2^53"))?;
    u64::try_from(value)
        .ok()
        .filter(|v| *v < RANK_VALUE_LIMIT)
        .ok_or_else(|| corrupt("not an integer in 0..2^53"))
}

#[cfg(test)]
#[path = "sortkey_tests.rs"]
mod tests;

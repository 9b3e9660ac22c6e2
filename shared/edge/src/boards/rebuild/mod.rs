//! Projections rebuilt from the log (`leaderboard::events::log`): replay and time travel.
//!
//! Both start from a base — a snapshot, or the log's beginning when it still reaches back to the
//! board's creation — and fold the log's tail into keys of their own under the board's prefix,
//! never touching the live projection until a replay swaps its result in.
//!
//! - **Replay** starts from the oldest snapshot kept (the longest tail the log still holds), folds
//!   to the log's end into `rp:<nonce>:`, compares every entry with the live projection in both
//!   directions, and swaps the result in atomically if the log has not moved since (else it folds
//!   the new tail and tries again).
//! - **Time travel** (`as_of`) starts from the newest snapshot at or before the moment, folds up to
//!   it into `asof:<event id>:<nonce>:` (kept a few minutes, shared by every read of that moment).

pub mod routes;
pub mod store;

use leaderboard::Conflict;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use leaderboard::events::log::{self, AsOf, Op};
use leaderboard::{Board, Event, EventEnvelope, LeaderboardError, PeriodId, Result};
use serde::Serialize;

use crate::repo::{BoardAt, Keys, Repo};
use crate::scope::nonce;

/// Lifetime of a replay's fresh keys until the swap (what a replay that died leaves behind).
const REPLAY_TTL_MS: u64 = 3_600_000;
/// Lifetime of a time-travel projection.
const AS_OF_TTL_MS: u64 = 300_000;
/// How long a time-travel projection is handed out (less than its lifetime: a read that got it
/// finishes before it expires).
const AS_OF_POINTER_TTL_MS: u64 = 240_000;
/// Log entries per fold round trip.
const PAGE: u32 = 1000;
/// Entries per comparison round trip.
const COMPARE_SLICE: u64 = 5000;
/// Swaps tried while the log keeps moving.
const MAX_SWAPS: usize = 10;
/// Differing players named per period in a replay report.
const MAX_EXAMPLES: usize = 20;

/// Orders stream ids (`<ms>-<seq>`) numerically.
pub fn cmp_ids(a: &str, b: &str) -> Ordering {
    let parse = |id: &str| {
        let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
        (
            ms.parse::<u64>().unwrap_or(0),
            seq.parse::<u64>().unwrap_or(0),
        )
    };
    parse(a).cmp(&parse(b))
}

/// Where a rebuild starts.
enum Base {
    /// From a snapshot (its id: the last event it covers).
    Snapshot(String),
    /// From the log's first event, the board's creation.
    Creation,
}

/// Picks the base: a snapshot `pick` chooses, else the log's start if it is the board's creation.
async fn base(
    repo: &Repo,
    keys: &Keys,
    pick: impl Fn(&[String]) -> Option<String>,
) -> Result<Option<Base>> {
    if let Some(id) = pick(&repo.snapshot_ids(keys).await?) {
        return Ok(Some(Base::Snapshot(id)));
    }
    let first = repo.range(&keys.events(), "-", "+", 1).await?;
    let created = first.first().is_some_and(|(_, fields)| {
        fields.iter().any(|(k, v)| {
            k == "event"
                && EventEnvelope::from_json(v)
                    .is_ok_and(|e| matches!(e.event, Event::BoardCreated(_)))
        })
    });
    Ok(created.then_some(Base::Creation))
}

/// Folds the log's events after `after` up to `upto` (inclusive) into `target`; the number of
/// events read and the last id.
#[allow(clippy::too_many_arguments)]
async fn fold_tail(
    repo: &Repo,
    board: &Board,
    keys: &Keys,
    target: &Keys,
    after: Option<&str>,
    upto: Option<&str>,
    ttl_ms: u64,
    skip: &dyn Fn(&PeriodId) -> bool,
) -> Result<(u64, Option<String>)> {
    let mut start = after.map_or_else(|| "-".to_string(), |a| format!("({a}"));
    let end = upto.unwrap_or("+");
    let (mut events, mut last) = (0, None);
    loop {
        let page = repo.range(&keys.events(), &start, end, PAGE).await?;
        let Some((last_id, _)) = page.last() else {
            break;
        };
        start = format!("({last_id}");
        last = Some(last_id.clone());
        let mut ops: Vec<Op> = Vec::new();
        for (id, fields) in &page {
            let json = fields
                .iter()
                .find(|(k, _)| k == "event")
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| {
                    LeaderboardError::CorruptData(format!("log entry {id} has no event"))
                })?;
            let event = EventEnvelope::from_json(json).map_err(|e| {
                LeaderboardError::CorruptData(format!("log entry {id} cannot be read: {e}"))
            })?;
            ops.extend(log::fold(board, &event, skip)?);
        }
        events += page.len() as u64;
        repo.fold(target, &ops, ttl_ms).await?;
        if page.len() < PAGE as usize {
            break;
        }
    }
    Ok((events, last))
}

/// One period in a replay report.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodReport {
    /// The period.
    pub period: String,
    /// Entries in the live projection.
    pub live: u64,
    /// Entries the replay produced.
    pub replayed: u64,
    /// Players whose entry differs between the two (absent from one, or another standing or
    /// record).
    pub differences: u64,
    /// Some of them.
    pub examples: Vec<String>,
}

/// What a replay did.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The snapshot it started from (`None`: the board's creation).
    pub from_snapshot: Option<String>,
    /// Log events folded.
    pub events: u64,
    /// The last event folded.
    pub upto: Option<String>,
    /// Per period.
    pub periods: Vec<PeriodReport>,
    /// Differences over every period (before the swap).
    pub differences: u64,
    /// Whether the replayed projection replaced the live one.
    pub swapped: bool,
    /// The board's version after the swap.
    #[serde(skip)]
    pub version: Option<i64>,
}

/// Replays `board`'s log into fresh keys, compares, and swaps them in.
pub async fn replay(at: &BoardAt<'_>) -> Result<ReplayReport> {
    let (repo, _, board, keys, now_ms) = at.parts();
    board.replayable()?;
    let fresh = keys.within(&format!("rp:{}", nonce(now_ms)));
    let base = base(repo, keys, |ids| ids.first().cloned())
        .await?
        .ok_or_else(|| LeaderboardError::from(Conflict::NothingToReplay))?;
    let from_snapshot = match &base {
        Base::Snapshot(id) => {
            repo.copy_projection(&keys.within(&format!("snap:{id}")), &fresh, REPLAY_TTL_MS)
                .await?;
            Some(id.clone())
        }
        Base::Creation => None,
    };
    let expired = |p: &PeriodId| log::expired(board, p, now_ms);
    let (mut events, last) = fold_tail(
        repo,
        board,
        keys,
        &fresh,
        from_snapshot.as_deref(),
        None,
        REPLAY_TTL_MS,
        &expired,
    )
    .await?;
    let mut last = last.or_else(|| from_snapshot.clone()).unwrap_or_default();

    let (periods, expiries) = compare_all(repo, board, keys, &fresh).await?;
    let differences = periods.iter().map(|p| p.differences).sum();
    for _ in 0..MAX_SWAPS {
        match repo.swap(keys, &fresh, &last, &expiries).await? {
            Ok(version) => {
                return Ok(ReplayReport {
                    from_snapshot,
                    events,
                    upto: Some(last).filter(|l| !l.is_empty()),
                    periods,
                    differences,
                    swapped: true,
                    version: Some(version),
                });
            }
            Err(moved) => {
                // Events were appended since: fold them too, then try again.
                let (more, new_last) = fold_tail(
                    repo,
                    board,
                    keys,
                    &fresh,
                    Some(&last),
                    Some(&moved),
                    REPLAY_TTL_MS,
                    &expired,
                )
                .await?;
                events += more;
                last = new_last.unwrap_or(moved);
            }
        }
    }
    Err(Conflict::ReplayRaced.into())
}

/// Every period of the live and replayed projections compared, and when each replayed period's
/// keys expire.
async fn compare_all(
    repo: &Repo,
    board: &Board,
    keys: &Keys,
    fresh: &Keys,
) -> Result<(Vec<PeriodReport>, Vec<(String, Option<i64>)>)> {
    let live_periods = repo.periods_of(keys).await?;
    let fresh_periods = repo.periods_of(fresh).await?;
    let all: BTreeSet<&String> = live_periods.iter().chain(&fresh_periods).collect();
    let mut periods = Vec::new();
    for p in all {
        periods.push(compare(repo, keys, fresh, p).await?);
    }
    let expiries = fresh_periods
        .iter()
        .map(|p| {
            let id: PeriodId = p.parse()?;
            Ok((
                p.clone(),
                leaderboard::board::period::expire_at_ms(&id, board.retain_periods),
            ))
        })
        .collect::<Result<_>>()?;
    Ok((periods, expiries))
}

/// Compares one period of the live and replayed projections, in both directions.
async fn compare(repo: &Repo, live: &Keys, fresh: &Keys, period: &str) -> Result<PeriodReport> {
    let mut differing: BTreeSet<String> = BTreeSet::new();
    let (mut live_n, mut fresh_n) = (0, 0);
    for (a, b, forward) in [(live, fresh, true), (fresh, live, false)] {
        let mut start = 0;
        loop {
            let c = repo.compare(a, b, period, start, COMPARE_SLICE).await?;
            if forward {
                (live_n, fresh_n) = (c.total_a, c.total_b);
            }
            differing.extend(c.differing);
            start += c.checked;
            if c.checked < COMPARE_SLICE {
                break;
            }
        }
    }
    Ok(PeriodReport {
        period: period.to_string(),
        live: live_n,
        replayed: fresh_n,
        differences: differing.len() as u64,
        examples: differing.into_iter().take(MAX_EXAMPLES).collect(),
    })
}

/// The projection of `board` as it stood at `as_of` (built on first use, then shared for a few
/// minutes): its keys. A moment before the board's first event, or before what the log and its
/// snapshots still hold, is a `404`.
pub async fn as_of(at: &BoardAt<'_>, as_of: &AsOf) -> Result<Keys> {
    let (repo, _, board, keys, now_ms) = at.parts();
    let beyond = || {
        LeaderboardError::NotFound(format!(
            "as_of {}: the log and its snapshots no longer reach back that far (see the board's \
             log.keep_snapshots)",
            as_of.upto
        ))
    };
    let Some(event) = repo.last_event(keys, Some(&as_of.upto)).await? else {
        // Nothing at or before that moment: before the board existed, or trimmed away.
        return Err(match base(repo, keys, |_| None).await? {
            Some(_) => LeaderboardError::NotFound(format!(
                "as_of {}: board '{}' did not exist yet",
                as_of.upto, board.id
            )),
            None => beyond(),
        });
    };
    let pointer = keys.as_of_pointer(&event);
    if let Some(n) = repo.get(&pointer).await? {
        return Ok(keys.within(&format!("asof:{event}:{n}")));
    }
    let newest_before = |ids: &[String]| {
        ids.iter()
            .rev()
            .find(|id| cmp_ids(id, &event) != Ordering::Greater)
            .cloned()
    };
    let base = base(repo, keys, newest_before).await?.ok_or_else(beyond)?;
    let n = nonce(now_ms);
    let target = keys.within(&format!("asof:{event}:{n}"));
    let after = match &base {
        Base::Snapshot(id) => {
            repo.copy_projection(&keys.within(&format!("snap:{id}")), &target, AS_OF_TTL_MS)
                .await?;
            Some(id.as_str())
        }
        Base::Creation => None,
    };
    fold_tail(
        repo,
        board,
        keys,
        &target,
        after,
        Some(&event),
        AS_OF_TTL_MS,
        &|_| false,
    )
    .await?;
    repo.set_px(&pointer, &n, AS_OF_POINTER_TTL_MS).await?;
    Ok(target)
}

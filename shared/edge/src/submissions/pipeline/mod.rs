//! The drain: applies a board's inbox, batch by batch, exactly once.
//!
//! Each batch takes three round trips whatever its size: the consumer group hands out up to
//! [`BATCH`] entries (reclaiming entries a dead drain left pending longer than the reclaim time,
//! `XAUTOCLAIM`), one script reads the records and idempotency keys they need, the pure core plans
//! and decides every entry in order (`leaderboard::events::inbox`), and one script applies the decided
//! batch — records, sorted sets, `score_applied` events, dead letters, acknowledgement and deletion
//! of the entries — only if nothing it was decided on changed meanwhile (else it decides again).
//! Applying and acknowledging are one atomic step, so an entry is applied at most once whoever
//! drains it, and at least once because it stays pending until then.
//!
//! The same drain runs from the Redis trigger (`functions/projector`, on every doorbell) and from
//! `POST /api/v1/admin/drain` (`functions/pipeline`) on hosts without one. Each drain ends with the
//! board's log maintenance: a snapshot when `log.snapshot_every` events were added since the last,
//! and the trim of the log behind the oldest snapshot kept (`leaderboard::events::log`). Synchronous
//! boards ring the doorbell every [`MAINTENANCE_EVERY`] writes for it.

pub mod dead;
pub mod routes;
pub mod store;

/// Synchronous writes between two doorbells rung for log maintenance.
pub const MAINTENANCE_EVERY: i64 = 1024;

use leaderboard::Conflict;
use leaderboard::events::inbox::RawEntry;
use leaderboard::{Board, BoardId, LeaderboardError, Result, TenantId};
use serde::Serialize;

use crate::cache::EdgeCache;
use crate::platform::Platform;
use crate::repo::{BoardAt, Keys, Repo};
use crate::submissions::pipeline::store::BatchResult;

mod batch;
mod decide;
mod ingest;
mod sweep;

use decide::decide;
pub use ingest::{INGEST, ingest};
pub use sweep::{Swept, sweep};

/// Entries per batch.
pub const BATCH: usize = 256;

/// Consumer name of every drain in the group (entries in flight are told apart by idle time).
const CONSUMER: &str = "drain";

/// Decisions of one batch attempted before giving up (each retry means a concurrent write changed
/// a record the batch was decided on).
const MAX_ATTEMPTS: usize = 50;

/// Bounds of one drain call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Stop after this many entries.
    pub max_events: u64,
    /// Stop once the clock passes this (Unix ms).
    pub deadline_ms: i64,
    /// Entries pending longer than this are reclaimed from the drain that took them.
    pub reclaim_after_ms: u64,
}

impl Limits {
    /// At most `max_events` entries until `deadline_ms`; the `inbox_reclaim_after_ms` variable
    /// says when another drain's unfinished claim is taken over ([`crate::settings`]).
    pub async fn read(platform: &dyn Platform, max_events: u64, deadline_ms: i64) -> Result<Self> {
        Ok(Self {
            max_events,
            deadline_ms,
            reclaim_after_ms: crate::settings::reclaim_after_ms(platform).await?,
        })
    }
}

/// What a drain of one board did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The board.
    pub board: String,
    /// Entries applied.
    pub applied: u64,
    /// Entries acknowledged without effect (an ingest `idempotency_key` seen before).
    pub duplicates: u64,
    /// Entries moved to the dead letters.
    pub dead_lettered: u64,
    /// Entries an integrity rule held for review (not applied until approved).
    #[serde(skip_serializing_if = "is_zero")]
    pub held: u64,
    /// Entries still in the inbox afterwards (new, or being applied by another drain).
    pub pending: u64,
    /// Whether the drain stopped at its limits with entries left: call again.
    pub more: bool,
    /// A snapshot taken after the drain (its id), when one was due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Log entries trimmed behind the oldest snapshot kept.
    #[serde(skip_serializing_if = "is_zero")]
    pub trimmed: u64,
    /// The board's version after the last write (the edge cache needs invalidating).
    #[serde(skip)]
    pub version: Option<i64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One board's drain as the worker runs it on a doorbell and the HTTP drain runs it per board:
/// [`drain`] within `limits` ([`Limits::read`]), then, when the board changed, its cached reads
/// dropped in every region. The region's store is opened only then: a doorbell that applied
/// nothing costs no KV call (on Spin an instance opens a store once, whoever asks).
pub async fn drain_and_invalidate(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    board: &BoardId,
    limits: &Limits,
    clock: &dyn Fn() -> i64,
) -> Result<Report> {
    let report = drain(repo, tenant, board, limits, clock).await?;
    invalidate_if_changed(platform, repo, tenant, board, &report).await;
    Ok(report)
}

/// Drops the board's cached reads in every region when a drain changed it.
async fn invalidate_if_changed(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    board: &BoardId,
    report: &Report,
) {
    if report.version.is_some() {
        EdgeCache::open(platform)
            .await
            .invalidate_everywhere(repo, tenant.as_str(), board.as_str(), false)
            .await;
    }
}

/// Drains `board_id`'s inbox within `limits`. A board that does not exist has its entries moved
/// to its dead letters (a redrive after creating it applies them).
///
/// Before it claims anything the drain notes the board for the inbox sweep, due the reclaim
/// time later (the schedule's [`crate::schedule::Item::Inbox`]): should it die holding a
/// claim, the worker applies the entries once the reclaim time has passed, with or without
/// more traffic on the board. A note that fails is logged, and the drain goes on.
pub async fn drain(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    limits: &Limits,
    clock: &dyn Fn() -> i64,
) -> Result<Report> {
    // Best effort: the register lives on one slot, and its node being down must not stop every
    // board's drain. Unnoted, a claim this drain leaves is still taken over by the board's next
    // drain after the reclaim time; only a quiet board's waits for one.
    let noted = note_for_sweep(
        repo,
        tenant,
        board_id,
        limits.reclaim_after_ms,
        clock(),
        crate::schedule::NoteMode::Always,
    )
    .await;
    if let Err(e) = noted {
        eprintln!("drain: {tenant}/{board_id} not noted for the inbox sweep: {e}");
    }
    drain_claims(repo, tenant, board_id, limits, clock).await
}

/// Notes `board_id` for the inbox sweep ([`crate::schedule::Item::Inbox`]), due the reclaim time
/// after `now_ms`, as `mode` says: by a drain before it claims anything (`Always`: each drain
/// moves it on), or by an acceptance whose doorbell no worker heard (`Absent`: a drain's note
/// stands, as the drain may be at work; `crate::submissions::submit`), so that the entries of a
/// board no drain noted are found with no other write.
pub(crate) async fn note_for_sweep(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    reclaim_after_ms: u64,
    now_ms: i64,
    mode: crate::schedule::NoteMode,
) -> Result<()> {
    let item = crate::schedule::Item::Inbox(tenant.clone(), board_id.clone());
    let due = now_ms.saturating_add(i64::try_from(reclaim_after_ms).unwrap_or(i64::MAX));
    repo.due_note(&item, due, now_ms, mode).await.map(|_| ())
}

/// [`drain`] without the note: the caller has registered the board already (a sweep's lease).
async fn drain_claims(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    limits: &Limits,
    clock: &dyn Fn() -> i64,
) -> Result<Report> {
    let keys = Keys::new(tenant, board_id);
    let mut board = match repo.board(tenant, board_id).await {
        Ok(b) => Some(b),
        Err(LeaderboardError::BoardNotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let mut report = Report {
        board: board_id.to_string(),
        ..Report::default()
    };
    let mut done = 0u64;
    let mut stopped_early = false;
    loop {
        if done >= limits.max_events || clock() >= limits.deadline_ms {
            stopped_early = true;
            break;
        }
        let want = usize::try_from(limits.max_events - done)
            .unwrap_or(BATCH)
            .min(BATCH);
        let entries = repo
            .inbox_claim(&keys, CONSUMER, want, limits.reclaim_after_ms)
            .await?;
        if entries.is_empty() {
            break;
        }
        done += entries.len() as u64;
        apply_claimed(
            repo,
            tenant,
            board_id,
            &mut board,
            entries,
            clock,
            &mut report,
        )
        .await?;
    }
    report.pending = repo.inbox_len(&keys).await?;
    report.more = stopped_early && report.pending > 0;
    // The log is the webhook outbox: ring the deliverer when a subscription wants the board.
    if report.applied > 0 {
        repo.webhook_ring_board(&keys, clock()).await?;
    }
    // Log maintenance rides on the drain: a snapshot when one is due, and the trim behind it.
    if let Some(board) = &board
        && let Some(s) = repo.snapshot(&keys, &board.log, false).await?
    {
        report.snapshot = Some(s.id);
        report.trimmed = s.trimmed;
    }
    Ok(report)
}

/// Applies the claimed `entries` as one batch, deciding again while the records they were
/// decided on change (an entry gone meanwhile leaves the batch; a board gone dead-letters the
/// rest), and adds what was applied to `report`.
async fn apply_claimed(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    board: &mut Option<Board>,
    mut entries: Vec<RawEntry>,
    clock: &dyn Fn() -> i64,
    report: &mut Report,
) -> Result<()> {
    let keys = &Keys::new(tenant, board_id);
    let mut attempts = 0;
    // A burst's earlier members flagged by any attempt (each stored once).
    let mut retro_flagged = 0;
    while !entries.is_empty() {
        attempts += 1;
        if attempts > MAX_ATTEMPTS {
            // Left pending: reclaimed after the reclaim time, by this drain or another.
            return Err(Conflict::BatchRaced {
                tenant: tenant.to_string(),
                board: board_id.to_string(),
            }
            .into());
        }
        let now = clock();
        let (batch, tally) =
            decide(repo, tenant, board_id, board.as_ref(), keys, &entries, now).await?;
        retro_flagged += tally.retro_flagged;
        match repo.apply_batch(keys, now, &batch).await? {
            BatchResult::Applied { version, .. } => {
                if let Some(b) = board.as_ref() {
                    let at = BoardAt::new(repo, tenant, b, now);
                    announce_reviews(&at, &tally.announce, retro_flagged).await;
                }
                report.applied += tally.applied;
                report.duplicates += tally.duplicates;
                report.dead_lettered += tally.dead;
                report.held += tally.held;
                report.version = version.or(report.version);
                break;
            }
            BatchResult::Changed => {}
            BatchResult::Gone(ids) => entries.retain(|e| !ids.contains(&e.id)),
            BatchResult::BoardGone => *board = None,
        }
    }
    Ok(())
}

/// After a batch with integrity verdicts is written: counts a burst's earlier members flagged
/// meanwhile and announces the held and flagged submissions to `score.flagged` subscribers (a
/// failure is logged: the reviews stay listed).
async fn announce_reviews(
    at: &BoardAt<'_>,
    reviews: &[leaderboard::integrity::review::Review],
    retro_flagged: u64,
) {
    if at.board().stats && retro_flagged > 0 {
        let minute = leaderboard::integrity::stats::minute(at.now_ms);
        let flagged = leaderboard::integrity::stats::Counter::Flagged;
        if let Err(e) = at
            .repo
            .note_stats(at.keys(), minute, flagged, retro_flagged, "")
            .await
        {
            eprintln!("drain: could not count flagged submissions: {e}");
        }
    }
    if !reviews.is_empty()
        && let Err(e) = crate::webhooks::delivery::score_flagged(at, reviews).await
    {
        eprintln!("drain: could not announce flagged submissions: {e}");
    }
}

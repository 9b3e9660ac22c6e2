//! The inbox sweep: entries a dead drain left claimed, applied without more traffic on their
//! board.
//!
//! A drain that dies between claiming a batch and applying it (a worker crash, a Redis restart, a
//! failover) leaves those entries pending until a later drain of the same board reclaims them
//! (`XAUTOCLAIM` after the reclaim time); on a quiet board there may be none. Every drain notes
//! its board first, due the reclaim time later (the schedule's [`Item::Inbox`]; each drain moves
//! it on), so a board falls due only when no drain has noted it for that long: the ones that may
//! hold such entries. The schedule's alarm rings the worker then, which leases the board and
//! sweeps it ([`sweep`]): drains it, taking over every entry it finds claimed (no drain has noted
//! the board within the reclaim time, so none is still at work on it; a drain that notes it
//! meanwhile loses nothing, the apply being exactly once), and says when it is due next: not at
//! all once its inbox is empty, else after the reclaim time again.

use leaderboard::{BoardId, Result, TenantId};

use crate::platform::Platform;
use crate::repo::{Keys, Repo};
#[cfg(doc)]
use crate::schedule::Item;

use super::{Limits, drain_claims, invalidate_if_changed};

/// What one board's sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Entries applied.
    pub applied: u64,
    /// When the board is due for a sweep again (Unix ms): entries are still in its inbox
    /// (new, or claimed by a drain at work). `None`: it is empty.
    pub next_ms: Option<i64>,
}

/// Sweeps a board the schedule leased ([`Item::Inbox`]) within `limits`: drained when its inbox
/// holds anything, every claimed entry taken over; the doorbell rung again when the drain
/// stopped at its limits.
pub async fn sweep(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    board: &BoardId,
    limits: &Limits,
    clock: &dyn Fn() -> i64,
) -> Result<Swept> {
    let keys = Keys::new(tenant, board);
    if repo.inbox_len(&keys).await? == 0 {
        return Ok(Swept::default());
    }
    let takeover = Limits {
        reclaim_after_ms: 0,
        ..*limits
    };
    let report = drain_claims(repo, tenant, board, &takeover, clock).await?;
    invalidate_if_changed(platform, repo, tenant, board, &report).await;
    if report.more {
        repo.ring(
            crate::submissions::pipeline::store::DOORBELL,
            &format!("{tenant}/{board}"),
        )
        .await?;
    }
    let reclaim = i64::try_from(limits.reclaim_after_ms).unwrap_or(i64::MAX);
    Ok(Swept {
        applied: report.applied,
        next_ms: (report.pending > 0).then(|| clock().saturating_add(reclaim)),
    })
}

impl Repo {
    /// How many of the board's inbox entries a drain took longer than `idle_ms` ago and has not
    /// applied (counted up to `max`).
    pub async fn inbox_stranded(&self, keys: &Keys, idle_ms: u64, max: u64) -> Result<u64> {
        self.stream_stranded(
            &keys.inbox(),
            crate::submissions::pipeline::store::GROUP,
            idle_ms,
            max,
        )
        .await
    }
}

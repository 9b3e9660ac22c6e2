//! The sweep: entries a dead drain left claimed, applied without more traffic on their board.
//!
//! A drain that dies between claiming a batch and applying it (a worker crash, a Redis restart, a
//! failover) leaves those entries pending until a later drain of the same board reclaims them
//! (`XAUTOCLAIM` after the reclaim time); on a quiet board there may be none. Every drain notes its
//! board first ([`crate::submissions::pipeline::claims`]), so the boards noted longer than the reclaim time ago are
//! the ones that may hold such entries. The worker leases up to [`SWEEP_BOARDS`] of them on each
//! message it drains for (the drain's note leases them in the same round trip), on its other Redis
//! messages, and when the register's alarm rings ([`AlarmEvent`]); it drains each, taking over
//! every entry it finds claimed (no drain has noted the board within the reclaim time, so none is
//! still at work on it; a drain that notes it meanwhile loses nothing, the apply being exactly
//! once), and settles the boards left empty. A board still holding entries stays leased and is
//! swept again after the reclaim time.

use leaderboard::Result;

use crate::platform::Platform;
use crate::repo::{Keys, Repo};
use crate::submissions::pipeline::claims::Lease;

use super::{Limits, drain_claims, invalidate_if_changed};
use crate::schedule::board_ref;

/// Due boards one worker message sweeps at most.
pub const SWEEP_BOARDS: usize = 16;

/// A keyspace event of the register's alarm, as the worker's trigger hands it over: only its
/// name (`expired`, or with a server publishing more than `Kx`, `set` and the like), where every
/// other message the worker takes names a board or carries JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmEvent {
    /// The alarm expired: boards are due.
    Expired,
    /// Another event of the alarm key (its `SET`): nothing to do.
    Other,
}

impl AlarmEvent {
    /// The event a message is, if it is one (an event name: lowercase letters and `_`).
    pub fn parse(payload: &[u8]) -> Option<Self> {
        if payload.is_empty() || !payload.iter().all(|b| b.is_ascii_lowercase() || *b == b'_') {
            return None;
        }
        Some(if payload == b"expired" {
            Self::Expired
        } else {
            Self::Other
        })
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Boards leased.
    pub boards: u64,
    /// Entries applied.
    pub applied: u64,
    /// Boards settled (left the register, their inbox empty).
    pub settled: u64,
    /// Boards whose sweep failed (logged; swept again after the reclaim time).
    pub failed: u64,
}

/// Leases up to [`SWEEP_BOARDS`] due boards and sweeps them (the alarm, or a message that drained
/// nothing).
pub async fn sweep_due(
    platform: &dyn Platform,
    repo: &Repo,
    limits: &Limits,
    clock: &dyn Fn() -> i64,
) -> Result<Swept> {
    let leased = repo
        .claims_note(None, clock(), limits.reclaim_after_ms, SWEEP_BOARDS)
        .await?;
    Ok(sweep(platform, repo, &leased, limits, clock).await)
}

/// Sweeps leased boards within `limits`' deadline (the rest stay leased and fall due again after
/// the reclaim time). A board's failure is logged and leaves it leased; the others go on.
pub async fn sweep(
    platform: &dyn Platform,
    repo: &Repo,
    leased: &[Lease],
    limits: &Limits,
    clock: &dyn Fn() -> i64,
) -> Swept {
    let mut swept = Swept::default();
    for lease in leased {
        if clock() >= limits.deadline_ms {
            break;
        }
        swept.boards += 1;
        match sweep_one(platform, repo, lease, limits, clock).await {
            Ok((applied, settled)) => {
                swept.applied += applied;
                swept.settled += u64::from(settled);
            }
            Err(e) => {
                eprintln!(
                    "sweep: {} left for the next sweep after the reclaim time: {e}",
                    lease.board
                );
                swept.failed += 1;
            }
        }
    }
    swept
}

/// One leased board: drained when its inbox holds anything, settled when it is empty then.
/// Entries applied, and whether it settled.
async fn sweep_one(
    platform: &dyn Platform,
    repo: &Repo,
    lease: &Lease,
    limits: &Limits,
    clock: &dyn Fn() -> i64,
) -> Result<(u64, bool)> {
    let (tenant, board) = match board_ref(lease.board.as_bytes()) {
        Ok(target) => target,
        Err(reason) => {
            // No drain notes such a name: it holds no claims.
            eprintln!(
                "sweep: '{}' dropped from the register: {reason}",
                lease.board
            );
            return Ok((0, repo.claims_settle(lease).await?));
        }
    };
    let keys = Keys::new(&tenant, &board);
    let mut applied = 0;
    if repo.inbox_len(&keys).await? > 0 {
        let takeover = Limits {
            reclaim_after_ms: 0,
            lease: 0,
            ..*limits
        };
        let report = drain_claims(repo, &tenant, &board, &takeover, clock).await?;
        invalidate_if_changed(platform, repo, &tenant, &board, &report).await;
        applied = report.applied;
        if report.more {
            repo.ring(crate::submissions::pipeline::store::DOORBELL, &lease.board)
                .await?;
        }
        if report.pending > 0 {
            return Ok((applied, false));
        }
    }
    Ok((applied, repo.claims_settle(lease).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_event_name_is_an_alarm_event() {
        assert_eq!(AlarmEvent::parse(b"expired"), Some(AlarmEvent::Expired));
        assert_eq!(AlarmEvent::parse(b"set"), Some(AlarmEvent::Other));
        assert_eq!(AlarmEvent::parse(b"rename_from"), Some(AlarmEvent::Other));
        for message in [
            &b""[..],
            b"default/race",
            b"inv:default/race",
            b"wh:default",
            br#"{"board":"race"}"#,
            b"Expired",
        ] {
            assert_eq!(AlarmEvent::parse(message), None, "{message:?}");
        }
    }
}

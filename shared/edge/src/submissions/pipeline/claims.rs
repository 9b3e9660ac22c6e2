//! The sweep's register: boards whose drains may have left inbox entries claimed and unapplied (a
//! drain that died between claiming a batch and applying it), so they are applied even when the
//! board gets no more traffic ([`crate::submissions::pipeline::sweep`]).
//!
//! A drain notes its board before it claims anything. The register is a sorted set by when each
//! board was last noted; a board noted longer than the reclaim time ago is due: a sweep leases it
//! (its score becomes the lease time, so no other sweep takes it within the reclaim time),
//! drains what its inbox holds, and settles it (removes it) once the inbox is empty, unless a
//! drain noted it again meanwhile. Boards stay on one slot of their own (`{claims}`), beside the
//! alarm: a key set to expire when the earliest board falls due, whose `expired` keyspace event
//! (`notify-keyspace-events` with `K` and `x`, on the node that owns the slot) rings the worker
//! without any message from a board.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{claims}` | sorted set | boards whose drains may have left entries claimed: `t/b` → when last noted or leased, ms |

use leaderboard::{LeaderboardError, Result};

use crate::repo::{Keys, Repo, bin, int, text};

/// The note-and-lease script, after the alarm's prelude (the suites run it as a drain that dies
/// after its note would).
pub const NOTE: &str = crate::schedule::with_alarm_arm!(include_str!("lua/claims.lua"));
const SETTLE: &str = include_str!("lua/claims_settle.lua");
const OVERDUE: &str = include_str!("lua/claims_overdue.lua");

/// The register (sorted set: `tenant/board` → when last noted or leased, Unix ms).
pub const REGISTER: &str = "lb:{claims}";
/// The alarm: expires when the earliest registered board falls due.
pub const ALARM: &str = crate::schedule::ALARM;
/// Where Redis announces the alarm's expiry (database 0: the only one on a cluster), the
/// worker's trigger channel beside the doorbell.
pub const ALARM_CHANNEL: &str = crate::schedule::ALARM_CHANNEL;

/// A due board a sweep has leased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `tenant/board`.
    pub board: String,
    /// Its score since the lease (Unix ms): it settles only if still this.
    pub at_ms: i64,
}

/// Boards registered longer than the reclaim time ago and not swept since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overdue {
    /// How many.
    pub boards: u64,
    /// The earliest of them, with when each was noted.
    pub first: Vec<(String, i64)>,
}

impl Repo {
    /// Notes `board` (a drain about to claim entries of it; `None`: no drain) and leases up to
    /// `lease` boards that are due (noted at least `reclaim_after_ms` ago) for the caller to
    /// sweep; arms the alarm for the earliest board still registered. One round trip.
    pub async fn claims_note(
        &self,
        board: Option<&str>,
        now_ms: i64,
        reclaim_after_ms: u64,
        lease: usize,
    ) -> Result<Vec<Lease>> {
        let r = self
            .eval(
                NOTE,
                &[REGISTER.to_string(), ALARM.to_string()],
                vec![
                    bin(now_ms.to_string()),
                    bin(reclaim_after_ms.to_string()),
                    bin(lease.to_string()),
                    bin(board.unwrap_or_default()),
                ],
            )
            .await?;
        r.chunks(2)
            .map(|pair| match pair {
                [board, at] => Ok(Lease {
                    board: text(board)?,
                    at_ms: int(at)?,
                }),
                _ => Err(LeaderboardError::CorruptData(
                    "Redis returned a truncated lease".into(),
                )),
            })
            .collect()
    }

    /// Removes a swept board from the register unless it was noted or leased again since
    /// `lease`; whether it was removed.
    pub async fn claims_settle(&self, lease: &Lease) -> Result<bool> {
        let r = self
            .eval(
                SETTLE,
                &[REGISTER.to_string()],
                vec![bin(lease.board.as_str()), bin(lease.at_ms.to_string())],
            )
            .await?;
        Ok(matches!(r.first().map(int).transpose()?, Some(1)))
    }

    /// The boards registered longer than `reclaim_after_ms` ago (the first `max` of them), read
    /// only: for `/health/detailed`.
    pub async fn claims_overdue(
        &self,
        now_ms: i64,
        reclaim_after_ms: u64,
        max: usize,
    ) -> Result<Overdue> {
        let r = self
            .eval(
                OVERDUE,
                &[REGISTER.to_string()],
                vec![
                    bin(now_ms.to_string()),
                    bin(reclaim_after_ms.to_string()),
                    bin(max.to_string()),
                ],
            )
            .await?;
        let Some((count, rest)) = r.split_first() else {
            return Err(LeaderboardError::CorruptData(
                "Redis returned no overdue count".into(),
            ));
        };
        let mut overdue = Overdue {
            boards: u64::try_from(int(count)?).unwrap_or_default(),
            first: Vec::with_capacity(rest.len() / 2),
        };
        for pair in rest.chunks(2) {
            let [board, score] = pair else {
                return Err(LeaderboardError::CorruptData(
                    "Redis returned a truncated overdue board".into(),
                ));
            };
            // A sorted set's score comes back as text, and may be written as a float.
            let score = text(score)?;
            let at_ms = score.parse::<f64>().map_err(|_| {
                LeaderboardError::CorruptData(format!("a register score '{score}' is not a number"))
            })? as i64;
            overdue.first.push((text(board)?, at_ms));
        }
        Ok(overdue)
    }

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

//! The sweep's register: boards whose drains may have left inbox entries claimed and unapplied (a
//! drain that died between claiming a batch and applying it), so they are applied even when the
//! board gets no more traffic ([`crate::pipeline::sweep`]), and boards whose writes rang the
//! webhook deliverer ([`Repo::note_rung`]), so their new log entries are fanned out even when no
//! worker heard the ring.
//!
//! A drain notes its board before it claims anything. The register is a sorted set by when each
//! board was last noted; a board noted longer than the reclaim time ago is due: a sweep leases it
//! (its score becomes the lease time, so no other sweep takes it within the reclaim time),
//! drains what its inbox holds, and settles it (removes it) once the inbox is empty, unless a
//! drain noted it again meanwhile. Boards stay on one slot of their own (`{claims}`), beside the
//! alarm: a key set to expire when the earliest board falls due, whose `expired` keyspace event
//! (`notify-keyspace-events` with `K` and `x`, on the node that owns the slot) rings the worker
//! without any message from a board.

use leaderboard::{LeaderboardError, Result};

use super::{Keys, Repo, bin, int, text};
use crate::platform::Platform;

/// The note-and-lease script, with the alarm's prelude (the suites run it as a drain that dies
/// after its note would).
pub const NOTE: &str = concat!(
    include_str!("lua/claims_arm.lua"),
    include_str!("lua/claims.lua")
);
/// The due-note script of a tenant's webhook messages, with the alarm's prelude.
pub const DUE: &str = concat!(
    include_str!("lua/claims_arm.lua"),
    include_str!("lua/claims_due.lua")
);
/// The script that reschedules or removes a swept tenant's entry, with the alarm's prelude.
pub const RESCHEDULE: &str = concat!(
    include_str!("lua/claims_arm.lua"),
    include_str!("lua/claims_reschedule.lua")
);
const SETTLE: &str = include_str!("lua/claims_settle.lua");
const OVERDUE: &str = include_str!("lua/claims_overdue.lua");
const STRANDED: &str = include_str!("lua/stranded.lua");

/// Reclaim time when the `inbox_reclaim_after_ms` variable is not set: also what a write's note
/// of its webhook ring arms the alarm by (a sweep re-arms it by the worker's own setting).
pub const DEFAULT_RECLAIM_AFTER_MS: u64 = 30_000;

/// The `inbox_reclaim_after_ms` variable: how long an entry may stay with the drain that took it
/// before another takes it over, and so how long after its note a board falls due for a sweep
/// (unset or malformed, logged: [`DEFAULT_RECLAIM_AFTER_MS`]).
pub async fn reclaim_after_ms(platform: &dyn Platform) -> u64 {
    match platform.variable("inbox_reclaim_after_ms").await {
        None => DEFAULT_RECLAIM_AFTER_MS,
        Some(raw) => raw.trim().parse().unwrap_or_else(|e| {
            eprintln!("drain: inbox_reclaim_after_ms {raw:?} ignored: {e}");
            DEFAULT_RECLAIM_AFTER_MS
        }),
    }
}

/// The register's entry of a tenant's webhook messages: `wh:<tenant>` (the tenant's ring's
/// payload; no board reference starts so), due when the earliest of them is
/// (`crate::webhook_delivery`).
pub fn webhooks_entry(tenant: &str) -> String {
    format!("{WEBHOOKS_PREFIX}{tenant}")
}

/// What starts [`webhooks_entry`].
pub const WEBHOOKS_PREFIX: &str = "wh:";

/// The register (sorted set: `tenant/board` → when last noted or leased, Unix ms).
pub const REGISTER: &str = "lb:{claims}";
/// The alarm: expires when the earliest registered board falls due.
pub const ALARM: &str = "lb:{claims}:alarm";
/// Where Redis announces the alarm's expiry (database 0: the only one on a cluster), the
/// worker's trigger channel beside the doorbell.
pub const ALARM_CHANNEL: &str = "__keyspace@0__:lb:{claims}:alarm";

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

    /// Notes the board of a write that rang the webhook deliverer (its script said so). Pub/sub
    /// keeps no message: a ring no worker heard (a worker restarting, a dropped subscription)
    /// would leave the new log entries unsent until the board's next write, which a board that
    /// has closed a period or ended a tournament may never get. Noted, the board is swept once
    /// the reclaim time has passed, and the sweep fans out what no fan-out read
    /// (`crate::pipeline::sweep`). Best effort, as a drain's note: a failure is logged, and the
    /// ring, if heard, still delivers.
    pub(super) async fn note_rung(&self, keys: &Keys) {
        if let Err(e) = self
            .claims_note(
                Some(&keys.board),
                crate::scope::now_ms(),
                DEFAULT_RECLAIM_AFTER_MS,
                0,
            )
            .await
        {
            eprintln!(
                "webhooks: {} not noted in the sweep's register after its ring: {e}",
                keys.board
            );
        }
    }

    /// [`Repo::note_rung`] when a script's ring flag (`1`) says it rang.
    pub(super) async fn note_if_rang(
        &self,
        keys: &Keys,
        flag: Option<&super::RedisResult>,
    ) -> Result<()> {
        if flag.map(int).transpose()? == Some(1) {
            self.note_rung(keys).await;
        }
        Ok(())
    }

    /// Notes `entry` (a tenant's webhook messages, [`webhooks_entry`]) as due at `due_ms`, unless
    /// a note due earlier stands, and arms the alarm: the worker sweeps it then, though nothing
    /// rings it. Its score is `due_ms - reclaim_after_ms`, when a board noted then falls due.
    pub async fn claims_note_due(
        &self,
        entry: &str,
        due_ms: i64,
        now_ms: i64,
        reclaim_after_ms: u64,
    ) -> Result<()> {
        self.eval(
            DUE,
            &[REGISTER.to_string(), ALARM.to_string()],
            vec![
                bin(entry),
                bin(due_ms.to_string()),
                bin(now_ms.to_string()),
                bin(reclaim_after_ms.to_string()),
            ],
        )
        .await?;
        Ok(())
    }

    /// After a sweep of a tenant's webhook messages: the entry due again at `next_due_ms`, or
    /// removed with `None`, unless it was noted since `lease` (that note stands); whether it left
    /// the register.
    pub async fn claims_reschedule(
        &self,
        lease: &Lease,
        next_due_ms: Option<i64>,
        now_ms: i64,
        reclaim_after_ms: u64,
    ) -> Result<bool> {
        let r = self
            .eval(
                RESCHEDULE,
                &[REGISTER.to_string(), ALARM.to_string()],
                vec![
                    bin(lease.board.as_str()),
                    bin(lease.at_ms.to_string()),
                    bin(next_due_ms.map(|d| d.to_string()).unwrap_or_default()),
                    bin(now_ms.to_string()),
                    bin(reclaim_after_ms.to_string()),
                ],
            )
            .await?;
        Ok(matches!(r.first().map(int).transpose()?, Some(1)))
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
        let r = self
            .eval(
                STRANDED,
                &[keys.inbox()],
                vec![
                    bin(super::pipeline::GROUP),
                    bin(idle_ms.to_string()),
                    bin(max.to_string()),
                ],
            )
            .await?;
        r.first()
            .map(super::uint)
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

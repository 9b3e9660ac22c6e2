//! A push tier's register of period ends (`crate::push`): each published board whose period
//! resets is noted with when its period ends, and an alarm key is set to expire when the
//! earliest ends. Its `expired` keyspace event (on the worker's trigger channel
//! `__keyspace@0__:lb:{claims}:push-alarm`, beside the sweep's alarm and on its slot) rings the
//! worker, which leases the boards whose period has ended and publishes each one's new period,
//! with no write needed (a publish that fails leaves its board leased, due again when the lease
//! ends). One register per tier (each region's tier is sent every board), one alarm for all of
//! them. They share the sweep register's slot (`{claims}`) only so that the worker's trigger node
//! on a cluster, the owner of that slot, hears both alarms.

use leaderboard::{LeaderboardError, Result};

use super::{Repo, bin, text};

const NOTE: &str = include_str!("lua/rollovers_note.lua");
const DUE: &str = include_str!("lua/rollovers_due.lua");

/// The alarm: expires when the earliest noted period of any tier ends.
pub const ALARM: &str = "lb:{claims}:push-alarm";
/// Where Redis announces the alarm's expiry, a trigger channel of the worker.
pub const ALARM_CHANNEL: &str = "__keyspace@0__:lb:{claims}:push-alarm";

/// The register of the tier `tier` (sorted set: `tenant/board` → when its period ends, Unix ms),
/// on the alarm's slot.
pub fn register(tier: &str) -> String {
    format!("lb:{{claims}}:push:{tier}:rollovers")
}

/// How [`Repo::alarm_note`] notes an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteMode {
    /// Whatever it was due at.
    Always,
    /// Only if that is earlier than it is due already.
    Earlier,
    /// Only while it is due at this time still (the caller's lease or note).
    IfHeld(i64),
}

impl Repo {
    /// Notes that `board`'s (`tenant/board`) period ends at `ends_ms` for the tier `tier`, and
    /// sets the alarm to ring when the register's earliest entry is due (`now_ms` is the
    /// caller's clock).
    pub async fn rollover_note(
        &self,
        tier: &str,
        board: &str,
        ends_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        self.alarm_note(
            &register(tier),
            ALARM,
            board,
            ends_ms,
            now_ms,
            NoteMode::Always,
        )
        .await
    }

    /// Leases up to `max` boards of the tier `tier` whose period ended by `now_ms` (each due
    /// again `lease_ms` later unless noted meanwhile), and sets the alarm for the earliest entry.
    pub async fn rollovers_due(
        &self,
        tier: &str,
        now_ms: i64,
        lease_ms: i64,
        max: usize,
    ) -> Result<Vec<String>> {
        self.alarm_due(&register(tier), ALARM, now_ms, lease_ms, max)
            .await
    }

    /// Forgets `board` (`tenant/board`) in the tier `tier`'s register (the board is gone).
    pub async fn rollover_forget(&self, tier: &str, board: &str) -> Result<()> {
        self.alarm_forget(&register(tier), board).await
    }

    /// Notes in the register `register` that `board` (`tenant/board`) is due at `due_ms` as
    /// `mode` says, and sets `alarm` to expire when the register's earliest entry is due (at
    /// once for one due already), unless it expires sooner already. Times are the caller's
    /// clock (`now_ms`).
    pub(crate) async fn alarm_note(
        &self,
        register: &str,
        alarm: &str,
        board: &str,
        due_ms: i64,
        now_ms: i64,
        mode: NoteMode,
    ) -> Result<()> {
        let (flag, held) = match mode {
            NoteMode::Always => ("", String::new()),
            NoteMode::Earlier => ("LT", String::new()),
            NoteMode::IfHeld(held_ms) => ("IF", held_ms.to_string()),
        };
        self.eval(
            NOTE,
            &[register.to_string(), alarm.to_string()],
            vec![
                bin(board),
                bin(due_ms.to_string()),
                bin(now_ms.to_string()),
                bin(flag),
                bin(held),
            ],
        )
        .await?;
        Ok(())
    }

    /// Leases up to `max` entries of `register` due by `now_ms` (each due again `lease_ms`
    /// later unless noted meanwhile), and sets `alarm` for the earliest entry.
    pub(crate) async fn alarm_due(
        &self,
        register: &str,
        alarm: &str,
        now_ms: i64,
        lease_ms: i64,
        max: usize,
    ) -> Result<Vec<String>> {
        let r = self
            .eval(
                DUE,
                &[register.to_string(), alarm.to_string()],
                vec![
                    bin(now_ms.to_string()),
                    bin(lease_ms.to_string()),
                    bin(max.to_string()),
                ],
            )
            .await?;
        r.iter()
            .map(text)
            .collect::<Result<Vec<_>>>()
            .map_err(|e| LeaderboardError::CorruptData(format!("an entry of {register}: {e}")))
    }

    /// Forgets `board` (`tenant/board`) in `register`.
    pub(crate) async fn alarm_forget(&self, register: &str, board: &str) -> Result<()> {
        self.exec("ZREM", vec![bin(register), bin(board)]).await?;
        Ok(())
    }
}

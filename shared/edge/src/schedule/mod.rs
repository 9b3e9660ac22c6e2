//! Due work's registers: a sorted set of subjects (`tenant/board`) by when each is due (Unix
//! ms), and an alarm key set to expire when the earliest is due, whose `expired` keyspace event
//! rings the worker. A note sets an entry's due time ([`NoteMode`]); a lease takes the entries
//! due and makes each due again a lease later unless noted meanwhile, so a worker that dies
//! holding one leaves it due; a forget removes one. The push tier's period ends
//! (`crate::live::rollovers`) and the competitions' edges (`crate::competitions::tournaments`)
//! use these; the sweep's register (`crate::submissions::pipeline::claims`) and what the webhook
//! deliverer owes (`crate::webhooks::due`) have scripts of their own that share [`SWEEP_ALARM`]
//! and its prelude (`lua/alarm_arm.lua`).
//!
//! Every register and alarm is on the `{claims}` slot, so that on a cluster the worker's trigger
//! node, the owner of that slot, hears every alarm.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{claims}:alarm` | string | [`SWEEP_ALARM`]: expires when the earliest board of the sweep's register (`lb:{claims}`) is due, or the earliest of `lb:{claims}:webhooks` (its keyspace event rings the worker) |

use leaderboard::{BoardId, LeaderboardError, Result, TenantId};

use crate::repo::{Repo, bin, text};

const NOTE: &str = include_str!("lua/due_note.lua");
const LEASE: &str = include_str!("lua/due_lease.lua");

/// The alarm of the sweep's register and of what the webhook deliverer owes: expires when the
/// earliest entry of either is due.
pub const SWEEP_ALARM: &str = "lb:{claims}:alarm";
/// Where Redis announces [`SWEEP_ALARM`]'s expiry (database 0: the only one on a cluster), a
/// trigger channel of the worker.
pub const SWEEP_ALARM_CHANNEL: &str = "__keyspace@0__:lb:{claims}:alarm";

/// A script of a register that shares [`SWEEP_ALARM`], after the alarm's prelude
/// (`lua/alarm_arm.lua`): `with_alarm_arm!(include_str!(…))`. The prelude's path is the
/// crate's own (a relative `include_str!` inside a macro resolves from the file that calls it).
macro_rules! with_alarm_arm {
    ($script:expr) => {
        concat!(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/schedule/lua/alarm_arm.lua"
            )),
            $script
        )
    };
}
pub(crate) use with_alarm_arm;

/// A board named in a register or a doorbell (`tenant/board`).
pub fn board_ref(entry: &[u8]) -> std::result::Result<(TenantId, BoardId), String> {
    let text = std::str::from_utf8(entry).map_err(|_| "the payload is not UTF-8".to_string())?;
    let (tenant, board) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is neither tenant/board nor a JSON ingest message"))?;
    Ok((
        TenantId::new(tenant).map_err(|e| e.to_string())?,
        BoardId::new(board).map_err(|e| e.to_string())?,
    ))
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
                LEASE,
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

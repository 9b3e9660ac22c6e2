//! A push tier's register of period ends (`crate::live::push`): each published board whose period
//! resets is noted with when its period ends, and an alarm key is set to expire when the
//! earliest ends. Its `expired` keyspace event (on the worker's trigger channel
//! `__keyspace@0__:lb:{claims}:push-alarm`, beside the sweep's alarm and on its slot) rings the
//! worker, which leases the boards whose period has ended and publishes each one's new period,
//! with no write needed (a publish that fails leaves its board leased, due again when the lease
//! ends). One register per tier (each region's tier is sent every board), one alarm for all of
//! them. They share the sweep register's slot (`{claims}`) only so that the worker's trigger node
//! on a cluster, the owner of that slot, hears both alarms.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{claims}:push:<tier>:rollovers` | sorted set | boards published to a push tier whose period resets: `t/b` → when it ends, ms |
//! | `lb:{claims}:push-alarm` | string | expires when the earliest of those periods ends (its keyspace event rings the worker) |

use leaderboard::Result;

use crate::repo::Repo;
use crate::schedule::NoteMode;

/// The alarm: expires when the earliest noted period of any tier ends.
pub const ALARM: &str = "lb:{claims}:push-alarm";
/// Where Redis announces the alarm's expiry, a trigger channel of the worker.
pub const ALARM_CHANNEL: &str = "__keyspace@0__:lb:{claims}:push-alarm";

/// The register of the tier `tier` (sorted set: `tenant/board` → when its period ends, Unix ms),
/// on the alarm's slot.
pub fn register(tier: &str) -> String {
    format!("lb:{{claims}}:push:{tier}:rollovers")
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
}

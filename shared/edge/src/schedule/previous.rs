//! The previous release's registers of the inbox sweep and of the webhook deliverer, moved into
//! the schedule on each alarm (a shim for one release: docs/operations.md › Moving a key).

use leaderboard::Result;

use super::{ALARM, NOTES, REGISTER, Register};
use crate::repo::Repo;
use crate::repo::int;
use crate::repo::script::{Arg, answer, script, unexpected};

/// The previous release's register of the inbox sweep (`tenant/board` → when a drain noted it,
/// ms), moved in by [`Repo::due_adopt`].
pub const PREVIOUS_INBOX: &str = "lb:{claims}";
/// The previous release's register of the webhook deliverer (`tenant/board`, `wh:<tenant>` →
/// when due, ms), moved in by [`Repo::due_adopt`].
pub const PREVIOUS_WEBHOOKS: &str = "lb:{claims}:webhooks";
/// Its stamps (dropped with the entries moved).
pub const PREVIOUS_WEBHOOK_STAMPS: &str = "lb:{claims}:webhooks:stamps";

/// Members moved from each previous register by one [`Repo::due_adopt`], at most.
const ADOPTED_PER_CALL: usize = 1_000;

script! {
    /// The previous release's registers moved in (`lua/adopt.lua`).
    mod adopt = crate::schedule::with_alarm_arm!(include_str!("lua/adopt.lua"));
    keys {
        /// [`REGISTER`].
        register,
        /// [`ALARM`].
        alarm,
        /// [`Register::stamps`] of [`REGISTER`].
        stamps,
        /// [`NOTES`].
        notes,
        /// [`PREVIOUS_INBOX`].
        inbox,
        /// [`PREVIOUS_WEBHOOKS`].
        webhooks,
        /// [`PREVIOUS_WEBHOOK_STAMPS`].
        webhook_stamps,
    }
    args {
        /// The caller's clock (ms).
        now_ms,
        /// The drain's `inbox_reclaim_after_ms`: how long after its note an inbox item is due
        /// (`''`: not known, the inbox's register is left as it is).
        reclaim_ms,
        /// Members moved from each previous register at most.
        max,
    }
}

impl Repo {
    /// Moves what the previous release's registers still hold into [`REGISTER`] (a shim for one
    /// release: [`PREVIOUS_INBOX`], [`PREVIOUS_WEBHOOKS`]); an inbox board is due
    /// `reclaim_after_ms` after its drain noted it (`None`: the setting is not valid, and the
    /// inbox's register is left as it is). How many were moved.
    pub async fn due_adopt(&self, now_ms: i64, reclaim_after_ms: Option<u64>) -> Result<u64> {
        let keys = adopt::Keys {
            register: REGISTER.to_string(),
            alarm: ALARM.to_string(),
            stamps: Register::Shared.stamps(),
            notes: NOTES.to_string(),
            inbox: PREVIOUS_INBOX.to_string(),
            webhooks: PREVIOUS_WEBHOOKS.to_string(),
            webhook_stamps: PREVIOUS_WEBHOOK_STAMPS.to_string(),
        };
        let args = adopt::Args {
            now_ms: now_ms.into(),
            reclaim_ms: reclaim_after_ms.map(Arg::from).unwrap_or_default(),
            max: ADOPTED_PER_CALL.into(),
        };
        let reply = adopt::run(self, keys, args).await?;
        match answer(&reply)? {
            (word, [moved]) if word == "adopted" => Ok(u64::try_from(int(moved)?).unwrap_or(0)),
            (word, rest) => Err(unexpected(adopt::NAME, &word, rest)),
        }
    }
}

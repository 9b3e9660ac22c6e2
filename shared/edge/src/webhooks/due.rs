//! What the webhook deliverer owes, beside the pub/sub rings that usually tell it
//! (`crate::webhooks::delivery`): a sorted set on the sweep's slot, `lb:{claims}:webhooks`, of
//! entries by when each is due (Unix ms), and the sweep's alarm, armed for the earliest.
//!
//! Pub/sub keeps no message for a subscriber that is not listening (a worker restarting), and
//! nothing rings when a retry's time comes. So:
//!
//! - a write whose script rang the deliverer notes its board (`tenant/board`), due a short while
//!   later ([`CATCH_UP_AFTER_MS`]): should no fan-out have heard the ring, the worker fans out
//!   what none read, though the board gets no next write (a run's awards, a league's close);
//! - a tenant's messages (`wh:<tenant>`) are noted as due when the earliest waits until: a
//!   retry's time, the end of a lease a deliverer took (should it die mid-attempt), a short while
//!   after the tenant's ring.
//!
//! The earliest due time of an entry stands. The worker leases due entries (their due time
//! becomes the lease's end), serves them, and then removes each or sets its next due time; an
//! entry noted again after its lease (each note stamps it with a number never given before)
//! stays, so no note is lost to a sweep that read before it.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{claims}:webhooks` | sorted set | what the webhook deliverer owes: boards whose writes rang it (`t/b`), tenants whose messages wait (`wh:<t>`) → when due, ms |
//! | `lb:{claims}:webhooks:stamps` | hash | each of those → the number of its last note |
//! | `lb:{claims}:webhooks:notes` | string | how many notes were ever made (where the numbers come from) |

use leaderboard::{LeaderboardError, Result};

use crate::repo::{Keys, RedisResult, Repo, bin, int, text};

/// The note script, after the alarm's prelude (public for the suites, which run the register's
/// scripts on a real Redis).
pub const NOTE: &str = crate::schedule::with_alarm_arm!(include_str!("lua/hooks_note.lua"));
/// The lease script.
pub const LEASE: &str = crate::schedule::with_alarm_arm!(include_str!("lua/hooks_lease.lua"));
/// The script ending a leased entry's turn.
pub const DONE: &str = crate::schedule::with_alarm_arm!(include_str!("lua/hooks_done.lua"));

/// The register (sorted set: entry → when due, Unix ms).
pub const REGISTER: &str = "lb:{claims}:webhooks";
/// Each entry's stamp, the number of its last note (hash): what tells a sweep an entry was noted
/// again since its lease.
pub const STAMPS: &str = "lb:{claims}:webhooks:stamps";
/// How many notes were ever made: where the stamps come from, so none repeats.
pub const NOTES_MADE: &str = "lb:{claims}:webhooks:notes";

/// How long after a write's ring its board is due for a catch-up: a ring that was heard is fanned
/// out within moments, so the catch-up then finds nothing to read, and one that was not waits
/// this long.
pub const CATCH_UP_AFTER_MS: i64 = 10_000;

/// The keys every script of the register names first: the register, the alarm, the stamps.
fn script_keys() -> [String; 3] {
    [
        REGISTER.to_string(),
        crate::schedule::ALARM.to_string(),
        STAMPS.to_string(),
    ]
}

/// What starts a tenant's entry.
const TENANT_PREFIX: &str = "wh:";

/// One entry: a board to catch up, or a tenant's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owed {
    /// `tenant/board`: a write rang the deliverer.
    Board(String),
    /// A tenant whose messages fall due.
    Tenant(String),
}

impl Owed {
    /// The entry as the register holds it (`tenant/board`, `wh:<tenant>`; a tenant id has no `:`).
    pub fn entry(&self) -> String {
        match self {
            Self::Board(board) => board.clone(),
            Self::Tenant(tenant) => format!("{TENANT_PREFIX}{tenant}"),
        }
    }

    fn parse(entry: String) -> Self {
        match entry.strip_prefix(TENANT_PREFIX) {
            Some(tenant) => Self::Tenant(tenant.to_string()),
            None => Self::Board(entry),
        }
    }
}

/// A due entry a sweep leased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// What it owes.
    pub owed: Owed,
    /// Its stamp when leased.
    stamp: String,
}

impl Repo {
    /// Notes `owed` as due at `due_ms`, unless it is due sooner already; arms the alarm.
    pub async fn hooks_note(&self, owed: &Owed, due_ms: i64, now_ms: i64) -> Result<()> {
        self.eval(
            NOTE,
            &[script_keys().as_slice(), &[NOTES_MADE.to_string()]].concat(),
            vec![
                bin(owed.entry()),
                bin(due_ms.to_string()),
                bin(now_ms.to_string()),
            ],
        )
        .await?;
        Ok(())
    }

    /// After a write's script: when its ring flag (`1`) says it rang the deliverer, its board is
    /// noted for a catch-up. Best effort, as a drain's note in the sweep's register: a failure is
    /// logged, and the write, which has happened, is answered (the ring, if heard, delivers).
    pub(crate) async fn note_if_rang(&self, keys: &Keys, flag: Option<&RedisResult>, now_ms: i64) {
        if matches!(flag.map(int), Some(Ok(1))) {
            self.note_rang(keys, now_ms).await;
        }
    }

    /// Notes the board of a write that rang the deliverer as owed a catch-up
    /// [`CATCH_UP_AFTER_MS`] on; best effort, as [`Repo::note_if_rang`].
    pub(crate) async fn note_rang(&self, keys: &Keys, now_ms: i64) {
        let owed = Owed::Board(keys.board_ref().to_string());
        if let Err(e) = self
            .hooks_note(&owed, now_ms + CATCH_UP_AFTER_MS, now_ms)
            .await
        {
            eprintln!(
                "webhooks: {} not noted for a catch-up after its ring: {e}",
                keys.board_ref()
            );
        }
    }

    /// Leases up to `max` entries due by `now_ms` until `now_ms + lease_ms`.
    pub async fn hooks_lease(&self, now_ms: i64, lease_ms: i64, max: usize) -> Result<Vec<Leased>> {
        let r = self
            .eval(
                LEASE,
                &script_keys(),
                vec![
                    bin(now_ms.to_string()),
                    bin(lease_ms.to_string()),
                    bin(max.to_string()),
                ],
            )
            .await?;
        r.chunks(2)
            .map(|pair| match pair {
                [entry, stamp] => Ok(Leased {
                    owed: Owed::parse(text(entry)?),
                    stamp: text(stamp)?,
                }),
                _ => Err(LeaderboardError::CorruptData(
                    "Redis returned a truncated webhook lease".into(),
                )),
            })
            .collect()
    }

    /// A leased entry served: due again at `next_due_ms`, or removed with `None` unless it was
    /// noted since the lease (then it stays, due at the earlier of its time and `next_due_ms`).
    pub async fn hooks_done(
        &self,
        leased: &Leased,
        next_due_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<()> {
        self.eval(
            DONE,
            &script_keys(),
            vec![
                bin(leased.owed.entry()),
                bin(leased.stamp.as_str()),
                bin(next_due_ms.map(|d| d.to_string()).unwrap_or_default()),
                bin(now_ms.to_string()),
            ],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_names_a_board_or_a_tenant() {
        for owed in [Owed::Board("acme/race".into()), Owed::Tenant("acme".into())] {
            assert_eq!(Owed::parse(owed.entry()), owed);
        }
        assert_eq!(Owed::Tenant("acme".into()).entry(), "wh:acme");
    }
}

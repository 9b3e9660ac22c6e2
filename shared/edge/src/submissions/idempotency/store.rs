//! `Idempotency-Key` locks: what a request holds while it applies, and releasing it after a
//! failure. Reserving happens in the script that reads the board (`Repo::board_and_record`), and
//! the outcome is stored by the write scripts themselves (`Repo::apply`, `Repo::enqueue`), so a
//! write and its stored outcome are one atomic step. The stored forms are `leaderboard::events::idempotency`.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:idem:<key>` | string | idempotency reservation / stored response |

use leaderboard::Result;
use leaderboard::events::idempotency::OUTCOME_TTL_MS;

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{Keys, RedisResult, Repo, bin};

script! {
    /// A reservation released if it is still this attempt's (`lua/release.lua`).
    mod release = include_str!("lua/release.lua");
    keys {
        /// The idempotency key ([`Keys::idem`]).
        idem,
    }
    args {
        /// This attempt's reservation ([`KeyLock::reservation`]).
        reservation,
    }
}

/// An `Idempotency-Key` as one attempt of a request holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLock {
    /// The client's key.
    pub key: String,
    /// The request's fingerprint.
    pub fingerprint: String,
    /// The value this attempt reserves the key with (`leaderboard::events::idempotency::pending`).
    pub reservation: String,
}

/// What reserving found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved for this attempt (for
    /// [`RESERVATION_LEASE_MS`](leaderboard::events::idempotency::RESERVATION_LEASE_MS)).
    Reserved,
    /// The key already holds this value (see `leaderboard::events::idempotency::classify`).
    Held(String),
}

impl Keys {
    /// An idempotency key.
    pub fn idem(&self, key: &str) -> String {
        self.k(&format!("idem:{key}"))
    }
}

impl Repo {
    /// Before a stored outcome is replayed, when writes need replicas' acknowledgements
    /// (`redis_min_replica_acks`): that the replicas have it, and so the write it records (earlier
    /// in the primary's one replication stream). The first attempt may have been answered `503`
    /// for want of them. `WAIT` counts only what its own connection wrote, so the outcome's
    /// lifetime is renewed first (`PEXPIRE`, [`OUTCOME_TTL_MS`] from now): a write on the board's
    /// slot, after the one being replayed.
    pub async fn confirm_replicated(&self, keys: &Keys, lock: &KeyLock) -> Result<()> {
        if self.min_replica_acks() == 0 {
            return Ok(());
        }
        let key = keys.idem(&lock.key);
        self.exec(
            "PEXPIRE",
            vec![bin(key.as_str()), bin(OUTCOME_TTL_MS.to_string())],
        )
        .await?;
        self.await_replicas(&[&key]).await
    }

    /// Releases this attempt's reservation after a failure that applied nothing, so a retry can
    /// apply; a no-op when the key no longer holds it. Whether it released.
    pub async fn release(&self, keys: &Keys, lock: &KeyLock) -> Result<bool> {
        let r = release::run(
            self,
            release::Keys {
                idem: keys.idem(&lock.key),
            },
            release::Args {
                reservation: lock.reservation.as_str().into(),
            },
        )
        .await?;
        release_answer(&r)
    }
}

/// What `release.lua` answered: whether it released.
fn release_answer(r: &[RedisResult]) -> Result<bool> {
    let (word, rest) = answer(r)?;
    match (word.as_str(), rest) {
        ("released", []) => Ok(true),
        ("not_held", []) => Ok(false),
        _ => Err(unexpected(release::NAME, &word, rest)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use crate::repo::script::reply_text as word;

    #[test]
    fn a_release_is_read_by_its_word() {
        assert!(release_answer(&[word("released")]).unwrap());
        assert!(!release_answer(&[word("not_held")]).unwrap());
        for damaged in [
            vec![],
            vec![RedisResult::Int64(1)],
            vec![word("released"), word("x")],
        ] {
            assert!(
                matches!(
                    release_answer(&damaged),
                    Err(leaderboard::LeaderboardError::CorruptData(_))
                ),
                "{damaged:?}"
            );
        }
    }
}

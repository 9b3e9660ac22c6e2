//! Asynchronous submissions: accepted into the board's inbox stream (and log), then the doorbell.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:inbox` | stream | accepted submissions waiting for the drain (consumer group `projector`; entries are deleted once applied) |
//! | `lb:{t/b}:bell` | string | a doorbell is pending for the inbox (1 s; cleared when a drain starts) |

use leaderboard::Result;

use leaderboard::events::idempotency::accepted_prefix;

use crate::repo::{Keys, Repo, bin, int, text};
use crate::submissions::idempotency::store::Claim;

const ENQUEUE: &str = include_str!("lua/enqueue.lua");

/// How long a rung doorbell keeps later submissions from ringing again (unless a drain starts
/// first): the longest a lost doorbell can delay entries while submissions keep coming.
pub const BELL_MS: u64 = 1_000;

impl Keys {
    /// Set while a doorbell for the inbox is pending (cleared when a drain starts).
    pub fn bell(&self) -> String {
        self.k("bell")
    }
}

impl Repo {
    /// Accepts an asynchronous submission: appends the event to the board's inbox stream (the
    /// durable record the drain applies) and to its log, and rings the doorbell channel so the
    /// projector drains it, in one script;
    /// with `claim`, only if the `Idempotency-Key` is still this attempt's (or free), storing the
    /// outcome in the same step. Returns the stream id, or `None` when the key is held by another
    /// attempt. A lost doorbell only delays projection until the next one.
    pub async fn enqueue(
        &self,
        keys: &Keys,
        event_json: &str,
        doorbell: &str,
        board_ref: &str,
        claim: Option<&Claim>,
    ) -> Result<Option<String>> {
        let (flag, reservation, prefix) = match claim {
            Some(c) => ("1", c.reservation.clone(), accepted_prefix(&c.fingerprint)),
            None => ("0", String::new(), String::new()),
        };
        let r = self
            .eval(
                ENQUEUE,
                &[
                    keys.inbox(),
                    claim.map_or_else(|| keys.unused(), |c| keys.idem(&c.key)),
                    keys.events(),
                    keys.bell(),
                    keys.config(),
                ],
                vec![
                    bin(event_json),
                    bin(doorbell),
                    bin(board_ref),
                    bin(flag),
                    bin(reservation),
                    bin(prefix),
                    Claim::ttl_arg(),
                    bin(BELL_MS.to_string()),
                ],
            )
            .await?;
        match r.as_slice() {
            [ok] if int(ok)? == 3 => Ok(None),
            [ok] if int(ok)? == 4 => Err(crate::repo::board_deleted(keys)),
            [_, id] => {
                let id = text(id)?;
                // With `redis_min_replica_acks`: on its replicas before it is accepted.
                self.await_replicas(&[&keys.inbox()]).await?;
                Ok(Some(id))
            }
            other => Err(leaderboard::LeaderboardError::CorruptData(format!(
                "unexpected reply {other:?}"
            ))),
        }
    }
}

//! Asynchronous submissions: accepted into the board's inbox stream (and log), then the doorbell.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:inbox` | stream | accepted submissions waiting for the drain (consumer group `projector`; entries are deleted once applied) |
//! | `lb:{t/b}:bell` | string | a doorbell is pending for the inbox (1 s; cleared when a drain starts) |

use leaderboard::Result;

use leaderboard::events::idempotency::accepted_prefix;

use crate::repo::script::{Arg, answer, script, unexpected};
use crate::repo::{Keys, Repo, int, text};
use crate::submissions::idempotency::store::KeyLock;

script! {
    /// An asynchronous submission's acceptance (`lua/enqueue.lua`).
    mod enqueue = include_str!("lua/enqueue.lua");
    keys {
        /// The board's inbox.
        inbox,
        /// The `Idempotency-Key`'s record (or the unused key).
        idempotency,
        /// The board's event log.
        events,
        /// The doorbell's flag ([`super::Keys::bell`]).
        bell,
        /// The board's config: the submission is accepted only while it exists.
        config,
    }
    args {
        /// The `score_submitted` event (JSON).
        event,
        /// The doorbell's channel.
        doorbell,
        /// What the doorbell carries (`tenant/board`).
        board_ref,
        /// `'1'` with an `Idempotency-Key`.
        keyed,
        /// This attempt's reservation of the key.
        reservation,
        /// The stored outcome's prefix (the entry id follows).
        outcome_prefix,
        /// The outcome's TTL (ms).
        outcome_ttl_ms,
        /// How long a rung doorbell keeps others from ringing ([`super::BELL_MS`]).
        bell_ms,
    }
}

/// The acceptance's script as an integration test runs it itself (feature `testing`).
#[cfg(feature = "testing")]
pub fn enqueue_for_tests() -> crate::repo::script::Named {
    enqueue::named()
}

/// How long a rung doorbell keeps later submissions from ringing again (unless a drain starts
/// first): the longest a lost doorbell can delay entries while submissions keep coming.
pub const BELL_MS: u64 = 1_000;

/// An accepted asynchronous submission ([`Repo::enqueue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    /// Its inbox entry's id.
    pub id: String,
    /// Its acceptance rang the doorbell and this server delivered it to no subscriber: on one
    /// server no worker listens (one restarting; pub/sub keeps no message), on a cluster the
    /// worker may listen on another node. Its board is then noted for the inbox sweep
    /// (`crate::submissions::submit`), as a drain notes it.
    pub unheard: bool,
}

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
    /// with `lock`, only if the `Idempotency-Key` is still this attempt's (or free), storing the
    /// outcome in the same step. Returns the stream id and whether a doorbell rung went unheard,
    /// or `None` when the key is held by another attempt.
    pub async fn enqueue(
        &self,
        keys: &Keys,
        event_json: &str,
        doorbell: &str,
        board_ref: &str,
        lock: Option<&KeyLock>,
    ) -> Result<Option<Acceptance>> {
        let (reservation, outcome_prefix) = match lock {
            Some(c) => (c.reservation.clone(), accepted_prefix(&c.fingerprint)),
            None => Default::default(),
        };
        let named_keys = enqueue::Keys {
            inbox: keys.inbox(),
            idempotency: lock.map_or_else(|| keys.unused(), |l| keys.idem(&l.key)),
            events: keys.events(),
            bell: keys.bell(),
            config: keys.config(),
        };
        let args = enqueue::Args {
            event: event_json.into(),
            doorbell: doorbell.into(),
            board_ref: board_ref.into(),
            keyed: Arg::flag(lock.is_some()),
            reservation: reservation.into(),
            outcome_prefix: outcome_prefix.into(),
            outcome_ttl_ms: leaderboard::events::idempotency::OUTCOME_TTL_MS.into(),
            bell_ms: BELL_MS.into(),
        };
        let reply = enqueue::run(self, named_keys, args).await?;
        let (word, rest) = answer(&reply)?;
        match (word.as_str(), rest) {
            ("accepted", [id, heard]) => {
                let id = text(id)?;
                let unheard = int(heard)? == 0;
                // With `redis_min_replica_acks`: on its replicas before it is accepted.
                self.await_replicas(&[&keys.inbox()]).await?;
                Ok(Some(Acceptance { id, unheard }))
            }
            ("key_locked", []) => Ok(None),
            ("board_deleted", []) => Err(crate::repo::board_deleted(keys)),
            (word, rest) => Err(unexpected(enqueue::NAME, word, rest)),
        }
    }
}

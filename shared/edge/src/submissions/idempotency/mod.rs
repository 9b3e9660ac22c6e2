//! `Idempotency-Key` on submissions, exact under failure (decisions in
//! `leaderboard::events::idempotency`, Redis in `store`):
//!
//! 1. The first attempt reserves the key in the round trip that reads the board (a short lease:
//!    a request that dies leaves it free again within seconds).
//! 2. The write script checks the reservation is still this attempt's (or free) and stores the
//!    outcome in the same atomic step as the score, so there is no moment where a submission is
//!    applied but its outcome is not stored.
//! 3. A retry finds the outcome and gets the original response again, byte for byte
//!    (`Idempotent-Replayed: true`); while another attempt holds the key it gets `409` with
//!    `Retry-After`; with another body, player or API version `422`.
//! 4. A failure that applied nothing releases the reservation, so a corrected retry may apply.

pub mod store;

use leaderboard::events::idempotency::{KeyState, classify, fingerprint, pending, validate_key};
use leaderboard::events::outcome::SubmitOutcome;
use leaderboard::{LeaderboardError, PlayerId, Result};

use crate::http::Call;
use crate::scope::nonce;
use crate::submissions::idempotency::store::KeyLock;

/// A lock on `key` for a submission of `player` whose response depends on `body` (what a
/// replay must match): the REST request's bytes, or a GraphQL mutation's input as JSON.
pub fn lock_key(
    call: &Call<'_>,
    key: Option<&str>,
    player: &PlayerId,
    body: &[u8],
) -> Result<Option<KeyLock>> {
    let Some(key) = key else {
        return Ok(None);
    };
    validate_key(key)?;
    let fingerprint = fingerprint(call.version, player, body);
    let reservation = pending(&fingerprint, &nonce(call.now_ms));
    Ok(Some(KeyLock {
        key: key.to_string(),
        fingerprint,
        reservation,
    }))
}

/// The outcome when the key already holds `stored` (replayed as the first answer said it), or
/// why there is none to replay.
pub fn answer_held(lock: &KeyLock, stored: &str) -> Result<SubmitOutcome> {
    match classify(stored, &lock.fingerprint) {
        KeyState::InProgress => Err(LeaderboardError::IdempotencyInProgress(
            "another attempt of this request is being applied; retry shortly".into(),
        )),
        KeyState::Mismatch => Err(LeaderboardError::IdempotencyMismatch(
            "this Idempotency-Key was already used with a different request (body, player or API version)"
                .into(),
        )),
        KeyState::Done(outcome) => Ok(SubmitOutcome::Stored(outcome)),
    }
}

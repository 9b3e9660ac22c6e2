//! `Idempotency-Key` handling: the first request with a key is applied and its response stored
//! for 24 hours; a retry with the same key and body gets the stored response (`Idempotent-Replayed:
//! true`) and never applies twice; the same key with a different body is 409; a retry while the
//! first is still being applied is 409.

use leaderboard::view::ApiVersion;
use leaderboard::{LeaderboardError, PlayerId, Result};
use spin_sdk::http::Response;

use crate::http;
use crate::repo::{Idempotency, Keys, Repo};

const TTL_MS: u64 = 24 * 60 * 60 * 1000;
const MAX_KEY_LEN: usize = 128;

/// The state after looking at the key.
pub enum Begin {
    /// No key: apply normally.
    None,
    /// Reserved `(key, fingerprint)`: apply, then store the response.
    Reserved(String, String),
    /// Already applied: this is the stored response.
    Replay(Response),
}

/// Looks at the request's `Idempotency-Key` (if any): reserves it, or finds the stored response
/// to replay, or refuses (409) a key in use or used with another request.
pub fn begin(call: &http::Call<'_>, repo: &Repo, keys: &Keys, player: &PlayerId) -> Result<Begin> {
    let Some(key) = call.header("idempotency-key") else {
        return Ok(Begin::None);
    };
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(LeaderboardError::InvalidBody(format!(
            "Idempotency-Key must be 1..={MAX_KEY_LEN} visible ASCII characters"
        )));
    }
    // The fingerprint covers what the response depends on: API version, player and body.
    let mut material = format!("{:?}", call.version).into_bytes();
    material.push(0);
    material.extend_from_slice(player.as_str().as_bytes());
    material.push(0);
    material.extend_from_slice(call.req.body());
    let fingerprint = format!("{:016x}", leaderboard::cursor::fnv1a64(&material));
    match repo.idem_reserve(keys, key, &fingerprint, TTL_MS)? {
        Idempotency::New => Ok(Begin::Reserved(key.to_string(), fingerprint)),
        Idempotency::Done { status, body } => Ok(Begin::Replay(http::json_text(
            status,
            call.version,
            body,
            &[("idempotent-replayed", "true".to_string())],
        ))),
        Idempotency::InProgress => Err(LeaderboardError::Conflict(
            "a request with this Idempotency-Key is still being processed; retry later".into(),
        )),
        Idempotency::Mismatch => Err(LeaderboardError::Conflict(
            "this Idempotency-Key was already used with a different request body".into(),
        )),
    }
}

/// Completes a reserved key with the response (stored for replay) or releases it after a
/// failure (nothing was applied, so a retry may apply).
pub fn finish(
    repo: &Repo,
    keys: &Keys,
    begin: &Begin,
    version: ApiVersion,
    result: Result<(u16, String)>,
) -> Result<Response> {
    match (begin, result) {
        (Begin::Reserved(key, fp), Ok((status, body))) => {
            repo.idem_complete(keys, key, fp, status, &body, TTL_MS)?;
            Ok(http::json_text(status, version, body, &[]))
        }
        (Begin::Reserved(key, _), Err(e)) => {
            // Nothing was applied: free the key so the client's retry can apply.
            repo.idem_release(keys, key)?;
            Err(e)
        }
        (_, Ok((status, body))) => Ok(http::json_text(status, version, body, &[])),
        (_, Err(e)) => Err(e),
    }
}

//! `Idempotency-Key` decisions, pure: the request fingerprint, the reservation a request holds
//! while it runs, and the stored outcome a retry replays. The Redis side is `edge::idempotency`;
//! the write scripts store the outcome in the same atomic step as the write itself.
//!
//! ## Stored values (one Redis string per key, scoped to the board)
//! - `pending:<fingerprint>:<nonce>` — a request is applying it; expires after
//!   [`RESERVATION_LEASE_MS`], so a request that died leaves the key free again within seconds.
//! - `done:<fingerprint>:a:<better>:<total>:<outcome JSON>` — a synchronous submission was applied;
//!   `better`/`total` come from the write script, the rest ([`AppliedOutcome`]) from the decision.
//! - `done:<fingerprint>:q:<event id>` — an asynchronous submission was accepted into the inbox.
//!
//! Outcomes are kept [`OUTCOME_TTL_MS`]. A write whose reservation is no longer its own (the lease
//! ran out and another attempt reserved the key) does not apply: the other attempt does.

use serde::{Deserialize, Serialize};

use crate::board::cursor::fnv1a64;
use crate::board::period::PeriodId;
use crate::board::record::Record;
use crate::board::view::{ApiVersion, EntryView, PeriodView, SubmitView};
use crate::error::{LeaderboardError, Result};
use crate::ids::PlayerId;

/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 128;

/// How long a reservation outlives a request that died holding it. Short is safe: an attempt whose
/// lease ran out while it was still running cannot write once a retry has reserved the key (its
/// write script checks the reservation), so the lease only bounds how long retries wait. A
/// reservation an attempt made just before Redis died cannot be released (Redis is gone), so a
/// client retrying through an outage waits for it after Redis returns: 2 s keeps that wait inside
/// the first retries (`Retry-After: 1`) while a live attempt (milliseconds; a p3 Redis call waits
/// at most 5 s) rarely outlives it, and one that does only loses its write to the retry.
pub const RESERVATION_LEASE_MS: u64 = 2_000;

/// How long an outcome is replayed.
pub const OUTCOME_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// Checks a client's key: 1..=[`MAX_KEY_LEN`] visible ASCII characters.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(LeaderboardError::InvalidBody(format!(
            "Idempotency-Key must be 1..={MAX_KEY_LEN} visible ASCII characters"
        )));
    }
    Ok(())
}

/// What a response to the key depends on: API version, player and the exact body bytes.
pub fn fingerprint(version: ApiVersion, player: &PlayerId, body: &[u8]) -> String {
    let mut material = format!("{version:?}").into_bytes();
    material.push(0);
    material.extend_from_slice(player.as_str().as_bytes());
    material.push(0);
    material.extend_from_slice(body);
    format!("{:016x}", fnv1a64(&material))
}

/// The value a request reserves the key with; `nonce` tells its attempt apart from a retry's.
pub fn pending(fingerprint: &str, nonce: &str) -> String {
    format!("pending:{fingerprint}:{nonce}")
}

/// What the stored value says about a request with `fingerprint`.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyState {
    /// Another attempt of the same request is applying it right now.
    InProgress,
    /// The key was used with another request (another body, player or API version).
    Mismatch,
    /// Already applied or accepted: replay this.
    Done(StoredOutcome),
}

/// A finished submission, as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredOutcome {
    /// A synchronous submission was applied.
    Applied {
        /// Entries strictly better than the player's standing after the write.
        better: u64,
        /// Entries in the period after the write.
        total: u64,
        /// Everything else the response shows.
        outcome: AppliedOutcome,
    },
    /// An asynchronous submission was accepted into the inbox.
    Accepted {
        /// The inbox stream id.
        event_id: String,
    },
}

/// The decided part of an applied submission's response: with the script's `better`/`total` and
/// the board, it renders the original response byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedOutcome {
    /// The period written.
    pub period: PeriodId,
    /// The current period when it was written.
    pub current: PeriodId,
    /// When that period ended (`None` for `all_time`).
    pub next_reset_ms: Option<i64>,
    /// The player's record after the write.
    pub record: Record,
    /// The score before, if the player had an entry.
    pub previous_score: Option<i64>,
    /// Whether the standing improved.
    pub improved: bool,
    /// Whether anything a reader sees changed.
    pub changed: bool,
    /// The player's cohort on a board with cohorts (its rank is the cohort's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
}

impl AppliedOutcome {
    /// The HTTP status of the original answer: `201` for a first entry, `200` after.
    pub fn status(&self) -> u16 {
        if self.previous_score.is_none() {
            201
        } else {
            200
        }
    }

    /// The period part of the response.
    pub fn period_view(&self) -> PeriodView {
        PeriodView {
            id: self.period,
            current: self.current,
            next_reset_ms: self.next_reset_ms,
        }
    }

    /// The standing the response shows, given the write script's `better` and `total`.
    pub fn submit_view(&self, player: &PlayerId, better: u64, total: u64) -> SubmitView {
        SubmitView {
            entry: EntryView {
                rank: crate::board::rank::rank_from_better(better),
                player: player.clone(),
                score: self.record.score,
                subscore: self.record.subscore,
                achieved_at_ms: self.record.achieved_at_ms,
                metadata: self.record.metadata.clone(),
            },
            total,
            previous_score: self.previous_score,
            improved: self.improved,
            changed: self.changed,
            cohort: self.cohort.clone(),
        }
    }
}

/// What the write script prepends to `<better>:<total>:<outcome JSON>` when it stores an applied
/// submission.
pub fn applied_prefix(fingerprint: &str) -> String {
    format!("done:{fingerprint}:a:")
}

/// The outcome JSON the write script appends.
pub fn applied_json(outcome: &AppliedOutcome) -> Result<String> {
    serde_json::to_string(outcome).map_err(|e| LeaderboardError::Internal(e.to_string()))
}

/// What the accepting script prepends to the inbox stream id it stores.
pub fn accepted_prefix(fingerprint: &str) -> String {
    format!("done:{fingerprint}:q:")
}

/// Reads a stored value for a request with `fingerprint`. A value in no known form is treated as
/// in progress: it blocks the key until it expires, and never replays something unknown.
pub fn classify(stored: &str, fingerprint: &str) -> KeyState {
    if let Some(rest) = stored.strip_prefix("pending:") {
        let fp = rest.split(':').next().unwrap_or("");
        return if fp == fingerprint {
            KeyState::InProgress
        } else {
            KeyState::Mismatch
        };
    }
    let Some(rest) = stored.strip_prefix("done:") else {
        return KeyState::InProgress;
    };
    let Some((fp, rest)) = rest.split_once(':') else {
        return KeyState::InProgress;
    };
    if fp != fingerprint {
        return KeyState::Mismatch;
    }
    parse_outcome(rest).map_or(KeyState::InProgress, KeyState::Done)
}

fn parse_outcome(rest: &str) -> Option<StoredOutcome> {
    if let Some(id) = rest.strip_prefix("q:") {
        return (!id.is_empty()).then(|| StoredOutcome::Accepted {
            event_id: id.to_string(),
        });
    }
    let mut fields = rest.strip_prefix("a:")?.splitn(3, ':');
    let better = fields.next()?.parse().ok()?;
    let total = fields.next()?.parse().ok()?;
    let outcome = serde_json::from_slice(fields.next()?.as_bytes()).ok()?;
    Some(StoredOutcome::Applied {
        better,
        total,
        outcome,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn outcome() -> AppliedOutcome {
        AppliedOutcome {
            period: "all".parse().unwrap(),
            current: "all".parse().unwrap(),
            next_reset_ms: None,
            record: Record {
                score: 42,
                subscore: None,
                achieved_at_ms: 1_700_000_000_000,
                updated_at_ms: 1_700_000_000_000,
                metadata: Some(serde_json::json!({"deck": "a:b"})),
                submissions: 1,
            },
            previous_score: None,
            improved: true,
            changed: true,
            cohort: None,
        }
    }

    #[test]
    fn keys_are_checked() {
        assert!(validate_key("k-1").is_ok());
        assert!(validate_key("").is_err());
        assert!(validate_key("has space").is_err());
        assert!(validate_key(&"x".repeat(MAX_KEY_LEN + 1)).is_err());
        assert!(validate_key("é").is_err());
    }

    #[test]
    fn fingerprints_bind_version_player_and_body() {
        let ann = PlayerId::new("ann").unwrap();
        let bob = PlayerId::new("bob").unwrap();
        let fp = fingerprint(ApiVersion::V1, &ann, b"{}");
        assert_eq!(fp, fingerprint(ApiVersion::V1, &ann, b"{}"));
        assert_ne!(fp, fingerprint(ApiVersion::V2, &ann, b"{}"));
        assert_ne!(fp, fingerprint(ApiVersion::V1, &bob, b"{}"));
        assert_ne!(fp, fingerprint(ApiVersion::V1, &ann, b"{ }"));
    }

    #[test]
    fn stored_values_classify() {
        let fp = "00000000000000ff";
        assert_eq!(classify(&pending(fp, "n1"), fp), KeyState::InProgress);
        assert_eq!(classify(&pending("other", "n1"), fp), KeyState::Mismatch);
        // What the write script stores, byte for byte.
        let applied = format!(
            "{}3:10:{}",
            applied_prefix(fp),
            applied_json(&outcome()).unwrap()
        );
        assert_eq!(
            classify(&applied, fp),
            KeyState::Done(StoredOutcome::Applied {
                better: 3,
                total: 10,
                outcome: outcome()
            })
        );
        assert_eq!(classify(&applied, "another"), KeyState::Mismatch);
        let accepted = format!("{}1700000000000-0", accepted_prefix(fp));
        assert_eq!(
            classify(&accepted, fp),
            KeyState::Done(StoredOutcome::Accepted {
                event_id: "1700000000000-0".into()
            })
        );
        for odd in [
            "",
            "garbage",
            "done:",
            &format!("done:{fp}:a:x:1:{{}}"),
            &format!("done:{fp}:q:"),
        ] {
            assert_eq!(classify(odd, fp), KeyState::InProgress, "{odd:?}");
        }
        assert_eq!(outcome().status(), 201);
    }
}

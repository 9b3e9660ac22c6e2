//! `Idempotency-Key` reservations and stored responses.

use leaderboard::Result;
use spin_sdk::redis::RedisResult;

use super::{Keys, Repo, bin, text};

/// What an idempotency key says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotency {
    /// First time: reserved; apply, then [`Repo::idem_complete`].
    New,
    /// The same key is being processed right now.
    InProgress,
    /// Already applied: replay this status and body.
    Done {
        /// Stored status.
        status: u16,
        /// Stored body.
        body: String,
    },
    /// The key was used with a different request.
    Mismatch,
}

impl Repo {
    /// Reserves an idempotency key for a request fingerprint, or reports its state.
    pub fn idem_reserve(
        &self,
        keys: &Keys,
        key: &str,
        fingerprint: &str,
        ttl_ms: u64,
    ) -> Result<Idempotency> {
        let k = keys.idem(key);
        let pending = format!("pending:{fingerprint}");
        let r = self.exec(
            "SET",
            vec![
                bin(k.as_str()),
                bin(pending),
                bin("NX"),
                bin("PX"),
                bin(ttl_ms.to_string()),
            ],
        )?;
        if !matches!(r.first(), None | Some(RedisResult::Nil)) {
            return Ok(Idempotency::New);
        }
        let r = self.exec("GET", vec![bin(k)])?;
        let raw = r.first().map(text).transpose()?.unwrap_or_default();
        if let Some(fp) = raw.strip_prefix("pending:") {
            return Ok(if fp == fingerprint {
                Idempotency::InProgress
            } else {
                Idempotency::Mismatch
            });
        }
        // done:<fingerprint>:<status>:<body>
        let mut parts = raw.strip_prefix("done:").unwrap_or("").splitn(3, ':');
        match (
            parts.next(),
            parts.next().and_then(|s| s.parse().ok()),
            parts.next(),
        ) {
            (Some(fp), Some(status), Some(body)) if fp == fingerprint => Ok(Idempotency::Done {
                status,
                body: body.to_string(),
            }),
            (Some(_), Some(_), Some(_)) => Ok(Idempotency::Mismatch),
            // Expired between SET and GET: treat as new on the client's next retry.
            _ => Ok(Idempotency::InProgress),
        }
    }

    /// Stores the response of a reserved request.
    pub fn idem_complete(
        &self,
        keys: &Keys,
        key: &str,
        fingerprint: &str,
        status: u16,
        body: &str,
        ttl_ms: u64,
    ) -> Result<()> {
        self.exec(
            "SET",
            vec![
                bin(keys.idem(key)),
                bin(format!("done:{fingerprint}:{status}:{body}")),
                bin("PX"),
                bin(ttl_ms.to_string()),
            ],
        )?;
        Ok(())
    }

    /// Releases a reservation after a failure, so a retry can apply.
    pub fn idem_release(&self, keys: &Keys, key: &str) -> Result<()> {
        self.exec("DEL", vec![bin(keys.idem(key))])?;
        Ok(())
    }
}

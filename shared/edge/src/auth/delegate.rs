//! Tokens signed with a JWKS key (EdDSA, ES256, RS256, or a `kid`-named `oct` key), verified by
//! the tokens component (`functions/tokens`) over service chaining, its verdicts cached in the
//! regional KV store.
//!
//! Why: the asymmetric signature code (ed25519, P-256, RSA with its big integers, JWK parsing)
//! is about 300 KB of machine code. Linked into every API component it was compiled again for
//! each at every cold start. Now only the tokens component links it; the API components verify
//! the HS256 secret themselves ([`super::authenticate_with`]) and send the rest here.
//!
//! # The verdict cache
//!
//! A verdict is kept under `auth:jwt:<slot>`, one of [`SLOTS`] keys chosen by the SHA-256 of
//! the configuration (`jwt_jwks`, `jwt_issuer`, `jwt_audience`) and the token, and stored with
//! that whole digest: a key that another token (or another configuration) wrote is a miss and is
//! overwritten. So the store holds at most [`SLOTS`] verdicts however many tokens come by (the
//! KV store has no expiry), and rotating the JWKS or changing the issuer or audience takes effect
//! at once. A verdict holds until the token's `exp` (plus the leeway), and at most [`MAX_HOLD_MS`]:
//! a token repeated within that time costs one KV read instead of a chained request. Refusals
//! (`401`) are not cached: a token can become valid (`nbf`), and a refusal's price is the chained
//! request, as the signature check's was before.

use leaderboard::{LeaderboardError, Principal, Result};
use serde::{Deserialize, Serialize};

use super::Delegated;
use crate::platform::Platform;

/// The tokens component's private route (`route = { private = true }`): `POST` a
/// [`VerifyRequest`], get a [`Verified`] (`200`) or a problem (`401`, or `500` for a broken
/// configuration).
pub const VERIFY_URL: &str = "http://tokens.spin.internal/internal/tokens/verify";

/// How many verdicts the KV store holds at most.
pub const SLOTS: u32 = 4096;

/// The longest a cached verdict holds, in milliseconds.
pub const MAX_HOLD_MS: i64 = 5 * 60 * 1000;

/// What the calling component sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct VerifyRequest {
    /// The compact JWS.
    pub token: String,
}

/// The tokens component's answer for a valid token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Verified {
    /// Who the token is for.
    pub principal: Principal,
    /// Until when the verdict holds (Unix ms): the token's `exp` plus the leeway.
    pub valid_until_ms: i64,
}

/// A cached verdict.
#[derive(Serialize, Deserialize)]
struct Cached {
    /// The full digest of configuration and token (the key holds only its slot).
    digest: String,
    /// Unix ms.
    until_ms: i64,
    principal: Principal,
}

impl Delegated<'_> {
    /// SHA-256 (hex) over the configuration and the token, each field length-prefixed.
    pub fn digest(&self) -> String {
        let mut framed = Vec::new();
        for part in [
            self.jwks,
            self.issuer.unwrap_or(""),
            self.audience.unwrap_or(""),
            self.token,
        ] {
            framed.extend_from_slice(&(part.len() as u64).to_be_bytes());
            framed.extend_from_slice(part.as_bytes());
        }
        crate::secrets::sha256_hex_bytes(&framed)
    }
}

/// Verifies the token in this component: what the tokens component does for a chained request
/// (`functions/tokens`), and what a build without service chaining does itself
/// ([`crate::platform::SERVICE_CHAINING`]). A refusal is `401`, a broken configuration `500`.
pub fn verify_here(req: &Delegated<'_>, now_ms: i64) -> Result<Verified> {
    let config = super::AuthConfig::from_values(None, Some(req.jwks), req.issuer, req.audience)?;
    let (principal, exp_ms) = super::verify_token(&config, req.token, now_ms)?;
    Ok(Verified {
        principal,
        valid_until_ms: exp_ms.saturating_add(i64::from(config.leeway_secs) * 1000),
    })
}

/// Asks the tokens component ([`VERIFY_URL`]). Not reaching it is a `503`.
async fn verify_chained(platform: &dyn Platform, req: &Delegated<'_>) -> Result<Verified> {
    let body = serde_json::to_vec(&VerifyRequest {
        token: req.token.to_owned(),
    })
    .map_err(|e| LeaderboardError::Internal(format!("token verification request: {e}")))?;
    let (status, raw) = platform
        .post_internal(VERIFY_URL, &body)
        .await
        .map_err(|e| {
            // The host's text stays in the log: it names internal routes.
            eprintln!("auth: the token verifier: {e}");
            crate::scope::set_retry_after(1);
            LeaderboardError::Unavailable("cannot reach the token verifier; retry shortly".into())
        })?;
    match status {
        200 => serde_json::from_slice(&raw)
            .map_err(|e| LeaderboardError::Internal(format!("the token verifier's answer: {e}"))),
        401 => Err(LeaderboardError::Unauthorized(detail(&raw))),
        // The verifier's key variables (`jwt_jwks`) are the operator's to fix, as ours are.
        500 if misconfigured(&raw) => Err(LeaderboardError::Misconfigured(detail(&raw))),
        500 => Err(LeaderboardError::Internal(detail(&raw))),
        other => {
            crate::scope::set_retry_after(1);
            Err(LeaderboardError::Unavailable(format!(
                "the token verifier answered {other}: {}",
                detail(&raw)
            )))
        }
    }
}

/// The KV key of a digest's slot.
fn slot_key(digest: &str) -> String {
    let head = u32::from_str_radix(digest.get(..8).unwrap_or("0"), 16).unwrap_or(0);
    format!("auth:jwt:{:03x}", head % SLOTS)
}

/// Verifies a JWKS-signed token: the cached verdict if it is this token's and still holds,
/// else the tokens component's (then cached). A failure to reach the tokens component is a
/// `503`; a broken JWKS there is the `500` it reports.
pub async fn verify(
    platform: &dyn Platform,
    req: &Delegated<'_>,
    now_ms: i64,
) -> Result<Principal> {
    let digest = req.digest();
    let key = slot_key(&digest);
    let kv = platform.kv("default").await;
    if let Some(kv) = &kv
        && let Ok(Some(raw)) = kv.get(&key).await
        && let Ok(hit) = serde_json::from_slice::<Cached>(&raw)
        && hit.digest == digest
        && now_ms < hit.until_ms
    {
        return Ok(hit.principal);
    }
    let verified = if crate::platform::SERVICE_CHAINING {
        verify_chained(platform, req).await?
    } else {
        verify_here(req, now_ms)?
    };
    if let Some(kv) = &kv {
        let cached = Cached {
            digest,
            until_ms: verified
                .valid_until_ms
                .min(now_ms.saturating_add(MAX_HOLD_MS)),
            principal: verified.principal,
        };
        match serde_json::to_vec(&cached) {
            Ok(bytes) => {
                if let Err(e) = kv.set(&key, &bytes).await {
                    eprintln!("auth: cannot cache a token verdict: {e}");
                }
            }
            Err(e) => eprintln!("auth: cannot encode a token verdict: {e}"),
        }
        return Ok(cached.principal);
    }
    Ok(verified.principal)
}

/// Whether a problem answer is `misconfigured` ([`LeaderboardError::Misconfigured`]).
fn misconfigured(raw: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Problem {
        r#type: Option<String>,
    }
    let wanted = LeaderboardError::Misconfigured(String::new());
    serde_json::from_slice::<Problem>(raw)
        .is_ok_and(|p| p.r#type.as_deref() == Some(wanted.problem_type()))
}

/// A problem answer's `reason` (the tokens component's own words), else its `detail`, else its
/// text.
fn detail(raw: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Problem {
        reason: Option<String>,
        detail: Option<String>,
    }
    match serde_json::from_slice::<Problem>(raw) {
        Ok(Problem {
            reason: Some(text), ..
        })
        | Ok(Problem {
            reason: None,
            detail: Some(text),
        }) => text,
        _ => String::from_utf8_lossy(raw).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn req(token: &str) -> Delegated<'_> {
        Delegated {
            token,
            jwks: r#"{"keys":[]}"#,
            issuer: None,
            audience: Some("a"),
        }
    }

    #[test]
    fn digests_separate_configurations_and_tokens() {
        let a = req("x.y.z");
        assert_eq!(a.digest(), req("x.y.z").digest());
        assert_ne!(a.digest(), req("x.y.q").digest());
        let other_aud = Delegated {
            audience: Some("b"),
            ..a
        };
        assert_ne!(a.digest(), other_aud.digest());
        // Moving bytes between fields changes the digest (length prefixes).
        let shifted = Delegated {
            issuer: Some("a"),
            audience: None,
            ..a
        };
        assert_ne!(a.digest(), shifted.digest());
        assert_eq!(a.digest().len(), 64);
    }

    #[test]
    fn slots_are_bounded() {
        assert_eq!(
            slot_key("ffffffff00"),
            format!("auth:jwt:{:03x}", 0xffff_ffffu32 % SLOTS)
        );
        assert_eq!(slot_key("00000000"), "auth:jwt:000");
        assert_eq!(slot_key(""), "auth:jwt:000");
    }
}

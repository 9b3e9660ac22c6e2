//! API keys (`leaderboard::policy::apikey`) at the edge: stored in Redis by id, read through the regional
//! KV store (fresh for [`CACHE_MS`]; creating or revoking a key drops the writing region's copy,
//! other regions follow within that time), verified by SHA-256.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:apikey:{<id>}` | string | the key (`StoredKey` JSON: tenant, name, roles, SHA-256, times) |
//! | `lb:tenant:{t}:apikeys` | set | ids of the tenant's keys |
//! | `lb:apikey:{<id>}:sig:<hex>` | string | a signature already accepted (expires after twice the window) |
//!
//! A key is presented as `X-Api-Key: lbk_…` or `Authorization: Bearer lbk_…`. A key created with
//! `require_signature` also needs each request signed (HMAC request signing, for backends that
//! cannot keep JWT keys but should not send a replayable bearer secret alone):
//! `X-Lb-Timestamp: <Unix seconds>` and `X-Lb-Signature: v1=<hex HMAC-SHA256>` under the key's
//! `lbs_…` signing secret over [`apikey::string_to_sign`]. The timestamp must be within
//! [`apikey::SIGNATURE_WINDOW_SECS`] of the server's clock, and a signature is accepted once
//! (a replay gets `401`): one Redis `SET NX` per signed request.

pub mod routes;

use leaderboard::policy::access::Principal;
use leaderboard::policy::apikey::{self, StoredKey};
use leaderboard::{LeaderboardError, Result, TenantId};
use sha2::Sha256;

use crate::platform::Platform;
use crate::repo::Repo;
use crate::secrets::{sha256_hex, sha256_hex_bytes};

/// How long a region trusts its copy of a key (a revocation reaches other regions within this).
pub const CACHE_MS: i64 = 5_000;

/// The Redis key of one API key.
pub fn key(id: &str) -> String {
    format!("lb:apikey:{{{id}}}")
}

/// The Redis set of a tenant's key ids.
pub fn index(tenant: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:apikeys", tenant.as_str())
}

fn kv_key(id: &str) -> String {
    format!("apikey:{id}")
}

/// What a signed request's signature covers, as the request carries it.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// `X-Lb-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `X-Lb-Signature`.
    pub signature: Option<&'a str>,
    /// The method.
    pub method: &'a str,
    /// The path with its query, as sent.
    pub target: &'a str,
    /// The body.
    pub body: &'a [u8],
}

/// Lowercase hex HMAC-SHA256 of `message` under `secret`.
pub fn hmac_hex(secret: &str, message: &str) -> String {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The signature a client computes for a request (what `X-Lb-Signature` carries after `v1=`).
pub fn sign(secret: &str, timestamp: &str, method: &str, target: &str, body: &[u8]) -> String {
    hmac_hex(
        secret,
        &apikey::string_to_sign(timestamp, method, target, &sha256_hex_bytes(body)),
    )
}

/// The key the request presents, if any: `X-Api-Key`, or a bearer credential that starts with
/// `lbk_`.
pub fn presented<'a>(
    x_api_key: Option<&'a str>,
    authorization: Option<&'a str>,
) -> Option<&'a str> {
    if let Some(k) = x_api_key {
        return Some(k.trim());
    }
    let (scheme, credential) = authorization?.trim().split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && apikey::looks_like_key(credential))
        .then_some(credential)
}

/// Verifies a presented key: the principal it acts as, or `401` saying why (malformed,
/// unknown or revoked, wrong secret, expired).
pub async fn authenticate<'r>(
    platform: &dyn Platform,
    repo: impl AsyncFn() -> Result<&'r Repo>,
    raw: &str,
    signed: &Signed<'_>,
    now_ms: i64,
) -> Result<Principal> {
    let presented = apikey::parse(raw)?;
    let unknown = || {
        LeaderboardError::Unauthorized(format!(
            "API key {} is not valid (unknown, revoked, or a wrong secret)",
            presented.id
        ))
    };
    let stored = crate::cache::remembered(
        platform,
        "API key",
        &kv_key(presented.id),
        now_ms,
        CACHE_MS,
        async || repo().await?.get(&key(presented.id)).await,
    )
    .await?
    .ok_or_else(unknown)?;
    let stored: StoredKey = serde_json::from_slice(stored.as_bytes())
        .map_err(|e| LeaderboardError::CorruptData(format!("stored API key: {e}")))?;
    if !apikey::constant_time_eq(&sha256_hex(presented.raw), &stored.sha256) {
        return Err(unknown());
    }
    let principal = stored.principal(now_ms)?;
    let Some(secret) = &stored.signing_secret else {
        if signed.signature.is_some() {
            return Err(LeaderboardError::Unauthorized(format!(
                "API key {} does not sign requests (create a key with require_signature)",
                presented.id
            )));
        }
        return Ok(principal);
    };
    let given =
        apikey::check_signature_headers(presented.id, signed.timestamp, signed.signature, now_ms)?;
    let expected = sign(
        secret,
        signed.timestamp.unwrap_or("").trim(),
        signed.method,
        signed.target,
        signed.body,
    );
    if !apikey::constant_time_eq(given, &expected) {
        return Err(LeaderboardError::Unauthorized(format!(
            "API key {}: the signature does not match the request (check the string to sign: \
             v1, timestamp, method, path with query, SHA-256 of the body)",
            presented.id
        )));
    }
    let first_use = repo()
        .await?
        .set_nx_px(
            &format!("{}:sig:{given}", key(presented.id)),
            "1",
            2 * apikey::SIGNATURE_WINDOW_SECS.unsigned_abs() * 1000,
        )
        .await?;
    if !first_use {
        return Err(LeaderboardError::Unauthorized(format!(
            "API key {}: this signed request was already received (replay refused); sign each \
             request anew",
            presented.id
        )));
    }
    Ok(principal)
}

/// Stores a new key.
pub async fn store(platform: &dyn Platform, repo: &Repo, k: &StoredKey) -> Result<()> {
    let json = serde_json::to_string(k).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    repo.set(&key(&k.id), &json).await?;
    repo.sadd(&index(&TenantId::new(k.tenant.as_str())?), &k.id)
        .await?;
    crate::cache::forget(platform, &kv_key(&k.id)).await;
    Ok(())
}

/// The tenant's keys, sorted by creation.
pub async fn list(repo: &Repo, tenant: &TenantId) -> Result<Vec<StoredKey>> {
    let mut out = Vec::new();
    for id in repo.smembers(&index(tenant)).await? {
        if let Some(raw) = repo.get(&key(&id)).await? {
            let k: StoredKey = serde_json::from_slice(raw.as_bytes())
                .map_err(|e| LeaderboardError::CorruptData(format!("stored API key: {e}")))?;
            if k.tenant == tenant.as_str() {
                out.push(k);
            }
        }
    }
    out.sort_by_key(|k| (k.created_ms, k.id.clone()));
    Ok(out)
}

/// Revokes a key of the tenant: `false` when it has no such key.
pub async fn revoke(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    id: &str,
) -> Result<bool> {
    let Some(raw) = repo.get(&key(id)).await? else {
        return Ok(false);
    };
    let k: StoredKey = serde_json::from_slice(raw.as_bytes())
        .map_err(|e| LeaderboardError::CorruptData(format!("stored API key: {e}")))?;
    if k.tenant != tenant.as_str() {
        return Ok(false);
    }
    repo.del(&key(id)).await?;
    repo.srem(&index(tenant), id).await?;
    crate::cache::forget(platform, &kv_key(id)).await;
    Ok(true)
}

//! API keys (`leaderboard::apikey`) at the edge: stored in Redis by id, read through the regional
//! KV store (fresh for [`CACHE_MS`]; creating or revoking a key drops the writing region's copy,
//! other regions follow within that time), verified by SHA-256.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:apikey:{<id>}` | string | the key (`StoredKey` JSON: tenant, name, roles, SHA-256, times) |
//! | `lb:tenant:{t}:apikeys` | set | ids of the tenant's keys |
//!
//! A key is presented as `X-Api-Key: lbk_…` or `Authorization: Bearer lbk_…`.

use leaderboard::access::Principal;
use leaderboard::apikey::{self, StoredKey};
use leaderboard::{LeaderboardError, Result, TenantId};
use sha2::{Digest, Sha256};

use crate::platform::Platform;
use crate::repo::Repo;

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

/// Lowercase hex SHA-256.
pub fn sha256_hex(raw: &str) -> String {
    Sha256::digest(raw.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
pub fn authenticate<'r>(
    platform: &dyn Platform,
    repo: impl FnOnce() -> Result<&'r Repo>,
    raw: &str,
    now_ms: i64,
) -> Result<Principal> {
    let presented = apikey::parse(raw)?;
    let unknown = || {
        LeaderboardError::Unauthorized(format!(
            "API key {} is not valid (unknown, revoked, or a wrong secret)",
            presented.id
        ))
    };
    let stored =
        crate::cache::remembered(platform, &kv_key(presented.id), now_ms, CACHE_MS, || {
            repo()?.get(&key(presented.id))
        })?
        .ok_or_else(unknown)?;
    let stored: StoredKey = serde_json::from_str(&stored)
        .map_err(|e| LeaderboardError::CorruptData(format!("stored API key: {e}")))?;
    if !apikey::constant_time_eq(&sha256_hex(presented.raw), &stored.sha256) {
        return Err(unknown());
    }
    stored.principal(now_ms)
}

/// Fresh random hex digits (`n` ≤ 64): SipHash-1-3 outputs under keys std draws from the host's
/// random source (`wasi:random`) — a PRF under a 128-bit secret.
pub fn random_hex(n: usize) -> String {
    use std::hash::BuildHasher;
    let mut out = String::with_capacity(n + 16);
    let state = std::collections::hash_map::RandomState::new();
    let mut i = 0u64;
    while out.len() < n {
        // Each RandomState::new() also advances std's per-thread key, so a fresh state per word.
        let word = state.hash_one(i) ^ std::collections::hash_map::RandomState::new().hash_one(i);
        out.push_str(&format!("{word:016x}"));
        i += 1;
    }
    out.truncate(n);
    out
}

/// Stores a new key.
pub fn store(platform: &dyn Platform, repo: &Repo, k: &StoredKey) -> Result<()> {
    let json = serde_json::to_string(k).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    repo.set(&key(&k.id), &json)?;
    repo.sadd(&index(&TenantId::new(k.tenant.as_str())?), &k.id)?;
    crate::cache::forget(platform, &kv_key(&k.id));
    Ok(())
}

/// The tenant's keys, sorted by creation.
pub fn list(repo: &Repo, tenant: &TenantId) -> Result<Vec<StoredKey>> {
    let mut out = Vec::new();
    for id in repo.smembers(&index(tenant))? {
        if let Some(raw) = repo.get(&key(&id))? {
            let k: StoredKey = serde_json::from_str(&raw)
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
pub fn revoke(platform: &dyn Platform, repo: &Repo, tenant: &TenantId, id: &str) -> Result<bool> {
    let Some(raw) = repo.get(&key(id))? else {
        return Ok(false);
    };
    let k: StoredKey = serde_json::from_str(&raw)
        .map_err(|e| LeaderboardError::CorruptData(format!("stored API key: {e}")))?;
    if k.tenant != tenant.as_str() {
        return Ok(false);
    }
    repo.del(&key(id))?;
    repo.srem(&index(tenant), id)?;
    crate::cache::forget(platform, &kv_key(id));
    Ok(true)
}

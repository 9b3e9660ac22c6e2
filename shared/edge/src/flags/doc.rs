//! The tenant's flag document as stored: authoritative in Redis (`edge::flags::store`), served
//! from the regional KV store for [`CACHE_MS`]; not parsed here (components that only look flags
//! up never link the JsonLogic engine). Evaluation is [`crate::flags`].

use leaderboard::{Result, TenantId};

use crate::platform::Platform;
use crate::repo::Repo;

/// How long a region serves the document from its KV store before asking Redis again (a write
/// deletes the writing region's copy at once).
pub const CACHE_MS: i64 = 5_000;

/// The key of the region's copy.
pub(crate) fn kv_key(tenant: &TenantId) -> String {
    format!("flags:{}", tenant.as_str())
}

/// The tenant's stored document and its version (`None` when it never stored one), from the
/// regional KV store while fresh, else from Redis (and cached). Not parsed: components that only
/// look flags up never link the JsonLogic engine.
pub async fn load<'r>(
    platform: &dyn Platform,
    repo: impl AsyncFnOnce() -> Result<&'r Repo>,
    tenant: &TenantId,
    now_ms: i64,
) -> Result<Option<(u64, String)>> {
    let packed = crate::cache::remembered(
        platform,
        "flag document",
        &kv_key(tenant),
        now_ms,
        CACHE_MS,
        async || {
            Ok(repo()
                .await?
                .flags_get(tenant)
                .await?
                .map(|(version, doc)| format!("{version}\n{doc}")))
        },
    )
    .await?;
    Ok(packed.and_then(|p| {
        let (version, doc) = p.split_once('\n')?;
        Some((version.parse().ok()?, doc.to_string()))
    }))
}

/// Forgets this region's cached copy of the tenant's document (after a write).
pub async fn forget(platform: &dyn Platform, tenant: &TenantId) {
    crate::cache::forget(platform, &kv_key(tenant)).await;
}

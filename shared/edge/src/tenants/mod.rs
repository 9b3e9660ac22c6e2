//! Tenant settings (`leaderboard::policy::tenant`): stored in Redis as `lb:tenant:{t}:settings`
//! (canonical JSON), read through the regional KV store (fresh for [`CACHE_MS`]; a write drops
//! the writing region's copy).

pub mod apikeys;
pub mod routes;

use leaderboard::policy::tenant::{TenantSettings, TenantSettingsInput};
use leaderboard::{LeaderboardError, Result, TenantId};

use crate::platform::Platform;
use crate::repo::Repo;

/// How long a region uses its copy of a tenant's settings.
pub const CACHE_MS: i64 = 5_000;

/// The Redis key of a tenant's settings.
pub fn key(tenant: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:settings", tenant.as_str())
}

/// The key of the region's copy.
pub(crate) fn kv_key(tenant: &TenantId) -> String {
    format!("tenant:{}", tenant.as_str())
}

/// The tenant's settings (defaults when it has none).
pub async fn load<'r>(
    platform: &dyn Platform,
    repo: impl AsyncFnOnce() -> Result<&'r Repo>,
    tenant: &TenantId,
    now_ms: i64,
) -> Result<TenantSettings> {
    let raw = crate::cache::remembered(
        platform,
        "tenant settings",
        &kv_key(tenant),
        now_ms,
        CACHE_MS,
        async || repo().await?.get(&key(tenant)).await,
    )
    .await?;
    match raw {
        None => Ok(TenantSettings::default()),
        // As stored: built, not checked again (`TenantSettingsInput::build`).
        Some(raw) => leaderboard::error::from_stored(
            "tenant settings",
            raw.as_bytes(),
            TenantSettingsInput::build,
        ),
    }
}

/// Stores the settings and drops this region's copy.
pub async fn store(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    settings: &TenantSettings,
) -> Result<()> {
    let json = serde_json::to_string(&settings.input)
        .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    repo.set(&key(tenant), &json).await?;
    crate::cache::forget(platform, &kv_key(tenant)).await;
    Ok(())
}

//! Tenant settings and usage (`leaderboard::policy::tenant`, `crate::tenants`).
//!
//! The `platform` role (a token with `"roles": ["platform"]`, whatever its tenant) manages every
//! tenant's settings; a tenant's own `admin` may read its settings and usage, nothing of another
//! tenant's.

use crate::api::Ctx;
use crate::audit;
use crate::http::{self, Call, Response};
use crate::repo::Keys;
use leaderboard::policy::access::{self, Role};
use leaderboard::policy::tenant::TenantSettingsInput;
use leaderboard::{LeaderboardError, Result, TenantId};
use serde_json::{Value, json};

/// The platform role, or the tenant's own admin.
fn authorize_read(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<()> {
    let p = ctx.require_principal()?;
    if p.has(Role::Platform) || (p.has(Role::Admin) && &ctx.tenant == tenant) {
        return Ok(());
    }
    Err(LeaderboardError::Forbidden(format!(
        "reading tenant '{}' requires the 'platform' role or that tenant's 'admin'",
        tenant.as_str()
    )))
}

/// `GET /api/{v}/tenants/{tenant}`.
pub async fn get(call: &Call<'_>, ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Response> {
    authorize_read(ctx, tenant)?;
    let repo = ctx.repo().await?;
    let settings =
        crate::tenants::load(ctx.platform(), async move || Ok(repo), tenant, call.now_ms).await?;
    let body = serde_json::to_value(&settings.input)
        .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    Ok(http::json(
        200,
        call.version,
        &json!({"tenant": tenant.as_str(), "settings": body}),
    ))
}

/// `PUT /api/{v}/tenants/{tenant}`.
pub async fn put(call: &Call<'_>, ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Response> {
    access::authorize_platform(ctx.require_principal()?)?;
    let input: TenantSettingsInput = call.json()?;
    let settings = input.validate()?;
    let repo = ctx.repo().await?;
    crate::tenants::store(ctx.platform(), repo, tenant, &settings).await?;
    let body = serde_json::to_value(&settings.input)
        .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    audit::record_for(
        ctx,
        call,
        tenant,
        "tenant.update",
        tenant.as_str(),
        body.clone(),
    )
    .await;
    Ok(http::json(
        200,
        call.version,
        &json!({"tenant": tenant.as_str(), "settings": body}),
    ))
}

/// `GET /api/{v}/tenants/{tenant}/usage`: boards, and per board the players of its current
/// period and the length of its log. (Requests are not counted: cached reads never touch Redis,
/// and counting them would cost each one a Redis round trip or a KV write.)
pub async fn usage(call: &Call<'_>, ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Response> {
    authorize_read(ctx, tenant)?;
    let repo = ctx.repo().await?;
    let mut boards = Vec::new();
    let mut players_total = 0u64;
    for id in repo.board_ids(tenant).await? {
        let board = match repo.board(tenant, &id).await {
            Ok(b) => b,
            Err(LeaderboardError::BoardNotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let period = leaderboard::board::period::period_id(board.period, call.now_ms)?;
        let keys = Keys::new(tenant, &id);
        let players = repo.period_size(&keys, &period).await?;
        let log_entries = repo.stream_len(&keys.events()).await?;
        players_total += players;
        boards.push(json!({"board": id.as_str(), "period": period.to_string(),
            "players": players, "log_entries": log_entries}));
    }
    let settings =
        crate::tenants::load(ctx.platform(), async move || Ok(repo), tenant, call.now_ms).await?;
    let quotas = serde_json::to_value(&settings.input)
        .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    Ok(http::json(
        200,
        call.version,
        &json!({"tenant": tenant.as_str(), "boards": boards.len(), "players": players_total,
            "by_board": Value::Array(boards), "quotas": quotas}),
    ))
}

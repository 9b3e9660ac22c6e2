//! API keys for service clients (`crate::tenants::apikeys`), tenant admin only:
//!
//! ```text
//! POST   /api/{v}/api-keys        create {name, roles, expires_at?, require_signature?}: 201 with
//!                                 the key (and its signing secret), shown once
//! GET    /api/{v}/api-keys        the tenant's keys (no secrets)
//! GET    /api/{v}/api-keys/{id}   one key (no secret)
//! DELETE /api/{v}/api-keys/{id}   revoke (204)
//! ```

use crate::api::Ctx;
use crate::http::{self, Call, Method, Response, ResponseBuilder};
use crate::tenants::apikeys;
use leaderboard::policy::apikey::{self, ApiKeyInput, StoredKey};
use leaderboard::{LeaderboardError, Result, policy::access};
use serde_json::json;

/// Serves `/api/{v}/api-keys[/{id}]` (`rest`: the segments after `api-keys`).
pub async fn route(call: &Call<'_>, ctx: &Ctx<'_>, rest: &[&str]) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    match (call.method(), rest) {
        (&Method::POST, []) => create(call, ctx).await,
        (&Method::GET, []) => list(call, ctx).await,
        (_, []) => Err(call.method_not_allowed("GET, POST")),
        (_, [id]) if !apikey::is_key_id(id) => Err(not_found(id)),
        (&Method::GET, [id]) => get(call, ctx, id).await,
        (&Method::DELETE, [id]) => revoke(call, ctx, id).await,
        (_, [_]) => Err(call.method_not_allowed("GET, DELETE")),
        _ => Err(call.not_found()),
    }
}

fn not_found(id: &str) -> LeaderboardError {
    LeaderboardError::NotFound(format!("no API key '{id}'"))
}

async fn create(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    let input: ApiKeyInput = call.json()?;
    let input_signing = input.require_signature;
    let (name, roles, expires_ms) = input.validate(call.now_ms)?;
    let repo = ctx.repo().await?;
    apikey::admit_new_key(repo.scard(&apikeys::index(&ctx.tenant)).await?)?;
    let platform = ctx.platform();
    let minted = apikey::mint(input_signing, |n| crate::secrets::random_hex(platform, n))?;
    let id = minted.id.clone();
    let stored = StoredKey {
        id: id.clone(),
        tenant: ctx.tenant.as_str().to_string(),
        name,
        roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
        sha256: crate::secrets::sha256_hex(&minted.key),
        created_ms: call.now_ms,
        expires_ms,
        signing_secret: minted.signing_secret.clone(),
    };
    apikeys::store(ctx.platform(), repo, &stored).await?;
    crate::audit::record(
        ctx,
        call,
        "apikey.create",
        &id,
        json!({"name": stored.name, "roles": stored.roles}),
    )
    .await;
    let mut body = stored.view();
    body["key"] = json!(minted.key);
    if let Some(secret) = minted.signing_secret {
        body["signing_secret"] = json!(secret);
    }
    Ok(http::json_text(
        201,
        call.version,
        body.to_string(),
        &[
            ("location", format!("/api/v1/api-keys/{id}")),
            // The only time the secret is shown: no cache may keep it.
            ("cache-control", "no-store".to_string()),
        ],
    ))
}

async fn list(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    let keys: Vec<_> = apikeys::list(ctx.repo().await?, &ctx.tenant)
        .await?
        .iter()
        .map(StoredKey::view)
        .collect();
    Ok(http::json(200, call.version, &json!({"api_keys": keys})))
}

async fn get(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let key = apikeys::list(ctx.repo().await?, &ctx.tenant)
        .await?
        .into_iter()
        .find(|k| k.id == *id)
        .ok_or_else(|| not_found(id))?;
    Ok(http::json(200, call.version, &key.view()))
}

async fn revoke(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    if !apikeys::revoke(ctx.platform(), ctx.repo().await?, &ctx.tenant, id).await? {
        return Err(not_found(id));
    }
    crate::audit::record(ctx, call, "apikey.revoke", id, json!({})).await;
    Ok(ResponseBuilder::new(204).empty())
}

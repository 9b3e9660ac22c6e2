//! Webhook subscriptions (`crate::webhooks`), tenant admin only:
//!
//! ```text
//! POST   /api/{v}/webhooks                      create {url, events[], boards?, top_n?, description?,
//!                                               enabled?}: 201 with the secret, shown once
//! GET    /api/{v}/webhooks                      the tenant's subscriptions (no secrets)
//! GET    /api/{v}/webhooks/{id}                 one (no secret)
//! PATCH  /api/{v}/webhooks/{id}                 change fields (merge patch; `boards: null`: all)
//! DELETE /api/{v}/webhooks/{id}                 delete (204)
//! POST   /api/{v}/webhooks/{id}/rotate-secret   a new secret, shown once; the old one keeps
//!                                               signing for 24 h
//! POST   /api/{v}/webhooks/{id}/test            a `webhook.test` message to it (202)
//! GET    /api/{v}/webhooks/{id}/deliveries?status=&limit=
//!                                               its newest messages and their attempts
//! POST   /api/{v}/webhooks/{id}/deliveries/{msg}/redrive
//!                                               a failed message, pending again
//! ```
//!
//! Every change goes to the tenant's audit log (`webhook.create`, `webhook.update`,
//! `webhook.delete`, `webhook.rotate_secret`).

use crate::api::Ctx;
use crate::http::{self, Call, Method, Response, ResponseBuilder};
use crate::webhooks;
use crate::webhooks::delivery;
use leaderboard::outbound::webhook::{self, SubscriptionInput, SubscriptionPatch};
use leaderboard::outbound::webhook_delivery::DeliveryState;
use leaderboard::{LeaderboardError, Result, policy::access};
use serde_json::json;

/// Serves `/api/{v}/webhooks[/…]` (`rest`: the segments after `webhooks`).
pub async fn route(call: &Call<'_>, ctx: &Ctx<'_>, rest: &[&str]) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    match (call.method(), rest) {
        (&Method::POST, []) => create(call, ctx).await,
        (&Method::GET, []) => list(call, ctx).await,
        (_, []) => Err(call.method_not_allowed("GET, POST")),
        (_, [id, ..]) if !well_formed(id) => Err(webhooks::not_found(id)),
        (&Method::GET, [id]) => get(call, ctx, id).await,
        (&Method::PATCH, [id]) => patch(call, ctx, id).await,
        (&Method::DELETE, [id]) => delete(call, ctx, id).await,
        (_, [_]) => Err(call.method_not_allowed("GET, PATCH, DELETE")),
        (&Method::POST, [id, "rotate-secret"]) => rotate(call, ctx, id).await,
        (_, [_, "rotate-secret"]) => Err(call.method_not_allowed("POST")),
        (&Method::POST, [id, "test"]) => test(call, ctx, id).await,
        (_, [_, "test"]) => Err(call.method_not_allowed("POST")),
        (&Method::GET, [id, "deliveries"]) => deliveries(call, ctx, id).await,
        (_, [_, "deliveries"]) => Err(call.method_not_allowed("GET")),
        (&Method::POST, [id, "deliveries", msg, "redrive"]) => redrive(call, ctx, id, msg).await,
        (_, [_, "deliveries", _, "redrive"]) => Err(call.method_not_allowed("POST")),
        _ => Err(call.not_found()),
    }
}

fn well_formed(id: &str) -> bool {
    id.strip_prefix("wh_")
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The only responses that carry a secret: no cache may keep them.
fn with_secret(status: u16, call: &Call<'_>, sub: &webhook::Subscription) -> Response {
    let mut body = sub.view();
    body["secret"] = json!(sub.secret);
    http::json_text(
        status,
        call.version,
        body.to_string(),
        &[
            ("location", format!("/api/v1/webhooks/{}", sub.id)),
            ("cache-control", "no-store".to_string()),
        ],
    )
}

async fn create(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    let input: SubscriptionInput = call.json()?;
    let policy = webhooks::target_policy(ctx.platform()).await?;
    let sub = input.validate(
        &policy,
        ctx.tenant.as_str(),
        webhooks::new_id(ctx.platform())?,
        webhooks::new_secret(ctx.platform())?,
        call.now_ms,
    )?;
    let repo = ctx.repo().await?;
    if webhooks::count(repo, &ctx.tenant).await? >= webhook::MAX_SUBSCRIPTIONS as u64 {
        return Err(LeaderboardError::QuotaExceeded {
            quota: "max_webhooks".into(),
            detail: format!(
                "a tenant keeps at most {} webhook subscriptions; delete unused ones",
                webhook::MAX_SUBSCRIPTIONS
            ),
        });
    }
    webhooks::put(repo, &sub).await?;
    webhooks::refresh_all(repo, &ctx.tenant).await?;
    crate::audit::record(ctx, call, "webhook.create", &sub.id, sub.view()).await;
    Ok(with_secret(201, call, &sub))
}

async fn list(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    let subs: Vec<_> = webhooks::list(ctx.repo().await?, &ctx.tenant)
        .await?
        .iter()
        .map(webhook::Subscription::view)
        .collect();
    Ok(http::json(200, call.version, &json!({"webhooks": subs})))
}

async fn get(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let sub = webhooks::get(ctx.repo().await?, &ctx.tenant, id).await?;
    Ok(http::json(200, call.version, &sub.view()))
}

async fn patch(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let patch: SubscriptionPatch = call.json()?;
    let repo = ctx.repo().await?;
    let mut sub = webhooks::get(repo, &ctx.tenant, id).await?;
    let before = sub.view();
    sub.patch(
        patch,
        &webhooks::target_policy(ctx.platform()).await?,
        call.now_ms,
    )?;
    webhooks::put(repo, &sub).await?;
    webhooks::refresh_all(repo, &ctx.tenant).await?;
    crate::audit::record(
        ctx,
        call,
        "webhook.update",
        id,
        json!({"before": before, "after": sub.view()}),
    )
    .await;
    Ok(http::json(200, call.version, &sub.view()))
}

async fn delete(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let repo = ctx.repo().await?;
    if !webhooks::delete(repo, &ctx.tenant, id).await? {
        return Err(webhooks::not_found(id));
    }
    webhooks::refresh_all(repo, &ctx.tenant).await?;
    crate::audit::record(ctx, call, "webhook.delete", id, json!({})).await;
    Ok(ResponseBuilder::new(204).empty())
}

async fn rotate(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let repo = ctx.repo().await?;
    let mut sub = webhooks::get(repo, &ctx.tenant, id).await?;
    sub.rotate(webhooks::new_secret(ctx.platform())?, call.now_ms);
    webhooks::put(repo, &sub).await?;
    crate::audit::record(
        ctx,
        call,
        "webhook.rotate_secret",
        id,
        json!({"previous_valid_until": sub.previous_until_ms}),
    )
    .await;
    Ok(with_secret(200, call, &sub))
}

async fn test(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let repo = ctx.repo().await?;
    let sub = webhooks::get(repo, &ctx.tenant, id).await?;
    let data = json!({
        "subscription": sub.id,
        "message": "a test message: this endpoint receives the events it subscribed to",
    });
    let message = delivery::enqueue(
        repo,
        &ctx.tenant,
        &sub,
        webhook::TEST_EVENT,
        data,
        call.now_ms,
    )
    .await?;
    Ok(http::json(202, call.version, &message.view()))
}

async fn deliveries(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let repo = ctx.repo().await?;
    webhooks::get(repo, &ctx.tenant, id).await?;
    let state = call
        .query
        .get("status")
        .filter(|s| !s.is_empty())
        .map(|s| DeliveryState::parse(s))
        .transpose()?;
    let limit = call.query_u32(
        "limit",
        50,
        1,
        leaderboard::outbound::webhook_delivery::MAX_PAGE,
    )?;
    let messages: Vec<_> = delivery::deliveries(repo, &ctx.tenant, id, state, limit as usize)
        .await?
        .iter()
        .map(|m| m.view())
        .collect();
    Ok(http::json(
        200,
        call.version,
        &json!({"deliveries": messages}),
    ))
}

async fn redrive(call: &Call<'_>, ctx: &Ctx<'_>, id: &str, msg: &str) -> Result<Response> {
    let repo = ctx.repo().await?;
    webhooks::get(repo, &ctx.tenant, id).await?;
    let message = delivery::redrive(repo, &ctx.tenant, id, msg, call.now_ms).await?;
    crate::audit::record(
        ctx,
        call,
        "webhook.redrive",
        id,
        json!({"message": message.id}),
    )
    .await;
    Ok(http::json(202, call.version, &message.view()))
}

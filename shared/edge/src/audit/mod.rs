//! The tenant's audit log: every admin action, who did it, from where, when.
//!
//! A Redis stream per tenant, `lb:tenant:{t}:audit`, one entry per action (field `entry`, JSON):
//! `{at_ms, actor, roles, action, target, client_addr, request_id, detail}`. `actor` is the
//! token's `sub`, `client_addr` Spin's `spin-client-addr`, `request_id` the request's
//! `X-Request-Id` (echoed on every response). Actions: `board.create`, `board.delete`,
//! `entry.delete`, `board.replay`, `dead_letters.redrive`, `dead_letters.purge`, `flags.update`,
//! `tenant.update`, `webhook.create`, `webhook.update`, `webhook.delete`, `webhook.rotate_secret`,
//! `webhook.redrive`, `tournament.grant`, `tournament.end`, `tournament.extend`. The stream keeps the newest ~1,000,000 entries. `GET /api/v1/audit` pages it for admins.

pub mod routes;

use leaderboard::TenantId;
use serde_json::{Value, json};

use crate::api::Ctx;
use crate::http::Call;

/// The audit stream of a tenant.
pub fn key(tenant: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:audit", tenant.as_str())
}

/// Entries kept (approximately; older ones are trimmed).
pub const KEEP: u64 = 1_000_000;

/// Appends an admin action after it succeeded. A failure to append is logged, not returned: the
/// action itself happened.
pub async fn record(ctx: &Ctx<'_>, call: &Call<'_>, action: &str, target: &str, detail: Value) {
    record_for(ctx, call, &ctx.tenant, action, target, detail).await;
}

/// [`record`] into another tenant's audit log (the platform role acting on a tenant).
pub async fn record_for(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    tenant: &TenantId,
    action: &str,
    target: &str,
    detail: Value,
) {
    let (actor, roles) = match &ctx.principal {
        Some(p) => (
            p.subject.clone(),
            p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        ),
        None => (String::new(), Vec::new()),
    };
    let entry = json!({
        "at_ms": call.now_ms,
        "actor": actor,
        "roles": roles,
        "action": action,
        "target": target,
        "client_addr": call.header("spin-client-addr").unwrap_or(""),
        "request_id": call.request_id,
        "detail": detail,
    });
    let entry = entry.to_string();
    let appended = match ctx.repo().await {
        Ok(repo) => repo.append_capped(&key(tenant), KEEP, &entry).await,
        Err(e) => Err(e),
    };
    if let Err(e) = appended {
        eprintln!(
            "audit: could not record {action} on {target} (request {}): {e}",
            call.request_id
        );
    }
}

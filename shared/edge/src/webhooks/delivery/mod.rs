//! Webhook delivery: messages are stored in Redis before anything is sent, then delivered by
//! whoever drains the tenant's due set — the worker on its `lb:webhooks` channel (rung when a
//! message is made) and `POST /api/v1/admin/drain` (hosts without a Redis trigger call it from a
//! cron; it also sends retries that came due while no message rang).
//!
//! A drain leases the messages it takes (their due time moves past the attempt's timeout), so two
//! drains never send the same attempt, and a drain that dies mid-attempt leaves them due again:
//! at-least-once, every attempt of a message with the same `webhook-id`. Each attempt is signed
//! anew (`webhook-timestamp` is the attempt's), its target checked again against the operator's
//! policy, and its outcome recorded on the message (`leaderboard::outbound::webhook_delivery`).
//!
//! Here: the messages' storage and reads; in `settings` the variables below; in `fanout` how
//! board events and period closes become messages, in `announce` a deletion's and flagged
//! submissions' messages; in
//! `deliver` the claims, signatures and attempts; in `sweep` what is owed with nothing to ring
//! the worker (`crate::webhooks::due`).
//!
//! Variables (all optional): `webhook_retry_schedule` (delays before each retry, default
//! `5s,5m,30m,2h,5h,10h,10h`), `webhook_timeout` (per attempt, default `15s`),
//! `webhook_disable_after` (a subscription failing this long without a success is disabled,
//! default `5d`), `webhook_debounce` (`rank.top_changed`, default `1s`), `webhook_allow_private` (see `leaderboard::outbound::webhook_target`).

use leaderboard::outbound::webhook::{self, Subscription};
use leaderboard::outbound::webhook_delivery::{DeliveryState, Message};
use leaderboard::{LeaderboardError, Result, TenantId};
use serde_json::Value;

use crate::repo::Repo;
use crate::webhooks::due;
use crate::webhooks::store::MessageKeys;

/// The worker's channel: a tenant has messages due (payload: `wh:<tenant>`).
pub const CHANNEL: &str = "lb:webhooks";

/// How long a message is kept (its delivery log with it).
pub const MESSAGE_TTL_SECS: i64 = 30 * 86_400;

/// Messages listed per subscription (the newest).
pub const LOG_KEPT: i64 = 1_000;

/// The tenants that have had webhook messages (a set): what `/health/detailed` sums the
/// backlog over.
pub const TENANTS: &str = "lb:wh:tenants";

/// Messages one claim takes.
const CLAIM: i64 = 16;

mod announce;
mod deliver;
mod fanout;
mod sweep;

/// The delivery's settings, from the variables ([`crate::settings::delivery`]).
pub use crate::settings::Delivery as Settings;
pub use announce::{board_deleted, score_flagged};
pub use deliver::{Report, deliver_due};
pub use fanout::fan_out;
pub use sweep::{Swept, catch_up, due_messages};

/// A new message id: `msg_` + 24 random hex digits (unique; receivers deduplicate on it).
pub fn new_message_id() -> Result<String> {
    Ok(format!("msg_{}", crate::secrets::unique_hex(24)?))
}

fn encode(m: &Message) -> Result<String> {
    serde_json::to_string(m).map_err(|e| LeaderboardError::Internal(e.to_string()))
}

fn decode(raw: &str) -> Result<Message> {
    serde_json::from_slice(raw.as_bytes())
        .map_err(|e| LeaderboardError::CorruptData(format!("stored webhook message: {e}")))
}

/// Makes a message of `event_type` with `data` for one subscription, due now, and rings the
/// worker. The message is stored before this returns.
pub async fn enqueue(
    repo: &Repo,
    tenant: &TenantId,
    sub: &Subscription,
    event_type: &str,
    data: Value,
    now_ms: i64,
) -> Result<Message> {
    let message = store(
        repo,
        tenant,
        sub,
        new_message_id()?,
        event_type,
        data,
        now_ms,
    )
    .await?;
    ring(repo, tenant).await;
    Ok(message)
}

/// Stores a message with the given id, due now, unless one with that id exists (what makes a
/// repeated fan-out harmless).
async fn store(
    repo: &Repo,
    tenant: &TenantId,
    sub: &Subscription,
    id: String,
    event_type: &str,
    data: Value,
    now_ms: i64,
) -> Result<Message> {
    let body = webhook::payload(event_type, now_ms, data);
    let message = Message::new(id, &sub.id, event_type, body, now_ms);
    put_new(repo, tenant, &message, now_ms).await?;
    Ok(message)
}

/// Stores a new message, due at `due_ms`.
async fn put_new(repo: &Repo, tenant: &TenantId, message: &Message, due_ms: i64) -> Result<()> {
    let keys = MessageKeys::new(tenant.as_str());
    repo.webhook_enqueue(
        &keys,
        &message.subscription,
        &message.id,
        &encode(message)?,
        due_ms,
        message.created_ms,
        MESSAGE_TTL_SECS,
        LOG_KEPT,
    )
    .await?;
    Ok(())
}

/// Tells the worker the tenant has messages due. Pub/sub keeps no message for a worker that is
/// not listening, so the tenant is noted as owed too, a short while on
/// ([`due::CATCH_UP_AFTER_MS`]): a ring no worker heard is served by the sweep then.
pub async fn ring(repo: &Repo, tenant: &TenantId) {
    if let Err(e) = repo.publish(CHANNEL, &format!("wh:{tenant}")).await {
        eprintln!("webhooks: ringing the worker for {tenant}: {e}");
    }
    let now = crate::scope::now_ms();
    note_owed(repo, tenant, now + due::CATCH_UP_AFTER_MS, now).await;
}

/// Notes the tenant's messages as owed at `due_ms` ([`crate::webhooks::due`]), unless they
/// are owed sooner already. Best effort: a failure is logged (a ring or a drain call still
/// delivers them).
async fn note_owed(repo: &Repo, tenant: &TenantId, due_ms: i64, now_ms: i64) {
    if let Err(e) = repo.hooks_note_messages(tenant, due_ms, now_ms).await {
        eprintln!("webhooks: {tenant}'s messages owed at {due_ms} ms not noted: {e}");
    }
}

/// One message of a subscription; `404` when there is none by that id.
pub async fn message(repo: &Repo, tenant: &TenantId, sub: &str, id: &str) -> Result<Message> {
    let keys = MessageKeys::new(tenant.as_str());
    repo.webhook_messages(&keys, &[id.to_string()])
        .await?
        .into_iter()
        .flatten()
        .next()
        .map(|raw| decode(&raw))
        .transpose()?
        .filter(|m| m.subscription == sub)
        .ok_or_else(|| {
            LeaderboardError::NotFound(format!("no message '{id}' for subscription '{sub}'"))
        })
}

/// A subscription's newest messages (at most `limit`, newest first), optionally only those in
/// `state`.
pub async fn deliveries(
    repo: &Repo,
    tenant: &TenantId,
    sub: &str,
    state: Option<DeliveryState>,
    limit: usize,
) -> Result<Vec<Message>> {
    let keys = MessageKeys::new(tenant.as_str());
    let ids = repo.webhook_log(&keys, sub, LOG_KEPT).await?;
    let mut out = Vec::new();
    for chunk in ids.chunks(100) {
        for raw in repo
            .webhook_messages(&keys, chunk)
            .await?
            .into_iter()
            .flatten()
        {
            let m = decode(&raw)?;
            if state.is_none_or(|s| s == m.state) {
                out.push(m);
                if out.len() == limit {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// Makes a failed message pending again, due now, and rings the worker.
pub async fn redrive(
    repo: &Repo,
    tenant: &TenantId,
    sub: &str,
    id: &str,
    now_ms: i64,
) -> Result<Message> {
    let mut m = message(repo, tenant, sub, id).await?;
    m.redrive(now_ms)?;
    let keys = MessageKeys::new(tenant.as_str());
    repo.webhook_record(&keys, &m.id, &encode(&m)?, Some(now_ms), MESSAGE_TTL_SECS)
        .await?;
    ring(repo, tenant).await;
    Ok(m)
}

/// Messages waiting over every tenant that has had some (the first 1,000 such tenants), and how
/// many tenants have any.
pub async fn backlog(repo: &Repo) -> Result<(u64, u64)> {
    let mut total = 0;
    let mut tenants = 0;
    for tenant in repo.smembers(TENANTS).await?.iter().take(1_000) {
        let n = repo.webhook_backlog(&MessageKeys::new(tenant)).await?;
        total += n;
        tenants += u64::from(n > 0);
    }
    Ok((total, tenants))
}

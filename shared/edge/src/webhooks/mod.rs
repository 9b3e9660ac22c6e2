//! Webhook subscriptions (`leaderboard::outbound::webhook`) at the edge: where they are stored, their
//! secrets, and the Standard Webhooks signature.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:tenant:{t}:webhooks` | hash | subscription id → `Subscription` JSON (with its secrets) |
//!
//! The variable `webhook_allow_private` opens private addresses for targets
//! ([`leaderboard::outbound::webhook_target::TargetPolicy::parse`]); a malformed value is
//! `misconfigured` ([`crate::settings`]): what reads it fails, naming the variable.

pub mod delivery;
pub mod due;
pub mod routes;
pub mod store;
pub mod top;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;
use leaderboard::outbound::webhook::{self, Subscription};
use leaderboard::outbound::webhook_target::TargetPolicy;
use leaderboard::{LeaderboardError, Result, TenantId};
use sha2::Sha256;

use crate::platform::Platform;
use crate::repo::Repo;

/// The hash of a tenant's subscriptions.
pub fn key(tenant: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:webhooks", tenant.as_str())
}

/// The operator's target policy (`webhook_allow_private`, [`crate::settings`]).
pub async fn target_policy(platform: &dyn Platform) -> Result<TargetPolicy> {
    crate::settings::WEBHOOK_ALLOW_PRIVATE.read(platform).await
}

/// A new subscription id: `wh_` + 16 hex digits from the platform's random source.
pub fn new_id(platform: &dyn Platform) -> Result<String> {
    Ok(format!("wh_{}", crate::secrets::random_hex(platform, 16)?))
}

/// A new secret: `whsec_` + base64 of 32 bytes from the platform's random source.
pub fn new_secret(platform: &dyn Platform) -> Result<String> {
    let bytes = crate::secrets::random_bytes(platform, 32)?;
    Ok(format!(
        "{}{}",
        webhook::SECRET_PREFIX,
        STANDARD.encode(bytes)
    ))
}

/// The `webhook-signature` value of one secret: `v1,` + base64 HMAC-SHA256 of
/// `{msg_id}.{timestamp}.{body}` under the secret's bytes (what follows `whsec_`, base64).
pub fn signature(secret: &str, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> Result<String> {
    let raw = secret
        .strip_prefix(webhook::SECRET_PREFIX)
        .unwrap_or(secret);
    let key = STANDARD
        .decode(raw)
        .map_err(|e| LeaderboardError::CorruptData(format!("webhook secret: {e}")))?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|e| LeaderboardError::Internal(format!("webhook secret: {e}")))?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header of a delivery: one `v1,…` per signing secret, space-separated.
pub fn signature_header(
    sub: &Subscription,
    msg_id: &str,
    timestamp_secs: i64,
    body: &[u8],
    now_ms: i64,
) -> Result<String> {
    let signatures = sub
        .signing_secrets(now_ms)
        .into_iter()
        .map(|s| signature(s, msg_id, timestamp_secs, body))
        .collect::<Result<Vec<_>>>()?;
    Ok(signatures.join(" "))
}

fn decode(raw: &str) -> Result<Subscription> {
    serde_json::from_slice(raw.as_bytes())
        .map_err(|e| LeaderboardError::CorruptData(format!("stored webhook subscription: {e}")))
}

/// The tenant's subscriptions, oldest first.
pub async fn list(repo: &Repo, tenant: &TenantId) -> Result<Vec<Subscription>> {
    let mut subs = repo
        .hgetall(&key(tenant))
        .await?
        .iter()
        .map(|(_, raw)| decode(raw))
        .collect::<Result<Vec<_>>>()?;
    subs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(subs)
}

/// One subscription of the tenant; `404` when it has none by that id.
pub async fn get(repo: &Repo, tenant: &TenantId, id: &str) -> Result<Subscription> {
    repo.hget(&key(tenant), id)
        .await?
        .map(|raw| decode(&raw))
        .transpose()?
        .ok_or_else(|| not_found(id))
}

/// `404` for a subscription id.
pub fn not_found(id: &str) -> LeaderboardError {
    LeaderboardError::NotFound(format!("no webhook subscription '{id}'"))
}

/// Stores (creates or replaces) a subscription.
pub async fn put(repo: &Repo, sub: &Subscription) -> Result<()> {
    let json = serde_json::to_string(sub).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    repo.hset(&key(&TenantId::new(sub.tenant.as_str())?), &sub.id, &json)
        .await?;
    Ok(())
}

/// Deletes a subscription: whether it existed.
pub async fn delete(repo: &Repo, tenant: &TenantId, id: &str) -> Result<bool> {
    repo.hdel(&key(tenant), id).await
}

/// The event types the fan-out makes from a board's log.
pub const BOARD_EVENTS: &[&str] = &[
    "score.applied",
    "rank.top_changed",
    "period.closed",
    "tournament.started",
    "tournament.ended",
    "rewards.awarded",
    "league.closed",
];

/// Marks, for each of `boards`, whether an enabled subscription of the tenant wants its events
/// (the write scripts ring the deliverer only for those). Run after every change of the tenant's
/// subscriptions and when a board is created.
pub async fn refresh_boards(
    repo: &Repo,
    tenant: &TenantId,
    boards: &[leaderboard::BoardId],
) -> Result<()> {
    let subs = list(repo, tenant).await?;
    for board in boards {
        let wanted = subs
            .iter()
            .any(|s| BOARD_EVENTS.iter().any(|t| s.wants(t, board.as_str())));
        repo.webhook_board_wanted(&crate::repo::Keys::new(tenant, board), wanted)
            .await?;
    }
    Ok(())
}

/// [`refresh_boards`] for every board of the tenant.
pub async fn refresh_all(repo: &Repo, tenant: &TenantId) -> Result<()> {
    refresh_boards(repo, tenant, &repo.board_ids(tenant).await?).await
}

/// How many subscriptions the tenant has.
pub async fn count(repo: &Repo, tenant: &TenantId) -> Result<u64> {
    repo.hlen(&key(tenant)).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_random_source_makes_no_secret() {
        let platform = crate::platform::RecordedRandom {
            failing: true,
            ..crate::platform::RecordedRandom::default()
        };
        assert!(matches!(
            new_secret(&platform),
            Err(LeaderboardError::Internal(_))
        ));
        assert!(matches!(
            new_id(&platform),
            Err(LeaderboardError::Internal(_))
        ));
    }

    /// The signature is the one the Standard Webhooks reference library computes and accepts.
    #[test]
    fn signatures_verify_with_the_reference_library() {
        let platform = crate::platform::RecordedRandom::default();
        let secret = new_secret(&platform).unwrap();
        // The secret is the platform's random bytes.
        assert_eq!(
            STANDARD.decode(&secret[6..]).unwrap(),
            platform.drawn.borrow()[0]
        );
        assert!(secret.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
        let body = br#"{"type":"webhook.test","timestamp":"2024-01-01T00:00:00.000Z","data":{}}"#;
        let ts = chrono::Utc::now().timestamp();
        let sig = signature(&secret, "msg_1", ts, body).unwrap();
        let wh = standardwebhooks::Webhook::new(&secret).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", "msg_1".parse().unwrap());
        headers.insert("webhook-timestamp", ts.to_string().parse().unwrap());
        headers.insert("webhook-signature", sig.parse().unwrap());
        wh.verify(body, &headers).unwrap();
        let reference = wh.sign("msg_1", ts, body).unwrap();
        assert_eq!(sig, reference);
        // A tampered body fails.
        assert!(wh.verify(b"{}", &headers).is_err());
    }

    /// The example of the specification's reference implementations.
    #[test]
    fn the_specification_example_signs_as_documented() {
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}

//! Webhooks: subscriptions, messages and the delivery schedule of [Standard Webhooks].
//!
//! A tenant's admin subscribes a URL to event types ([`EVENT_TYPES`]), optionally only for some
//! boards. Each subscription has a signing secret, `whsec_` + base64 of 32 random bytes (made by
//! the edge crate, shown once); a rotation keeps the previous secret valid for
//! [`ROTATION_GRACE_MS`], during which deliveries carry both signatures. Every message is
//! `{"type", "timestamp", "data"}`; its id (`webhook-id`) stays the same for every attempt.
//!
//! Delivery: the first attempt is immediate, then one retry after each delay of the schedule
//! ([`DEFAULT_SCHEDULE`], Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each delay stretched
//! by up to +20 % jitter. Only a 2xx answer is a success; a `Retry-After` on 429/503 postpones the
//! retry to at least that; `410 Gone` disables the subscription; after the last attempt the
//! message is dead-lettered (an admin may redrive it). A subscription whose deliveries have
//! failed without a success for `webhook_disable_after` (5 days by default) is disabled with that
//! reason.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::error::{LeaderboardError, Result};
use crate::ids::BoardId;
use crate::outbound::webhook_target::TargetPolicy;

/// The event types a subscription may name.
pub const EVENT_TYPES: &[&str] = &[
    "score.applied",
    "rank.top_changed",
    "period.closed",
    "board.deleted",
    "score.flagged",
    "tournament.started",
    "tournament.ended",
    "rewards.awarded",
    "league.closed",
];

/// The type of the message `POST /api/v1/webhooks/{id}/test` sends (to that subscription only).
pub const TEST_EVENT: &str = "webhook.test";

/// Subscriptions one tenant keeps.
pub const MAX_SUBSCRIPTIONS: usize = 50;

/// `top_n` when a subscription does not say; at most [`MAX_TOP_N`].
pub const DEFAULT_TOP_N: u32 = 10;
/// The largest `top_n`.
pub const MAX_TOP_N: u32 = 100;

/// Every secret starts with this (then base64 of the key bytes).
pub const SECRET_PREFIX: &str = "whsec_";

/// How long the previous secret still signs deliveries after a rotation.
pub const ROTATION_GRACE_MS: i64 = 24 * 3_600_000;

/// Delays before each retry when `webhook_retry_schedule` is unset.
pub const DEFAULT_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// The longest a `Retry-After` may postpone a retry.
pub const MAX_RETRY_AFTER_MS: u64 = 24 * 3_600_000;

/// The longest `description`.
pub const MAX_DESCRIPTION: usize = 256;

/// `POST /api/v1/webhooks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// Where messages go: `https://…` (see [`crate::outbound::webhook_target`]).
    pub url: String,
    /// Event types, from [`EVENT_TYPES`] (at least one).
    pub events: Vec<String>,
    /// Only these boards; absent or `null`: every board of the tenant.
    #[serde(default)]
    pub boards: Option<Vec<String>>,
    /// How many places `rank.top_changed` and `period.closed` carry (1..=100, default 10).
    #[serde(default)]
    pub top_n: Option<u32>,
    /// Free text for the admin (up to 256 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// `false` creates it paused.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `PATCH /api/v1/webhooks/{id}`: the fields to change (JSON merge patch; `boards: null` means
/// every board).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New event types.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// New board filter (`null`: every board).
    #[serde(default, deserialize_with = "present")]
    pub boards: Option<Option<Vec<String>>>,
    /// New `top_n`.
    #[serde(default)]
    pub top_n: Option<u32>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// Pause (`false`) or resume (`true`; clears a disabled reason and the failing time).
    #[serde(default)]
    pub enabled: Option<bool>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A subscription as stored (with its secrets; [`Subscription::view`] leaves them out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// `wh_` + 16 hex digits.
    pub id: String,
    /// The owning tenant.
    pub tenant: String,
    /// Target URL (checked when stored and again at each delivery).
    pub url: String,
    /// Event types.
    pub events: Vec<String>,
    /// Board filter; `None`: every board.
    pub boards: Option<Vec<String>>,
    /// Places in `rank.top_changed` / `period.closed`.
    pub top_n: u32,
    /// Admin's note.
    pub description: String,
    /// Whether messages are made and delivered.
    pub enabled: bool,
    /// Why the service disabled it (`410 Gone`, failing too long).
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// Created (Unix ms).
    pub created_ms: i64,
    /// Last changed (Unix ms).
    pub updated_ms: i64,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// The secret before the last rotation, still signing until [`Self::previous_until_ms`].
    #[serde(default)]
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    #[serde(default)]
    pub previous_until_ms: Option<i64>,
}

/// Validated event types (known, deduplicated, in [`EVENT_TYPES`] order).
fn events(raw: &[String]) -> Result<Vec<String>> {
    if raw.is_empty() {
        return Err(invalid("events: name at least one event type"));
    }
    for e in raw {
        if !EVENT_TYPES.contains(&e.as_str()) {
            return Err(invalid(&format!(
                "events: unknown event type '{e}' (known: {})",
                EVENT_TYPES.join(", ")
            )));
        }
    }
    Ok(EVENT_TYPES
        .iter()
        .filter(|t| raw.iter().any(|e| e == *t))
        .map(|t| t.to_string())
        .collect())
}

fn boards(raw: Option<Vec<String>>) -> Result<Option<Vec<String>>> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.is_empty() {
        return Err(invalid(
            "boards: name at least one board, or leave it out (or null) for every board",
        ));
    }
    if raw.len() > 100 {
        return Err(invalid("boards: at most 100 boards"));
    }
    let mut out = Vec::with_capacity(raw.len());
    for b in raw {
        let id = BoardId::new(b.as_str())?;
        if !out.contains(&id.to_string()) {
            out.push(id.to_string());
        }
    }
    Ok(Some(out))
}

fn top_n(raw: Option<u32>) -> Result<u32> {
    match raw.unwrap_or(DEFAULT_TOP_N) {
        n @ 1..=MAX_TOP_N => Ok(n),
        n => Err(invalid(&format!(
            "top_n: {n} is not within 1..={MAX_TOP_N}"
        ))),
    }
}

fn description(raw: Option<String>) -> Result<String> {
    let d = raw.unwrap_or_default();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(invalid(&format!(
            "description: longer than {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(d)
}

fn invalid(why: &str) -> LeaderboardError {
    LeaderboardError::InvalidWebhook(why.to_string())
}

impl SubscriptionInput {
    /// Validates a new subscription for `tenant` (the URL against `policy`), with the id and
    /// secret the edge made.
    pub fn validate(
        self,
        policy: &TargetPolicy,
        tenant: &str,
        id: String,
        secret: String,
        now_ms: i64,
    ) -> Result<Subscription> {
        policy.check(&self.url)?;
        Ok(Subscription {
            id,
            tenant: tenant.to_string(),
            url: self.url,
            events: events(&self.events)?,
            boards: boards(self.boards)?,
            top_n: top_n(self.top_n)?,
            description: description(self.description)?,
            enabled: self.enabled.unwrap_or(true),
            disabled_reason: None,
            created_ms: now_ms,
            updated_ms: now_ms,
            secret,
            previous_secret: None,
            previous_until_ms: None,
        })
    }
}

impl Subscription {
    /// Applies a patch (validated as a new subscription would be).
    pub fn patch(
        &mut self,
        patch: SubscriptionPatch,
        policy: &TargetPolicy,
        now_ms: i64,
    ) -> Result<()> {
        let mut next = self.clone();
        if let Some(url) = patch.url {
            policy.check(&url)?;
            next.url = url;
        }
        if let Some(e) = patch.events {
            next.events = events(&e)?;
        }
        if let Some(b) = patch.boards {
            next.boards = boards(b)?;
        }
        if patch.top_n.is_some() {
            next.top_n = top_n(patch.top_n)?;
        }
        if patch.description.is_some() {
            next.description = description(patch.description)?;
        }
        if let Some(enabled) = patch.enabled {
            next.enabled = enabled;
            if enabled {
                next.disabled_reason = None;
            }
        }
        next.updated_ms = now_ms;
        *self = next;
        Ok(())
    }

    /// Replaces the secret; the old one keeps signing for [`ROTATION_GRACE_MS`].
    pub fn rotate(&mut self, secret: String, now_ms: i64) {
        let old = std::mem::replace(&mut self.secret, secret);
        self.previous_secret = Some(old);
        self.previous_until_ms = Some(now_ms.saturating_add(ROTATION_GRACE_MS));
        self.updated_ms = now_ms;
    }

    /// The secrets that sign a delivery at `now_ms` (the current one first).
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_until_ms)
            && now_ms < until
        {
            out.push(prev);
        }
        out
    }

    /// Whether an event of `event_type` on `board` makes a message for this subscription.
    pub fn wants(&self, event_type: &str, board: &str) -> bool {
        self.enabled
            && self.events.iter().any(|e| e == event_type)
            && self
                .boards
                .as_ref()
                .is_none_or(|bs| bs.iter().any(|b| b == board))
    }

    /// Disables it, saying why.
    pub fn disable(&mut self, reason: &str, now_ms: i64) {
        self.enabled = false;
        self.disabled_reason = Some(reason.to_string());
        self.updated_ms = now_ms;
    }

    /// The subscription as clients see it (never a secret).
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "url": self.url,
            "events": self.events,
            "boards": self.boards,
            "top_n": self.top_n,
            "description": self.description,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "created_at": crate::time::iso(self.created_ms),
            "updated_at": crate::time::iso(self.updated_ms),
        })
    }
}

/// Parses a duration: a whole number and a unit, `ms`, `s`, `m`, `h` or `d` (`0` alone is
/// also accepted).
pub fn parse_duration_ms(raw: &str) -> std::result::Result<u64, String> {
    let raw = raw.trim();
    if raw == "0" {
        return Ok(0);
    }
    let split = raw
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{raw}' has no unit (ms, s, m, h, d)"))?;
    let (n, unit) = raw.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{raw}' does not start with a whole number"))?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("'{raw}' has an unknown unit (ms, s, m, h, d)")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("'{raw}' is too long"))
}

/// Parses `webhook_retry_schedule`: comma-separated delays before each retry (at most 20).
pub fn parse_schedule(raw: &str) -> std::result::Result<Vec<u64>, String> {
    let delays = raw
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_duration_ms)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if delays.len() > 20 {
        return Err("at most 20 retries".into());
    }
    Ok(delays)
}

/// What one delivery attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered with this status (and `Retry-After`, in seconds, if it sent one).
    Status {
        /// HTTP status.
        code: u16,
        /// `Retry-After` seconds.
        retry_after_secs: Option<u64>,
    },
    /// No answer within the timeout.
    Timeout,
    /// The request could not be made or the connection failed.
    Failed(String),
}

impl AttemptOutcome {
    /// Short text for the attempt log.
    pub fn describe(&self) -> String {
        match self {
            Self::Status { code, .. } if (200..300).contains(code) => format!("{code}"),
            Self::Status { code, .. } => format!("receiver answered {code}"),
            Self::Timeout => "timed out".into(),
            Self::Failed(e) => e.clone(),
        }
    }
}

/// What happens to a message after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Delivered: done.
    Delivered,
    /// Try again at this time (Unix ms).
    Retry {
        /// When.
        at_ms: i64,
    },
    /// No attempt left: dead-lettered.
    DeadLetter,
    /// The receiver said `410 Gone`: the subscription is disabled, the message dead-lettered.
    Disable,
}

/// Decides after attempt number `attempt` (1-based) with `outcome`, on `schedule` (delays before
/// each retry), at `now_ms`; `jitter` in `[0, 1)` stretches the delay by up to 20 %.
pub fn next_step(
    outcome: &AttemptOutcome,
    attempt: usize,
    schedule: &[u64],
    now_ms: i64,
    jitter: f64,
) -> NextStep {
    let retry_after = match outcome {
        AttemptOutcome::Status {
            code: 200..=299, ..
        } => return NextStep::Delivered,
        AttemptOutcome::Status { code: 410, .. } => return NextStep::Disable,
        AttemptOutcome::Status {
            code: 429 | 503,
            retry_after_secs,
        } => retry_after_secs.map(|s| s.saturating_mul(1_000).min(MAX_RETRY_AFTER_MS)),
        _ => None,
    };
    let Some(delay) = attempt.checked_sub(1).and_then(|i| schedule.get(i)) else {
        return NextStep::DeadLetter;
    };
    let jitter = jitter.clamp(0.0, 1.0);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let stretched = (*delay as f64 * (1.0 + 0.2 * jitter)) as u64;
    let wait = stretched.max(retry_after.unwrap_or(0));
    NextStep::Retry {
        at_ms: now_ms.saturating_add(i64::try_from(wait).unwrap_or(i64::MAX)),
    }
}

/// Whether a subscription failing since `failing_since_ms` is to be disabled at `now_ms`.
pub fn failing_too_long(failing_since_ms: Option<i64>, now_ms: i64, disable_after_ms: i64) -> bool {
    failing_since_ms.is_some_and(|since| now_ms.saturating_sub(since) >= disable_after_ms)
}

mod payload;

pub use payload::{league_closed_data, payload, score_applied_data, tournament_data, with_top};

#[cfg(test)]
mod tests;

//! The delivery settings, from the variables.

use leaderboard::outbound::webhook;
use leaderboard::outbound::webhook_target::TargetPolicy;

use crate::platform::Platform;
use crate::webhooks;

/// Delivery settings from the variables.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Delays before each retry (ms).
    pub schedule: Vec<u64>,
    /// Per attempt (ms).
    pub timeout_ms: u64,
    /// Failing time that disables a subscription (ms).
    pub disable_after_ms: i64,
    /// Which private addresses are open.
    pub policy: TargetPolicy,
    /// The least time between two `rank.top_changed` of one subscription and board (ms).
    pub debounce_ms: i64,
}

impl Settings {
    /// Reads the variables; a malformed one keeps its default and is logged.
    pub async fn read(platform: &dyn Platform) -> Self {
        let var = async |name: &str| platform.variable(name).await.unwrap_or_default();
        // One read of the variable (each is a host call); unset or malformed: the default.
        let raw = var("webhook_retry_schedule").await;
        let raw = if raw.trim().is_empty() {
            webhook::DEFAULT_SCHEDULE
        } else {
            raw.as_str()
        };
        let schedule = webhook::parse_schedule(raw).unwrap_or_else(|e| {
            eprintln!("webhooks: webhook_retry_schedule ignored: {e}");
            webhook::parse_schedule(webhook::DEFAULT_SCHEDULE).unwrap_or_default()
        });
        let duration = async |name: &str, default: u64| match var(name).await.trim() {
            "" => default,
            raw => webhook::parse_duration_ms(raw).unwrap_or_else(|e| {
                eprintln!("webhooks: {name} ignored: {e}");
                default
            }),
        };
        Self {
            schedule,
            timeout_ms: duration("webhook_timeout", webhook::DEFAULT_TIMEOUT_MS)
                .await
                .clamp(100, 60_000),
            disable_after_ms: i64::try_from(
                duration(
                    "webhook_disable_after",
                    webhook::DEFAULT_DISABLE_AFTER_MS as u64,
                )
                .await,
            )
            .unwrap_or(i64::MAX),
            policy: webhooks::target_policy(platform).await,
            debounce_ms: i64::try_from(duration("webhook_debounce", 1_000).await).unwrap_or(1_000),
        }
    }
}

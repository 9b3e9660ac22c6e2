//! The settings of the components that read more than a variable or two: live updates, the
//! push tier, webhook delivery, the drain.

use leaderboard::Result;
use leaderboard::http::live::LivePolicy;
use leaderboard::http::push::PushSettings;
use leaderboard::outbound::webhook_target::TargetPolicy;

use super::{
    INBOX_RECLAIM_AFTER_MS, LIVE_HEARTBEAT_SECS, LIVE_MAX_SECS, LIVE_MAX_STREAMS,
    LIVE_PUBLISH_INTERVAL_MS, PUSH_PUBLISH_URL, WEBHOOK_ALLOW_PRIVATE, WEBHOOK_DEBOUNCE,
    WEBHOOK_DISABLE_AFTER, WEBHOOK_RETRY_SCHEDULE, WEBHOOK_TIMEOUT,
};
use crate::platform::Platform;

/// The live updates' limits (the component's `live_policy` bundle:
/// `<live_max_secs>|<live_heartbeat_secs>|<live_max_streams>`); a heartbeat longer than a
/// stream is a stream's length.
pub async fn live(platform: &dyn Platform) -> Result<LivePolicy> {
    live_from(&platform.variable("live_policy").await.unwrap_or_default())
}

pub(super) fn live_from(joined: &str) -> Result<LivePolicy> {
    let mut parts = joined.split('|');
    let mut part = || parts.next().filter(|p| !p.trim().is_empty());
    let max_secs = LIVE_MAX_SECS.value(part())?;
    let heartbeat_secs = LIVE_HEARTBEAT_SECS.value(part())?;
    let max_streams = LIVE_MAX_STREAMS.value(part())?;
    Ok(LivePolicy::new(max_secs, heartbeat_secs, max_streams))
}

/// The worker's push tier: `None` when `push_publish_url` is empty.
pub async fn push(platform: &dyn Platform) -> Result<Option<PushSettings>> {
    let Some(base_url) = PUSH_PUBLISH_URL.read(platform).await? else {
        return Ok(None);
    };
    Ok(Some(PushSettings {
        base_url,
        interval_ms: LIVE_PUBLISH_INTERVAL_MS.read(platform).await?,
    }))
}

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct Delivery {
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

/// The webhook delivery's settings.
pub async fn delivery(platform: &dyn Platform) -> Result<Delivery> {
    let millis = |ms: u64| i64::try_from(ms).unwrap_or(i64::MAX);
    Ok(Delivery {
        schedule: WEBHOOK_RETRY_SCHEDULE.read(platform).await?,
        timeout_ms: WEBHOOK_TIMEOUT.read(platform).await?,
        disable_after_ms: millis(WEBHOOK_DISABLE_AFTER.read(platform).await?),
        policy: WEBHOOK_ALLOW_PRIVATE.read(platform).await?,
        debounce_ms: millis(WEBHOOK_DEBOUNCE.read(platform).await?),
    })
}

/// The drain's `inbox_reclaim_after_ms`.
pub async fn reclaim_after_ms(platform: &dyn Platform) -> Result<u64> {
    INBOX_RECLAIM_AFTER_MS.read(platform).await
}

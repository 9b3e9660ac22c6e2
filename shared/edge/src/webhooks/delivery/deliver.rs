//! The delivery: a tenant's due messages claimed (leased), signed, sent at once, and each
//! attempt's outcome recorded on its message.

use std::collections::HashMap;

use leaderboard::outbound::webhook::{self, AttemptOutcome, NextStep, Subscription};
use leaderboard::outbound::webhook_delivery::{DeliveryState, Message};
use leaderboard::{LeaderboardError, Result, TenantId};
use serde::Serialize;

use super::{CLAIM, MESSAGE_TTL_SECS, Settings, decode, encode};
use crate::outbound::{self, Answer};
use crate::platform::Platform;
use crate::repo::Repo;
use crate::webhooks;
use crate::webhooks::store::MessageKeys;

/// What one drain of a tenant's messages did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Attempts answered 2xx.
    pub delivered: u64,
    /// Attempts that failed with a retry left.
    pub retrying: u64,
    /// Messages that failed for good (dead-lettered) in this drain.
    pub failed: u64,
    /// Messages still waiting afterwards.
    pub backlog: u64,
    /// Attempts that failed and left no retry (part of `failed`).
    #[serde(skip)]
    pub attempts_failed_for_good: u64,
    /// Time spent in attempts (ms).
    #[serde(skip)]
    pub attempt_ms: u64,
    /// The earliest time one of them is due (Unix ms).
    #[serde(skip)]
    pub next_due_ms: Option<i64>,
}

pub(super) fn jitter() -> f64 {
    let r = crate::scope::random_u64();
    (r % 1_000_000) as f64 / 1_000_000.0
}

/// Delivers the tenant's due messages until none is due or the clock passes `deadline_ms`, and
/// notes the tenant as owed ([`crate::webhooks::due`]) for what it leaves: at its first claim,
/// when the leases it may take end (should it die mid-attempt, they are due again then); last,
/// when the earliest message left waits until (a retry's time). The worker's alarm then rings at
/// that time, though nothing else does.
///
/// Each claim takes up to [`CLAIM`] messages and sends them at once ([`outbound::post_all`]), so
/// a receiver that is slow or down costs a claim one timeout, not one per message.
pub async fn deliver_due(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Report> {
    let settings = crate::settings::delivery(platform).await?;
    let report = deliver(
        platform,
        repo,
        tenant,
        &settings,
        Leases::Noted,
        deadline_ms,
        clock,
    )
    .await?;
    if let Some(due) = report.next_due_ms {
        super::note_owed(repo, tenant, due, clock()).await;
    }
    Ok(report)
}

/// How long a claim leases its messages for: the attempt's timeout (at most a minute) and a
/// margin.
fn lease_ms(settings: &Settings) -> i64 {
    i64::try_from(settings.timeout_ms).unwrap_or(60_000) + 30_000
}

/// What answers for the messages a delivery leases, should it die mid-attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Leases {
    /// Its first claim notes the tenant as owed when they end.
    Noted,
    /// The sweep's own lease of the tenant's entry (`super::sweep`).
    Swept,
}

/// [`deliver_due`]'s delivery, with its last note left to the caller.
pub(super) async fn deliver(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    settings: &Settings,
    leases: Leases,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Report> {
    let mut noted = leases == Leases::Swept;
    let keys = MessageKeys::new(tenant.as_str());
    let mut report = Report::default();
    let mut subs: HashMap<String, Option<Subscription>> = HashMap::new();
    while clock() < deadline_ms {
        let now = clock();
        let lease = now + lease_ms(settings);
        let ids = repo.webhook_claim(&keys, now, lease, CLAIM).await?;
        if ids.is_empty() {
            break;
        }
        if !noted {
            super::note_owed(repo, tenant, deadline_ms.max(now) + lease_ms(settings), now).await;
            noted = true;
        }
        let raws = repo.webhook_messages(&keys, &ids).await?;
        let mut batch: Vec<(Message, Subscription)> = Vec::with_capacity(ids.len());
        for (id, raw) in ids.iter().zip(raws) {
            match ready_to_send(repo, tenant, &keys, &mut subs, id, raw, clock).await? {
                Claimed::Send(ready) => batch.push(*ready),
                Claimed::Failed => report.failed += 1,
                Claimed::Settled => {}
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = clock();
        let attempted = attempt_all(settings, batch, started).await;
        let run = Run {
            repo,
            tenant,
            keys: &keys,
            settings,
            clock,
        };
        for (m, sub, outcome, latency) in attempted {
            run.record(&mut subs, &mut report, m, &sub, &outcome, latency, started)
                .await?;
        }
    }
    report.backlog = repo.webhook_backlog(&keys).await?;
    report.next_due_ms = repo.webhook_next_due(&keys).await?;
    count(platform, &report).await;
    Ok(report)
}

/// The batch signed and sent at once (`started`: the attempts' time): each message with its
/// subscription, the attempt's outcome and its latency (0 for one refused before sending).
async fn attempt_all(
    settings: &Settings,
    batch: Vec<(Message, Subscription)>,
    started: i64,
) -> Vec<(Message, Subscription, AttemptOutcome, u64)> {
    let timestamp = started.div_euclid(1_000);
    let mut posts = Vec::with_capacity(batch.len());
    let mut refused: Vec<Option<AttemptOutcome>> = Vec::with_capacity(batch.len());
    for (m, sub) in &batch {
        match signed(settings, sub, m, timestamp, started) {
            Ok(post) => {
                posts.push(post);
                refused.push(None);
            }
            Err(outcome) => refused.push(Some(outcome)),
        }
    }
    let mut sent = outbound::post_all(&posts, settings.timeout_ms)
        .await
        .into_iter();
    batch
        .into_iter()
        .zip(refused)
        .map(|((m, sub), refused)| {
            let (outcome, latency) = match refused {
                Some(outcome) => (outcome, 0),
                None => {
                    let s = sent.next().unwrap_or(outbound::Sent {
                        answer: outbound::Answer::Failed("not sent".into()),
                        elapsed_ms: 0,
                    });
                    (outcome_of(s.answer), s.elapsed_ms)
                }
            };
            (m, sub, outcome, latency)
        })
        .collect()
}

/// One tenant's delivery run, as each attempt's outcome is recorded.
struct Run<'a> {
    repo: &'a Repo,
    tenant: &'a TenantId,
    keys: &'a MessageKeys,
    settings: &'a Settings,
    clock: &'a dyn Fn() -> i64,
}

impl Run<'_> {
    /// Records an attempt's outcome: the message's next step stored, the subscription's failing
    /// time kept or cleared, and the subscription disabled when it has failed too long or its
    /// receiver answered `410` (unless an admin disabled it meanwhile).
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        subs: &mut HashMap<String, Option<Subscription>>,
        report: &mut Report,
        mut m: Message,
        sub: &Subscription,
        outcome: &AttemptOutcome,
        latency: u64,
        started: i64,
    ) -> Result<()> {
        let (repo, keys, settings) = (self.repo, self.keys, self.settings);
        report.attempt_ms += latency;
        let step = m.record(outcome, started, latency, &settings.schedule, jitter());
        let disable = match &step {
            NextStep::Delivered => {
                report.delivered += 1;
                repo.webhook_recovered(keys, &sub.id).await?;
                None
            }
            NextStep::Retry { .. } | NextStep::DeadLetter => {
                if matches!(step, NextStep::Retry { .. }) {
                    report.retrying += 1;
                } else {
                    report.failed += 1;
                    report.attempts_failed_for_good += 1;
                }
                let since = repo.webhook_failing(keys, &sub.id, started).await?;
                webhook::failing_too_long(Some(since), (self.clock)(), settings.disable_after_ms)
                    .then(|| failing_since(since))
            }
            NextStep::Disable => {
                report.failed += 1;
                report.attempts_failed_for_good += 1;
                Some("the receiver answered 410 Gone".to_string())
            }
        };
        let encoded = encode(&m)?;
        repo.webhook_record(keys, &m.id, &encoded, m.next_attempt_ms, MESSAGE_TTL_SECS)
            .await?;
        let still_enabled = subs
            .get(&sub.id)
            .and_then(Option::as_ref)
            .is_some_and(|s| s.enabled);
        if let Some(reason) = disable.filter(|_| still_enabled) {
            self.disable(subs, &sub.id, &reason).await?;
        }
        Ok(())
    }

    /// Disables the subscription `id` for `reason` (read again: an admin may have changed it
    /// meanwhile).
    async fn disable(
        &self,
        subs: &mut HashMap<String, Option<Subscription>>,
        id: &str,
        reason: &str,
    ) -> Result<()> {
        let (repo, tenant) = (self.repo, self.tenant);
        let mut fresh = webhooks::get(repo, tenant, id).await?;
        fresh.disable(reason, (self.clock)());
        webhooks::put(repo, &fresh).await?;
        webhooks::refresh_all(repo, tenant).await?;
        repo.webhook_recovered(self.keys, id).await?;
        subs.insert(id.to_owned(), Some(fresh));
        eprintln!("webhooks: subscription {id} of {tenant} disabled: {reason}");
        Ok(())
    }
}

/// Why a subscription failing since `since` (Unix ms) is disabled.
fn failing_since(since: i64) -> String {
    format!(
        "deliveries failed without a success since {} (webhook_disable_after)",
        chrono::DateTime::from_timestamp_millis(since)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    )
}

/// A run's outcomes counted in `/metrics`.
async fn count(platform: &dyn Platform, report: &Report) {
    let counter = leaderboard::http::metrics::counter_key;
    for (name, n) in [
        ("webhook_delivered", report.delivered),
        (
            "webhook_failed_attempts",
            report.retrying + report.attempts_failed_for_good,
        ),
        ("webhook_dead_lettered", report.failed),
        ("webhook_attempt_ms", report.attempt_ms),
    ] {
        crate::metrics::add_now(
            platform,
            &counter(name),
            i64::try_from(n).unwrap_or(i64::MAX),
        )
        .await;
    }
}

/// What becomes of a claimed message.
pub(super) enum Claimed {
    /// It is sent now.
    Send(Box<(Message, Subscription)>),
    /// It failed for good without an attempt.
    Failed,
    /// Nothing to send (expired, or no longer pending).
    Settled,
}

/// A claimed message and its subscription when it is to be sent now. Otherwise settles it: an
/// expired message is forgotten, one no longer pending is put back in its place, one whose
/// subscription is gone or disabled fails (it can be redriven once the subscription is enabled
/// again).
pub(super) async fn ready_to_send(
    repo: &Repo,
    tenant: &TenantId,
    keys: &MessageKeys,
    subs: &mut HashMap<String, Option<Subscription>>,
    id: &str,
    raw: Option<String>,
    clock: &dyn Fn() -> i64,
) -> Result<Claimed> {
    let Some(raw) = raw else {
        // Expired: nothing to send.
        repo.webhook_forget(keys, id).await?;
        return Ok(Claimed::Settled);
    };
    let mut m = decode(&raw)?;
    if m.state != DeliveryState::Pending {
        repo.webhook_record(keys, id, &raw, None, MESSAGE_TTL_SECS)
            .await?;
        return Ok(Claimed::Settled);
    }
    if !subs.contains_key(&m.subscription) {
        let sub = match webhooks::get(repo, tenant, &m.subscription).await {
            Ok(s) => Some(s),
            Err(LeaderboardError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        subs.insert(m.subscription.clone(), sub);
    }
    let sub = subs.get(&m.subscription).cloned().flatten();
    let failure = match &sub {
        None => Some("the subscription was deleted".to_string()),
        Some(s) if !s.enabled => Some(format!(
            "the subscription is disabled{}",
            s.disabled_reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )),
        Some(s) if m.body.is_empty() => {
            crate::webhooks::top::freeze(repo, tenant, s, &mut m, clock())
                .await
                .err()
                .map(|e| format!("its content could not be made: {e}"))
        }
        Some(_) => None,
    };
    match (failure, sub) {
        (None, Some(sub)) => Ok(Claimed::Send(Box::new((m, sub)))),
        (failure, _) => {
            if m.body.is_empty() {
                crate::webhooks::top::abandon(repo, tenant, &m.subscription, &m).await?;
            }
            m.fail(&failure.unwrap_or_default());
            repo.webhook_record(keys, id, &encode(&m)?, None, MESSAGE_TTL_SECS)
                .await?;
            Ok(Claimed::Failed)
        }
    }
}

/// One attempt's request, signed for `timestamp` (seconds); the outcome instead when the
/// operator's policy refuses the target now or signing fails.
pub(super) fn signed<'a>(
    settings: &Settings,
    sub: &'a Subscription,
    m: &'a Message,
    timestamp: i64,
    now_ms: i64,
) -> std::result::Result<outbound::Post<'a>, AttemptOutcome> {
    settings
        .policy
        .check(&sub.url)
        .map_err(|e| AttemptOutcome::Failed(format!("target refused: {e}")))?;
    let signature = webhooks::signature_header(sub, &m.id, timestamp, m.body.as_bytes(), now_ms)
        .map_err(|e| AttemptOutcome::Failed(format!("signing: {e}")))?;
    Ok(outbound::Post {
        verb: outbound::Verb::Post,
        url: &sub.url,
        headers: vec![
            ("content-type", "application/json".to_string()),
            ("user-agent", "edge-leaderboards-webhooks/1".to_string()),
            ("webhook-id", m.id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ],
        body: m.body.as_bytes(),
    })
}

pub(super) fn outcome_of(answer: Answer) -> AttemptOutcome {
    match answer {
        Answer::Status(code, retry_after_secs) => AttemptOutcome::Status {
            code,
            retry_after_secs,
        },
        Answer::Timeout => AttemptOutcome::Timeout,
        Answer::Failed(e) => AttemptOutcome::Failed(e),
    }
}

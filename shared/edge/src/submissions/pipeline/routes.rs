//! `POST /api/{v}/admin/drain`: the Redis-triggered drain, run from HTTP for hosts without a Redis
//! trigger (Fermyon Cloud, Akamai Functions) or to catch up after lost doorbells. An external
//! scheduler (the platform's cron, a Kubernetes CronJob, `curl` in a loop) calls it; each call is
//! bounded in entries and time and says whether more is pending. It also delivers the tenant's
//! webhook messages that are due (`crate::webhooks::delivery`), retries included.

use crate::api::Ctx;
use crate::http::{self, Call, Response};
use crate::scope;
use crate::submissions::pipeline::{self, Report};
use leaderboard::{BoardId, Result, policy::access};
use serde_json::json;

/// Time one call may drain for.
const BUDGET_MS: i64 = 5_000;

/// Drains `?board=` or every board of the tenant, up to `?max_events=` entries (default 10,000,
/// at most 100,000) and five seconds.
pub async fn drain(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_operator(ctx.require_principal()?, "draining inboxes")?;
    let max_events = call.query_u32(
        "max_events",
        10_000,
        1,
        leaderboard::events::inbox::MAX_DRAIN_EVENTS,
    )?;
    let repo = ctx.repo().await?;
    let boards = match call.query.get("board").filter(|b| !b.is_empty()) {
        Some(b) => vec![BoardId::new(b)?],
        None => repo.board_ids(&ctx.tenant).await?,
    };
    let deadline_ms = call.now_ms + BUDGET_MS;
    let (reports, mut more) = drain_boards(ctx, &boards, max_events, deadline_ms).await?;
    // Then the webhook messages of the boards' new log entries, and the tenant's messages that
    // are due (retries included), in what is left of the time budget.
    // A webhook that cannot be sent (a bad webhook variable, Redis's answer) leaves the
    // drain's report standing: the caller learns why, and what is owed stays owed.
    let (webhooks, webhooks_error) = match deliver(ctx, repo, &boards, deadline_ms).await {
        Ok(report) => (Some(report), None),
        Err(e) => {
            eprintln!("drain: the webhooks of {}: {e}", ctx.tenant);
            (None, Some(e.to_string()))
        }
    };
    more |= webhooks
        .as_ref()
        .and_then(|w| w.next_due_ms)
        .is_some_and(|due| due <= scope::now_ms());
    let sum = |f: fn(&Report) -> u64| reports.iter().map(f).sum::<u64>();
    crate::metrics::count(
        leaderboard::http::metrics::counter_key("events_applied"),
        sum(|r| r.applied) as i64,
    );
    let mut body = json!({
        "applied": sum(|r| r.applied),
        "duplicates": sum(|r| r.duplicates),
        "dead_lettered": sum(|r| r.dead_lettered),
        "held": sum(|r| r.held),
        "pending": sum(|r| r.pending),
        "more": more,
        "webhooks": webhooks,
        "boards": reports
            .iter()
            .filter(|r| r.applied + r.duplicates + r.dead_lettered + r.held + r.pending > 0)
            .collect::<Vec<_>>(),
    });
    // Without a report (it failed), no `webhooks`: `webhooks_error` says why.
    if let Some(error) = webhooks_error {
        body["webhooks_error"] = json!(error);
    }
    if body["webhooks"].is_null()
        && let Some(fields) = body.as_object_mut()
    {
        fields.remove("webhooks");
    }
    Ok(http::json(200, call.version, &body))
}

/// The webhook messages of the boards' new log entries, then the tenant's messages that are due
/// (retries included), until `deadline_ms`.
async fn deliver(
    ctx: &Ctx<'_>,
    repo: &crate::repo::Repo,
    boards: &[BoardId],
    deadline_ms: i64,
) -> Result<crate::webhooks::delivery::Report> {
    let (platform, tenant, clock) = (ctx.platform(), &ctx.tenant, &scope::now_ms);
    crate::webhooks::delivery::fan_out(platform, repo, tenant, boards, deadline_ms, clock).await?;
    crate::webhooks::delivery::deliver_due(platform, repo, tenant, deadline_ms, clock).await
}

/// Drains `boards` in turn, each with what is left of `max_events` and the time until
/// `deadline_ms`: their reports, and whether work was left.
async fn drain_boards(
    ctx: &Ctx<'_>,
    boards: &[BoardId],
    max_events: u32,
    deadline_ms: i64,
) -> Result<(Vec<Report>, bool)> {
    let mut left = u64::from(max_events);
    let mut reports: Vec<Report> = Vec::new();
    // The variables once; each board gets what is left of the budget.
    let limits = pipeline::Limits::read(ctx.platform(), left, deadline_ms).await?;
    let repo = ctx.repo().await?;
    let mut more = false;
    for board in boards {
        if left == 0 || scope::now_ms() >= deadline_ms {
            more = true;
            break;
        }
        let limits = pipeline::Limits {
            max_events: left,
            ..limits
        };
        let report = pipeline::drain_and_invalidate(
            ctx.platform(),
            repo,
            &ctx.tenant,
            board,
            &limits,
            &scope::now_ms,
        )
        .await?;
        left = left.saturating_sub(
            report.applied + report.duplicates + report.dead_lettered + report.held,
        );
        more |= report.more;
        reports.push(report);
    }
    Ok((reports, more))
}

//! `functions/health`: liveness probe, and the app's catch-all route.
//!
//! ```text
//! GET /health/live      200 {"status":"ok"} as long as the component can be instantiated and run
//! GET /health/ready     200 when Redis answers PING and the KV store answers a read, else a 503
//!                       problem naming what failed; rings the worker for due work no alarm
//!                       will ring any more (`edge::schedule`)
//! GET /health/detailed  200: each dependency's status and latency, app version, git revision,
//!                       the region's Redis circuit breaker (`edge::breaker`), the Redis servers
//!                       that stopped answering (`edge::stall`), inbox entries a dead drain left
//!                       claimed (`edge::submissions::pipeline::sweep`)
//! GET /metrics         Prometheus text (`edge::metrics`), for the metrics token or an allowed
//!                       address only
//! GET /openapi.json    the OpenAPI 3.1 document of the whole API (`api/openapi.json`)
//! GET /docs             a human page rendered from it (HTML, no script, strict CSP)
//! *   /...              any path no other route serves: a 404 problem (Spin's own is an empty 404)
//! ```
//! Other methods on the health routes get a `405` problem with `Allow: GET, HEAD`.
//!
//! Spin's outbound Redis has no timeouts: a Redis that refuses connections is reported at once,
//! one that accepts and never answers holds the probe (put a timeout on the probe itself, as
//! Kubernetes does). There is no instance uptime to report: Spin runs a fresh instance per request.

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

use std::time::Instant;

pub mod docs;
#[cfg(test)]
mod docs_page;
#[cfg(test)]
mod limits;

use edge::http::{Call, Method, Response, ResponseBuilder};
use edge::platform::Platform;
use edge::schedule::{Kind, Register};
use leaderboard::{LeaderboardError, Result};
use serde_json::{Value, json};
/// The liveness route.
pub const LIVE: &str = edge::serve::LIVENESS;
/// The readiness route.
pub const READY: &str = "/health/ready";
/// The detailed health route.
pub const DETAILED: &str = "/health/detailed";
/// The OpenAPI document.
pub const OPENAPI: &str = "/openapi.json";
/// The API's human page.
pub const DOCS: &str = "/docs";

/// The Prometheus scrape route.
pub const METRICS: &str = "/metrics";

/// The most async boards whose backlog one scrape reads from Redis (two `XLEN`s each).
const MAX_SCRAPED_BOARDS: usize = 200;

/// Whether the caller may read `/metrics`: the `metrics_token` as a bearer token, or a client
/// address in `metrics_allow_from`. `403` with the reason otherwise (also when neither is set).
async fn authorize_scrape(platform: &dyn Platform, call: &Call<'_>) -> Result<()> {
    let token = Some(edge::settings::METRICS_TOKEN.read(platform).await?).filter(|t| !t.is_empty());
    // A list that does not parse is the operator's error, not an empty list (`edge::settings`).
    let allow = edge::settings::METRICS_ALLOW_FROM.read(platform).await?;
    if token.is_none() && allow.is_empty() {
        return Err(LeaderboardError::Forbidden(
            "/metrics is off: set the metrics_token or metrics_allow_from variable".into(),
        ));
    }
    if let (Some(token), Some(sent)) = (
        &token,
        call.header("authorization").and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        }),
    ) && leaderboard::policy::apikey::constant_time_eq(sent.trim(), token)
    {
        return Ok(());
    }
    if edge::ratelimit::client_ip(call, 0)
        .and_then(|ip| ip.trim().parse().ok())
        .is_some_and(|ip| allow.contains(ip))
    {
        return Ok(());
    }
    Err(LeaderboardError::Forbidden(
        "/metrics is for the scraper: send the metrics token as a bearer token, or scrape from an \
         address in metrics_allow_from"
            .into(),
    ))
}

/// The Prometheus text exposition of the region's metrics.
async fn scrape(platform: &dyn Platform) -> Response {
    let series = edge::metrics::read_all(platform).await;
    let keys: Vec<String> = series.iter().map(|(k, _)| k.clone()).collect();
    let (state, breaker) = edge::breaker::status(platform, edge::scope::now_ms()).await;
    let mut boards = Vec::new();
    let listed = leaderboard::http::metrics::boards(&keys);
    if !listed.is_empty() {
        // Through the breaker: an outage costs the scrape nothing but these gauges.
        let repo = match edge::settings::redis_target(platform).await {
            Ok(target) => edge::repo::Repo::open(platform, &target).await.ok(),
            Err(_) => None,
        };
        for (tenant, board) in listed.into_iter().take(MAX_SCRAPED_BOARDS) {
            let ids = leaderboard::TenantId::new(tenant.as_str())
                .ok()
                .zip(leaderboard::BoardId::new(board.as_str()).ok());
            let (inbox, dead) = match (&repo, ids) {
                (Some(repo), Some((t, b))) => {
                    let keys = edge::repo::Keys::new(&t, &b);
                    (
                        repo.inbox_len(&keys).await.ok(),
                        repo.dead_len(&keys).await.ok(),
                    )
                }
                _ => (None, None),
            };
            boards.push(leaderboard::http::metrics::BoardGauges {
                tenant,
                board,
                inbox,
                dead,
            });
        }
    }
    let text = leaderboard::http::metrics::render(
        &series,
        &leaderboard::http::metrics::Gauges {
            boards,
            circuit_state: state.as_str(),
            circuit_openings: breaker.openings,
        },
    );
    ResponseBuilder::new(200)
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .header("cache-control", "no-store")
        .body(text)
}

/// The response body of a healthy liveness probe.
pub fn live_body() -> String {
    serde_json::json!({ "status": "ok" }).to_string()
}

/// The git revision the components were built from (`scripts/build.sh` sets it).
pub const REVISION: &str = match option_env!("EDGE_GIT_REVISION") {
    Some(r) => r,
    None => "unknown",
};

edge::http_entry!(route);

fn json_response(status: u16, body: String) -> Response {
    ResponseBuilder::new(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(body)
}

/// One dependency's check: `{"status": "up"|"down", "latency_ms", "error"?}`.
async fn check<E: std::fmt::Display>(
    run: impl AsyncFnOnce() -> std::result::Result<(), E>,
) -> Value {
    let started = Instant::now();
    let outcome = run().await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    match outcome {
        Ok(()) => json!({"status": "up", "latency_ms": latency_ms}),
        Err(e) => json!({"status": "down", "latency_ms": latency_ms, "error": e.to_string()}),
    }
}

/// Redis (PING on a connection of its own) and the KV store (a read). Also the probe's Redis
/// connection when it answered, for whatever else the route reads.
async fn checks(platform: &dyn Platform) -> (Vec<(&'static str, Value)>, Option<edge::repo::Repo>) {
    let mut probe = None;
    let redis = check(async || {
        let target = edge::settings::redis_target(platform).await?;
        // Past the circuit breaker: the probe's success closes it.
        let repo = edge::repo::Repo::open_probe(platform, &target).await?;
        repo.ping().await?;
        probe = Some(repo);
        Ok::<(), LeaderboardError>(())
    })
    .await;
    let kv = check(async || {
        let store = platform
            .kv(edge::kv::STORE)
            .await
            .ok_or(edge::kv::KvError::NotOpen)?;
        store.get("health:probe").await.map(|_| ())
    })
    .await;
    (vec![("redis", redis), ("kv", kv)], probe)
}

/// Overdue boards whose entries are looked at, at most (the count covers them all): the route is
/// open to anyone, so what one call costs Redis stays small.
const OVERDUE_EXAMINED: usize = 10;
/// Stranded entries counted per board, at most (enough to tell "some" from "none").
const STRANDED_COUNTED: u64 = 100;

/// Inbox entries a drain took longer than the reclaim time ago and has not applied, on boards
/// due for the inbox sweep that no worker has reached (the first [`OVERDUE_EXAMINED`]): more than
/// a moment of them says the worker is down or cannot sweep (`edge::submissions::pipeline::sweep`).
/// Counts only: board names are tenants' own.
async fn stranded(platform: &dyn Platform, repo: &edge::repo::Repo) -> Result<Value> {
    let reclaim_after_ms = edge::settings::reclaim_after_ms(platform).await?;
    let overdue = repo
        .due_overdue(
            &Register::Shared,
            Kind::Inbox,
            edge::scope::now_ms(),
            OVERDUE_EXAMINED,
        )
        .await?;
    let mut entries = 0;
    let mut boards = 0;
    for (item, _) in &overdue.first {
        let Some((tenant, board)) = item.board() else {
            continue;
        };
        let keys = edge::repo::Keys::new(tenant, board);
        let n = repo
            .inbox_stranded(&keys, reclaim_after_ms, STRANDED_COUNTED)
            .await?;
        entries += n;
        boards += u64::from(n > 0);
    }
    Ok(json!({
        "reclaim_after_ms": reclaim_after_ms,
        "boards_overdue": overdue.count,
        "boards_with_stranded_entries": boards,
        "stranded_entries": entries,
        "oldest_overdue_at_ms": overdue.first.first().map(|(_, due)| due),
    }))
}

/// Serves one request.
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let path = call.path.as_str();
    if [OPENAPI, DOCS].contains(&path) {
        if !matches!(*call.method(), Method::GET | Method::HEAD) {
            return Err(call.method_not_allowed("GET, HEAD"));
        }
        return Ok(if path == OPENAPI {
            docs::openapi(call)
        } else {
            docs::page(call)
        });
    }
    if ![LIVE, READY, DETAILED, METRICS].contains(&path) {
        return Err(call.not_found());
    }
    if !matches!(*call.method(), Method::GET | Method::HEAD) {
        return Err(call.method_not_allowed("GET, HEAD"));
    }
    match path {
        LIVE => Ok(json_response(200, live_body())),
        METRICS => {
            authorize_scrape(platform, call).await?;
            Ok(scrape(platform).await)
        }
        READY => ready(platform).await,
        _ => Ok(detailed(platform).await),
    }
}

/// `/health/ready`: `200` with every check up, else `503` naming what is down. With Redis up it
/// also rings the worker for due work no alarm will ring any more (the alarm expired while no
/// worker listened: one restarting), at most once per `NUDGE_AFTER_MS`: whatever asks this route
/// (a monitor's prober) rings a worker that started after its alarm (`Repo::due_nudge`;
/// `scripts/up.sh` rings each worker it starts itself). A ring that fails is logged: readiness is
/// the app's.
async fn ready(platform: &dyn Platform) -> Result<Response> {
    let (checks, probe) = checks(platform).await;
    if let Some(repo) = &probe {
        let nudged = repo
            .due_nudge(edge::scope::now_ms(), edge::schedule::NUDGE_AFTER_MS)
            .await;
        match nudged {
            Ok(Some(due_ms)) => {
                eprintln!("health: rang the worker for due work no alarm rang (due at {due_ms} ms)")
            }
            Ok(None) => {}
            Err(e) => eprintln!("health: ringing the worker for due work failed: {e}"),
        }
    }
    let down: Vec<String> = checks
        .iter()
        .filter(|(_, c)| c["status"] == "down")
        .map(|(name, c)| format!("{name}: {}", c["error"].as_str().unwrap_or("down")))
        .collect();
    if down.is_empty() {
        let body: serde_json::Map<String, Value> = checks
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Ok(json_response(
            200,
            json!({"status": "ready", "checks": body}).to_string(),
        ))
    } else {
        Err(LeaderboardError::Unavailable(format!(
            "not ready: {}",
            down.join("; ")
        )))
    }
}

/// `/health/detailed`: every check, what the webhook deliverer and the inbox sweep owe, the
/// Redis breaker and silences, the build.
async fn detailed(platform: &dyn Platform) -> Response {
    let (checks, probe) = checks(platform).await;
    let checks: serde_json::Map<String, Value> = checks
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let ready = checks.values().all(|c| c["status"] == "up");
    // On the probe's connection: no second one (null when Redis did not answer).
    let waiting = match &probe {
        Some(repo) => edge::webhooks::delivery::backlog(repo).await.ok(),
        None => None,
    };
    let webhooks = waiting.map_or(
        Value::Null,
        |(backlog, tenants)| json!({"backlog": backlog, "tenants_with_backlog": tenants}),
    );
    let inbox = match &probe {
        Some(repo) => stranded(platform, repo).await.unwrap_or_else(|e| {
            eprintln!("health: the schedule's inbox items could not be read: {e}");
            Value::Null
        }),
        None => Value::Null,
    };
    // Read after the checks: a successful probe has just closed the breaker.
    let now = edge::scope::now_ms();
    let (state, breaker) = edge::breaker::status(platform, now).await;
    // Counts only: the servers' addresses are the operator's, in the app's log.
    let silences = edge::stall::silences(platform, now).await;
    json_response(
        200,
        json!({
            "status": if ready { "ready" } else { "degraded" },
            "version": env!("CARGO_PKG_VERSION"),
            "revision": REVISION,
            "instance": "a fresh instance per request: no uptime",
            "dependencies": checks,
            "webhooks": webhooks,
            "inbox": inbox,
            "redis_circuit": {
                "state": state.as_str(),
                "openings_in_a_row": breaker.openings,
                "opened_at_ms": (breaker.opened_at_ms != 0).then_some(breaker.opened_at_ms),
                "open_until_ms": (breaker.open_until_ms != 0).then_some(breaker.open_until_ms),
            },
            "redis_stalled": {
                "servers": silences.len(),
                "longest_silence_ms": silences.iter().max(),
            },
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_body_is_ok_json() {
        let v: serde_json::Value = serde_json::from_str(&live_body()).unwrap_or_default();
        assert_eq!(v["status"], "ok");
    }
}

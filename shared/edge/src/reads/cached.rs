//! Cache-aside for reads: the regional KV cache holds the rendered body with its ETag in the
//! board's slot for the query; a write in the region empties the board's slots (see `crate::cache`).
//!
//! `X-Cache: HIT` (fresh: one KV read, no Redis), `MISS` (computed from Redis and stored), `STALE`
//! (Redis failed and a copy within its stale window was served: stale-if-error). The board config
//! is cached the same way, for the misses.

use crate::api::Ctx;
use crate::cache::Entry;
use crate::http::{self, Call, Response, ResponseBuilder};
use crate::repo::Keys;
use leaderboard::http::cache::{CacheEnvelope, Freshness, etag_for, if_none_match};
use leaderboard::{Board, BoardId, LeaderboardError, Result, policy::access};

use crate::reads::routes::Read;

/// The board config, cache-aside ([`crate::reads::board`]).
pub(crate) async fn board(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    id: &BoardId,
) -> Result<(Board, Option<Option<i64>>)> {
    crate::reads::board(ctx, id, call.now_ms).await
}

/// The board's version in Redis (`None`: it has none yet).
async fn redis_version(ctx: &Ctx<'_>, keys: &Keys) -> Result<Option<i64>> {
    ctx.repo().await?.board_version(keys).await
}

/// The KV keys a cached read of `board` reads — its page's slot and the board's config —, for
/// admission to read ahead with the tenant's own keys: a fresh page then costs one KV call.
pub fn reads(call: &Call<'_>, tenant: &leaderboard::TenantId, board: &BoardId) -> Vec<String> {
    let (t, b) = (tenant.as_str(), board.as_str());
    vec![
        Entry::Read(&query_fingerprint(call)).key(t, b),
        Entry::Config.key(t, b),
    ]
}

fn query_fingerprint(call: &Call<'_>) -> String {
    let params: Vec<String> = call.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{:?}|{}|{}", call.version, call.path, params.join("&"))
}

fn respond(call: &Call<'_>, env: &CacheEnvelope, x_cache: &str) -> Response {
    let headers = [
        ("etag", env.etag.clone()),
        ("cache-control", env.cache_control()),
        ("x-cache", x_cache.to_string()),
        ("age", env.age_secs(call.now_ms).to_string()),
        ("vary", "Accept, Authorization, X-Tenant".to_string()),
    ];
    if call
        .if_none_match()
        .is_some_and(|h| if_none_match(&h, &env.etag))
    {
        return ResponseBuilder::new(304)
            .headers(headers.iter().map(|(k, v)| (k, v)))
            .empty();
    }
    http::json_text(200, call.version, env.body.clone(), &headers)
}

/// Serves a read cache-aside. A fresh envelope is served from one KV read (the envelope carries
/// what the access check and `Cache-Control` need); a miss loads the board config (cached too),
/// reads the version when the result will be stored, and computes.
pub async fn serve(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    id: &BoardId,
    // A value, not a generic: one copy of this function for the four read shapes.
    shape: Read<'_>,
) -> Result<Response> {
    let cache = ctx.cache().await;
    let (t, b) = (ctx.tenant.as_str(), id.as_str());
    let mut query = query_fingerprint(call);
    let mut cached = cache.get(t, b, Entry::Read(&query)).await;
    let mut freshness = crate::reads::freshness(cached.as_ref(), call.now_ms);
    if let (Some(env), Freshness::Fresh) = (&cached, freshness) {
        access::authorize_read_of(ctx.principal.as_ref(), env.public_read)?;
        return Ok(respond(call, env, "HIT"));
    }
    let (board, version) = match board(call, ctx, id).await {
        Ok(found) => found,
        Err(LeaderboardError::Unavailable(reason)) => return stale(call, ctx, &cached, reason),
        Err(e) => return Err(e),
    };
    access::authorize_read(ctx.principal.as_ref(), &board)?;
    let board = flagged_ttl(call, ctx, board).await;
    let as_of = call.query.get("as_of").is_some_and(|v| !v.is_empty());
    if board.cohort_size.is_some() {
        // A board with cohorts answers the same query per cohort: its copies are kept under the
        // query and the cohort read (nothing is kept under the bare query, which misses). A
        // board whose reads are not cached has no copy to find: its read resolves the cohort.
        cached = None;
        if board.cache.enabled() && !as_of {
            query = match cohort_query(call, ctx, &board, &query).await {
                Ok(scoped) => scoped,
                Err(LeaderboardError::Unavailable(reason)) => {
                    return stale(call, ctx, &None, reason);
                }
                Err(e) => return Err(e),
            };
            cached = cache.get(t, b, Entry::Read(&query)).await;
            freshness = crate::reads::freshness(cached.as_ref(), call.now_ms);
            if let (Some(env), Freshness::Fresh) = (&cached, freshness) {
                return Ok(respond(call, env, "HIT"));
            }
        }
    }
    // Stale-if-error: when Redis cannot answer, a copy within its stale window is served.
    let stale = |reason: String| stale(call, ctx, &cached, reason);
    // The board's version before computing, for storing the result (a board whose reads are not
    // cached needs none).
    let keys = Keys::new(&ctx.tenant, id);
    // A time-travel read of a board with cohorts is not kept (its period is the past's).
    let version = match (
        board.cache.enabled() && !(as_of && board.cohort_size.is_some()),
        version,
    ) {
        (false, _) => None,
        (true, Some(read)) => Some(read),
        (true, None) => match redis_version(ctx, &keys).await {
            Ok(read) => Some(read),
            Err(LeaderboardError::Unavailable(reason)) => return stale(reason),
            Err(e) => return Err(e),
        },
    };
    match shape.compute(call, ctx, &board).await {
        Ok(body) => {
            let env = envelope(call, &board, body);
            let response = respond(call, &env, "MISS");
            if let Some(version) = version {
                cache
                    .put(t, b, Entry::Read(&query), env, version, async || {
                        redis_version(ctx, &keys).await
                    })
                    .await;
            }
            Ok(response)
        }
        Err(LeaderboardError::Unavailable(reason)) => stale(reason),
        Err(e) => Err(e),
    }
}

/// A read computed now, as the cache keeps it.
fn envelope(call: &Call<'_>, board: &Board, body: String) -> CacheEnvelope {
    CacheEnvelope {
        query: 0,
        stored_at_ms: call.now_ms,
        ttl_secs: board.cache.ttl_secs,
        stale_secs: board.cache.stale_secs,
        public_read: board.public_read,
        etag: etag_for(&body),
        body,
    }
}

/// A copy within its stale window, served when Redis cannot answer (stale-if-error);
/// `Unavailable` without one.
fn stale(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    cached: &Option<CacheEnvelope>,
    reason: String,
) -> Result<Response> {
    match (
        cached,
        crate::reads::freshness(cached.as_ref(), call.now_ms),
    ) {
        (Some(env), Freshness::Stale) => {
            access::authorize_read_of(ctx.principal.as_ref(), env.public_read)?;
            Ok(respond(call, env, "STALE"))
        }
        _ => Err(LeaderboardError::Unavailable(reason)),
    }
}

/// The cache slot of `query` on a board with cohorts: the period and the cohort the caller
/// reads, then the query ([`crate::competitions::cohorts::scope`]; `*`: the whole board).
async fn cohort_query(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &Board,
    query: &str,
) -> Result<String> {
    let period = leaderboard::board::view::PeriodView::resolve(
        board,
        call.query.get("period").map(String::as_str),
        call.now_ms,
    )?;
    let cohort = crate::competitions::cohorts::scope(
        ctx,
        board,
        &period.id,
        call.query.get("cohort").map(String::as_str),
    )
    .await?;
    let cohort = cohort.map_or_else(|| "*".to_string(), |c| c.to_string());
    // Led by `cohort|`, which no plain query's slot starts with (those start with the API
    // version): no query string can name a cohort's copy.
    Ok(format!("cohort|{}|{cohort}|{query}", period.id))
}

/// The tenant's `read-cache-ttl-secs` flag (a number, 0..=3600), evaluated for the caller when a
/// read is computed: it replaces the board's `cache.ttl_secs` for the stored copy and the
/// `Cache-Control` of the answer.
async fn flagged_ttl(call: &Call<'_>, ctx: &Ctx<'_>, mut board: Board) -> Board {
    if let Some(ttl) = crate::flags::product_flag(
        ctx,
        call,
        crate::flags::READ_CACHE_TTL_SECS,
        leaderboard::policy::flags::ValueType::Number,
    )
    .await
    .and_then(|v| v.as_u64())
    {
        board.cache.ttl_secs = u32::try_from(ttl.min(3600)).unwrap_or(3600);
    }
    board
}

//! Cache-aside for reads: the regional KV cache holds the rendered body with its ETag; a write in
//! the region bumps the board's regional version, which makes the next read a miss.
//!
//! `X-Cache: HIT` (fresh, same version), `MISS` (computed from Redis and stored), `STALE` (Redis
//! failed and a stale copy within the stale window was served: stale-if-error). The board config
//! itself is cached the same way, so a HIT needs no Redis round trip at all.

use edge::api::Ctx;
use edge::http::{self, Call};
use leaderboard::cache::{CacheEnvelope, Freshness, etag_for, if_none_match};
use leaderboard::{Board, BoardConfigInput, BoardId, LeaderboardError, Result, access};
use spin_sdk::http::Response;

fn board_query() -> &'static str {
    "board-config"
}

fn decode_board(env: &CacheEnvelope) -> Option<Board> {
    serde_json::from_str::<BoardConfigInput>(&env.body)
        .ok()
        .and_then(|i| i.validate().ok())
}

/// The board config: from the cache when fresh at this version, else from Redis; when Redis is
/// unavailable, a stale cached config is used (stale-if-error), like the cached reads.
fn board(call: &Call<'_>, ctx: &Ctx, id: &BoardId, version: i64) -> Result<Board> {
    let cache = ctx.cache();
    let cached = cache.get(ctx.tenant.as_str(), id.as_str(), board_query());
    let freshness = cached
        .as_ref()
        .map(|e| e.freshness(version, call.now_ms))
        .unwrap_or(Freshness::Expired);
    if let (Some(env), Freshness::Fresh) = (&cached, freshness)
        && let Some(board) = decode_board(env)
    {
        return Ok(board);
    }
    let board = match ctx.repo().and_then(|r| r.board(&ctx.tenant, id)) {
        Ok(board) => board,
        Err(LeaderboardError::Unavailable(reason)) => {
            return match (&cached, freshness) {
                (Some(env), Freshness::Stale) => {
                    decode_board(env).ok_or(LeaderboardError::Unavailable(reason))
                }
                _ => Err(LeaderboardError::Unavailable(reason)),
            };
        }
        Err(e) => return Err(e),
    };
    if !board.cache.enabled() {
        return Ok(board);
    }
    let body = serde_json::to_string(&board.to_input())
        .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    cache.put(
        ctx.tenant.as_str(),
        id.as_str(),
        board_query(),
        &CacheEnvelope {
            version,
            stored_at_ms: call.now_ms,
            ttl_secs: board.cache.ttl_secs,
            stale_secs: board.cache.stale_secs,
            public_read: board.public_read,
            etag: String::new(),
            body,
        },
    );
    Ok(board)
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
        .header("if-none-match")
        .is_some_and(|h| if_none_match(h, &env.etag))
    {
        let mut b = Response::builder();
        b.status(304);
        for (k, v) in &headers {
            b.header(*k, v.as_str());
        }
        return b.build();
    }
    http::json_text(200, call.version, env.body.clone(), &headers)
}

/// Serves a read cache-aside. A fresh envelope is served from two KV reads (the board's regional
/// version and the envelope, which carries what the access check and `Cache-Control` need);
/// only a miss loads the board config and computes.
pub fn serve<'f>(
    call: &Call<'_>,
    ctx: &Ctx,
    id: &BoardId,
    compute: impl FnOnce(&Call<'_>, &Ctx, &Board) -> Result<String> + 'f,
) -> Result<Response> {
    let cache = ctx.cache();
    let version = cache.version(ctx.tenant.as_str(), id.as_str());
    let query = query_fingerprint(call);
    let cached = cache.get(ctx.tenant.as_str(), id.as_str(), &query);
    let freshness = cached
        .as_ref()
        .map(|e| e.freshness(version, call.now_ms))
        .unwrap_or(Freshness::Expired);
    if let (Some(env), Freshness::Fresh) = (&cached, freshness) {
        access::authorize_read_of(ctx.principal.as_ref(), env.public_read)?;
        return Ok(respond(call, env, "HIT"));
    }
    // Stale-if-error: when Redis cannot answer, a copy within its stale window is served.
    let stale = |reason: String| match (&cached, freshness) {
        (Some(env), Freshness::Stale) => {
            access::authorize_read_of(ctx.principal.as_ref(), env.public_read)?;
            Ok(respond(call, env, "STALE"))
        }
        _ => Err(LeaderboardError::Unavailable(reason)),
    };
    let board = match board(call, ctx, id, version) {
        Ok(board) => board,
        Err(LeaderboardError::Unavailable(reason)) => return stale(reason),
        Err(e) => return Err(e),
    };
    access::authorize_read(ctx.principal.as_ref(), &board)?;
    match compute(call, ctx, &board) {
        Ok(body) => {
            let env = CacheEnvelope {
                version,
                stored_at_ms: call.now_ms,
                ttl_secs: board.cache.ttl_secs,
                stale_secs: board.cache.stale_secs,
                public_read: board.public_read,
                etag: etag_for(&body),
                body,
            };
            if board.cache.enabled() {
                cache.put(ctx.tenant.as_str(), id.as_str(), &query, &env);
            }
            Ok(respond(call, &env, "MISS"))
        }
        Err(LeaderboardError::Unavailable(reason)) => stale(reason),
        Err(e) => Err(e),
    }
}

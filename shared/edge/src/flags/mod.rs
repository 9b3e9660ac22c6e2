//! Feature flags at the edge: the tenant's flagd document, authoritative in Redis
//! (`edge::flags::store`) and cached in the regional KV store ([`crate::flags::doc`]), evaluated by
//! the core (`leaderboard::policy::flags`).
//!
//! The product itself reads three flags of the tenant's document, with the caller as targeting
//! key (the token's `sub`, else the client address) and `tenant`, `board`, `roles` in the
//! context; a flag the document does not define leaves the behaviour as it is:
//!
//! | key | type | effect when it evaluates to… |
//! | --- | --- | --- |
//! | `submissions-enabled` | boolean | `false`: score submissions answer `503` (`Retry-After: 30`) — the kill switch |
//! | `api-v2-enabled` | boolean | `false`: `/api/v2` and the v2 media type answer `404` |
//! | `read-cache-ttl-secs` | number | the cache TTL of reads computed from then on (0..=3600), instead of the board's `cache.ttl_secs` |

pub mod doc;
pub mod experiments;
pub mod routes;
pub mod store;

use leaderboard::policy::flags::{self, FlagSet, Lookup, ValueType};
use leaderboard::{LeaderboardError, Result};
use serde_json::{Map, Value, json};

use crate::api::Ctx;
use crate::http::Call;

/// The kill switch of score submission.
pub const SUBMISSIONS_ENABLED: &str = "submissions-enabled";
/// Exposure of API v2.
pub const API_V2_ENABLED: &str = "api-v2-enabled";
/// The TTL of cached reads.
pub const READ_CACHE_TTL_SECS: &str = "read-cache-ttl-secs";

/// A loaded document: its version, its canonical JSON and the validated set.
pub struct Loaded {
    /// Bumped by every write (the ETag).
    pub version: u64,
    /// The document as stored.
    pub doc: String,
    /// The validated flags.
    pub set: FlagSet,
}

/// The private route of the flags component that evaluates one flag for another component
/// (service chaining); only requests Spin chained (client `0.0.0.0:0`) are served.
pub const INTERNAL_EVALUATE: &str = "http://flags.spin.internal/internal/flags/evaluate";

/// The tenant's document, parsed and validated (the flags component). The parse is the request's
/// one ([`Ctx::flag_doc_value`]), shared with the product-flag lookups.
pub async fn load(ctx: &Ctx<'_>) -> Result<Option<Loaded>> {
    let stored = ctx.flag_doc().await?;
    let (Some((version, doc)), Some(value)) = (stored, ctx.flag_doc_value().await?) else {
        return Ok(None);
    };
    let set = FlagSet::parse(value)
        .map_err(|e| LeaderboardError::CorruptData(format!("stored flag document: {e}")))?;
    Ok(Some(Loaded {
        version: *version,
        doc: doc.clone(),
        set,
    }))
}

/// Forgets this region's cached copy (after a write).
pub async fn forget(ctx: &Ctx<'_>) {
    crate::flags::doc::forget(ctx.platform(), &ctx.tenant).await;
}

/// The context the product's own flags see: the caller as targeting key.
pub fn caller_context(ctx: &Ctx<'_>, call: &Call<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    let key = ctx
        .principal
        .as_ref()
        .map(|p| p.subject.clone())
        .or_else(|| crate::ratelimit::client_ip(call, 0));
    if let Some(k) = key {
        m.insert("targetingKey".into(), Value::String(k));
    }
    m.insert("tenant".into(), Value::String(ctx.tenant.as_str().into()));
    if let Some(b) = call.param("board") {
        m.insert("board".into(), Value::String(b));
    }
    let roles: Vec<Value> = ctx
        .principal
        .as_ref()
        .map(|p| p.roles.iter().map(|r| Value::from(r.as_str())).collect())
        .unwrap_or_default();
    m.insert("roles".into(), Value::Array(roles));
    m
}

/// Whether the tenant's flag document defines `key`: enabled, with or without targeting,
/// whatever it would evaluate to. A document that cannot be read counts as defining it: callers
/// use this to skip work only where the flag surely changes nothing.
pub async fn defines(ctx: &Ctx<'_>, key: &str) -> bool {
    match ctx.flag_doc_value().await {
        Ok(None) => false,
        Ok(Some(doc)) => flags::lookup(doc, key) != Lookup::Undefined,
        Err(_) => true,
    }
}

/// Evaluates one of the product's flags for the caller: `None` when the tenant's document does
/// not define it (or disables it) or it resolves to an error — the behaviour then stays as it is.
/// A flag without targeting resolves here; one with a targeting rule is evaluated by the flags
/// component over service chaining ([`INTERNAL_EVALUATE`]), so the API components stay free of
/// the JsonLogic engine.
pub async fn product_flag(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    key: &str,
    expected: ValueType,
) -> Option<Value> {
    let parsed = match ctx.flag_doc_value().await {
        Ok(Some(doc)) => doc,
        Ok(None) => return None,
        Err(e) => {
            eprintln!("flags: {key}: {e}");
            return None;
        }
    };
    let value = match flags::lookup(parsed, key) {
        Lookup::Undefined => return None,
        Lookup::Static(v) => v,
        Lookup::Targeted => {
            let context = caller_context(ctx, call);
            let resolved = if crate::platform::SERVICE_CHAINING {
                evaluate_chained(ctx, key, context, expected).await?
            } else {
                evaluate_here(ctx, parsed, key, &context, expected, call.now_ms).await?
            };
            if let Some(code) = resolved.get("errorCode") {
                eprintln!("flags: {key}: {code} {}", resolved["errorDetails"]);
                return None;
            }
            resolved.get("value").cloned()
        }
    };
    value.filter(|v| ValueType::of(v) == Some(expected))
}
/// Asks the flags component ([`INTERNAL_EVALUATE`]) for a targeted flag's resolution (its
/// OFREP-shaped JSON); `None`, logged, when it cannot answer.
async fn evaluate_chained(
    ctx: &Ctx<'_>,
    key: &str,
    context: Map<String, Value>,
    expected: ValueType,
) -> Option<Value> {
    let body = json!({"tenant": ctx.tenant.as_str(), "key": key,
        "context": context, "expected": expected.as_str()});
    match ctx
        .platform()
        .post_internal(INTERNAL_EVALUATE, body.to_string().as_bytes())
        .await
    {
        Ok((200, raw)) => serde_json::from_slice(&raw)
            .inspect_err(|e| eprintln!("flags: {key}: the flags component's answer: {e}"))
            .ok(),
        Ok((status, raw)) => {
            eprintln!(
                "flags: {key}: the flags component answered {status}: {}",
                String::from_utf8_lossy(&raw)
            );
            None
        }
        Err(e) => {
            eprintln!("flags: {key}: cannot reach the flags component: {e}");
            None
        }
    }
}

/// Resolves a targeted flag in this component, as the flags component does for a chained
/// request ([`resolve`]), for a build without service chaining
/// ([`crate::platform::SERVICE_CHAINING`]).
async fn evaluate_here(
    ctx: &Ctx<'_>,
    doc: &Value,
    key: &str,
    context: &Map<String, Value>,
    expected: ValueType,
    now_ms: i64,
) -> Option<Value> {
    let set = FlagSet::parse(doc)
        .inspect_err(|e| eprintln!("flags: {key}: the stored document: {e}"))
        .ok()?;
    Some(
        resolve(
            async || ctx.repo().await,
            &ctx.tenant,
            &set,
            key,
            context,
            Some(expected),
            now_ms,
        )
        .await,
    )
}

/// One flag of `set` for `context` (OFREP-shaped JSON: `value` or `errorCode`), its exposure to
/// a running experiment recorded: what the flags component answers another component.
pub async fn resolve<'a>(
    repo: impl AsyncFnOnce() -> Result<&'a crate::repo::Repo>,
    tenant: &leaderboard::TenantId,
    set: &FlagSet,
    key: &str,
    context: &Map<String, Value>,
    expected: Option<ValueType>,
    now_ms: i64,
) -> Value {
    let r = set.evaluate(key, context, now_ms / 1000, expected);
    crate::flags::experiments::expose(repo, tenant, context, &[&r], now_ms).await;
    r.to_json()
}

/// The submission kill switch: `Err(503)` when `submissions-enabled` is `false` for the caller.
pub async fn check_submissions(ctx: &Ctx<'_>, call: &Call<'_>) -> Result<()> {
    let enabled = product_flag(ctx, call, SUBMISSIONS_ENABLED, ValueType::Boolean).await;
    if enabled == Some(Value::Bool(false)) {
        call.add_header("retry-after", "30".into());
        return Err(LeaderboardError::Unavailable(format!(
            "score submission is switched off by the '{SUBMISSIONS_ENABLED}' flag; retry later"
        )));
    }
    Ok(())
}

//! `functions/flags`: feature flags at the edge.
//!
//! ```text
//! GET  /api/{v}/flags                  admin: the tenant's flagd document, ETag "<version>"
//! PUT  /api/{v}/flags                  admin: replace it (validated; If-Match → 412 when stale)
//! POST /ofrep/v1/evaluate/flags/{key}  any token of the tenant: OFREP single evaluation
//! POST /ofrep/v1/evaluate/flags        any token of the tenant: OFREP bulk evaluation (ETag)
//! POST /internal/flags/evaluate         service chaining only: one flag for another component
//! …    /api/{v}/experiments/…            A/B experiments on these flags (`experiments`)
//! ```
//!
//! OFREP bodies, status codes and error shapes follow the OpenFeature Remote Evaluation Protocol:
//! success `{key, value, reason, variant, metadata}`; `400 {key, errorCode, errorDetails}` for a
//! bad request (`INVALID_CONTEXT`, `PARSE_ERROR`, `TARGETING_KEY_MISSING`, `GENERAL`); `404
//! {key, errorCode: "FLAG_NOT_FOUND", errorDetails}`; bulk `{flags: [...]}` with an `ETag` over
//! the document version and the context, `304` on `If-None-Match`.

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

use edge::flags::experiments::routes as experiments;
use edge::flags::routes::{bulk, get, internal, put, single};
use edge::http::{Call, Method, Response};
use edge::platform::Platform;
use leaderboard::{LeaderboardError, Result};
edge::http_entry!(route);

/// Serves one request on `platform`.
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    let method = call.method();
    match segments.as_slice() {
        ["api", _, "flags"] => {
            let ctx = edge::admission::admit(platform, call).await?;
            match *method {
                Method::GET => get(call, &ctx).await,
                Method::PUT => put(call, &ctx).await,
                _ => Err(call.method_not_allowed("GET, PUT")),
            }
        }
        ["api", _, "experiments", rest @ ..] => {
            let ctx = edge::admission::admit(platform, call).await?;
            experiments::route(call, &ctx, rest).await
        }
        ["internal", "flags", "evaluate"] => internal(platform, call).await,
        ["ofrep", "v1", "evaluate", "flags", rest @ ..] if rest.len() <= 1 => {
            if *method != Method::POST {
                return Err(call.method_not_allowed("POST"));
            }
            let ctx = edge::admission::admit(platform, call).await?;
            ctx.require_principal()?;
            match rest {
                [key] => single(call, &ctx, &edge::http::percent_decode(key, false)).await,
                _ => bulk(call, &ctx).await,
            }
        }
        _ => Err(LeaderboardError::NotFound(format!(
            "no such resource: {}",
            call.path
        ))),
    }
}

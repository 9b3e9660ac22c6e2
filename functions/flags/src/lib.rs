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
use edge::http::{Call, Response};
use edge::platform::Platform;
use leaderboard::Result;
use leaderboard::http::operation::Operation;
edge::http_entry!(route);

/// Serves one request on `platform`: the operation table names what it runs (the internal
/// evaluation is no API operation). An OFREP request with a method its path lacks is `405`
/// before it is admitted; the flag document's and the experiments' routes answer after.
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    if let ["internal", "flags", "evaluate"] = segments.as_slice() {
        return internal(platform, call).await;
    }
    // OFREP answers its 405 or 404 before the request is admitted, the rest after.
    let op = match call.operation(call.route()) {
        Err(e) if segments.first() == Some(&"ofrep") => return Err(e),
        op => op,
    };
    let ctx = edge::admission::admit(platform, call).await?;
    let op = op?;
    // The `{id}` of `…/experiments/{id}[/…]`, the `{key}` of `…/flags/{key}`.
    let id = segments.get(3).copied().unwrap_or_default();
    match op {
        Operation::GetFlags => get(call, &ctx).await,
        Operation::PutFlags => put(call, &ctx).await,
        Operation::EvaluateFlags => {
            ctx.require_principal()?;
            bulk(call, &ctx).await
        }
        Operation::EvaluateFlag => {
            ctx.require_principal()?;
            let key = segments.get(4).copied().unwrap_or_default();
            single(call, &ctx, &edge::http::percent_decode(key, false)).await
        }
        Operation::ListExperiments => experiments::list(call, &ctx).await,
        Operation::CreateExperiment => experiments::create(call, &ctx).await,
        Operation::GetExperiment => experiments::get(call, &ctx, id).await,
        Operation::DeleteExperiment => experiments::delete(call, &ctx, id).await,
        Operation::StopExperiment => experiments::stop(call, &ctx, id).await,
        Operation::GetExperimentResults => experiments::results(call, &ctx, id).await,
        Operation::RecordExperimentEvents => experiments::event(call, &ctx, id).await,
        // Another component's (Spin routes none of them here).
        _ => Err(call.not_found()),
    }
}

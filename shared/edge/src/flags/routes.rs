//! The flag document's REST routes and OpenFeature Remote Evaluation (OFREP).

use leaderboard::policy::flags::{EMPTY_DOCUMENT, ErrorCode, FlagSet, Resolution};
use leaderboard::{LeaderboardError, Result, policy::access};
use serde_json::{Map, Value, json};

use crate::api::Ctx;
use crate::flags;
use crate::flags::store::Put;
use crate::http::{self, Call, Method, Response, ResponseBuilder};
use crate::platform::Platform;

/// Largest OFREP request body accepted (bytes), as for every other request body.
const MAX_CONTEXT_BYTES: usize = 16 * 1024;

/// Largest flag document accepted (bytes).
const MAX_DOC_BYTES: usize = 256 * 1024;

/// Evaluates one flag for another component of the app (`crate::flags::product_flag`), reached
/// only through service chaining: Spin gives chained requests the client address `0.0.0.0:0`,
/// which no network client has. Body `{tenant, key, context, expected?}`; answer
/// `Resolution::to_json`.
pub async fn internal(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    if call.header("spin-client-addr") != Some("0.0.0.0:0") || *call.method() != Method::POST {
        return Err(call.not_found());
    }
    let body: Value = crate::http::json_body(call.req.body())?;
    let tenant = leaderboard::TenantId::new(body["tenant"].as_str().unwrap_or_default())?;
    let key = body["key"].as_str().unwrap_or_default();
    let context = body["context"].as_object().cloned().unwrap_or_default();
    let expected = body["expected"]
        .as_str()
        .and_then(leaderboard::policy::flags::ValueType::parse);
    let repo = &std::cell::OnceCell::new();
    let doc = crate::flags::doc::load(
        platform,
        async move || crate::repo::Repo::open_in(repo, platform).await,
        &tenant,
        call.now_ms,
    )
    .await?;
    let doc = leaderboard::policy::flags::stored_document(doc.as_ref().map(|(_, d)| d.as_str()))?;
    let set = FlagSet::parse(&doc)?;
    let resolved = flags::resolve(
        async move || crate::repo::Repo::open_in(repo, platform).await,
        &tenant,
        &set,
        key,
        &context,
        expected,
        call.now_ms,
    )
    .await;
    Ok(http::json(200, call.version, &resolved))
}

fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// `GET /api/{v}/flags` (admin): the tenant's flagd document, `ETag` its version.
pub async fn get(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let stored = ctx.repo().await?.flags_get(&ctx.tenant).await?;
    let (version, doc) = stored.unwrap_or((0, EMPTY_DOCUMENT.to_string()));
    Ok(http::json_text(
        200,
        call.version,
        doc,
        &[("etag", etag(version))],
    ))
}

/// `PUT /api/{v}/flags` (admin): replaces the document (validated; a stale `If-Match` is `412`).
pub async fn put(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    if call.req.body().len() > MAX_DOC_BYTES {
        return Err(LeaderboardError::PayloadTooLarge {
            what: "flag document".into(),
            size: call.req.body().len(),
            limit: MAX_DOC_BYTES,
        });
    }
    let doc: Value = crate::http::json_body(call.req.body())?;
    FlagSet::parse(&doc).map_err(|e| match e {
        LeaderboardError::InvalidBody(m) => LeaderboardError::InvalidConfig(m),
        other => other,
    })?;
    let expected = match call.header("if-match").map(str::trim) {
        None | Some("*") => None,
        Some(tag) => Some(
            tag.trim_start_matches("W/")
                .trim_matches('"')
                .parse::<u64>()
                .map_err(|_| {
                    LeaderboardError::PreconditionFailed(format!(
                        "If-Match {tag} is not an ETag of this document"
                    ))
                })?,
        ),
    };
    // Running experiments keep their marks (409 when the document drops their flag or arm).
    let mut doc = doc;
    crate::flags::experiments::restamp(ctx.repo().await?, &ctx.tenant, &mut doc).await?;
    let canonical = doc.to_string();
    match ctx
        .repo()
        .await?
        .flags_put(&ctx.tenant, expected, &canonical)
        .await?
    {
        Put::Stale(current) => Err(LeaderboardError::PreconditionFailed(format!(
            "the flag document changed: If-Match {} but it is at {}; GET it again",
            expected.map(etag).unwrap_or_default(),
            etag(current)
        ))),
        Put::Written(version) => {
            flags::forget(ctx).await;
            crate::audit::record(
                ctx,
                call,
                "flags.update",
                ctx.tenant.as_str(),
                json!({"version": version, "flags": FlagSet::parse(&doc)?.keys().collect::<Vec<_>>()}),
            )
            .await;
            Ok(http::json_text(
                200,
                call.version,
                canonical,
                &[("etag", etag(version))],
            ))
        }
    }
}

/// The evaluation context of an OFREP request: `{"context": {...}}` (absent → empty).
fn context(call: &Call<'_>) -> std::result::Result<Map<String, Value>, String> {
    if call.req.body().is_empty() {
        return Ok(Map::new());
    }
    if call.req.body().len() > MAX_CONTEXT_BYTES {
        return Err(format!(
            "the request body is {} bytes; at most {MAX_CONTEXT_BYTES} are accepted",
            call.req.body().len()
        ));
    }
    let body: Value = serde_json::from_slice(call.req.body())
        .map_err(|e| format!("the request body is not JSON: {e}"))?;
    match body.get("context") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err("context must be a JSON object".into()),
    }
}

fn ofrep(status: u16, body: &Value, headers: &[(&str, String)]) -> Response {
    http::json_text(
        status,
        leaderboard::board::view::ApiVersion::V1,
        body.to_string(),
        headers,
    )
}

fn success(r: &Resolution) -> Value {
    let mut v = json!({"key": r.key, "reason": r.reason.as_str(), "metadata": r.metadata});
    if let Some(value) = &r.value {
        v["value"] = value.clone();
    }
    if let Some(variant) = &r.variant {
        v["variant"] = Value::String(variant.clone());
    }
    v
}

fn failure(r: &Resolution, code: ErrorCode, details: &str) -> Value {
    json!({"key": r.key, "errorCode": code.as_str(), "errorDetails": details})
}

/// `POST /ofrep/v1/evaluate/flags/{key}`: one flag's OFREP evaluation.
pub async fn single(call: &Call<'_>, ctx: &Ctx<'_>, key: &str) -> Result<Response> {
    let context = match context(call) {
        Ok(c) => c,
        Err(d) => {
            return Ok(ofrep(
                400,
                &json!({"key": key, "errorCode": "INVALID_CONTEXT", "errorDetails": d}),
                &[],
            ));
        }
    };
    // A flag store that cannot be read is the request's problem, as on every other route: a
    // `503` with `Retry-After` while Redis is away (the breaker), else a `500`.
    let loaded = flags::load(ctx).await?;
    let empty = FlagSet::empty();
    let set = loaded.as_ref().map_or(&empty, |l| &l.set);
    crate::metrics::count(
        leaderboard::http::metrics::counter_key("flag_evaluations"),
        1,
    );
    let r = set.evaluate(key, &context, call.now_ms / 1000, None);
    crate::flags::experiments::expose(
        async move || ctx.repo().await,
        &ctx.tenant,
        &context,
        &[&r],
        call.now_ms,
    )
    .await;
    Ok(match &r.error {
        None => ofrep(200, &success(&r), &[]),
        Some((ErrorCode::FlagNotFound, d)) => {
            ofrep(404, &failure(&r, ErrorCode::FlagNotFound, d), &[])
        }
        Some((code, d)) => ofrep(400, &failure(&r, *code, d), &[]),
    })
}

/// FNV-1a over the context, for the bulk ETag.
fn fingerprint(context: &Map<String, Value>) -> u64 {
    leaderboard::board::cursor::fnv1a64(Value::Object(context.clone()).to_string().as_bytes())
}

/// `POST /ofrep/v1/evaluate/flags`: every flag's OFREP evaluation (`ETag` over the document
/// version and the context; `304` on `If-None-Match`).
pub async fn bulk(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    let context = match context(call) {
        Ok(c) => c,
        Err(d) => {
            return Ok(ofrep(
                400,
                &json!({"errorCode": "INVALID_CONTEXT", "errorDetails": d}),
                &[],
            ));
        }
    };
    let loaded = flags::load(ctx).await?;
    let version = loaded.as_ref().map_or(0, |l| l.version);
    let tag = format!("\"{version}-{:016x}\"", fingerprint(&context));
    if call
        .if_none_match()
        .is_some_and(|h| h.split(',').any(|t| t.trim() == tag))
    {
        return Ok(ResponseBuilder::new(304).header("etag", tag).empty());
    }
    let resolutions: Vec<Resolution> = loaded
        .as_ref()
        .map(|l| {
            l.set
                .keys()
                .map(|key| l.set.evaluate(key, &context, call.now_ms / 1000, None))
                .collect()
        })
        .unwrap_or_default();
    crate::metrics::count(
        leaderboard::http::metrics::counter_key("flag_evaluations"),
        resolutions.len() as i64,
    );
    // Every experiment flag of the document, in one Redis call.
    let all: Vec<&Resolution> = resolutions.iter().collect();
    crate::flags::experiments::expose(
        async move || ctx.repo().await,
        &ctx.tenant,
        &context,
        &all,
        call.now_ms,
    )
    .await;
    let flags: Vec<Value> = resolutions
        .iter()
        .map(|r| match &r.error {
            None => success(r),
            Some((code, d)) => failure(r, *code, d),
        })
        .collect();
    Ok(ofrep(200, &json!({"flags": flags}), &[("etag", tag)]))
}

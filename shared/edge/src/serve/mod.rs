//! Serving a request, around the handler a function gives: the request's scope (its trace span,
//! the breaker's and the metrics' per-request state), CORS, the response headers every answer
//! carries (request id, `traceparent`, security headers), compression, the access log and the
//! metrics, and handing the response to the host (the build's adapter: `p2`, `p3`).

use leaderboard::{LeaderboardError, Result};

use crate::http::{Call, Headers, Method, Request, Response, ResponseBuilder, problem, trace_of};
use crate::scope;
use crate::stream::{Reply, StreamBody};

#[cfg(feature = "p2")]
mod p2;
#[cfg(feature = "p3")]
mod p3;
#[cfg(feature = "p2")]
pub use p2::{send, serve_streaming};
#[cfg(feature = "p3")]
pub use p3::{P3Response, serve_streaming};

/// Runs a Redis-triggered handler on one message with a request's bookkeeping: the breaker and
/// the scope start afresh, and the cached copies it could not drop are counted at once (no HTTP
/// request records them).
pub async fn on_message<T, E>(
    platform: &dyn crate::platform::Platform,
    handler: impl AsyncFnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    scope::scoped(async move {
        scope::begin_request();
        crate::breaker::begin_request();
        let handled = handler().await;
        crate::metrics::count_stale_copies_now(platform).await;
        handled
    })
    .await
}

/// Runs a handler and turns its error into a problem response.
pub async fn respond(
    req: &Request,
    handler: impl AsyncFnOnce(&Call<'_>) -> Result<Response>,
) -> Response {
    let started = std::time::Instant::now();
    scope::begin_request();
    crate::breaker::begin_request();
    match Call::parse(req) {
        Ok(call) => {
            let traceparent = call.trace.traceparent();
            scope::set_traceparent(traceparent.clone());
            let mut slug = None;
            let mut response = match handler(&call).await {
                Ok(response) => response,
                Err(e) => {
                    slug = Some(e.slug());
                    problem(&e, req.uri().path(), call.header("accept-language"))
                }
            };
            for (name, value) in call.take_extra_headers() {
                response.set_header(name, value);
            }
            // An event stream's head has no body yet: sent as its body is written.
            let streamed =
                response.header("content-type") == Some(leaderboard::http::live::EVENT_STREAM);
            let mut response = if streamed {
                response
            } else {
                crate::compress::apply(
                    response,
                    *req.method() == Method::HEAD,
                    call.header("accept-encoding"),
                    call.header("if-none-match"),
                )
            };
            response.set_header("x-request-id", call.request_id.clone());
            response.set_header("traceparent", traceparent);
            let tenant = call.take_tenant();
            crate::metrics::record(
                &crate::platform::Spin,
                call.route_label(),
                req.method().as_str(),
                response.status().as_u16(),
                response.header("x-cache").unwrap_or(""),
                started.elapsed().as_secs_f64(),
            )
            .await;
            // After the metrics: the log counts every host call the request made.
            access_log(req, &call, &response, started, tenant.as_deref(), slug);
            secure(response)
        }
        Err(e) => {
            let accept_language = req.header("accept-language");
            let mut response = problem(&e, req.uri().path(), accept_language);
            response.set_header("traceparent", trace_of(req).traceparent());
            secure(response)
        }
    }
}

/// Writes the request's access-log line (one JSON object) to stderr when the `request_log`
/// variable is `json` (the default), in one write so concurrent instances never interleave.
fn access_log(
    req: &Request,
    call: &Call<'_>,
    response: &Response,
    started: std::time::Instant,
    tenant: Option<&str>,
    problem: Option<&str>,
) {
    // The `request_log` variable, read by [`head`].
    if !scope::with(|l| l.request_log) {
        return;
    }
    let method = req.method().to_string();
    let instance = scope::with(|l| l.instance.clone());
    let upkeep = scope::upkeep();
    let mut line = leaderboard::http::trace::AccessRecord {
        host_calls: scope::host_calls(),
        at_ms: call.now_ms,
        method: &method,
        route: Some(call.route_label()),
        path: &call.path,
        status: response.status().as_u16(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        tenant,
        cache: response.header("x-cache"),
        request_id: &call.request_id,
        trace: &call.trace,
        problem,
        instance: instance.as_ref().map(|(id, n)| (id.as_str(), *n)),
        upkeep: &upkeep,
    }
    .to_json()
    .to_string();
    line.push('\n');
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

/// Security headers every response carries, errors included: no MIME sniffing, no referrer, and
/// `Strict-Transport-Security` when the `hsts_max_age_secs` variable sets a max-age (only behind
/// HTTPS: browsers ignore it over plain HTTP). (The API serves JSON only; no HTML, so no
/// Content-Security-Policy is needed.)
fn secure(mut response: Response) -> Response {
    response.set_header("x-content-type-options", "nosniff");
    response.set_header("referrer-policy", "no-referrer");
    // The `hsts_max_age_secs` variable, read by [`head`].
    if let Some(hsts) = scope::with(|l| l.hsts.clone()) {
        response.set_header("strict-transport-security", hsts);
    }
    response
}

/// The liveness route (`functions/health`): served whatever the variables say.
pub const LIVENESS: &str = "/health/live";

/// Serves a request up to its head, the same on every build: the request's settings (the
/// `http_policy` bundle: CORS, the access log, HSTS, metrics sampling), then the handler through
/// CORS, the headers, the log and the metrics ([`respond_cors`]). For a stream, the head comes
/// with the body's work, which the build's adapter runs once the head is on its way.
async fn head(
    req: &Request,
    handler: impl AsyncFnOnce(&Call<'_>) -> Result<Reply>,
) -> (Response, Option<StreamBody>) {
    crate::scope::reset_host_calls();
    let instance = scope::instance_request();
    scope::with(|l| l.instance = Some(instance));
    crate::platform::begin_request();
    let joined = crate::platform::bundle("http_policy")
        .await
        .unwrap_or_default();
    // A bad value answers every request `misconfigured` (`crate::settings`), on the settings it
    // falls back on meanwhile, but for liveness: the component runs.
    let (policy, misconfigured) = crate::settings::Http::parse(&joined);
    scope::with(|l| {
        l.request_log = policy.request_log;
        l.hsts = policy.hsts;
    });
    crate::metrics::begin_request(policy.metrics_every);
    let mut body = None;
    let head = respond_cors(
        req,
        &policy.cors_allowed_origins,
        async |call: &Call<'_>| match misconfigured.filter(|_| call.path != LIVENESS) {
            Some(e) => Err(e),
            None => match handler(call).await {
                Ok(Reply::Whole(response)) => Ok(response),
                Ok(Reply::Stream(head, writer)) => {
                    body = Some(writer);
                    Ok(head)
                }
                Err(e) => Err(e),
            },
        },
    )
    .await;
    (head, body)
}

/// The request a stream's body gets, parsed anew (`None`, logged, if it no longer parses: it did
/// for the head a moment ago, so this is not expected).
fn reparse(req: &Request) -> Option<Call<'_>> {
    Call::parse(req)
        .inspect_err(|e| {
            eprintln!("stream: the request no longer parses ({e}); its body does not run")
        })
        .ok()
}

/// Gives a whole response its `Content-Length` (not on a status without a body), for the body
/// `len` bytes long it will carry.
fn set_length(response: &mut Response, len: usize) {
    let status = response.status().as_u16();
    if !(status == 204 || status == 304 || (100..200).contains(&status)) {
        response.set_header("content-length", len.to_string());
    }
}

/// Request headers a browser may send cross-origin.
const CORS_ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key, if-match, if-none-match, traceparent, \
     x-api-key, x-request-id, x-tenant";
/// Response headers a browser script may read.
const CORS_EXPOSE_HEADERS: &str = "etag, location, ratelimit, ratelimit-policy, retry-after, \
                                   traceparent, x-cache, x-request-id, idempotent-replayed";

/// Whether `origin` is in the allowlist (comma-separated origins, or `*`; empty: CORS off).
pub fn origin_allowed(allowlist: &str, origin: &str) -> bool {
    allowlist
        .split(',')
        .map(str::trim)
        .any(|o| !o.is_empty() && (o == "*" || o.eq_ignore_ascii_case(origin)))
}

/// [`respond`] with CORS: a preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) is answered here — `204` with the allowed methods and headers
/// for an allowed origin, a `403` problem otherwise — and every response to an allowed origin
/// carries `Access-Control-Allow-Origin` (that origin) and the readable headers. Responses vary on
/// `Origin` whenever CORS is on.
pub async fn respond_cors(
    req: &Request,
    allowlist: &str,
    handler: impl AsyncFnOnce(&Call<'_>) -> Result<Response>,
) -> Response {
    let origin = req.header("origin").map(str::to_string);
    let enabled = !allowlist.trim().is_empty();
    let allowed = origin
        .as_deref()
        .is_some_and(|o| enabled && origin_allowed(allowlist, o));
    let preflight = *req.method() == Method::OPTIONS
        && origin.is_some()
        && req.header("access-control-request-method").is_some();
    let mut response = if preflight {
        if allowed {
            let mut r = ResponseBuilder::new(204)
                .header(
                    "access-control-allow-methods",
                    "GET, HEAD, POST, PUT, DELETE",
                )
                .header("access-control-allow-headers", CORS_ALLOW_HEADERS)
                .header("access-control-max-age", "600")
                .empty();
            r.set_header("x-request-id", scope::nonce(scope::now_ms()));
            secure(r)
        } else {
            secure(problem(
                &LeaderboardError::Forbidden(format!(
                    "cross-origin requests from {} are not allowed",
                    origin.as_deref().unwrap_or("")
                )),
                req.uri().path(),
                req.header("accept-language"),
            ))
        }
    } else {
        respond(req, handler).await
    };
    if let (true, Some(o)) = (allowed, &origin) {
        response.set_header("access-control-allow-origin", o.clone());
        response.set_header("access-control-expose-headers", CORS_EXPOSE_HEADERS);
    }
    if enabled {
        let vary = match response.header("vary") {
            Some(existing) if !existing.is_empty() => format!("{existing}, Origin"),
            _ => "Origin".to_string(),
        };
        response.set_header("vary", vary);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn the_allowlist_matches_whole_origins_or_everything() {
        let list = "https://game.example, https://admin.example";
        assert!(origin_allowed(list, "https://game.example"));
        assert!(origin_allowed(list, "HTTPS://ADMIN.EXAMPLE"));
        assert!(!origin_allowed(list, "https://evil.example"));
        assert!(!origin_allowed(list, "https://game.example.evil"));
        assert!(!origin_allowed("", "https://game.example"));
        assert!(origin_allowed("*", "https://anything.example"));
    }
}

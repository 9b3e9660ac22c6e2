//! HTTP plumbing shared by the functions: the parsed request ([`Call`]), strict JSON bodies,
//! JSON and problem responses. One mapping from [`LeaderboardError`] to a response lives here.

use std::collections::BTreeMap;

use leaderboard::view::ApiVersion;
use leaderboard::{LeaderboardError, PROBLEM_CONTENT_TYPE, Problem, Result};
use serde::de::DeserializeOwned;
use spin_sdk::http::{Method, OutgoingBody, OutgoingResponse, Request, Response, ResponseOutparam};

thread_local! {
    /// The `traceparent` of the request being served (what outbound calls carry).
    static TRACEPARENT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// Whether [`respond`] writes the access-log line (the `request_log` variable, set by
    /// [`serve`]).
    static REQUEST_LOG: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The `Strict-Transport-Security` value, if the `hsts_max_age_secs` variable asks for one.
    static HSTS: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// The `Retry-After` a `503` of this request carries, when something knows better than 1 s
    /// (the open circuit breaker: the time it has left).
    static RETRY_AFTER: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Sets the `Retry-After` (seconds) of this request's `503` problem, if it ends in one.
pub fn set_retry_after(secs: u64) {
    RETRY_AFTER.set(Some(secs));
}

/// The `traceparent` naming the span of the request being served: outbound HTTP calls send it
/// (`platform::Spin::post_internal`), so their spans join the request's trace.
pub fn current_traceparent() -> Option<String> {
    TRACEPARENT.with_borrow(Clone::clone)
}

fn random_u64() -> u64 {
    use std::hash::BuildHasher;
    // RandomState is seeded from the host's random source (wasi:random) once per instance and
    // advanced for each new state.
    std::collections::hash_map::RandomState::new().hash_one(0u8)
}

/// Largest request body accepted (16 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A parsed request.
pub struct Call<'a> {
    /// The underlying request.
    pub req: &'a Request,
    /// API version (path segment or `Accept`).
    pub version: ApiVersion,
    /// Path (for problem `instance`).
    pub path: String,
    /// What the route's trailing wildcard matched, split on `/` (empty segments dropped).
    pub rest: Vec<String>,
    /// Decoded query parameters (last value wins).
    pub query: BTreeMap<String, String>,
    /// Wall-clock time of the request (Unix ms) — read once, passed to the core.
    pub now_ms: i64,
    /// The request's id: its `X-Request-Id` when that is 1..=128 visible ASCII characters, else a
    /// fresh one. Every response carries it back; audit entries name it.
    pub request_id: String,
    /// Header fields to add to the response, whatever it is (e.g. the rate-limit fields).
    extra_headers: std::cell::RefCell<Vec<(&'static str, String)>>,
    /// The request's span of its trace (`traceparent`).
    pub trace: leaderboard::trace::TraceContext,
    /// The tenant, once the handler resolved it (for the access log).
    tenant: std::cell::RefCell<Option<String>>,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Percent-decodes a path segment or query component (`+` is a space), never failing: a
/// malformed escape is kept as written.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The current wall-clock time in Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl<'a> Call<'a> {
    /// Parses the request; an unknown API version is a 404.
    pub fn parse(req: &'a Request) -> Result<Self> {
        let path = req.path().to_string();
        // The `:v` of `/api/:v/…` routes; routes outside the versioned API speak v1.
        let version_segment = req
            .header("spin-path-match-v")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| {
                path.strip_prefix("/api/")
                    .map(|rest| rest.split('/').next().unwrap_or("").to_string())
            })
            .unwrap_or_else(|| "v1".to_string());
        let accept = req.header("accept").and_then(|v| v.as_str());
        let version = ApiVersion::negotiate(&version_segment, accept)?;
        let rest = req
            .header("spin-path-info")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect();
        let query = req
            .query()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        let now_ms = now_ms();
        let request_id = req
            .header("x-request-id")
            .and_then(|v| v.as_str())
            .filter(|id| leaderboard::idempotency::validate_key(id).is_ok())
            .map_or_else(|| crate::idempotency::nonce(now_ms), str::to_string);
        Ok(Self {
            req,
            version,
            path,
            rest,
            query,
            now_ms,
            request_id,
            extra_headers: std::cell::RefCell::default(),
            trace: trace_of(req),
            tenant: std::cell::RefCell::default(),
        })
    }

    /// Records the tenant the request acts for (the access log names it).
    pub fn note_tenant(&self, tenant: &str) {
        *self.tenant.borrow_mut() = Some(tenant.to_string());
    }

    /// Adds a header field to the response this request gets, success or problem.
    pub fn add_header(&self, name: &'static str, value: String) {
        self.extra_headers.borrow_mut().push((name, value));
    }

    /// A named route segment (`:board` → `spin-path-match-board`), percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.req
            .header(&format!("spin-path-match-{name}"))
            .and_then(|v| v.as_str())
            .map(decode)
    }

    /// `If-None-Match` with the compressed representations' ETags in their plain form
    /// ([`crate::compress`]): what handlers compare with the ETags they compute.
    pub fn if_none_match(&self) -> Option<String> {
        self.header("if-none-match")
            .map(crate::compress::strip_gzip_suffix)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.req.header(name).and_then(|v| v.as_str())
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        self.req.method()
    }

    /// A query parameter parsed as an integer in `min..=max` (default when absent).
    pub fn query_u32(&self, name: &str, default: u32, min: u32, max: u32) -> Result<u32> {
        match self.query.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    LeaderboardError::InvalidBody(format!(
                        "query parameter '{name}' must be an integer in {min}..={max}, got '{v}'"
                    ))
                }),
        }
    }

    /// The body as strict JSON: `application/json` (or the v2 vendor type), at most 16 KiB,
    /// unknown fields rejected by the target type.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body = self.req.body();
        if body.len() > MAX_BODY_BYTES {
            return Err(LeaderboardError::PayloadTooLarge {
                what: "request body".into(),
                size: body.len(),
                limit: MAX_BODY_BYTES,
            });
        }
        let ct = self.header("content-type").unwrap_or("");
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !(media == "application/json" || media.ends_with("+json")) {
            return Err(LeaderboardError::UnsupportedMediaType(format!(
                "send the body as application/json (got '{ct}')"
            )));
        }
        // serde_path_to_error names the field a value is wrong in (`metrics[0].kind: unknown
        // variant …`), which serde_json alone does not.
        let mut de = serde_json::Deserializer::from_slice(body);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            LeaderboardError::InvalidBody(if path == "." || path.is_empty() {
                format!("invalid JSON body: {inner}")
            } else {
                format!("invalid JSON body: {path}: {inner}")
            })
        })?;
        de.end()
            .map_err(|e| LeaderboardError::InvalidBody(format!("invalid JSON body: {e}")))?;
        Ok(value)
    }

    /// Fails with 405 naming the allowed methods (the response also carries them in `Allow`).
    pub fn method_not_allowed(&self, allowed: &str) -> LeaderboardError {
        LeaderboardError::MethodNotAllowed(format!(
            "{} is not allowed on {}{ALLOWED_MARKER}{allowed}",
            self.method(),
            self.path
        ))
    }
}

/// Separates the detail of a 405 from its list of allowed methods (used for `Allow`).
const ALLOWED_MARKER: &str = "; allowed: ";

/// A JSON response with the version's content type.
pub fn json(status: u16, version: ApiVersion, body: &serde_json::Value) -> Response {
    json_text(status, version, body.to_string(), &[])
}

/// A JSON response from already-serialised text, with extra headers.
pub fn json_text(
    status: u16,
    version: ApiVersion,
    body: String,
    headers: &[(&str, String)],
) -> Response {
    let mut b = Response::builder();
    b.status(status)
        .header("content-type", version.content_type());
    for (k, v) in headers {
        b.header(*k, v.as_str());
    }
    b.body(body).build()
}

/// The problem response for an error (RFC 9457), with `Retry-After` for 429/503.
pub fn problem(err: &LeaderboardError, instance: &str) -> Response {
    let p = Problem::from(err).with_instance(instance);
    let mut b = Response::builder();
    b.status(err.status())
        .header("content-type", PROBLEM_CONTENT_TYPE);
    match err {
        LeaderboardError::RateLimited {
            retry_after_secs, ..
        } => {
            b.header("retry-after", retry_after_secs.to_string());
        }
        LeaderboardError::Unavailable(_) => {
            let secs = RETRY_AFTER.take().unwrap_or(1);
            b.header("retry-after", secs.to_string());
        }
        LeaderboardError::IdempotencyInProgress(_) => {
            b.header("retry-after", "1");
        }
        LeaderboardError::Unauthorized(_) => {
            b.header("www-authenticate", "Bearer");
        }
        LeaderboardError::MethodNotAllowed(detail) => {
            if let Some((_, allowed)) = detail.rsplit_once(ALLOWED_MARKER) {
                b.header("allow", allowed);
            }
        }
        _ => {}
    }
    b.body(p.to_json()).build()
}

/// Runs a handler and turns its error into a problem response.
pub fn respond(req: &Request, handler: impl FnOnce(&Call<'_>) -> Result<Response>) -> Response {
    let started = std::time::Instant::now();
    RETRY_AFTER.set(None);
    crate::breaker::begin_request();
    match Call::parse(req) {
        Ok(call) => {
            let traceparent = call.trace.traceparent();
            TRACEPARENT.set(Some(traceparent.clone()));
            let mut slug = None;
            let mut response = handler(&call).unwrap_or_else(|e| {
                slug = Some(e.slug());
                problem(&e, req.path())
            });
            for (name, value) in call.extra_headers.take() {
                response.set_header(name, value);
            }
            let mut response = crate::compress::apply(
                response,
                *req.method() == Method::Head,
                call.header("accept-encoding"),
                call.header("if-none-match"),
            );
            response.set_header("x-request-id", call.request_id.clone());
            response.set_header("traceparent", traceparent);
            let tenant = call.tenant.take();
            access_log(req, &call, &response, started, tenant.as_deref(), slug);
            crate::metrics::record(
                &crate::platform::Spin,
                req.header("spin-matched-route")
                    .and_then(|v| v.as_str())
                    .unwrap_or("unmatched"),
                &req.method().to_string(),
                *response.status(),
                response
                    .header("x-cache")
                    .and_then(|v| v.as_str())
                    .unwrap_or(""),
                started.elapsed().as_secs_f64(),
            );
            secure(response)
        }
        Err(e) => {
            let mut response = problem(&e, req.path());
            response.set_header("traceparent", trace_of(req).traceparent());
            secure(response)
        }
    }
}

fn trace_of(req: &Request) -> leaderboard::trace::TraceContext {
    let header = req.header("traceparent").and_then(|v| v.as_str());
    leaderboard::trace::TraceContext::for_request(header, random_u64)
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
    if !REQUEST_LOG.get() {
        return;
    }
    let method = req.method().to_string();
    let mut line = leaderboard::trace::AccessRecord {
        at_ms: call.now_ms,
        method: &method,
        route: req.header("spin-matched-route").and_then(|v| v.as_str()),
        path: &call.path,
        status: *response.status(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        tenant,
        cache: response.header("x-cache").and_then(|v| v.as_str()),
        request_id: &call.request_id,
        trace: &call.trace,
        problem,
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
    if let Some(hsts) = HSTS.with_borrow(Clone::clone) {
        response.set_header("strict-transport-security", hsts);
    }
    response
}

/// The component's `http_policy` variable: `<cors_allowed_origins>|<request_log>|<hsts_max_age_secs>`,
/// the three app variables joined by the manifest's template, so a request reads one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy<'a> {
    /// The CORS allowlist.
    pub cors_allowed_origins: &'a str,
    /// Whether to write the access log (`request_log` is not `off`).
    pub request_log: bool,
    /// The HSTS header value, if any.
    pub hsts: Option<String>,
    /// Record one request in this many in the metrics (`metrics` variable; 0: off).
    pub metrics_every: u32,
}

impl<'a> HttpPolicy<'a> {
    /// Splits the joined value (missing parts: CORS off, log on, no HSTS, metrics on).
    pub fn parse(joined: &'a str) -> Self {
        let mut parts = joined.splitn(4, '|');
        let cors_allowed_origins = parts.next().unwrap_or_default();
        let request_log = parts.next().unwrap_or_default().trim() != "off";
        let hsts = hsts_value(parts.next().unwrap_or_default());
        let metrics_every = crate::metrics::parse_sampling(parts.next().unwrap_or_default());
        Self {
            cors_allowed_origins,
            request_log,
            hsts,
            metrics_every,
        }
    }
}

/// The `Strict-Transport-Security` value for the `hsts_max_age_secs` variable (`None`: off —
/// empty, `0` or not a number).
pub fn hsts_value(max_age: &str) -> Option<String> {
    match max_age.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Some(format!("max-age={secs}; includeSubDomains")),
        _ => None,
    }
}

/// Runs a handler and hands its response to the host in one piece (see [`send`]), with CORS
/// from the component's `cors_allowed_origins` variable, the access log unless `request_log` is
/// `off`, and HSTS when `hsts_max_age_secs` is set.
pub fn serve(
    req: &Request,
    out: ResponseOutparam,
    handler: impl FnOnce(&Call<'_>) -> Result<Response>,
) {
    let policy = spin_sdk::variables::get("http_policy").unwrap_or_default();
    let policy = HttpPolicy::parse(&policy);
    REQUEST_LOG.set(policy.request_log);
    HSTS.set(policy.hsts);
    crate::metrics::begin_request(policy.metrics_every);
    send(respond_cors(req, policy.cors_allowed_origins, handler), out);
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
pub fn respond_cors(
    req: &Request,
    allowlist: &str,
    handler: impl FnOnce(&Call<'_>) -> Result<Response>,
) -> Response {
    let origin = req
        .header("origin")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let enabled = !allowlist.trim().is_empty();
    let allowed = origin
        .as_deref()
        .is_some_and(|o| enabled && origin_allowed(allowlist, o));
    let preflight = *req.method() == Method::Options
        && origin.is_some()
        && req.header("access-control-request-method").is_some();
    let mut response = if preflight {
        if allowed {
            let mut r = Response::builder()
                .status(204)
                .header(
                    "access-control-allow-methods",
                    "GET, HEAD, POST, PUT, DELETE",
                )
                .header("access-control-allow-headers", CORS_ALLOW_HEADERS)
                .header("access-control-max-age", "600")
                .build();
            r.set_header("x-request-id", crate::idempotency::nonce(now_ms()));
            secure(r)
        } else {
            secure(problem(
                &LeaderboardError::Forbidden(format!(
                    "cross-origin requests from {} are not allowed",
                    origin.as_deref().unwrap_or("")
                )),
                req.path(),
            ))
        }
    } else {
        respond(req, handler)
    };
    if let (true, Some(o)) = (allowed, &origin) {
        response.set_header("access-control-allow-origin", o.clone());
        response.set_header("access-control-expose-headers", CORS_EXPOSE_HEADERS);
    }
    if enabled {
        let vary = match response.header("vary").and_then(|v| v.as_str()) {
            Some(existing) if !existing.is_empty() => format!("{existing}, Origin"),
            _ => "Origin".to_string(),
        };
        response.set_header("vary", vary);
    }
    response
}

#[cfg(test)]
mod cors_tests {
    use super::{HttpPolicy, origin_allowed};

    #[test]
    fn the_joined_policy_splits_into_its_three_settings() {
        let p = HttpPolicy::parse("https://a.example, https://b.example|json|31536000");
        assert_eq!(
            p.cors_allowed_origins,
            "https://a.example, https://b.example"
        );
        assert!(p.request_log);
        assert_eq!(
            p.hsts.as_deref(),
            Some("max-age=31536000; includeSubDomains")
        );
        let p = HttpPolicy::parse("|off|");
        assert_eq!(
            (p.cors_allowed_origins, p.request_log, p.hsts),
            ("", false, None)
        );
        let p = HttpPolicy::parse("");
        assert_eq!(
            (p.cors_allowed_origins, p.request_log, p.hsts),
            ("", true, None)
        );
        assert_eq!(HttpPolicy::parse("||0").hsts, None);
    }

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

/// Hands a response to the host with its whole body already written and finished, and a
/// `Content-Length`.
///
/// spin-sdk's default path sets the response (the host may now write the status line and headers
/// to the socket) and only then writes the body. Spin does not set `TCP_NODELAY`, so when the host
/// writes the headers before the body arrives, Nagle's algorithm holds the body segment until the
/// client acknowledges the headers, and a client with delayed ACKs waits ~40 ms to do so: every
/// keep-alive response stalls. Writing the body first means the host sees headers, body and its end
/// at once and sends them in one segment. A body the host's buffer cannot take whole (more than
/// one of its chunks, 1 MiB) is finished after the response is set instead, without stalling.
pub fn send(mut response: Response, out: ResponseOutparam) {
    let body = std::mem::take(response.body_mut());
    let status = *response.status();
    if !(status == 204 || status == 304 || (100..200).contains(&status)) {
        response.set_header("content-length", body.len().to_string());
    }
    let outgoing = match OutgoingResponse::try_from(response) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("response: cannot convert: {e}");
            return;
        }
    };
    let Ok(outgoing_body) = outgoing.body() else {
        eprintln!("response: body already taken");
        return;
    };
    let Ok(stream) = outgoing_body.write() else {
        eprintln!("response: body stream already taken");
        return;
    };
    // Write what the host can buffer now; when it can take no more, set the response (the host
    // starts sending) and wait for room for the rest.
    let mut rest: &[u8] = &body;
    let mut pending = Some((out, outgoing));
    while !rest.is_empty() {
        let room = match stream.check_write() {
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Err(_) => return, // the client has gone
        };
        if room == 0 {
            match pending.take() {
                Some((out, outgoing)) => ResponseOutparam::set(out, outgoing),
                None => stream.subscribe().block(),
            }
            continue;
        }
        let (now, later) = rest.split_at(room.min(rest.len()));
        if stream.write(now).is_err() {
            return;
        }
        rest = later;
    }
    drop(stream);
    if OutgoingBody::finish(outgoing_body, None).is_err() {
        eprintln!("response: body length does not match content-length");
    }
    if let Some((out, outgoing)) = pending {
        ResponseOutparam::set(out, outgoing);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("a%20b+c"), "a b c");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%2"), "%2");
    }
}

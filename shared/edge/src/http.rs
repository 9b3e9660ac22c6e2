//! The request and its answers, as handlers see them: the parsed request ([`Call`]), strict JSON
//! bodies, JSON and problem responses. One mapping from [`LeaderboardError`] to a response lives
//! here. Serving a request (CORS, the access log, metrics, compression, sending) is
//! [`crate::serve`].

use std::collections::BTreeMap;

pub use crate::message::{Headers, Method, Request, Response, ResponseBuilder, response};
use crate::scope;
use leaderboard::board::view::ApiVersion;
use leaderboard::http::operation::{Operation, Route};
use leaderboard::http::routes::RouteMatch;
use leaderboard::{LeaderboardError, PROBLEM_CONTENT_TYPE, Problem, Result};
use serde::de::DeserializeOwned;

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
    /// The app's route the path takes (`leaderboard::http::routes`): its route as written (e.g.
    /// `/api/:v/boards/:board/entries`, what the access log and the metrics name it by), its
    /// component, and its named segments as the path has them (percent-encoded).
    route: RouteMatch,
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
    pub trace: leaderboard::http::trace::TraceContext,
    /// The tenant, once the handler resolved it (for the access log).
    tenant: std::cell::RefCell<Option<String>>,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Percent-decodes a path segment or query component (`+` is a space), never failing: a
/// malformed escape is kept as written.
fn decode(s: &str) -> String {
    percent_decode(s, true)
}

/// Percent-decodes `s`, never failing: an escape is `%` and exactly two hex digits (`%+1` is no
/// escape), a malformed one is kept as written, and bytes that are not UTF-8 become U+FFFD. With
/// `plus_is_space`, `+` is a space (a query component); without, it stays (a name the caller
/// takes from the path as it was sent, e.g. a flag key).
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
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
            (b'+', None) if plus_is_space => {
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

/// The request's span: a child of its `traceparent` when it carries a valid one, else a new
/// trace.
pub(crate) fn trace_of(req: &Request) -> leaderboard::http::trace::TraceContext {
    let header = req.header("traceparent");
    leaderboard::http::trace::TraceContext::for_request(header, scope::random_u64)
}

impl<'a> Call<'a> {
    /// Parses the request; an unknown API version is a 404. Its route, named segments and
    /// wildcard rest are the app's route table's ([`leaderboard::http::routes`]), not the
    /// manifest trigger's that brought it here: the triggers are broader than the table.
    pub fn parse(req: &'a Request) -> Result<Self> {
        let path = req.uri().path().to_string();
        let route = leaderboard::http::routes::of_path(&path);
        // The `:v` of `/api/:v/…` routes; routes outside the versioned API speak v1.
        let version_segment = route
            .params
            .get("v")
            .cloned()
            .or_else(|| {
                path.strip_prefix("/api/")
                    .map(|rest| rest.split('/').next().unwrap_or("").to_string())
            })
            .unwrap_or_else(|| "v1".to_string());
        let accept = req.header("accept");
        let version = ApiVersion::negotiate(&version_segment, accept)?;
        let rest = route
            .path_info
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect();
        let query = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        let now_ms = scope::now_ms();
        let request_id = req
            .header("x-request-id")
            .filter(|id| leaderboard::events::idempotency::validate_key(id).is_ok())
            .map_or_else(|| scope::nonce(now_ms), str::to_string);
        Ok(Self {
            req,
            version,
            path,
            route,
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

    /// [`Call::add_header`], replacing a field of the same name added before (a request that
    /// passes the rate limits once per GraphQL root field answers with the last state).
    pub fn set_header(&self, name: &'static str, value: String) {
        let mut headers = self.extra_headers.borrow_mut();
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value));
    }

    /// The request's route as the access log and the metrics name it: the app's route it takes.
    pub fn route_label(&self) -> &str {
        &self.route.raw_route
    }

    /// A named segment of the request's route (`:board`), percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.route.params.get(name).map(|v| decode(v))
    }

    /// `Ok` when the app's route table gives the request to `component`; else the `404` the
    /// table's component answers a path it does not serve. The manifest's triggers are broader
    /// than the table (`/api/...` brings unknown API paths to `boards`,
    /// `/api/:v/boards/:board/...` a board's to `scores`), and a path of no route of the table
    /// is the root catch-all's (`health`): its answer is the same in every component. A request
    /// Spin brings by `/...` is trusted as it is: the catch-all's own, or one another component
    /// sent by service chaining (`http://flags.spin.internal/…`), which Spin mounts at `/...`.
    /// (A client cannot pass as one: Spin adds its `spin-*` fields after the client's, and
    /// [`Headers::header`] reads a field's last value.)
    pub fn served_by(&self, component: &str) -> Result<()> {
        let chained_or_root = self.req.header("spin-matched-route") == Some("/...");
        if chained_or_root || self.route.component == component {
            Ok(())
        } else {
            Err(self.not_found())
        }
    }

    /// `If-None-Match` with the compressed representations' ETags in their plain form
    /// ([`crate::compress`]): what handlers compare with the ETags they compute.
    pub fn if_none_match(&self) -> Option<String> {
        self.header("if-none-match")
            .map(crate::compress::strip_gzip_suffix)
    }

    /// Takes the header fields handlers added ([`Call::add_header`]), for the response.
    pub(crate) fn take_extra_headers(&self) -> Vec<(&'static str, String)> {
        self.extra_headers.take()
    }

    /// Takes the tenant the handler resolved ([`Call::note_tenant`]), for the access log.
    pub(crate) fn take_tenant(&self) -> Option<String> {
        self.tenant.take()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.req.header(name)
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
        json_body(body)
    }

    /// What the operation table makes of the request ([`Operation::route`]).
    pub fn route(&self) -> Route {
        Operation::route(self.method().as_str(), &self.path)
    }

    /// The operation `route` (the request's [`Call::route`]) runs, or its `405` (the methods
    /// of the path's rows in `Allow`) or `404`.
    pub fn operation(&self, route: Route) -> Result<Operation> {
        match route {
            Route::Runs(op) => Ok(op),
            Route::MethodNotAllowed(allowed) => Err(self.method_not_allowed(&allowed)),
            Route::NotFound => Err(self.not_found()),
        }
    }

    /// `404`, naming the path.
    pub fn not_found(&self) -> LeaderboardError {
        LeaderboardError::NotFound(format!("no such resource: {}", self.path))
    }

    /// Fails with 405 naming the allowed methods (the response also carries them in `Allow`).
    pub fn method_not_allowed(&self, allowed: &str) -> LeaderboardError {
        LeaderboardError::MethodNotAllowed {
            detail: format!("{} is not allowed on {}", self.method(), self.path),
            allowed: allowed.to_string(),
        }
    }
}

/// Reads a JSON body as a `T`; the error's detail names the field a wrong value is in
/// (`field 'sort': unknown variant …`, which serde_json alone does not) and says plainly when
/// the text is not JSON at all.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| body_error(&e.path().to_string(), e.inner()))?;
    de.end().map_err(|e| body_error("", &e))?;
    Ok(value)
}

/// Reads an already-parsed JSON value as a `T`, with the same details as [`json_body`].
pub fn json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| body_error(&e.path().to_string(), e.inner()))
}

/// How deep serde_json nests JSON before it refuses it (its recursion limit).
const MAX_JSON_DEPTH: usize = 128;

/// The `invalid-body` problem for a JSON error at `path` (`.` or `?`: the whole body). Its
/// detail reads `invalid request body: <this>`, so it does not repeat that it is about the body.
fn body_error(path: &str, err: &serde_json::Error) -> LeaderboardError {
    use serde_json::error::Category;
    let at = format!("line {} column {}", err.line(), err.column());
    let message = err.to_string();
    LeaderboardError::InvalidBody(match err.classify() {
        Category::Eof => format!("the JSON ends before it is complete ({at})"),
        // Valid JSON that serde_json will not read, which it files as syntax errors.
        Category::Syntax if message.starts_with("recursion limit exceeded") => {
            format!("the JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels; {at})")
        }
        Category::Syntax if message.starts_with("number out of range") => {
            format!("a number is out of range ({at})")
        }
        Category::Syntax | Category::Io => format!("the body is not valid JSON: {message}"),
        Category::Data if matches!(path, "" | "." | "?") => message,
        Category::Data => format!("field '{path}': {message}"),
    })
}

/// A JSON response with the version's content type.
pub fn json(status: u16, version: ApiVersion, body: &serde_json::Value) -> Response {
    json_text(status, version, body.to_string(), &[])
}

/// A JSON response of a typed answer (one every door shows: REST serialises it here).
pub fn json_of<T: serde::Serialize>(
    status: u16,
    version: ApiVersion,
    body: &T,
) -> Result<Response> {
    let text = serde_json::to_string(body)
        .map_err(|e| LeaderboardError::Internal(format!("an answer not written as JSON: {e}")))?;
    Ok(json_text(status, version, text, &[]))
}

/// A JSON response from already-serialised text, with extra headers.
pub fn json_text(
    status: u16,
    version: ApiVersion,
    body: String,
    headers: &[(&str, String)],
) -> Response {
    ResponseBuilder::new(status)
        .header("content-type", version.content_type())
        .headers(headers.iter().map(|(k, v)| (k, v)))
        .body(body)
}

/// The problem response for an error (RFC 9457), with `Retry-After` for 429/503, its title in
/// the language `accept_language` asks for ([`leaderboard::http::i18n`]), `Content-Language` saying
/// which and `Vary: Accept-Language`.
pub fn problem(err: &LeaderboardError, instance: &str, accept_language: Option<&str>) -> Response {
    let lang = leaderboard::http::i18n::negotiate(accept_language);
    let p = Problem::localized(err, lang).with_instance(instance);
    let mut b = ResponseBuilder::new(err.status())
        .header("content-type", PROBLEM_CONTENT_TYPE)
        .header("content-language", lang.tag())
        // A 404 is cacheable by default: a shared cache must keep one copy per language.
        .header("vary", "Accept-Language");
    b = match err {
        LeaderboardError::RateLimited {
            retry_after_secs, ..
        } => b.header("retry-after", retry_after_secs.to_string()),
        LeaderboardError::Unavailable(_) => {
            let secs = scope::take_retry_after().unwrap_or(1);
            b.header("retry-after", secs.to_string())
        }
        LeaderboardError::IdempotencyInProgress(_) => b.header("retry-after", "1"),
        LeaderboardError::Unauthorized(_) => b.header("www-authenticate", "Bearer"),
        _ => b,
    };
    if let Some(allowed) = err.allow() {
        b = b.header("allow", allowed);
    }
    b.body(p.to_json())
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
        // Exactly two hex digits: a sign is no digit (u8::from_str_radix would take "+1").
        assert_eq!(decode("%+1x"), "% 1x");
        assert_eq!(percent_decode("%+1x", false), "%+1x");
        assert_eq!(percent_decode("a+b%2Fc", false), "a+b/c");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Shape {
        player: String,
        sort: Sort,
        inner: Option<Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Sort {
        Desc,
        Asc,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    fn detail(body: &str) -> String {
        match json_body::<Shape>(body.as_bytes()) {
            Err(LeaderboardError::InvalidBody(d)) => d,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn a_body_error_says_what_is_wrong_once_and_names_the_field() {
        assert_eq!(
            detail(r#"{"player":"a","sort":"ascending"}"#),
            "field 'sort': unknown variant `ascending`, expected `desc` or `asc` at line 1 column 32"
        );
        assert_eq!(
            detail(r#"{"player":"a","sort":"asc","inner":{"n":300}}"#),
            "field 'inner.n': invalid value: integer `300`, expected u8 at line 1 column 43"
        );
        assert_eq!(
            detail(r#"{"sort":"asc"}"#),
            "missing field `player` at line 1 column 14"
        );
        assert_eq!(
            detail(r#"{"player":"a","#),
            "the JSON ends before it is complete (line 1 column 14)"
        );
        assert_eq!(
            detail(r#"{"player":"a"]"#),
            "the body is not valid JSON: expected `,` or `}` at line 1 column 14"
        );
        assert_eq!(
            detail(r#"{"player":"a","sort":"asc"} x"#),
            "the body is not valid JSON: trailing characters at line 1 column 29"
        );
        match json_body::<serde_json::Value>(b"[1e999]") {
            Err(LeaderboardError::InvalidBody(d)) => {
                assert_eq!(d, "a number is out of range (line 1 column 6)");
            }
            other => panic!("{other:?}"),
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        match json_body::<serde_json::Value>(deep.as_bytes()) {
            Err(LeaderboardError::InvalidBody(d)) => {
                assert!(
                    d.starts_with("the JSON is nested too deeply (at most 128 levels"),
                    "{d}"
                );
            }
            other => panic!("{other:?}"),
        }
        for (body, field) in [(r#"{"player":1}"#, "player"), (r#"{"x":1}"#, "x")] {
            assert!(!detail(body).contains("?:"), "{body}: {}", detail(body));
            assert!(detail(body).contains(field), "{body}");
        }
        let value = serde_json::json!({"player": "a", "sort": "up"});
        match json_value::<Shape>(value) {
            Err(LeaderboardError::InvalidBody(d)) => assert_eq!(
                d,
                "field 'sort': unknown variant `up`, expected `desc` or `asc`"
            ),
            other => panic!("{other:?}"),
        }
    }
}

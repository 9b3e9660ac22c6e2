//! W3C Trace Context (`traceparent`) for requests, and the JSON access-log line.
//!
//! Every request joins the caller's trace when it sends a valid `traceparent`
//! (`<version>-<trace-id>-<parent-id>-<flags>`, lowercase hex; version `ff`, an all-zero trace or
//! parent id, or a malformed field make it invalid, and a fresh trace is started instead, as the
//! specification says). The request is one span of that trace: the response's `traceparent`
//! names the same trace with the request's own span id, and outbound calls the request makes
//! carry that too, so their spans are children of it.

use serde_json::{Value, json};

/// A request's place in a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits, not all zero.
    pub trace_id: String,
    /// The caller's span (16 hex digits), when it sent one.
    pub parent_id: Option<String>,
    /// This request's span: 16 hex digits, not all zero.
    pub span_id: String,
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn nonzero(s: &str) -> bool {
    s.bytes().any(|b| b != b'0')
}

/// Parses a `traceparent` header: `(trace id, parent id, flags)`, `None` when it is invalid.
/// Versions above `00` are read by their first four fields (the specification's forward
/// compatibility); version `00` must have exactly those.
pub fn parse_traceparent(raw: &str) -> Option<(String, String, u8)> {
    let raw = raw.trim();
    let mut parts = raw.split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let parent = parts.next()?;
    let flags = parts.next()?;
    if !is_hex(version, 2) || version == "ff" {
        return None;
    }
    if version == "00" && (parts.next().is_some() || raw.len() != 55) {
        return None;
    }
    if !(is_hex(trace, 32) && nonzero(trace) && is_hex(parent, 16) && nonzero(parent)) {
        return None;
    }
    if !is_hex(flags, 2) {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some((trace.to_string(), parent.to_string(), flags))
}

impl TraceContext {
    /// The request's context: joins `header` when valid, else starts a trace. `random` gives
    /// fresh 64-bit values (the span id, and the trace id when one is started); a zero is
    /// replaced, since ids must not be all zero.
    pub fn for_request(header: Option<&str>, mut random: impl FnMut() -> u64) -> Self {
        let mut id = || match random() {
            0 => 1,
            n => n,
        };
        let span_id = format!("{:016x}", id());
        match header.and_then(parse_traceparent) {
            Some((trace_id, parent, flags)) => Self {
                trace_id,
                parent_id: Some(parent),
                span_id,
                flags,
            },
            None => Self {
                trace_id: format!("{:016x}{:016x}", id(), id()),
                parent_id: None,
                span_id,
                // Started here: sampled, so downstream tracers keep it.
                flags: 1,
            },
        }
    }

    /// The `traceparent` naming this request's span (the response's, and outbound calls').
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.flags)
    }
}

/// The host calls one request made, by kind: what a route costs beyond its own computation.
/// Every variable read, KV store open, KV read and write, outbound Redis connection and command,
/// and chained request to another component counts once (a batch call is one call).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCalls {
    /// Variable reads.
    pub variable: u32,
    /// KV store opens.
    pub kv_open: u32,
    /// KV reads (`get`, `exists`, `get_many`, a CAS's read).
    pub kv_read: u32,
    /// KV writes (`set`, `delete`, `increment`, the `*_many` writes, a CAS's swap).
    pub kv_write: u32,
    /// Outbound Redis connections opened.
    pub redis_open: u32,
    /// Outbound Redis commands (a script call is one).
    pub redis_command: u32,
    /// Outbound HTTP requests (service chaining to another component).
    pub http: u32,
}

impl HostCalls {
    /// `{"variable": n, "kv_open": n, …}`.
    pub fn to_json(&self) -> Value {
        json!({
            "variable": self.variable,
            "kv_open": self.kv_open,
            "kv_read": self.kv_read,
            "kv_write": self.kv_write,
            "redis_open": self.redis_open,
            "redis_command": self.redis_command,
            "http": self.http,
        })
    }

    /// All of them.
    pub fn total(&self) -> u32 {
        self.variable
            + self.kv_open
            + self.kv_read
            + self.kv_write
            + self.redis_open
            + self.redis_command
            + self.http
    }
}

/// One request as the access log records it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRecord<'a> {
    /// The host calls the request made (see [`HostCalls`]).
    pub host_calls: HostCalls,
    /// Unix ms when the request arrived.
    pub at_ms: i64,
    /// Method.
    pub method: &'a str,
    /// The route pattern that matched (`/api/:v/boards/:board/entries`), when known.
    pub route: Option<&'a str>,
    /// The path, without the query string (which may carry cursors or as-of ids).
    pub path: &'a str,
    /// Response status.
    pub status: u16,
    /// Time in the component, ms.
    pub duration_ms: f64,
    /// The tenant, once known.
    pub tenant: Option<&'a str>,
    /// `X-Cache` of the response (HIT, MISS, STALE), if any.
    pub cache: Option<&'a str>,
    /// The request id (`X-Request-Id`).
    pub request_id: &'a str,
    /// The trace.
    pub trace: &'a TraceContext,
    /// For error responses: the problem type slug.
    pub problem: Option<&'a str>,
    /// The instance that served it (an id drawn when it started) and how many requests it had
    /// begun, this one included: how the host reuses instances (a p2 instance serves one
    /// request, a p3 one many, some at once).
    pub instance: Option<(&'a str, u32)>,
    /// What the request did for its region beyond its own work (a stale regional copy fetched
    /// again, the stall canary, the cluster's slot map read): its host calls are in
    /// `host_calls`. Logged only when there is some.
    pub upkeep: &'a [&'a str],
}

impl AccessRecord<'_> {
    /// The log line: one JSON object. It never holds credentials: no headers, no query string,
    /// no bodies.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "ts": chrono::DateTime::from_timestamp_millis(self.at_ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "level": if self.status >= 500 { "error" } else if self.status >= 400 { "warn" } else { "info" },
            "msg": "request",
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": (self.duration_ms * 1000.0).round() / 1000.0,
            "request_id": self.request_id,
            "trace_id": self.trace.trace_id,
            "span_id": self.trace.span_id,
            "host_calls": self.host_calls.to_json(),
        });
        let mut put = |k: &str, x: Option<&str>| {
            if let Some(x) = x {
                v[k] = Value::String(x.to_string());
            }
        };
        put("route", self.route);
        put("tenant", self.tenant);
        put("cache", self.cache);
        put("parent_span_id", self.trace.parent_id.as_deref());
        put("problem", self.problem);
        if let Some((id, n)) = self.instance {
            v["instance"] = Value::String(id.to_string());
            v["instance_request"] = Value::from(n);
        }
        if !self.upkeep.is_empty() {
            v["upkeep"] = json!(self.upkeep);
        }
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn valid_headers_are_joined() {
        let (t, p, f) = parse_traceparent(VALID).unwrap();
        assert_eq!(t, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(p, "00f067aa0ba902b7");
        assert_eq!(f, 1);
        let mut n = 0u64;
        let ctx = TraceContext::for_request(Some(VALID), || {
            n += 1;
            n
        });
        assert_eq!(ctx.trace_id, t);
        assert_eq!(ctx.parent_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!(
            ctx.traceparent(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000001-01"
        );
        // A future version with more fields is read by its first four.
        assert!(
            parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever")
                .is_some()
        );
    }

    #[test]
    fn invalid_headers_start_a_new_trace() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1g",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
        let ctx = TraceContext::for_request(Some("garbage"), || 0xab);
        assert_eq!(ctx.trace_id, "00000000000000ab00000000000000ab");
        assert_eq!(ctx.parent_id, None);
        assert_eq!(ctx.flags, 1);
        // Zero is never an id.
        let ctx = TraceContext::for_request(None, || 0);
        assert!(nonzero(&ctx.trace_id) && nonzero(&ctx.span_id));
        assert!(parse_traceparent(&ctx.traceparent()).is_some());
    }

    #[test]
    fn the_log_line_holds_what_an_operator_needs_and_no_secrets() {
        let trace = TraceContext::for_request(Some(VALID), || 7);
        let line = AccessRecord {
            host_calls: HostCalls {
                variable: 2,
                kv_open: 1,
                kv_read: 1,
                ..HostCalls::default()
            },
            at_ms: 1_795_000_000_000,
            method: "GET",
            route: Some("/api/:v/boards/:board/entries"),
            path: "/api/v1/boards/arena/entries",
            status: 200,
            duration_ms: 1.23456,
            tenant: Some("acme"),
            cache: Some("HIT"),
            request_id: "r1",
            trace: &trace,
            problem: None,
            instance: Some(("1f2e3d4c5b6a7988", 3)),
            upkeep: &[],
        }
        .to_json();
        assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            (&line["instance"], &line["instance_request"]),
            (&json!("1f2e3d4c5b6a7988"), &json!(3))
        );
        assert_eq!(line["parent_span_id"], "00f067aa0ba902b7");
        assert_eq!(line["duration_ms"], 1.235);
        assert_eq!(line["level"], "info");
        assert_eq!(line["cache"], "HIT");
        assert_eq!(line["ts"], "2026-11-18T11:06:40.000Z");
        assert!(line.get("problem").is_none());
        assert!(line.get("upkeep").is_none(), "none done: not logged");
        assert_eq!(
            line["host_calls"],
            json!({"variable": 2, "kv_open": 1, "kv_read": 1, "kv_write": 0,
                "redis_open": 0, "redis_command": 0, "http": 0})
        );
    }

    #[test]
    fn the_log_line_lists_the_upkeep_the_request_did_for_its_region() {
        let trace = TraceContext::for_request(None, || 7);
        let upkeep = ["board config", "stall canary"];
        let line = AccessRecord {
            host_calls: HostCalls::default(),
            at_ms: 1_795_000_000_000,
            method: "POST",
            route: None,
            path: "/api/v1/boards/arena/scores",
            status: 200,
            duration_ms: 1.0,
            tenant: None,
            cache: None,
            request_id: "r2",
            trace: &trace,
            problem: None,
            instance: None,
            upkeep: &upkeep,
        }
        .to_json();
        assert_eq!(line["upkeep"], json!(["board config", "stall canary"]));
    }
}

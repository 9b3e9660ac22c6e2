//! Outbound HTTP to the outside (webhook deliveries): `POST`s with a deadline, on
//! `wasi:http/outgoing-handler` directly, because spin-sdk 5.2's `send` takes no request options.
//!
//! [`post_all`] sends several requests at once and waits on all of them together, so one slow
//! receiver costs a batch its timeout once, not once per message. Spin 4 sets no limit on a
//! guest's concurrent outbound requests by default (its runtime config can).
//!
//! The deadline holds twice: each request carries it as its connect, first-byte and between-bytes
//! timeouts (Spin 4 and wasmtime-wasi-http apply them), and the guest waits on the responses
//! together with a monotonic-clock timer per request, so a host that ignored the options still
//! cannot hold the guest past it. Every request carries `Content-Length` (never a chunked
//! body). A receiver's answer counts even when the host stopped taking the body first (one that
//! answers once it has read `Content-Length` bytes may close before the guest finishes the body).
//! Only the status and `Retry-After` are read; bodies are dropped unread. The host refuses a
//! destination outside the component's `allowed_outbound_hosts` (`HttpRequestDenied`).

/// What the receiver answered, or why there is no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A status and the `Retry-After` seconds, if it sent a number.
    Status(u16, Option<u64>),
    /// Nothing within the deadline.
    Timeout,
    /// The request could not be made (refused by the host, DNS, connection, TLS, protocol).
    Failed(String),
}

/// A request's method: `POST` (a webhook, a push tier's publish) or `DELETE` (closing a push
/// tier's channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `POST`, with the body.
    Post,
    /// `DELETE` (the body is sent as given: empty for a channel's close).
    Delete,
}

/// One request to make (a `POST` unless [`Post::verb`] says otherwise).
#[derive(Debug, Clone)]
pub struct Post<'a> {
    /// `POST` or `DELETE`.
    pub verb: Verb,
    /// Absolute `http` or `https` URL.
    pub url: &'a str,
    /// Request headers.
    pub headers: Vec<(&'static str, String)>,
    /// Request body.
    pub body: &'a [u8],
}

/// The answer to one [`Post`] and how long it took (ms, from the batch's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// What came back.
    pub answer: Answer,
    /// Time until the answer (or the failure).
    pub elapsed_ms: u64,
}

#[cfg(all(target_arch = "wasm32", feature = "p2"))]
#[path = "outbound/p2.rs"]
mod host;
#[cfg(all(target_arch = "wasm32", feature = "p3"))]
#[path = "outbound/p3.rs"]
mod host;

/// Sends every post at once and waits for all of them, each at most `timeout_ms`. The answers
/// are in the posts' order.
#[cfg(target_arch = "wasm32")]
pub async fn post_all(posts: &[Post<'_>], timeout_ms: u64) -> Vec<Sent> {
    host::post_all(posts, timeout_ms).await
}

/// Natively (the benchmark's baseline server) there is no outbound HTTP.
#[cfg(not(target_arch = "wasm32"))]
pub async fn post_all(posts: &[Post<'_>], _timeout_ms: u64) -> Vec<Sent> {
    posts
        .iter()
        .map(|_| Sent {
            answer: Answer::Failed("outbound HTTP needs a WebAssembly host".into()),
            elapsed_ms: 0,
        })
        .collect()
}

/// The request's headers with its body's length as `Content-Length` (any other dropped): without
/// it the host streams the body chunked, and a receiver that reads `Content-Length` bytes
/// (Python's `http.server`, many gateways) sees an empty body and every signature check fails.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn headers_with_length(post: &Post<'_>) -> Vec<(String, Vec<u8>)> {
    post.headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-length"))
        .map(|(k, v)| ((*k).to_string(), v.as_bytes().to_vec()))
        .chain([(
            "content-length".to_string(),
            post.body.len().to_string().into_bytes(),
        )])
        .collect()
}

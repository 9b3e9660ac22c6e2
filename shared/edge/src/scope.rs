//! The request being served, as every layer sees it: the clock and fresh nonces, and the few
//! values one request sets for the layers below it to read — the `traceparent` outbound calls
//! carry ([`crate::platform`]), and the `Retry-After` its `503` carries when a lower layer knows
//! better than the default (the open circuit breaker: the time it has left).
//!
//! A component instance serves one request at a time, so the values are thread-locals, set at the
//! start of each request by [`crate::serve`].

use std::cell::{Cell, RefCell};

use leaderboard::http::trace::HostCalls;

thread_local! {
    static HOST_CALLS: Cell<HostCalls> = const { Cell::new(HostCalls {
        variable: 0, kv_open: 0, kv_read: 0, kv_write: 0, redis_open: 0, redis_command: 0, http: 0,
    }) };
    static TRACEPARENT: RefCell<Option<String>> = const { RefCell::new(None) };
    static RETRY_AFTER: Cell<Option<u64>> = const { Cell::new(None) };
    static STALE_COPIES: Cell<u32> = const { Cell::new(0) };
}

/// The current wall-clock time in Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `n` bytes from the host's random source: `wasi:random`'s `get-random-bytes` in a component
/// (Spin and edge-host back it with the operating system's CSPRNG), the operating system's
/// (`getrandom`) natively. The one place that talks to it.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    #[cfg(target_arch = "wasm32")]
    {
        let len = u64::try_from(n).map_err(|e| e.to_string())?;
        Ok(wasi::random::random::get_random_bytes(len))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut bytes = vec![0; n];
        getrandom::getrandom(&mut bytes).map_err(|e| e.to_string())?;
        Ok(bytes)
    }
}

/// A random 64-bit value from [`random_bytes`]. For what it draws (ids, jitter, sampling), never
/// a secret: when the source fails (only natively, without entropy) the error is logged and a
/// hasher's per-process seed stands in. (std's `RandomState` alone, used before, is seeded once
/// per thread and then only incremented: not a random source.)
pub fn random_u64() -> u64 {
    match random_bytes(8).map(|b| <[u8; 8]>::try_from(b.as_slice()).map(u64::from_le_bytes)) {
        Ok(Ok(v)) => v,
        failed => {
            eprintln!("the host's random source failed ({failed:?}); using a hasher's seed");
            std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8)
        }
    }
}

/// A unique token: the time (hex ms) and 64 random bits. It names a request that brought no
/// `X-Request-Id`, tells an attempt's `Idempotency-Key` reservation apart from a retry's, makes
/// each rate-limit write unique, and names scratch keys.
pub fn nonce(now_ms: i64) -> String {
    format!("{now_ms:x}-{:016x}", random_u64())
}

/// Starts a request: forgets the previous request's values.
pub fn begin_request() {
    RETRY_AFTER.set(None);
    TRACEPARENT.set(None);
    STALE_COPIES.set(0);
}

/// Notes that this request could not drop a cached copy after a write (an edge-cache
/// invalidation, its announcement to the other regions, or a remembered value's `forget`): the
/// copy is served until its TTL. Counted in `/metrics` (`lb_cache_invalidation_failures_total`)
/// when the request is recorded.
pub fn note_stale_copy() {
    STALE_COPIES.set(STALE_COPIES.get().saturating_add(1));
}

/// How many cached copies this request could not drop ([`note_stale_copy`]), taken once.
pub fn take_stale_copies() -> u32 {
    STALE_COPIES.take()
}

/// Names the span of the request being served (its `traceparent`).
pub fn set_traceparent(traceparent: String) {
    TRACEPARENT.set(Some(traceparent));
}

/// The `traceparent` naming the span of the request being served: outbound HTTP calls send it
/// (`platform::Spin::post_internal`), so their spans join the request's trace.
pub fn traceparent() -> Option<String> {
    TRACEPARENT.with_borrow(Clone::clone)
}

/// Sets the `Retry-After` (seconds) of this request's `503` problem, if it ends in one.
pub fn set_retry_after(secs: u64) {
    RETRY_AFTER.set(Some(secs));
}

/// The `Retry-After` a lower layer set for this request's `503`, taken once.
pub fn take_retry_after() -> Option<u64> {
    RETRY_AFTER.take()
}

/// A kind of host call (see [`HostCalls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCall {
    /// A variable read.
    Variable,
    /// A KV store open.
    KvOpen,
    /// A KV read.
    KvRead,
    /// A KV write.
    KvWrite,
    /// An outbound Redis connection.
    RedisOpen,
    /// An outbound Redis command.
    RedisCommand,
    /// An outbound HTTP request.
    Http,
}

/// Starts counting a request's host calls from zero (before its first one: the component's
/// entry point, `serve::serve_streaming`, reads a variable before [`begin_request`]).
pub fn reset_host_calls() {
    HOST_CALLS.set(HostCalls::default());
}

/// Counts one host call of the request being served.
pub fn count(call: HostCall) {
    let mut c = HOST_CALLS.get();
    let n = match call {
        HostCall::Variable => &mut c.variable,
        HostCall::KvOpen => &mut c.kv_open,
        HostCall::KvRead => &mut c.kv_read,
        HostCall::KvWrite => &mut c.kv_write,
        HostCall::RedisOpen => &mut c.redis_open,
        HostCall::RedisCommand => &mut c.redis_command,
        HostCall::Http => &mut c.http,
    };
    *n = n.saturating_add(1);
    HOST_CALLS.set(c);
}

/// The host calls the request being served has made so far.
pub fn host_calls() -> HostCalls {
    HOST_CALLS.get()
}

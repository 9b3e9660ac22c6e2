//! The request being served, as every layer sees it: the clock and fresh nonces, and the few
//! values one request sets for the layers below it to read — the `traceparent` outbound calls
//! carry ([`crate::platform`]), and the `Retry-After` its `503` carries when a lower layer knows
//! better than the default (the open circuit breaker: the time it has left) — with the other
//! layers' per-request notes ([`Locals`]).
//!
//! Those values are the request's own even when one instance serves several requests at once
//! (a WASIp3 instance): they live in one thread-local that holds the values of the request being
//! polled, and [`scoped`] wraps a request's future so that its own values are put in place each
//! time it is polled and taken out when it yields. A component is single-threaded and polls one
//! future at a time, so this is a task-local, as `tokio::task_local!` makes one (written here:
//! tokio's runtime does not come into a component for it).

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

use leaderboard::http::trace::HostCalls;

/// What one request keeps while it is served, for the layers that note or read it.
#[derive(Debug, Default)]
pub(crate) struct Locals {
    host_calls: HostCalls,
    /// What the request did for its region beyond its own work ([`note_upkeep`]).
    upkeep: Vec<&'static str>,
    traceparent: Option<String>,
    retry_after: Option<u64>,
    stale_copies: u32,
    /// Redis already failed in this request ([`crate::breaker`]).
    pub(crate) redis_failed: bool,
    /// Record one request in this many (0: off) ([`crate::metrics`]).
    pub(crate) metrics_every: u32,
    /// The submission outcome of the request ([`crate::metrics`]).
    pub(crate) outcome: &'static str,
    /// Counters the handler added ([`crate::metrics`]).
    pub(crate) extra_counters: Vec<(String, i64)>,
    /// Whether the access-log line is written ([`crate::serve`]).
    pub(crate) request_log: bool,
    /// The `Strict-Transport-Security` value, if any ([`crate::serve`]).
    pub(crate) hsts: Option<String>,
    /// The variable bundles read and their parts ([`crate::platform`]).
    pub(crate) bundles_read: Vec<(&'static str, Option<Vec<String>>)>,
    /// The KV values read ahead: `(store label, key, value)` ([`crate::platform`]).
    pub(crate) read_ahead: Vec<(String, String, Option<Vec<u8>>)>,
    /// The instance serving the request and the request's number in it ([`instance_request`]).
    pub(crate) instance: Option<(String, u32)>,
}

thread_local! {
    /// The values of the request being polled.
    static LOCALS: RefCell<Locals> = RefCell::new(Locals::default());
}

/// Runs `f` on the values of the request being served. `f` must not call `with` again.
pub(crate) fn with<R>(f: impl FnOnce(&mut Locals) -> R) -> R {
    LOCALS.with_borrow_mut(f)
}

/// A request's future with values of its own ([`scoped`]).
pub struct Scoped<F> {
    locals: Locals,
    /// `None` once dropped.
    future: Option<Pin<Box<F>>>,
}

/// Wraps a request's (or a Redis message's) handling so that it sees only its own [`Locals`],
/// however many others the instance polls between its steps; they start empty.
pub fn scoped<F: Future>(future: F) -> Scoped<F> {
    Scoped {
        locals: Locals::default(),
        future: Some(Box::pin(future)),
    }
}

/// [`scoped`] with the values a request noted so far ([`take`]): a stream's body, run by a task
/// of its own after its head was answered, goes on with its request's.
#[cfg_attr(not(feature = "p3"), allow(dead_code))]
pub(crate) fn scoped_with<F: Future>(locals: Locals, future: F) -> Scoped<F> {
    Scoped {
        locals,
        future: Some(Box::pin(future)),
    }
}

/// Takes the values of the request being served (it has answered), to hand them on
/// ([`scoped_with`]).
#[cfg_attr(not(feature = "p3"), allow(dead_code))]
pub(crate) fn take() -> Locals {
    with(std::mem::take)
}

/// Puts a request's values in place for one poll, and takes them back out when dropped (also
/// when the poll panics).
struct InPlace<'a>(&'a mut Locals);

impl<'a> InPlace<'a> {
    fn new(locals: &'a mut Locals) -> Self {
        LOCALS.with_borrow_mut(|current| std::mem::swap(current, locals));
        Self(locals)
    }
}

impl Drop for InPlace<'_> {
    fn drop(&mut self) {
        LOCALS.with_borrow_mut(|current| std::mem::swap(current, self.0));
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _in_place = InPlace::new(&mut this.locals);
        match this.future.as_mut() {
            Some(future) => future.as_mut().poll(cx),
            // Never: the future is only taken when the wrapper is dropped.
            None => Poll::Pending,
        }
    }
}

impl<F> Drop for Scoped<F> {
    /// A request dropped before it ended (cancelled) is dropped among its own values: what its
    /// parts do when dropped sees them, not another request's.
    fn drop(&mut self) {
        let _in_place = InPlace::new(&mut self.locals);
        drop(self.future.take());
    }
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
    #[cfg(all(target_arch = "wasm32", feature = "p2"))]
    {
        let len = u64::try_from(n).map_err(|e| e.to_string())?;
        Ok(wasi::random::random::get_random_bytes(len))
    }
    #[cfg(all(target_arch = "wasm32", feature = "p3"))]
    {
        let len = u64::try_from(n).map_err(|e| e.to_string())?;
        Ok(spin_sdk::wasip3::random::random::get_random_bytes(len))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut bytes = vec![0; n];
        getrandom::getrandom(&mut bytes).map_err(|e| e.to_string())?;
        Ok(bytes)
    }
}

thread_local! {
    /// This instance: its id (drawn with its first request) and how many requests it began.
    static INSTANCE: RefCell<(Option<String>, u32)> = const { RefCell::new((None, 0)) };
}

/// Counts a request this instance begins (`serve` does, for each request it serves): the
/// instance's id and the request's number in it (1 for its first), for the access log. What one instance serves in turn shows how the host
/// reuses instances (Spin 4: a p2 instance serves one request, a p3 one up to 128, 16 at once).
pub(crate) fn instance_request() -> (String, u32) {
    INSTANCE.with_borrow_mut(|(id, served)| {
        *served = served.saturating_add(1);
        let id = id.get_or_insert_with(|| format!("{:016x}", random_u64()));
        (id.clone(), *served)
    })
}

/// Waits `ms` milliseconds. On a p3 instance the wait yields to the instance's other requests
/// (`wasi:clocks` `wait-for`); a p2 instance serves one request, which sleeps.
pub async fn sleep(ms: u64) {
    #[cfg(all(target_arch = "wasm32", feature = "p3"))]
    spin_sdk::time::sleep(std::time::Duration::from_millis(ms)).await;
    #[cfg(not(all(target_arch = "wasm32", feature = "p3")))]
    std::thread::sleep(std::time::Duration::from_millis(ms));
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

/// Starts a request's values afresh (a [`scoped`] request starts with none; a request served
/// without a scope, as the native benchmark's, forgets the previous one's).
pub fn begin_request() {
    with(|l| {
        l.retry_after = None;
        l.traceparent = None;
        l.stale_copies = 0;
    });
}

/// Notes that this request could not drop a cached copy after a write (an edge-cache
/// invalidation, its announcement to the other regions, or a remembered value's `forget`): the
/// copy is served until its TTL. Counted in `/metrics` (`lb_cache_invalidation_failures_total`)
/// when the request is recorded.
pub fn note_stale_copy() {
    with(|l| l.stale_copies = l.stale_copies.saturating_add(1));
}

/// How many cached copies this request could not drop ([`note_stale_copy`]), taken once.
pub fn take_stale_copies() -> u32 {
    with(|l| std::mem::take(&mut l.stale_copies))
}

/// Names the span of the request being served (its `traceparent`).
pub fn set_traceparent(traceparent: String) {
    with(|l| l.traceparent = Some(traceparent));
}

/// The `traceparent` naming the span of the request being served: outbound HTTP calls send it
/// (`platform::Spin::post_internal`), so their spans join the request's trace.
pub fn traceparent() -> Option<String> {
    with(|l| l.traceparent.clone())
}

/// Sets the `Retry-After` (seconds) of this request's `503` problem, if it ends in one.
pub fn set_retry_after(secs: u64) {
    with(|l| l.retry_after = Some(secs));
}

/// [`set_retry_after`] for a wait in milliseconds, rounded up to whole seconds (at least one);
/// the seconds set.
pub fn set_retry_after_ms(ms: i64) -> u64 {
    let secs = u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000).max(1);
    set_retry_after(secs);
    secs
}

/// The `Retry-After` a lower layer set for this request's `503`, taken once.
pub fn take_retry_after() -> Option<u64> {
    with(|l| l.retry_after.take())
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
    with(|l| {
        l.host_calls = HostCalls::default();
        l.upkeep.clear();
    });
}

/// Notes work the request did for its region rather than for itself, whose host calls are in
/// its count: a regional copy it found stale and fetched again (`what` names the copy), the
/// region's stall canary it took, the cluster slot map it read. The access log lists them
/// (`upkeep`), so a request's cost can be told from the region's.
pub fn note_upkeep(what: &'static str) {
    with(|l| {
        if !l.upkeep.contains(&what) {
            l.upkeep.push(what);
        }
    });
}

/// The upkeep the request being served has done so far ([`note_upkeep`]).
pub fn upkeep() -> Vec<&'static str> {
    with(|l| l.upkeep.clone())
}

/// Counts one host call of the request being served.
pub fn count(call: HostCall) {
    with(|l| {
        let c = &mut l.host_calls;
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
    });
}

/// The host calls the request being served has made so far.
pub fn host_calls() -> HostCalls {
    with(|l| l.host_calls)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Yields once (answers `Pending` the first time it is polled, waking itself), so that an
    /// executor polls the other requests in between.
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    /// One request: notes its own values, lets the others run, and reads them back.
    async fn request(n: u64) -> (Option<String>, Option<u64>, u32, bool, HostCalls) {
        begin_request();
        set_traceparent(format!("trace-{n}"));
        set_retry_after(n);
        for _ in 0..n {
            count(HostCall::RedisCommand);
            note_stale_copy();
            YieldOnce(false).await;
        }
        if n.is_multiple_of(2) {
            with(|l| l.redis_failed = true);
        }
        YieldOnce(false).await;
        let failed = with(|l| l.redis_failed);
        (
            traceparent(),
            take_retry_after(),
            take_stale_copies(),
            failed,
            host_calls(),
        )
    }

    #[test]
    fn concurrent_requests_each_see_only_their_own_values() {
        // What is in place outside any request stays as it was.
        set_traceparent("outside".into());
        let requests = (1..=16).map(|n| scoped(request(n)));
        let seen = futures::executor::block_on(futures::future::join_all(requests));
        for (n, (trace, retry_after, stale, failed, calls)) in (1u64..).zip(seen) {
            assert_eq!(trace.as_deref(), Some(format!("trace-{n}").as_str()));
            assert_eq!(retry_after, Some(n));
            assert_eq!(u64::from(stale), n);
            assert_eq!(failed, n.is_multiple_of(2));
            assert_eq!(u64::from(calls.redis_command), n);
        }
        assert_eq!(traceparent().as_deref(), Some("outside"));
    }
}

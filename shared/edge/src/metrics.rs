//! Recording and reading the metrics ([`leaderboard::http::metrics`]) in the region's KV store.
//!
//! Instances are per request, so nothing is kept in memory: [`record`] (called by
//! [`crate::serve::respond`] after the response is built; not for the `/health/*` probes, so
//! liveness never depends on the KV store) bumps the request's series and its
//! route's latency sum with `wasi:keyvalue/atomics.increment` — two KV calls per recorded request —
//! plus whatever the handler added with [`count`]. A series that is new (one of its first
//! increments, see [`bump`]) is added to the index ([`leaderboard::http::metrics::INDEX`]) with a
//! compare-and-swap; `/metrics` reads the index and each series through `increment(key, 0)`, the
//! one read that is portable across Spin's KV backends (SQLite keeps counters as 8 bytes, Redis as
//! text).
//!
//! The `metrics` variable sets what is recorded: `on` (every request, exact counts), `off`, or
//! `1/N` — one request in N, chosen at random, recorded with weight N (unbiased estimates, 1/N of
//! the KV writes).

use std::cell::{Cell, RefCell};

use leaderboard::http::metrics::{self, RequestLabels};

use crate::platform::{KvStore, Platform};

thread_local! {
    /// Record one request in this many (0: off).
    static EVERY: Cell<u32> = const { Cell::new(0) };
    /// The submission outcome of the request being served.
    static OUTCOME: Cell<&'static str> = const { Cell::new("") };
    /// Counters the handler added.
    static EXTRA: RefCell<Vec<(String, i64)>> = const { RefCell::new(Vec::new()) };
}

/// How many times a lost compare-and-swap on the index is retried.
const INDEX_RETRIES: u32 = 8;

/// Parses the `metrics` setting: `on`/empty → 1, `off` → 0, `1/N` → N (N ≥ 1).
pub fn parse_sampling(v: &str) -> u32 {
    match v.trim() {
        "" | "on" | "1" => 1,
        "off" | "0" => 0,
        other => other
            .strip_prefix("1/")
            .and_then(|n| n.trim().parse::<u32>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(1),
    }
}

/// Sets the sampling for this request and starts its bookkeeping.
pub fn begin_request(every: u32) {
    EVERY.set(every);
    OUTCOME.set("");
    EXTRA.take();
}

/// Notes the request's submission outcome (`created`, `improved`, `unchanged`, `accepted`,
/// `replayed`).
pub fn note_outcome(outcome: &'static str) {
    OUTCOME.set(outcome);
}

/// Adds `n` to a counter series when the request is recorded (same sampling as the request).
pub fn count(key: String, n: i64) {
    if n != 0 && EVERY.get() != 0 {
        EXTRA.with_borrow_mut(|e| e.push((key, n)));
    }
}

fn random_below(n: u32) -> u32 {
    let r = crate::scope::random_u64();
    (r % u64::from(n.max(1))) as u32
}

/// Records the request that just got its response.
pub fn record(
    platform: &dyn Platform,
    route: &str,
    method: &str,
    status: u16,
    cache: &str,
    duration_secs: f64,
) {
    let every = EVERY.get();
    let extra = EXTRA.take();
    // A rare failure: counted whatever the sampling, probes included.
    count_stale_copies_now(platform);
    // Probes are not traffic, and liveness must not depend on the KV store.
    if every == 0 || route.starts_with("/health/") || (every > 1 && random_below(every) != 0) {
        return;
    }
    let Some(kv) = platform.kv(crate::kv::STORE) else {
        return;
    };
    let weight = i64::from(every);
    let labels = RequestLabels {
        route,
        method,
        status,
        cache,
        outcome: OUTCOME.get(),
    };
    bump(
        kv.as_ref(),
        &metrics::request_key(&labels, metrics::bucket(duration_secs)),
        weight,
    );
    let micros = (duration_secs * 1e6).round() as i64;
    bump(
        kv.as_ref(),
        &metrics::duration_key(route),
        micros.max(1) * weight,
    );
    for (key, n) in extra {
        bump(kv.as_ref(), &key, n * weight);
    }
}

/// The counter of cached copies that writes could not drop ([`crate::scope::note_stale_copy`]).
fn stale_copies_key() -> String {
    metrics::counter_key("cache_invalidation_failures")
}

/// Counts at once the cached copies this handler could not drop (the Redis-triggered handlers,
/// which serve no HTTP request; a request's are counted when it is recorded).
pub fn count_stale_copies_now(platform: &dyn Platform) {
    add_now(
        platform,
        &stale_copies_key(),
        i64::from(crate::scope::take_stale_copies()),
    );
}

/// Adds to a counter at once (the Redis-triggered handlers, which serve no HTTP request).
pub fn add_now(platform: &dyn Platform, key: &str, n: i64) {
    if n == 0 {
        return;
    }
    if let Some(kv) = platform.kv(crate::kv::STORE) {
        bump(kv.as_ref(), key, n);
    }
}

/// Increments a series; its first increments (up to ten) also make sure it is in the index.
/// Not only the first: while the index does not exist yet, a compare-and-swap on it is an
/// unconditional write on Spin's stores, so two series registering at once could lose one; once
/// it exists, the swap is atomic and a later increment repairs the loss.
fn bump(kv: &dyn KvStore, key: &str, delta: i64) {
    match kv.increment(key, delta) {
        Ok(v) if delta > 0 && v <= delta.saturating_mul(10) => register(kv, key),
        Ok(_) => {}
        Err(e) => eprintln!("metrics: increment of {key} failed: {e}"),
    }
}

fn register(kv: &dyn KvStore, key: &str) {
    let updated = kv.update(
        metrics::INDEX,
        &mut |current| {
            let mut keys: Vec<String> = current
                .and_then(|raw| serde_json::from_slice(raw).ok())
                .unwrap_or_default();
            if keys.iter().any(|k| k == key) {
                return None;
            }
            keys.push(key.to_string());
            serde_json::to_vec(&keys).ok()
        },
        INDEX_RETRIES,
    );
    if let Err(e) = updated {
        eprintln!("metrics: could not add {key} to the index: {e}");
    }
}

/// Every recorded series and its value.
pub fn read_all(platform: &dyn Platform) -> Vec<(String, i64)> {
    let Some(kv) = platform.kv(crate::kv::STORE) else {
        return Vec::new();
    };
    let keys: Vec<String> = kv
        .get(metrics::INDEX)
        .ok()
        .flatten()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .unwrap_or_default();
    keys.into_iter()
        .filter_map(|k| {
            let v = kv.increment(&k, 0).ok()?;
            Some((k, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_settings() {
        assert_eq!(parse_sampling(""), 1);
        assert_eq!(parse_sampling("on"), 1);
        assert_eq!(parse_sampling("off"), 0);
        assert_eq!(parse_sampling("1/10"), 10);
        assert_eq!(parse_sampling("1/0"), 1);
        assert_eq!(parse_sampling("sometimes"), 1);
    }
}

/// Whether `ip` is in `allowlist` (comma-separated addresses or CIDR prefixes, IPv4 or IPv6).
/// Written here rather than taken from a crate: a prefix comparison on `std::net` addresses.
pub fn address_allowed(allowlist: &str, ip: &str) -> bool {
    let Ok(ip) = ip.trim().parse::<std::net::IpAddr>() else {
        return false;
    };
    allowlist
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            let (addr, bits) = match entry.split_once('/') {
                Some((a, b)) => (a, b.trim().parse::<u32>().ok()),
                None => (entry, None),
            };
            let Ok(net) = addr.trim().parse::<std::net::IpAddr>() else {
                return false;
            };
            match (net, ip) {
                (std::net::IpAddr::V4(n), std::net::IpAddr::V4(i)) => {
                    let bits = bits.unwrap_or(32).min(32);
                    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                    u32::from(n) & mask == u32::from(i) & mask
                }
                (std::net::IpAddr::V6(n), std::net::IpAddr::V6(i)) => {
                    let bits = bits.unwrap_or(128).min(128);
                    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                    u128::from(n) & mask == u128::from(i) & mask
                }
                _ => false,
            }
        })
}

#[cfg(test)]
mod allow_tests {
    use super::address_allowed;

    #[test]
    fn addresses_and_prefixes() {
        assert!(address_allowed("127.0.0.1", "127.0.0.1"));
        assert!(address_allowed("10.0.0.0/8, ::1", "10.2.3.4"));
        assert!(address_allowed("10.0.0.0/8, ::1", "::1"));
        assert!(address_allowed("0.0.0.0/0", "192.0.2.1"));
        assert!(!address_allowed("10.0.0.0/8", "11.0.0.1"));
        assert!(!address_allowed("", "127.0.0.1"));
        assert!(!address_allowed("127.0.0.1", "not an ip"));
        assert!(address_allowed("fd00::/8", "fd12::1"));
        assert!(!address_allowed("fd00::/8", "fe80::1"));
    }
}

//! Writes come back with Redis, on the runtime under test (real Spin with
//! `EDGE_TEST_RUNTIME=spin`; edge-host in its Spin-faithful mode): a trickle of sync submissions
//! (one request every 100 ms, each submission retried with its own `Idempotency-Key` until it
//! lands) while Redis (append-only file, `appendfsync always`) is killed with SIGKILL and started
//! again after 2 s, and then after 20 s.
//!
//! The app reaches Redis through a TCP proxy in this test. During the 2 s outage the proxy stops
//! listening too, so connections are refused (a dead Redis host); during the 20 s one it
//! accepts and closes each connection at once (a load balancer in front of a dead Redis), and
//! counts them: the test sees every connection the app attempts.
//!
//! What a user notices, checked: during the outage every refusal is a `503` problem with a
//! `Retry-After`, answered fast and without a connection per request (the circuit breaker: about
//! two connection attempts a second); the first write after Redis answers again lands within a
//! second; every submission is applied exactly once (an `incr` board: the score is the number of
//! distinct submissions). Each run prints its measurements (refusal latency, connections a
//! second, time to the first write), the numbers `docs/caching.md` › Redis outages quotes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use edge_host::HostConfig;

use crate::api::{Api, Kv, service};

use harness::RedisServer;

/// The trickle's pace: one request per tick.
const TICK: Duration = Duration::from_millis(100);

/// The shorter outage. A reservation left by an attempt cut by the kill must expire within it
/// (see the landing check in `outage`): a longer lease would hold retries back past Redis's
/// return.
const SHORT_OUTAGE: Duration = Duration::from_secs(2);
const _: () = assert!(
    leaderboard::events::idempotency::RESERVATION_LEASE_MS as u128 <= SHORT_OUTAGE.as_millis()
);

/// A TCP proxy to Redis that counts the connections it accepts. It can also stop listening,
/// so that connections are refused as they are by a host whose Redis is down.
///
/// Its port is [`harness::free_port`]'s, outside the kernel's ephemeral range: while it refuses,
/// the port is free, and one from that range could be taken by any other test's listener bound
/// to port 0 (a webhook receiver would record the app's Redis commands as a request): then the
/// outage is no outage, and `resume` cannot bind.
struct Proxy {
    port: u16,
    upstream: u16,
    accepted: Arc<Mutex<Vec<Instant>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: u16) -> Self {
        let port = harness::free_port();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("the proxy cannot listen on {port}: {e}"));
        let mut proxy = Self {
            port,
            upstream,
            accepted: Arc::new(Mutex::new(Vec::new())),
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let seen = Arc::clone(&self.accepted);
        let upstream = self.upstream;
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                seen.lock().unwrap().push(Instant::now());
                tokio::spawn(async move {
                    // Upstream down: the client's connection is closed at once.
                    if let Ok(mut redis) = TcpStream::connect(("127.0.0.1", upstream)).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut redis).await;
                    }
                });
            }
        }));
    }

    /// Stops listening: connections are refused.
    async fn refuse(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    async fn resume(&mut self) {
        let port = self.port;
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("the proxy cannot listen on {port} again: {e}"));
        self.serve(listener);
    }

    /// Connections accepted within `[from, to)`.
    fn accepted_between(&self, from: Instant, to: Instant) -> Vec<Instant> {
        let all = self.accepted.lock().unwrap();
        all.iter()
            .copied()
            .filter(|t| *t >= from && *t < to)
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// How the app finds Redis down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Down {
    /// Connections refused (nothing listens): a dead Redis host.
    Refused,
    /// Connections accepted and closed at once (the proxy in front of a dead Redis), so the
    /// test counts every connection the app attempts.
    Closed,
}

/// One request of the trickle.
#[derive(Debug, Clone)]
struct Sent {
    at: Instant,
    took: Duration,
    status: u16,
    body: Value,
    content_type: String,
    retry_after: Option<u64>,
    key: String,
}

/// The trickle: one request per tick; a submission is sent again (same key) until it gets a 2xx,
/// then the next one starts, until `stop` is set. Every request goes to `sent`.
async fn trickle(
    http: reqwest::Client,
    url: String,
    label: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    sent: Arc<Mutex<Vec<Sent>>>,
) {
    let token = service();
    let mut n = 0u64;
    let mut next = tokio::time::Instant::now();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep_until(next).await;
        next += TICK;
        let key = format!("{label}-{n}");
        let at = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(30),
            http.post(&url)
                .bearer_auth(&token)
                .header("idempotency-key", &key)
                .json(&json!({"player": "t", "score": 1}))
                .send(),
        )
        .await
        .unwrap_or_else(|_| panic!("{key}: no answer within 30 s"))
        .unwrap_or_else(|e| panic!("{key}: the HTTP API went away: {e}"));
        let status = r.status().as_u16();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after").and_then(|v| v.parse().ok());
        let text = r.text().await.unwrap_or_default();
        let took = at.elapsed();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            n += 1;
        }
        sent.lock().unwrap().push(Sent {
            at,
            took,
            status,
            body,
            content_type,
            retry_after,
            key,
        });
    }
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// One outage of `down` under the trickle, checked; the submissions that landed.
async fn outage(api: &mut Api, proxy: &mut Proxy, how: Down, board: &str, down: Duration) -> u64 {
    let runtime = api.app.runtime_name();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Vec::<Sent>::new()));
    let writer = tokio::spawn(trickle(
        api.app.http.clone(),
        format!("{}/api/v1/boards/{board}/scores", api.app.base),
        format!("{board}-{}s", down.as_secs()),
        Arc::clone(&stop),
        Arc::clone(&sent),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed = Instant::now();
    api.redis.kill();
    if how == Down::Refused {
        proxy.refuse().await;
    }
    tokio::time::sleep(down).await;
    tokio::task::block_in_place(|| api.redis.restart());
    if how == Down::Refused {
        proxy.resume().await;
    }
    let back = Instant::now();
    // Until a write lands (at most a minute), then a second more.
    let landed_after = |sent: &[Sent]| {
        sent.iter()
            .any(|s| s.at + TICK >= back && (200..300).contains(&s.status))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !landed_after(&sent.lock().unwrap()) && Instant::now() < deadline {
        tokio::time::sleep(TICK).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    tokio::time::timeout(Duration::from_secs(40), writer)
        .await
        .expect("the trickle ends")
        .unwrap();
    let sent = sent.lock().unwrap().clone();

    let before: Vec<_> = sent.iter().filter(|s| s.at + s.took < killed).collect();
    let during: Vec<_> = sent
        .iter()
        .filter(|s| s.at >= killed && s.at + s.took < back)
        .collect();
    // Past the first second (the breaker opening), refusals do not wait on Redis.
    let settled: Vec<_> = during
        .iter()
        .filter(|s| s.at >= killed + Duration::from_secs(1))
        .map(|s| s.took)
        .collect();
    let p50 = percentile(settled.clone(), 0.5);
    let p99 = percentile(settled.clone(), 0.99);
    let connects = proxy.accepted_between(killed, back);
    let per_sec = connects.len() as f64 / down.as_secs_f64().max(1.0);
    let busiest = connects
        .iter()
        .map(|c| {
            connects
                .iter()
                .filter(|d| **d >= *c && **d < *c + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    // After: the first write that landed once Redis answered.
    let first = sent
        .iter()
        .find(|s| s.at + TICK >= back && (200..300).contains(&s.status));
    let landed = first.map(|s| (s.at + s.took).saturating_duration_since(back));
    eprintln!(
        "{runtime}: outage {down:?} ({how:?}): {} refusals (p50 {p50:?}, p99 {p99:?} past the first second), \
         {} connections to Redis attempted ({per_sec:.1}/s, busiest second {busiest}), \
         first write landed {landed:?} after Redis answered",
        during.len(),
        connects.len()
    );

    // Before the kill: every write landed.
    assert!(!before.is_empty());
    for s in &before {
        assert!(
            (200..300).contains(&s.status),
            "{runtime}: before the outage {}: {} {}",
            s.key,
            s.status,
            s.body
        );
    }
    // During the outage: 503 problems with a Retry-After.
    assert!(during.len() >= 5, "{runtime}: the trickle kept going");
    for s in &during {
        assert_eq!(
            s.status, 503,
            "{runtime}: during the outage {}: {}",
            s.key, s.body
        );
        assert_eq!(s.content_type, "application/problem+json", "{}", s.body);
        let retry_after = s.retry_after.expect("a 503 carries Retry-After");
        assert!(retry_after >= 1, "Retry-After {retry_after}");
    }
    // Fast refusals (the measured p99 is a few ms; docs/caching.md › Redis outages), without
    // a connection per request: once the breaker is open, a probe every 500 ms.
    assert!(
        p99 < Duration::from_millis(250),
        "{runtime}: refusals wait on something: p99 {p99:?}"
    );
    if how == Down::Closed {
        let settled_connects = proxy
            .accepted_between(killed + Duration::from_secs(1), back)
            .len() as f64;
        let rate = settled_connects / (down.as_secs_f64() - 1.0);
        assert!(
            rate <= 4.0,
            "{runtime}: {rate:.1} connections a second to a failing Redis"
        );
        // The outage's first second: until the breaker trips (5 failing requests), each
        // failing request may connect twice (the retry after a pause), then the probes.
        assert!(
            busiest <= 15,
            "{runtime}: {busiest} connections in one second"
        );
    }
    // Writes come back within a second of Redis answering. A submission whose attempt reserved
    // its Idempotency-Key just before the kill left that reservation in the AOF; it expires
    // within its lease, which is no longer than the shortest outage (`SHORT_OUTAGE`), so
    // retries after Redis returns never meet it.
    let landed = landed.expect("a write lands after Redis is back");
    if landed > Duration::from_secs(1) {
        // What the trickle saw from a second before Redis answered to the first landed write.
        for s in sent
            .iter()
            .filter(|s| s.at + Duration::from_secs(1) >= back)
        {
            eprintln!(
                "{runtime}: {:+.3}s took {:?}: {} {}",
                s.at.duration_since(back.min(s.at)).as_secs_f64()
                    - back.duration_since(s.at.min(back)).as_secs_f64(),
                s.took,
                s.status,
                s.body
            );
            if (200..300).contains(&s.status) && s.at + TICK >= back {
                break;
            }
        }
    }
    assert!(
        landed <= Duration::from_secs(1),
        "{runtime}: the first write landed {landed:?} after Redis answered"
    );
    sent.iter()
        .filter(|s| (200..300).contains(&s.status))
        .count() as u64
}

/// The trickle through a 2 s and a 20 s outage on an app started by `start`.
async fn through_two_outages(pooled: bool) {
    let redis = RedisServer::start_persistent();
    let mut proxy = Proxy::start(redis.port).await;
    let via_proxy = format!("redis://127.0.0.1:{}", proxy.port);
    let vars = [
        ("redis_url", via_proxy.as_str()),
        ("redis_hosts", via_proxy.as_str()),
        ("redis_trigger_url", via_proxy.as_str()),
    ];
    let mut api = if pooled {
        crate::api::start_on_pooled(redis, Kv::Shipped, &vars, HostConfig::default()).await
    } else {
        crate::api::start_on(redis, Kv::Shipped, &vars, HostConfig::default()).await
    };
    api.create_board(json!({"id": "rec", "operator": "incr"}))
        .await;
    let short_n = outage(&mut api, &mut proxy, Down::Refused, "rec", SHORT_OUTAGE).await;
    let long_n = outage(
        &mut api,
        &mut proxy,
        Down::Closed,
        "rec",
        Duration::from_secs(20),
    )
    .await;
    // Every submission that landed is applied once: the incr board's score is their count.
    let page = api
        .get("/api/v1/boards/rec/entries", Some(&service()))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let rows = crate::api::rows(&page.body);
    assert_eq!(rows.len(), 1, "{}", page.body);
    assert_eq!(
        rows[0].2.as_u64(),
        Some(short_n + long_n),
        "each submission applied once"
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_resume_within_a_second_of_redis_answering_again() {
    through_two_outages(false).await;
}

/// edge-host's own mode (one pooled, auto-reconnecting connection) recovers as Spin does.
#[tokio::test(flavor = "multi_thread")]
async fn writes_resume_as_fast_on_edge_host_pooled_connections() {
    if harness::RuntimeKind::under_test().is_spin() {
        eprintln!("edge-host only: Spin has no pooled mode");
        return;
    }
    through_two_outages(true).await;
}

//! Live updates (`GET …/boards/{board}/live`) on the runtime under test, read with a real SSE
//! parser (`eventsource-stream`, the WHATWG rules): the snapshot, one `update` per write with
//! increasing ids (the board version in Redis), heartbeats on an idle board, the `end` event with
//! its `retry:` hint on time, a reconnect with `Last-Event-ID`; the long-poll's two answers; the
//! access rules and the per-instance bound.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, start_with};

/// Streams last 6 s here, with a heartbeat after 1 s of silence.
const MAX_SECS: u64 = 6;

async fn start_live(max_streams: &str) -> Api {
    start_live_within(max_streams, edge_host::HostConfig::default()).await
}

/// On edge-host, with a request timeout shorter than a stream: a stream whose head was sent goes
/// on (Spin has no request timeout; only edge-host's `config` applies).
async fn start_live_within(max_streams: &str, config: edge_host::HostConfig) -> Api {
    let max = MAX_SECS.to_string();
    start_with(
        &[
            ("live_max_secs", max.as_str()),
            ("live_heartbeat_secs", "1"),
            ("live_max_streams", max_streams),
        ],
        config,
    )
    .await
}

type Events = Pin<Box<dyn Stream<Item = Result<Event, String>> + Send>>;

/// An open event stream: its parsed events and every byte received (to see comments).
struct Live {
    status: u16,
    headers: reqwest::header::HeaderMap,
    events: Events,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Live {
    async fn open(api: &Api, path: &str, token: Option<&str>, last_event_id: Option<&str>) -> Live {
        let mut req = api
            .app
            .http
            .get(api.app.url(path))
            .header("accept", "text/event-stream");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let resp = tokio::time::timeout(Duration::from_secs(10), req.send())
            .await
            .expect("the stream's head within 10 s")
            .unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let raw = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&raw);
        let events = resp
            .bytes_stream()
            .inspect(move |chunk| {
                if let Ok(bytes) = chunk {
                    seen.lock().unwrap().extend_from_slice(bytes);
                }
            })
            .eventsource()
            .map(|e| e.map_err(|e| e.to_string()));
        Live {
            status,
            headers,
            events: Box::pin(events),
            raw,
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The next event, within `within`.
    async fn next(&mut self, within: Duration) -> Event {
        match tokio::time::timeout(within, self.events.next()).await {
            Ok(Some(Ok(e))) => e,
            Ok(Some(Err(e))) => panic!("the stream broke: {e}"),
            Ok(None) => panic!("the stream ended; received: {}", self.raw_text()),
            Err(_) => panic!("no event within {within:?}; received: {}", self.raw_text()),
        }
    }

    /// Whether the stream ends (the server closes it) within `within`, and the events before.
    async fn rest(&mut self, within: Duration) -> Option<Vec<Event>> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.events.next()).await {
                Ok(Some(Ok(e))) => seen.push(e),
                Ok(Some(Err(_))) | Ok(None) => return Some(seen),
                Err(_) => return None,
            }
        }
    }

    fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).into_owned()
    }
}

fn data(e: &Event) -> Value {
    serde_json::from_str(&e.data).unwrap_or_else(|err| panic!("{err}: {:?}", e.data))
}

fn top(e: &Event) -> Vec<String> {
    data(e)["page"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["player"].as_str().unwrap().to_string())
        .collect()
}

fn redis_version(api: &Api, board: &str) -> i64 {
    redis::cmd("GET")
        .arg(format!("lb:{{default/{board}}}:version"))
        .query(&mut api.redis.conn())
        .unwrap()
}

fn id(e: &Event) -> i64 {
    e.id.parse()
        .unwrap_or_else(|_| panic!("event id {:?}", e.id))
}

const LIVE: &str = "/api/v1/boards/world/live?limit=3&player=ann";

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_sends_the_snapshot_then_an_update_per_write_beats_and_ends_on_time() {
    let api = start_live_within(
        "50",
        edge_host::HostConfig {
            request_timeout: Some(Duration::from_secs(2)),
            ..Default::default()
        },
    )
    .await;
    api.create_board(json!({"id": "world", "public_read": true}))
        .await;
    api.submit_ok("world", "ann", json!(10)).await;

    let opened = Instant::now();
    let mut live = Live::open(&api, LIVE, None, None).await;
    assert_eq!(live.status, 200);
    assert!(live.header("content-type").starts_with("text/event-stream"));
    assert_eq!(live.header("cache-control"), "no-store");
    assert_eq!(live.header("x-accel-buffering"), "no");

    let snapshot = live.next(Duration::from_secs(5)).await;
    assert_eq!(snapshot.event, "snapshot");
    assert_eq!(id(&snapshot), redis_version(&api, "world"));
    assert_eq!(data(&snapshot)["version"], id(&snapshot));
    assert_eq!(top(&snapshot), ["ann"]);
    assert_eq!(data(&snapshot)["player"]["player"], "ann");
    assert_eq!(data(&snapshot)["player"]["rank"], 1);

    // Each write gives one update, with a larger id and the new ranking.
    let mut last = id(&snapshot);
    for (who, score, want) in [
        ("bob", 20, vec!["bob", "ann"]),
        ("cid", 30, vec!["cid", "bob", "ann"]),
        ("ann", 40, vec!["ann", "cid", "bob"]),
    ] {
        api.submit_ok("world", who, json!(score)).await;
        let update = live.next(Duration::from_secs(3)).await;
        assert_eq!(update.event, "update", "{}", update.data);
        assert!(
            id(&update) > last,
            "ids increase: {} after {last}",
            update.id
        );
        assert_eq!(id(&update), redis_version(&api, "world"));
        assert_eq!(top(&update), want);
        last = id(&update);
    }

    // Idle: heartbeats (comments, which the parser skips), then the `end` event with its `retry:`
    // hint, and the server closes the stream on time.
    let rest = live
        .rest(Duration::from_secs(MAX_SECS + 5))
        .await
        .expect("the stream ends after live_max_secs");
    let ended = opened.elapsed();
    let raw = live.raw_text();
    assert!(raw.contains("\n: heartbeat "), "{raw}");
    assert_eq!(rest.len(), 1, "only the end event: {rest:?}");
    assert_eq!(rest[0].event, "end");
    assert_eq!(rest[0].retry, Some(Duration::from_millis(1000)));
    assert_eq!(data(&rest[0])["reason"], "max_duration");
    assert!(raw.contains("\nretry: 1000\n"), "{raw}");
    assert!(
        ended >= Duration::from_secs(MAX_SECS - 1) && ended < Duration::from_secs(MAX_SECS + 4),
        "the stream ended after {ended:?} (live_max_secs {MAX_SECS})"
    );
    drop(live);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reconnect_with_last_event_id_gets_what_it_missed_and_nothing_twice() {
    let api = start_live("50").await;
    api.create_board(json!({"id": "world", "public_read": true}))
        .await;
    api.submit_ok("world", "ann", json!(10)).await;
    let mut live = Live::open(&api, LIVE, None, None).await;
    let seen = id(&live.next(Duration::from_secs(5)).await);
    drop(live);

    // Away: a write. Back with the last id: a fresh snapshot at once.
    api.submit_ok("world", "bob", json!(20)).await;
    let seen_str = seen.to_string();
    let mut live = Live::open(&api, LIVE, None, Some(&seen_str)).await;
    let caught_up = live.next(Duration::from_secs(2)).await;
    assert_eq!(caught_up.event, "snapshot");
    assert!(id(&caught_up) > seen);
    assert_eq!(top(&caught_up), ["bob", "ann"]);
    drop(live);

    // Back with the current id: no snapshot (nothing missed) — the stream stays open with
    // heartbeats until the next write, which comes as an update.
    let current = id(&caught_up).to_string();
    let mut live = Live::open(&api, LIVE, None, Some(&current)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    api.submit_ok("world", "cid", json!(30)).await;
    let update = live.next(Duration::from_secs(3)).await;
    assert_eq!(update.event, "update", "{}", live.raw_text());
    assert_eq!(top(&update), ["cid", "bob", "ann"]);
    assert!(
        live.raw_text().starts_with(": heartbeat "),
        "{}",
        live.raw_text()
    );
    drop(live);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_answers_at_once_when_newer_on_a_change_or_after_its_wait() {
    let api = start_live("50").await;
    api.create_board(json!({"id": "world", "public_read": true}))
        .await;
    api.submit_ok("world", "ann", json!(10)).await;

    // No `since`: the snapshot as JSON, at once.
    let now = api.get("/api/v1/boards/world/live?player=ann", None).await;
    assert_eq!(now.status, 200, "{}", now.body);
    assert_eq!(now.header("cache-control"), "no-store");
    let version = now.body["version"].as_i64().unwrap();
    assert_eq!(version, redis_version(&api, "world"));
    assert_eq!(now.header("etag"), format!("\"v{version}\""));
    assert_eq!(now.body["page"]["entries"][0]["player"], "ann");
    assert_eq!(now.body["player"]["rank"], 1);

    // Older `since`: at once.
    let started = Instant::now();
    let r = api
        .get(
            &format!("/api/v1/boards/world/live?since={}&wait=5", version - 1),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["version"], version);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Current `since`, nothing happens: 304 with the same version after `wait` (± 1 s).
    let started = Instant::now();
    let r = api
        .get(
            &format!("/api/v1/boards/world/live?since={version}&wait=2"),
            None,
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), format!("\"v{version}\""));
    assert!(
        waited >= Duration::from_secs(1) && waited <= Duration::from_secs(3),
        "waited {waited:?}"
    );

    // Current `since`, a write meanwhile: answered when it lands, with the new ranking.
    let path = format!("/api/v1/boards/world/live?since={version}&wait=5");
    let started = Instant::now();
    let (r, _) = tokio::join!(api.get(&path, None), async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        api.submit_ok("world", "bob", json!(20)).await;
    });
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["version"].as_i64().unwrap() > version);
    assert_eq!(r.body["page"]["entries"][0]["player"], "bob");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn live_reads_follow_the_entries_access_rules_and_the_instance_bound() {
    let api = start_live("1").await;
    api.create_board(json!({"id": "world", "public_read": true}))
        .await;
    api.create_board(json!({"id": "secret"})).await;
    api.submit_ok("secret", "ann", json!(1)).await;

    // A private board: a token of the tenant is needed, as for `entries`.
    let anon = api.get("/api/v1/boards/secret/live", None).await;
    anon.assert_problem(401, "bearer");
    let ok = api
        .get("/api/v1/boards/secret/live", Some(&player("ann")))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let stream = Live::open(&api, "/api/v1/boards/secret/live", None, None).await;
    assert_eq!(stream.status, 401);
    api.get("/api/v1/boards/nowhere/live", Some(&admin()))
        .await
        .assert_problem(404, "nowhere");

    // Bad input: a clear 400 before anything is held.
    for (path, needle) in [
        ("/api/v1/boards/world/live?since=-1", "since"),
        ("/api/v1/boards/world/live?since=1&wait=999", "wait"),
        ("/api/v1/boards/world/live?wait=3", "since"),
        ("/api/v1/boards/world/live?cursor=abc", "cursor"),
        ("/api/v1/boards/world/live?limit=0", "limit"),
        ("/api/v1/boards/world/live?player=a%20b", "player"),
    ] {
        api.get(path, None).await.assert_problem(400, needle);
    }
    let r = api
        .call(Method::POST, "/api/v1/boards/world/live", None, None, &[])
        .await;
    assert_eq!(r.status, 405);

    // One stream per instance here: the second waits its turn with a 429 and Retry-After.
    let mut first = Live::open(&api, "/api/v1/boards/world/live", None, None).await;
    assert_eq!(first.status, 200);
    first.next(Duration::from_secs(5)).await;
    let second = api
        .get("/api/v1/boards/world/live?since=0&wait=1", None)
        .await;
    second.assert_problem(429, "live_max_streams");
    assert!(!second.header("retry-after").is_empty());
    // The first stream ends on time and gives its place back.
    first.rest(Duration::from_secs(MAX_SECS + 5)).await.unwrap();
    let third = api
        .get("/api/v1/boards/world/live?since=0&wait=1", None)
        .await;
    assert_eq!(third.status, 200, "{}", third.body);
    api.stop().await;
}

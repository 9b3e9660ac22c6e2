//! The push tier's shipped configuration (`deploy/push/nchan.conf`, Debian's nginx 1.22 with
//! nchan 1.3.6) under real clients: a WebSocket client (`tokio-tungstenite`), the EventSource
//! parser of the live tests (`eventsource-stream`, the WHATWG rules) and plain long-poll requests.
//! A channel keeps one message, the board's whole state: every viewer, new or reconnecting, gets
//! it at once; message ids a client names are never honoured, since nchan 1.3.6 aborts its worker
//! processes on ids a channel does not hold (issues #670, #676).
//!
//! The tests named `tier_…` check nginx's side alone (they publish by hand, the app only letting
//! viewers in): scripts/test.sh runs them once, in the edge-host run; the others (the worker
//! publishing, the app's access rules) run on every runtime and Redis.

use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edge_host::HostConfig;
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use harness::{PushTier, RedisServer};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::api::{Api, start_with};

/// How long a viewer may wait for a message that is due.
const WITHIN: Duration = Duration::from_secs(5);

/// Publishes `state` as the board's message (as the app does): nchan's status (`201` when the
/// channel has viewers, `202` when none) and the id it gave the message.
async fn publish(
    http: &reqwest::Client,
    tier: &PushTier,
    board: &str,
    state: &Value,
) -> (u16, String) {
    let r = http
        .post(tier.publisher_url("default", board))
        .header("accept", "application/json")
        .json(state)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let info: Value = r.json().await.unwrap_or_default();
    let id = info["last_message_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (status, id)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket viewer, with `headers` on its handshake.
async fn ws_viewer(url: &str, headers: &[(&'static str, &str)]) -> Ws {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    let (ws, response) = tokio::time::timeout(WITHIN, tokio_tungstenite::connect_async(request))
        .await
        .unwrap_or_else(|_| panic!("{url}: no handshake in time"))
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(response.status().as_u16(), 101, "{url}");
    ws
}

/// The next message a WebSocket viewer gets (pings skipped): a state, or how the channel closed.
enum Got {
    State(Value),
    Closed(Option<CloseCode>),
}

async fn ws_next(ws: &mut Ws, what: &str) -> Got {
    loop {
        let frame = tokio::time::timeout(WITHIN, ws.next())
            .await
            .unwrap_or_else(|_| panic!("{what}: nothing in {WITHIN:?}"));
        match frame {
            Some(Ok(Message::Text(text))) => {
                return Got::State(serde_json::from_str(&text).unwrap_or_else(|e| {
                    panic!("{what}: not JSON ({e}): {text}");
                }));
            }
            Some(Ok(Message::Close(frame))) => return Got::Closed(frame.map(|f| f.code)),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => panic!("{what}: unexpected frame {other:?}"),
            Some(Err(e)) => panic!("{what}: {e}"),
            None => return Got::Closed(None),
        }
    }
}

async fn ws_state(ws: &mut Ws, what: &str) -> Value {
    match ws_next(ws, what).await {
        Got::State(state) => state,
        Got::Closed(code) => panic!("{what}: closed ({code:?}) instead of a state"),
    }
}

/// What a viewer's reader task got: a state, or why it stopped.
type States = tokio::sync::mpsc::UnboundedReceiver<Result<Value, String>>;

/// Reads a WebSocket viewer's states in a task of its own, as they come (with no bound of its own:
/// [`next_state`] bounds each wait), until the connection ends or the receiver is dropped.
fn read_states(mut ws: Ws) -> (States, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(frame) = ws.next().await {
            let got = match frame {
                Ok(Message::Text(text)) => serde_json::from_str::<Value>(&text)
                    .map_err(|e| format!("not JSON ({e}): {text}")),
                Ok(Message::Close(frame)) => Err(format!(
                    "closed ({:?}) instead of a state",
                    frame.map(|f| f.code)
                )),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(other) => Err(format!("unexpected frame {other:?}")),
                Err(e) => Err(e.to_string()),
            };
            let ended = got.is_err();
            if tx.send(got).is_err() || ended {
                return;
            }
        }
        let _ = tx.send(Err("the connection ended".into()));
    });
    (rx, reader)
}

/// The next state [`read_states`] got, within [`WITHIN`].
async fn next_state(states: &mut States, what: &str) -> Value {
    match tokio::time::timeout(WITHIN, states.recv()).await {
        Ok(Some(Ok(state))) => state,
        Ok(Some(Err(why))) => panic!("{what}: {why}"),
        Ok(None) => panic!("{what}: the reader ended"),
        Err(_) => panic!("{what}: nothing in {WITHIN:?}"),
    }
}

type Events = Pin<Box<dyn Stream<Item = Result<Event, String>> + Send>>;

/// An EventSource viewer (`Accept: text/event-stream`), sending `Last-Event-ID` when given, as a
/// browser does when it reconnects.
async fn sse_viewer(http: &reqwest::Client, url: &str, last_event_id: Option<&str>) -> Events {
    let mut request = http.get(url).header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let r = tokio::time::timeout(WITHIN, request.send())
        .await
        .unwrap_or_else(|_| panic!("{url}: no answer in time"))
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    Box::pin(
        r.bytes_stream()
            .eventsource()
            .map(|e| e.map_err(|e| e.to_string())),
    )
}

/// The next event's data as JSON; `None` when the stream ended.
async fn sse_next(events: &mut Events, what: &str) -> Option<Value> {
    let event = tokio::time::timeout(WITHIN, events.next())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing in {WITHIN:?}"))?;
    let event = event.unwrap_or_else(|e| panic!("{what}: {e}"));
    Some(
        serde_json::from_str(&event.data)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", event.data)),
    )
}

/// A long-poll (no `Accept` of a stream): its status, body and headers.
async fn long_poll(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut request = http.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let r = tokio::time::timeout(WITHIN, request.send())
        .await
        .unwrap_or_else(|_| panic!("{url}: no answer in time"))
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.text().await.unwrap_or_default(), headers)
}

/// Ids a client may name that its channel does not hold: malformed, of the message's second but
/// another tag, of the seconds around it, of the future and the distant past, oversized, and
/// multiplexed.
fn hostile_ids(held: &str) -> Vec<String> {
    let (secs, _) = held
        .split_once(':')
        .expect("a message id is <seconds>:<tag>");
    let secs: u64 = secs.parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    vec![
        "1:".into(),
        "abc".into(),
        ":".into(),
        "0:0".into(),
        format!("{secs}:1"),
        format!("{secs}:7"),
        format!("{}:0", secs + 1),
        format!("{}:0", secs - 1),
        format!("{now}:0"),
        format!("{}:0", now + 3600),
        format!("{}:1", "9".repeat(40)),
        format!("{secs}:0,1,2"),
        held.into(),
    ]
}

/// The tier in front of an app (without its worker: these tests publish by hand) that holds the
/// `boards`, each readable by anyone, so the app lets every viewer in.
async fn tier_before(origins: &str, boards: &[&str]) -> (PushTier, Api) {
    let api = start_with(&[], HostConfig::default()).await;
    for board in boards {
        let made = api
            .create_board(json!({"id": board, "public_read": true}))
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
    }
    let mut tier = PushTier::new();
    tier.serve(origins, app_address(&api));
    (tier, api)
}

/// The app's HTTP address (`host:port`), as the tier is told it.
fn app_address(api: &Api) -> &str {
    api.app.base.trim_start_matches("http://")
}

#[tokio::test(flavor = "multi_thread")]
async fn tier_hostile_message_ids_kill_no_worker_and_every_viewer_gets_the_current_state() {
    let (tier, _api) = tier_before("*", &["cup"]).await;
    let http = reqwest::Client::new();
    let board = "cup";
    let v1 = json!({"version": 1, "top": [{"player": "ann", "rank": 1}]});
    let (status, held) = publish(&http, &tier, board, &v1).await;
    assert_eq!(status, 202, "no viewer yet");
    // Two viewers that stay, one of each streaming kind.
    let ws_url = tier.ws_url("default", board);
    let url = tier.viewer_url("default", board);
    let mut steady_ws = ws_viewer(&ws_url, &[]).await;
    assert_eq!(ws_state(&mut steady_ws, "steady WebSocket").await, v1);
    let mut steady_sse = sse_viewer(&http, &url, None).await;
    assert_eq!(
        sse_next(&mut steady_sse, "steady EventSource").await,
        Some(v1.clone())
    );
    for id in hostile_ids(&held) {
        let query = format!("last_event_id={id}");
        let mut ws = ws_viewer(&format!("{ws_url}?{query}"), &[]).await;
        assert_eq!(ws_state(&mut ws, &format!("WebSocket ?{query}")).await, v1);
        let mut ws = ws_viewer(&ws_url, &[("last-event-id", &id)]).await;
        assert_eq!(
            ws_state(&mut ws, &format!("WebSocket Last-Event-ID {id}")).await,
            v1
        );
        let mut sse = sse_viewer(&http, &url, Some(&id)).await;
        let got = sse_next(&mut sse, &format!("EventSource Last-Event-ID {id}")).await;
        assert_eq!(got, Some(v1.clone()));
        let mut sse = sse_viewer(&http, &format!("{url}?{query}"), None).await;
        assert_eq!(
            sse_next(&mut sse, &format!("EventSource ?{query}")).await,
            Some(v1.clone())
        );
        let (status, body, _) =
            long_poll(&http, &format!("{url}?{query}"), &[("last-event-id", &id)]).await;
        assert_eq!((status, body), (200, v1.to_string()), "long-poll {id}");
    }
    // The steady viewers' workers never died: both get the next state.
    let v2 = json!({"version": 2, "top": [{"player": "bob", "rank": 1}]});
    assert_eq!(publish(&http, &tier, board, &v2).await.0, 201);
    assert_eq!(ws_state(&mut steady_ws, "steady WebSocket").await, v2);
    assert_eq!(
        sse_next(&mut steady_sse, "steady EventSource").await,
        Some(v2)
    );
    let dead = tier.dead_workers();
    assert!(dead.is_empty(), "workers died: {dead:?}");
    steady_ws.close(None).await.unwrap();
}

/// A long-poll viewer walks the channel with the `Last-Modified` and `Etag` it was given (nchan
/// honours those: they name only what it sent); a new state answers it, and a viewer that
/// names that state again waits for the next.
#[tokio::test(flavor = "multi_thread")]
async fn tier_a_long_poll_gets_the_state_then_waits_for_the_next() {
    let (tier, _api) = tier_before("*", &["cup"]).await;
    let http = reqwest::Client::new();
    let url = tier.viewer_url("default", "cup");
    publish(&http, &tier, "cup", &json!({"version": 1})).await;
    let (status, body, headers) = long_poll(&http, &url, &[]).await;
    assert_eq!((status, body.as_str()), (200, r#"{"version":1}"#));
    let since = headers["last-modified"].to_str().unwrap().to_string();
    let etag = headers["etag"].to_str().unwrap().to_string();
    let naming = [
        ("if-modified-since", since.as_str()),
        ("if-none-match", &etag),
    ];
    // Naming the current state it waits: no answer within a second (the client gives up).
    let mut request = http.get(&url);
    for (name, value) in naming {
        request = request.header(name, value);
    }
    let early = tokio::time::timeout(Duration::from_secs(1), request.send()).await;
    assert!(
        early.is_err(),
        "a long-poll naming the current state answered: {early:?}"
    );
    // A newer state answers it.
    publish(&http, &tier, "cup", &json!({"version": 2})).await;
    let (status, body, _) = long_poll(&http, &url, &naming).await;
    assert_eq!((status, body.as_str()), (200, r#"{"version":2}"#));
}

/// Deleting a board's channel (the publisher's `DELETE`, as the app does for a deleted board)
/// ends it for its streaming viewers: WebSocket close `1001`, the event stream's end. (A waiting
/// long-poll gets `410`, by nchan's source; under load the tier's subscriber count did not show
/// a waiting long-poll within 5 s, so the test cannot know one is waiting before the delete.)
#[tokio::test(flavor = "multi_thread")]
async fn tier_deleting_a_channel_closes_it_for_every_kind_of_viewer() {
    let (tier, _api) = tier_before("*", &["gone"]).await;
    let http = reqwest::Client::new();
    let url = tier.viewer_url("default", "gone");
    publish(&http, &tier, "gone", &json!({"version": 1})).await;
    let mut ws = ws_viewer(&tier.ws_url("default", "gone"), &[]).await;
    ws_state(&mut ws, "WebSocket").await;
    let mut sse = sse_viewer(&http, &url, None).await;
    sse_next(&mut sse, "EventSource").await;
    let deleted = http
        .delete(tier.publisher_url("default", "gone"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    match ws_next(&mut ws, "WebSocket after the delete").await {
        Got::Closed(code) => assert_eq!(code, Some(CloseCode::Away)),
        Got::State(s) => panic!("a state after the delete: {s}"),
    }
    assert_eq!(
        sse_next(&mut sse, "EventSource after the delete").await,
        None
    );
}

/// Browsers from origins outside the list are refused (`403`), as the app's CORS refuses them;
/// a listed origin is named in `Access-Control-Allow-Origin`; a client without `Origin` (a
/// server, a mobile app) is served. The publisher is not on the viewers' address.
#[tokio::test(flavor = "multi_thread")]
async fn tier_refuses_unlisted_origins_and_publishing_on_the_viewers_address() {
    let (tier, _api) = tier_before("https://play.example", &["cup"]).await;
    let http = reqwest::Client::new();
    let url = tier.viewer_url("default", "cup");
    publish(&http, &tier, "cup", &json!({"version": 1})).await;
    let (status, _, _) = long_poll(&http, &url, &[("origin", "https://evil.example")]).await;
    assert_eq!(status, 403);
    let (status, body, headers) =
        long_poll(&http, &url, &[("origin", "https://play.example")]).await;
    assert_eq!((status, body.as_str()), (200, r#"{"version":1}"#));
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://play.example"
    );
    assert_eq!(long_poll(&http, &url, &[]).await.0, 200);
    // Both requests on one connection, the second sent with the first's body: a refused
    // request's body must not be read as the next request.
    let answers = pipelined(
        &tier.listen,
        &[
            "POST /push/default/cup",
            "POST /pub/default/cup",
            "PUT /push/default/cup",
        ],
    )
    .await;
    assert_eq!(
        answers,
        [
            "HTTP/1.1 403 Forbidden",
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 403 Forbidden"
        ],
        "a viewer's location refuses a publish, and no publisher is on the viewers' address"
    );
}

/// Sends `requests` (method and path, each with the body `{}`) at once on one connection to
/// `addr` and gives each answer's status line, in order.
async fn pipelined(addr: &str, requests: &[&str]) -> Vec<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut sent = String::new();
    for (i, request) in requests.iter().enumerate() {
        let close = if i + 1 == requests.len() {
            "close"
        } else {
            "keep-alive"
        };
        sent.push_str(&format!(
            "{request} HTTP/1.1\r\nHost: {addr}\r\nConnection: {close}\r\nContent-Length: 2\r\n\r\n{{}}"
        ));
    }
    stream.write_all(sent.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WITHIN, stream.read_to_end(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("{addr}: the connection was not closed after {requests:?}"))
        .unwrap();
    String::from_utf8_lossy(&answer)
        .split("\r\n")
        .filter(|line| line.starts_with("HTTP/1.1 "))
        .map(str::to_string)
        .collect()
}

// The app publishing to the tier: the worker (`spin-worker.toml`) posts a board's live state to
// its channel when a write announces it (`edge::live::push`), on the runtime under test.

const SCRAPE: &str = "scrape-0123456789";

/// The app and its worker, publishing to a tier (which asks the app about its viewers) at most
/// once per board per `interval_ms`.
async fn start_publishing(interval_ms: &str) -> (PushTier, Api) {
    start_publishing_on(interval_ms, None).await
}

/// [`start_publishing`] to a tier sharing its channels through the Redis at `redis`.
async fn start_publishing_on(interval_ms: &str, redis: Option<&str>) -> (PushTier, Api) {
    let mut tier = PushTier::new();
    let url = format!("http://{}/pub", tier.publish);
    let hosts = format!("http://{}", tier.publish);
    let mut api = start_with(
        &[
            ("push_publish_url", &url),
            ("push_publish_hosts", &hosts),
            ("live_publish_interval_ms", interval_ms),
            ("metrics", "on"),
            ("metrics_token", SCRAPE),
        ],
        HostConfig::default(),
    )
    .await;
    tier.serve_on("*", app_address(&api), redis);
    api.start_worker().await;
    (tier, api)
}

fn version(state: &Value) -> i64 {
    state["version"].as_i64().unwrap_or(-1)
}

fn total(state: &Value) -> u64 {
    state["page"]["total"].as_u64().unwrap_or(0)
}

/// The board's version in Redis.
fn redis_version(api: &Api, board: &str) -> i64 {
    redis::cmd("GET")
        .arg(format!("lb:{{default/{board}}}:version"))
        .query::<Option<i64>>(&mut api.redis.conn())
        .unwrap()
        .unwrap_or(-1)
}

/// One counter of the app's `/metrics` (0 when absent).
async fn metric(api: &Api, name: &str) -> f64 {
    let r = api
        .call(reqwest::Method::GET, "/metrics", Some(SCRAPE), None, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .as_str()
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// One counter of the app's `/metrics` once it reaches `want`, or as it stands after 20 s.
async fn metric_at_least(api: &Api, name: &str, want: f64) -> f64 {
    // A loaded machine (three suites on two cores) counts late: waited for, up to a minute.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = metric(api, name).await;
        if n >= want || std::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// nchan's count of published messages once it reaches `want`, or as it stands after
/// [`WITHIN`]: nchan counts a message once its workers have handled it, which can come after a
/// viewer got it.
async fn published_at_least(tier: &PushTier, want: u64) -> u64 {
    let count = || tier.counter("total published messages").unwrap();
    let deadline = std::time::Instant::now() + WITHIN;
    while count() < want && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    count()
}

/// States from a WebSocket viewer until one has `want` entries: every state it got.
async fn ws_until(ws: &mut Ws, want: u64, what: &str) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let state = ws_state(ws, what).await;
        let done = total(&state) >= want;
        got.push(state);
        if done {
            return got;
        }
    }
}

async fn sse_until(events: &mut Events, want: u64, what: &str) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let state = sse_next(events, what)
            .await
            .unwrap_or_else(|| panic!("{what}: the stream ended"));
        let done = total(&state) >= want;
        got.push(state);
        if done {
            return got;
        }
    }
}

fn assert_versions_increase(states: &[Value], what: &str) {
    let versions: Vec<i64> = states.iter().map(version).collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "{what}: versions {versions:?}"
    );
}

/// Each write, made once the previous one's state has arrived, reaches a WebSocket and an
/// EventSource viewer, in order, as the whole state: the version, and the page as
/// `…/live?limit=100` renders it.
#[tokio::test(flavor = "multi_thread")]
async fn the_worker_publishes_each_write_to_websocket_and_eventsource_viewers_in_order() {
    let (tier, api) = start_publishing("250").await;
    let http = reqwest::Client::new();
    api.create_board(json!({"id": "cup", "public_read": true}))
        .await;
    let mut ws = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    let mut sse = sse_viewer(&http, &tier.viewer_url("default", "cup"), None).await;
    // The board's creation is published: its empty state first.
    let created = ws_state(&mut ws, "WebSocket").await;
    assert_eq!(total(&created), 0, "{created}");
    assert_eq!(
        sse_next(&mut sse, "EventSource").await,
        Some(created.clone())
    );
    for (i, player) in ["ann", "bob", "cy", "dee", "eve"].into_iter().enumerate() {
        api.submit_ok("cup", player, json!(10 * (i + 1))).await;
        let want = i as u64 + 1;
        let by_ws = ws_until(&mut ws, want, "WebSocket").await;
        let by_sse = sse_until(&mut sse, want, "EventSource").await;
        assert_eq!(by_ws.len(), 1, "one state per write: {by_ws:?}");
        assert_eq!(by_ws, by_sse, "both viewers got the same states");
        assert_eq!(version(&by_ws[0]), redis_version(&api, "cup"));
    }
    let last = ws_state_now(&tier).await;
    let top: Vec<(&str, u64)> = last["page"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["player"].as_str().unwrap(), e["rank"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        top,
        [("eve", 1), ("dee", 2), ("cy", 3), ("bob", 4), ("ann", 5)]
    );
    assert!(last["player"].is_null(), "{last}");
    assert_eq!(last["page"]["board"], "cup");
    // The worker counts a publish after nchan took it, so a viewer may see it first.
    let published = metric_at_least(&api, "lb_push_published_total", 6.0).await;
    let failed = metric(&api, "lb_push_publish_failures_total").await;
    assert!(
        published >= 6.0,
        "publishes counted: {published} (failures counted: {failed}); what the worker said of \
         its counts and publishes:\n{}",
        worker_said(&api, &["metrics:", "push:"])
    );
}

/// The lines of the worker's log that contain one of `words`.
fn worker_said(api: &Api, words: &[&str]) -> String {
    let log = api
        .worker
        .as_ref()
        .map(harness::TestApp::guest_log)
        .unwrap_or_default();
    log.lines()
        .filter(|l| words.iter().any(|w| l.contains(w)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A new viewer's first state: the board's current one.
async fn ws_state_now(tier: &PushTier) -> Value {
    let mut ws = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    ws_state(&mut ws, "a new WebSocket viewer").await
}

/// A burst of 100 writes is published at most once per interval (nchan counts what it was
/// sent), and the last state goes out: the viewer's final state holds all 100 players at the
/// board's final version.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_is_published_at_most_once_per_interval_and_its_last_state_goes_out() {
    let (tier, api) = start_publishing("500").await;
    api.create_board(json!({"id": "cup", "public_read": true}))
        .await;
    let mut ws = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    ws_until(&mut ws, 0, "WebSocket").await;
    // The viewer's first state was published before the burst; nchan counts a message once its
    // workers have handled it, which can come after a viewer got it (on real Spin, loaded, the
    // count of that first publish once came during the burst and was taken for one of the
    // burst's). The count before the burst is read once nchan's has caught up with the app's,
    // which counts each publish nchan took.
    let taken = metric_at_least(&api, "lb_push_published_total", 1.0).await as u64;
    let before = published_at_least(&tier, taken).await;
    assert!(
        before >= taken,
        "before the burst nchan counted {before} publishes, the app {taken}"
    );
    // The viewer reads while the burst is written, as a browser does. Unread, its states fill
    // the connection's buffers, and nginx closes a connection it cannot write to for 60 s
    // (`send_timeout`): the likely cause of the close a viewer once got during a burst on loaded
    // Spin, where it read only after the last write.
    let (states, reader) = read_states(ws);
    let started = std::time::Instant::now();
    for i in 0..100 {
        api.submit_ok("cup", &format!("p{i}"), json!(i)).await;
    }
    let burst = started.elapsed();
    // Until the state of the last write (a state can show all 100 players under the version
    // before the last write's, which is published after it).
    let last_version = redis_version(&api, "cup");
    let mut states = states;
    let mut got = Vec::new();
    loop {
        let state = next_state(&mut states, "WebSocket").await;
        let done = total(&state) >= 100 && version(&state) >= last_version;
        got.push(state);
        if done {
            break;
        }
    }
    reader.abort();
    assert_versions_increase(&got, "WebSocket");
    let last = got.last().unwrap();
    assert_eq!((version(last), total(last)), (last_version, 100), "{last}");
    // nchan counts a message once its workers have handled it, which can come after a viewer
    // got it: the count is awaited up to the states the viewer got.
    let published = published_at_least(&tier, before + got.len() as u64).await - before;
    let bound = burst.as_millis() as u64 / 500 + 2;
    eprintln!("a burst of 100 writes in {burst:?}: {published} publishes (at most {bound})");
    assert!(published <= bound, "{published} publishes in {burst:?}");
    assert_eq!(
        published as usize,
        got.len(),
        "each publish reached the viewer"
    );
}

/// With the push tier down, writes answer as ever; each failed publish is counted; once the
/// tier is back, the next write publishes the whole state (every write so far).
#[tokio::test(flavor = "multi_thread")]
async fn writes_succeed_while_the_tier_is_down_and_publishing_resumes_when_it_returns() {
    let (mut tier, api) = start_publishing("250").await;
    api.create_board(json!({"id": "cup", "public_read": true}))
        .await;
    let mut ws = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    ws_until(&mut ws, 0, "WebSocket").await;
    drop(ws);
    tier.stop();
    for player in ["ann", "bob", "cy"] {
        let r = api
            .submit("cup", json!({"player": player, "score": 5}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let failures = metric_at_least(&api, "lb_push_publish_failures_total", 1.0).await;
    assert!(failures >= 1.0, "failed publishes counted: {failures}");
    tier.start_again();
    api.submit_ok("cup", "dee", json!(5)).await;
    let mut ws = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    let state = ws_until(&mut ws, 4, "WebSocket after the tier's return").await;
    assert_eq!(version(state.last().unwrap()), redis_version(&api, "cup"));
}

/// A board only its tenant's tokens may read is published too, and watched only by whom the app
/// lets read its entries (nginx asks it before each subscription): without a token `401` on
/// every transport, with the app's problem; with another tenant's token `403`; with a token of
/// the tenant, in `Authorization` or (as browsers must send it) `?access_token=`, the state and
/// the next. Once the board is deleted, its viewers are let go and cannot come back (`404`).
#[tokio::test(flavor = "multi_thread")]
async fn a_private_board_is_watched_only_by_whom_the_app_lets_read_it() {
    let (tier, api) = start_publishing("250").await;
    let http = reqwest::Client::new();
    api.create_board(json!({"id": "secret"})).await;
    // The creation's message first closes the channel (the board is private), then publishes:
    // a viewer let in before that would be let go.
    channel_messages(&http, &tier, "secret", 1).await;
    api.submit_ok("secret", "ann", json!(1)).await;
    let (url, ws_url) = (
        tier.viewer_url("default", "secret"),
        tier.ws_url("default", "secret"),
    );
    let reader = crate::api::player("bob");
    let bearer = format!("Bearer {reader}");
    let mut ws = ws_viewer(&ws_url, &[("authorization", &bearer)]).await;
    ws_until(&mut ws, 1, "WebSocket with a token").await;
    let mut sse = sse_viewer(&http, &format!("{url}?access_token={reader}"), None).await;
    sse_until(&mut sse, 1, "EventSource with ?access_token=").await;
    let (status, body, _) = long_poll(&http, &url, &[("authorization", &bearer)]).await;
    assert_eq!(status, 200, "long-poll with a token: {body}");

    let rival = format!(
        "Bearer {}",
        crate::api::token("eve", &["player"], Some("rival"))
    );
    for (who, headers, status, problem) in [
        ("no token", vec![], 401, "unauthorized"),
        (
            "another tenant's token",
            vec![("authorization", rival.as_str())],
            403,
            "forbidden",
        ),
    ] {
        let (got, body) = ws_refused(&ws_url, &headers).await;
        assert_eq!(got, status, "WebSocket with {who}: {body}");
        for accept in ["text/event-stream", "application/json"] {
            let mut asked = headers.clone();
            asked.push(("accept", accept));
            let (got, body, headers) = long_poll(&http, &url, &asked).await;
            assert_eq!(got, status, "{accept} with {who}: {body}");
            assert_eq!(headers["content-type"], "application/problem+json");
            let problem_type: Value = serde_json::from_str(&body).unwrap_or_default();
            assert!(
                problem_type["type"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with(problem),
                "{accept} with {who}: {body}"
            );
        }
    }

    api.submit_ok("secret", "cy", json!(2)).await;
    ws_until(&mut ws, 2, "WebSocket with a token").await;
    sse_until(&mut sse, 2, "EventSource with ?access_token=").await;
    delete_and_see_closed(&api, "secret", &mut ws).await;
    // Once the second the tier keeps the app's yes has passed.
    let (got, body) = ws_refused(&ws_url, &[("authorization", &bearer)]).await;
    assert_eq!(got, 404, "a deleted board's viewer coming back: {body}");
}

/// Deletes the board (as its admin), and sees its WebSocket viewer `ws` let go (close `1001`)
/// instead of getting a state.
async fn delete_and_see_closed(api: &Api, board: &str, ws: &mut Ws) {
    let deleted = api
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/boards/{board}"),
            Some(&crate::api::admin()),
            None,
            &[],
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    match ws_next(ws, "WebSocket after the board's deletion").await {
        Got::Closed(code) => assert_eq!(code, Some(CloseCode::Away)),
        Got::State(s) => panic!("a state after the deletion: {s}"),
    }
}

/// Waits until the board's channel holds `want` messages (the publisher's view of it).
async fn channel_messages(http: &reqwest::Client, tier: &PushTier, board: &str, want: u64) {
    let deadline = std::time::Instant::now() + WITHIN;
    loop {
        let info = http
            .get(tier.publisher_url("default", board))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let info: Value = info.json().await.unwrap_or_default();
        if info["messages"].as_u64() == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{board}'s channel did not hold {want} messages in {WITHIN:?}: {info}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A WebSocket handshake the tier refuses: its status and body. A handshake it accepts is closed
/// and tried again (the tier keeps the app's yes for a second) until `WITHIN` has passed.
async fn ws_refused(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let deadline = std::time::Instant::now() + WITHIN;
    loop {
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap(),
                value.parse().unwrap(),
            );
        }
        let answer = tokio::time::timeout(WITHIN, tokio_tungstenite::connect_async(request))
            .await
            .unwrap_or_else(|_| panic!("{url}: no answer in time"));
        match answer {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                return (
                    response.status().as_u16(),
                    String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                        .into_owned(),
                );
            }
            Err(e) => panic!("{url}: {e}"),
            Ok((mut ws, _)) => {
                let _ = ws.close(None).await;
                assert!(
                    std::time::Instant::now() < deadline,
                    "{url}: the handshake was still accepted after {WITHIN:?}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Deleting a board closes its channel: its viewers are disconnected (WebSocket close `1001`)
/// and its last state is dropped, so a deleted board's players and scores are not served on.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_board_closes_its_channel() {
    let (tier, api) = start_publishing("250").await;
    let http = reqwest::Client::new();
    api.create_board(json!({"id": "cup", "public_read": true}))
        .await;
    api.submit_ok("cup", "ann", json!(1)).await;
    let mut ws = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    ws_until(&mut ws, 1, "WebSocket").await;
    delete_and_see_closed(&api, "cup", &mut ws).await;
    let info = http
        .get(tier.publisher_url("default", "cup"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let (status, body) = (
        info.status().as_u16(),
        info.text().await.unwrap_or_default(),
    );
    assert!(
        status == 404 || body.contains(r#""messages": 0"#),
        "the deleted board's state is dropped: {status} {body}"
    );
}

/// Two servers sharing their channels through a Redis of their own (`PUSH_REDIS`, nchan's
/// distributed mode): the worker publishes to one, and the viewers of both get every state in
/// order; a new viewer of the other gets the current state at once (kept in that Redis), as does
/// one of the first after it restarts. nchan's keys are in its Redis, none in the app's.
#[tokio::test(flavor = "multi_thread")]
async fn two_tiers_on_one_redis_both_deliver_every_state() {
    let shared = RedisServer::start_single();
    let (mut tier, api) = start_publishing_on("250", Some(&shared.url())).await;
    let mut other = PushTier::new();
    other.serve_on("*", app_address(&api), Some(&shared.url()));
    let http = reqwest::Client::new();
    api.create_board(json!({"id": "cup", "public_read": true}))
        .await;
    let mut near = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    let mut far = ws_viewer(&other.ws_url("default", "cup"), &[]).await;
    let mut far_sse = sse_viewer(&http, &other.viewer_url("default", "cup"), None).await;
    for want in 0..3u64 {
        if want > 0 {
            api.submit_ok("cup", &format!("p{want}"), json!(want)).await;
        }
        let by_near = ws_until(&mut near, want, "WebSocket on the published server").await;
        let by_far = ws_until(&mut far, want, "WebSocket on the other server").await;
        let by_far_sse = sse_until(&mut far_sse, want, "EventSource on the other server").await;
        assert_eq!(by_near.last(), by_far.last(), "both servers' viewers");
        assert_eq!(by_far.last(), by_far_sse.last());
        assert_versions_increase(&by_far, "WebSocket on the other server");
    }
    let mut late = ws_viewer(&other.ws_url("default", "cup"), &[]).await;
    let state = ws_state(&mut late, "a new viewer of the other server").await;
    assert_eq!(
        (version(&state), total(&state)),
        (redis_version(&api, "cup"), 2)
    );
    // A server that restarts serves the state kept in Redis at once, with no new write.
    drop((near, late));
    tier.stop();
    tier.start_again();
    let mut back = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    assert_eq!(
        ws_state(&mut back, "a viewer of the restarted server").await,
        state
    );
    let keys = |node: &RedisServer| -> Vec<String> {
        redis::cmd("KEYS")
            .arg("push:*")
            .query(&mut node.node_conn())
            .unwrap()
    };
    assert!(
        keys(&shared).iter().any(|k| k.contains("default/cup")),
        "the channel is in the tier's Redis: {:?}",
        keys(&shared)
    );
    // Every primary of the app's Redis, when it is a cluster.
    let app_nodes: Vec<&RedisServer> = if api.redis.is_cluster() {
        api.redis
            .cluster_nodes()
            .iter()
            .filter(|n| n.primary)
            .map(|n| api.redis.peer(n.port))
            .collect()
    } else {
        vec![&api.redis]
    };
    for node in app_nodes {
        assert_eq!(keys(node), Vec::<String>::new(), "nothing in the app's");
    }
}

/// A crowd connecting at once costs the app about one question per board a second: 60 viewers
/// of a public board (WebSocket and EventSource at once) all get the state, and the app was
/// asked far fewer times than once each (the tier keeps its yes for a second, and viewers asking
/// meanwhile wait for the one question in flight).
#[tokio::test(flavor = "multi_thread")]
async fn a_crowd_of_viewers_costs_the_app_one_question_not_one_each() {
    let (tier, api) = start_publishing("250").await;
    let http = reqwest::Client::new();
    api.create_board(json!({"id": "cup", "public_read": true}))
        .await;
    api.submit_ok("cup", "ann", json!(1)).await;
    channel_messages(&http, &tier, "cup", 1).await;
    let asked = "lb_http_requests_total{route=\"/api/:v/boards/:board/entries\",method=\"GET\",status=\"200\"}";
    let before = metric(&api, asked).await;
    let viewers = (0..30).map(|_| async {
        let mut ws = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
        let mut sse = sse_viewer(&http, &tier.viewer_url("default", "cup"), None).await;
        (
            ws_until(&mut ws, 1, "WebSocket of the crowd").await,
            sse_until(&mut sse, 1, "EventSource of the crowd").await,
        )
    });
    let started = std::time::Instant::now();
    let got = futures::future::join_all(viewers).await;
    let took = started.elapsed();
    assert_eq!(got.len(), 30);
    let questions = metric(&api, asked).await - before;
    // A tenth of one question each: they came within a second or two, and a yes is kept for
    // a second (a question each would be 60).
    eprintln!("60 viewers in {took:?}: the app asked {questions} times");
    assert!(
        (1.0..=6.0).contains(&questions),
        "60 viewers in {took:?} asked the app {questions} times"
    );
}

/// A period that ends is published with no write: a daily board's viewers get the new day's
/// (empty) page at midnight UTC, the version unchanged. Once the viewer is watching, the guests'
/// clock is moved to six seconds before midnight and a write notes the period's end (edge-host's
/// test clock: Spin has none, so scripts/test.sh runs this on edge-host only; the alarm and the
/// publish are the same code there).
#[tokio::test(flavor = "multi_thread")]
async fn a_period_that_ends_is_published_with_no_write() {
    let (tier, api) = start_publishing("250").await;
    api.create_board(json!({"id": "cup", "period": "daily", "public_read": true}))
        .await;
    api.submit_ok("cup", "ann", json!(5)).await;
    let mut ws = ws_viewer(&tier.ws_url("default", "cup"), &[]).await;
    ws_until(&mut ws, 1, "WebSocket").await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let day = Duration::from_secs(86_400);
    let mut ahead = day - Duration::from_secs(now.as_secs() % 86_400) - Duration::from_secs(6);
    if ahead < Duration::from_secs(10) {
        // Too near the real midnight: the next one.
        ahead += day;
    }
    for app in [Some(&api.app), api.worker.as_ref()].into_iter().flatten() {
        assert!(
            app.set_clock_offset(ahead, true),
            "needs edge-host's test clock (scripts/test.sh runs this on edge-host only)"
        );
    }
    api.submit_ok("cup", "bob", json!(7)).await;
    let before = ws_until(&mut ws, 2, "WebSocket before midnight").await;
    let before = before.last().unwrap();
    let day1 = before["page"]["period"]["id"].as_str().unwrap().to_string();
    // Midnight comes within 6 s (and a moment for the alarm and the publish); pings between.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let after = loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("no new period's state within 20 s");
        let Some(Ok(Message::Text(text))) = frame else {
            assert!(
                matches!(frame, Some(Ok(Message::Ping(_) | Message::Pong(_)))),
                "{frame:?}"
            );
            continue;
        };
        let state: Value = serde_json::from_str(&text).unwrap();
        if state["page"]["period"]["id"] != day1.as_str() {
            break state;
        }
    };
    assert_eq!(version(&after), version(before), "no write: {after}");
    assert_eq!(total(&after), 0, "the new day's page is empty: {after}");
    assert_eq!(
        after["page"]["period"]["current"],
        after["page"]["period"]["id"]
    );
}

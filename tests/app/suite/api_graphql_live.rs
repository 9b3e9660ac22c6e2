//! GraphQL subscriptions over SSE (`/graphql` with `Accept: text/event-stream`, the `graphql-sse`
//! protocol's distinct connections mode) on the runtime under test: the protocol's reference
//! client (npm `graphql-sse`, `scripts/graphql_sse_client.mjs`) gets the board at once and then
//! every change in order, subscribes again when the server's time is up, and sees a deleted
//! board complete its subscription; raw streams (read with `eventsource-stream`, the WHATWG rules)
//! show what the client does not: the HTTP refusals (`400`, `429`), heartbeats, errors as `next`
//! events then `complete`, and the end without `complete`.

use std::time::{Duration, Instant};

use eventsource_stream::{Event, Eventsource};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::api::{Api, admin, player, start_with};

/// Subscriptions last 6 s here, with a heartbeat after 1 s of silence.
const MAX_SECS: u64 = 6;

/// What the tests subscribe to.
const WATCH: &str = "subscription Watch($id: ID!) { board(id: $id) { id version \
                     top(limit: 3) { totalCount entries { rank player score } } \
                     me: player(id: \"cy\") { entry { rank } } } }";

async fn start_live(max_streams: &str) -> Api {
    let max = MAX_SECS.to_string();
    start_with(
        &[
            ("live_max_secs", max.as_str()),
            ("live_heartbeat_secs", "1"),
            ("live_max_streams", max_streams),
        ],
        edge_host::HostConfig::default(),
    )
    .await
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The reference client, subscribed once: what it reports, a JSON line at a time.
struct Client {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Client {
    /// Subscribes to `query` with `variables`; the client stops after `count` results and
    /// subscribes again at most `retries` times when the stream drops.
    fn start(api: &Api, query: &str, variables: Value, token: Option<&str>, count: u32) -> Self {
        Self::start_retrying(api, query, variables, token, count, 0)
    }

    fn start_retrying(
        api: &Api,
        query: &str,
        variables: Value,
        token: Option<&str>,
        count: u32,
        retries: u32,
    ) -> Self {
        let headers = match token {
            Some(t) => json!({ "authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        let mut child = tokio::process::Command::new("node")
            .arg(root().join("scripts/graphql_sse_client.mjs"))
            .args([
                api.app.url("/graphql"),
                query.to_string(),
                variables.to_string(),
                headers.to_string(),
                count.to_string(),
                retries.to_string(),
            ])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("the client's stdout");
        Self {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The client's next report, within `within`.
    async fn next(&mut self, within: Duration) -> Value {
        let line = tokio::time::timeout(within, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the client reported nothing within {within:?}"))
            .expect("the client's stdout reads")
            .expect("the client reported before it exited");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// The board of the client's next report, which must be a result without errors.
    async fn board(&mut self) -> Value {
        let report = self.next(Duration::from_secs(10)).await;
        assert!(report.get("next").is_some(), "not a result: {report}");
        assert!(
            report["next"]["errors"].is_null(),
            "a result with errors: {report}"
        );
        report["next"]["data"]["board"].clone()
    }

    /// Waits for the client to exit on its own: it must succeed.
    async fn exits(mut self) {
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("the client exits within 10 s")
            .expect("the client's status");
        assert!(status.success(), "the client failed: {status}");
    }
}

fn players(board: &Value) -> Vec<&str> {
    board["top"]["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries: {board}"))
        .iter()
        .map(|e| e["player"].as_str().unwrap())
        .collect()
}

fn version(board: &Value) -> i64 {
    board["version"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no version: {board}"))
}

fn redis_version(api: &Api, board: &str) -> i64 {
    redis::cmd("GET")
        .arg(format!("lb:{{default/{board}}}:version"))
        .query(&mut api.redis.conn())
        .unwrap()
}

fn error_code(result: &Value) -> &str {
    result["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {result}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_client_gets_the_board_then_each_change_in_order() {
    let api = start_live("50").await;
    let board = "gql-live";
    api.board_of_five(json!({ "id": board, "public_read": true }))
        .await;
    let mut client = Client::start(&api, WATCH, json!({ "id": board }), None, 4);

    let first = client.board().await;
    assert_eq!(first["id"], board);
    assert_eq!(version(&first), redis_version(&api, board));
    assert_eq!(players(&first), ["ann", "bob", "cy"]);
    assert_eq!(first["top"]["totalCount"], 5);
    assert_eq!(first["top"]["entries"][0]["score"], "500");
    assert_eq!(first["me"]["entry"]["rank"], 3);

    // Each write, once the last event is in: one event each, in order, the version rising.
    let mut last = version(&first);
    for (who, score, top, my_rank, total) in [
        ("cy", 450, ["ann", "cy", "bob"], 2, 5),
        ("cy", 600, ["cy", "ann", "bob"], 1, 5),
        ("zed", 1000, ["zed", "cy", "ann"], 2, 6),
    ] {
        api.submit_ok(board, who, json!(score)).await;
        let seen = client.board().await;
        assert_eq!(players(&seen), top, "after {who} {score}: {seen}");
        assert_eq!(seen["me"]["entry"]["rank"], my_rank, "{seen}");
        assert_eq!(seen["top"]["totalCount"], total);
        let v = version(&seen);
        assert!(v > last, "version {v} after {last}");
        assert_eq!(v, redis_version(&api, board));
        last = v;
    }
    client.exits().await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_ends_on_time_without_complete_and_the_client_subscribes_again() {
    let api = start_live("50").await;
    let board = "gql-again";
    api.board_of_five(json!({ "id": board, "public_read": true }))
        .await;
    let mut client = Client::start_retrying(&api, WATCH, json!({ "id": board }), None, 2, 1);
    let first = client.board().await;
    let opened = Instant::now();
    // The server closes the stream after live_max_secs; the client takes it as dropped,
    // subscribes again and gets the board at once.
    let again = client.board().await;
    assert!(
        opened.elapsed() >= Duration::from_secs(MAX_SECS - 1),
        "a second result after {:?}: {again}",
        opened.elapsed()
    );
    assert_eq!(version(&again), version(&first));
    assert_eq!(players(&again), players(&first));
    client.exits().await;

    // A deleted board ends its subscription for good: the error, then complete.
    let mut client = Client::start(&api, WATCH, json!({ "id": board }), None, 5);
    client.board().await;
    let deleted = api
        .call(
            Method::DELETE,
            &format!("/api/v1/boards/{board}"),
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let report = client.next(Duration::from_secs(5)).await;
    assert_eq!(error_code(&report["next"]), "NOT_FOUND", "{report}");
    assert_eq!(
        client.next(Duration::from_secs(5)).await,
        json!({ "complete": true })
    );
    client.exits().await;
    api.stop().await;
}

/// What the reference client reports for `query`: each report until it stops (subscribing again
/// up to `retries` times when refused, e.g. while the instance's place is still held).
async fn reports(
    api: &Api,
    query: &str,
    variables: Value,
    token: Option<&str>,
    retries: u32,
) -> Vec<Value> {
    let mut client = Client::start_retrying(api, query, variables, token, 5, retries);
    let mut seen = Vec::new();
    loop {
        let report = client.next(Duration::from_secs(10)).await;
        let last = report.get("next").is_none();
        seen.push(report);
        if last {
            break;
        }
    }
    client.exits().await;
    seen
}

/// A raw event stream of `/graphql` for `body`.
async fn open(api: &Api, body: Value) -> reqwest::Response {
    let req = api
        .app
        .http
        .post(api.app.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&body);
    tokio::time::timeout(Duration::from_secs(10), req.send())
        .await
        .expect("the stream's head within 10 s")
        .unwrap()
}

/// Every event of a stream until it ends (within `within`), and its raw text.
async fn rest(resp: reqwest::Response, within: Duration) -> (Vec<Event>, String) {
    let raw = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&raw);
    let mut events = resp
        .bytes_stream()
        .inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                seen.lock().unwrap().extend_from_slice(bytes);
            }
        })
        .eventsource();
    let mut got = Vec::new();
    let deadline = Instant::now() + within;
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_default();
        match tokio::time::timeout(left, events.next()).await {
            Ok(Some(Ok(e))) => got.push(e),
            Ok(Some(Err(e))) => panic!("the stream broke: {e}"),
            Ok(None) => break,
            Err(_) => panic!("the stream did not end within {within:?}: {got:?}"),
        }
    }
    let text = String::from_utf8_lossy(&raw.lock().unwrap()).into_owned();
    (got, text)
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_keep_lives_rules_and_report_errors_as_events() {
    let api = start_live("1").await;
    api.create_board(json!({ "id": "open", "public_read": true }))
        .await;
    api.create_board(json!({ "id": "secret" })).await;
    api.submit_ok("secret", "ann", json!(1)).await;

    // Without an event stream, a subscription is refused with the way to ask for one.
    let plain = api
        .call(
            Method::POST,
            "/graphql",
            None,
            Some(json!({ "query": "subscription { board(id: \"open\") { version } }" })),
            &[],
        )
        .await;
    plain.assert_problem(400, "text/event-stream");

    // Refused root fields and documents that cannot run are answered before the stream opens:
    // the errors as a `next`, then complete, with the instance's only place held meanwhile.
    let holder = open(
        &api,
        json!({ "query": WATCH, "variables": { "id": "open" } }),
    )
    .await;
    assert_eq!(holder.status(), 200);
    for (query, variables, token, code) in [
        (WATCH, json!({ "id": "secret" }), None, "UNAUTHENTICATED"),
        (
            WATCH,
            json!({ "id": "nowhere" }),
            Some(admin()),
            "NOT_FOUND",
        ),
        (
            "subscription { board(id: \"open\") { nope } }",
            json!({}),
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "subscription { a: board(id: \"open\") { version } b: board(id: \"open\") { id } }",
            json!({}),
            None,
            "BAD_USER_INPUT",
        ),
    ] {
        let seen = reports(&api, query, variables, token.as_deref(), 0).await;
        assert_eq!(seen.len(), 2, "{query}: {seen:?}");
        assert_eq!(error_code(&seen[0]["next"]), code, "{query}: {seen:?}");
        assert_eq!(seen[1], json!({ "complete": true }), "{query}");
    }
    drop(holder);
    // An event that fails for the request's own reason: its errors, then complete. (These take
    // the place, which the stream above gives back when its server notices the client has gone,
    // at the latest after live_max_secs: the client tries again meanwhile.)
    for (query, code) in [
        (
            "subscription { board(id: \"open\") { top(limit: 0) { totalCount } } }".to_string(),
            "BAD_USER_INPUT",
        ),
        // Eleven reads of the board per event: one past the bound.
        (
            format!(
                "subscription {{ board(id: \"open\") {{ {} }} }}",
                (0..11)
                    .map(|i| format!("t{i}: top(limit: 1) {{ totalCount }}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            "BAD_USER_INPUT",
        ),
    ] {
        let seen = reports(&api, &query, json!({}), None, 40).await;
        assert_eq!(seen.len(), 2, "{query}: {seen:?}");
        assert_eq!(error_code(&seen[0]["next"]), code, "{query}: {seen:?}");
        assert_eq!(seen[1], json!({ "complete": true }), "{query}");
    }
    // The player's token reads the private board.
    let mut client = Client::start(
        &api,
        WATCH,
        json!({ "id": "secret" }),
        Some(&player("ann")),
        1,
    );
    assert_eq!(players(&client.board().await), ["ann"]);
    client.exits().await;
    // A query over an event stream: its result, then complete.
    let seen = reports(
        &api,
        "{ board(id: \"open\") { id publicRead } }",
        json!({}),
        None,
        0,
    )
    .await;
    assert_eq!(
        seen,
        [
            json!({ "next": { "data": { "board": { "id": "open", "publicRead": true } } } }),
            json!({ "complete": true })
        ]
    );

    // A client that takes JSON as well (urql lists both) gets a query as JSON; a mutation on GET
    // is refused as without an event stream.
    let both = api
        .call(
            Method::POST,
            "/graphql",
            None,
            Some(json!({ "query": "{ board(id: \"open\") { id } }" })),
            &[("accept", "application/json, text/event-stream")],
        )
        .await;
    assert_eq!(both.status, 200);
    assert_eq!(both.header("content-type"), "application/json");
    assert_eq!(both.body["data"]["board"]["id"], "open");
    let get_mutation = api
        .call(
            Method::GET,
            "/graphql?query=mutation%20%7B%20submitScore(board%3A%20%22open%22%2C%20input%3A%20%7Bplayer%3A%20%22a%22%2C%20score%3A%20%221%22%7D)%20%7B%20status%20%7D%20%7D",
            Some(&admin()),
            None,
            &[("accept", "text/event-stream")],
        )
        .await;
    assert_eq!(get_mutation.status, 405, "{}", get_mutation.body);

    // One stream per instance here: a second subscription waits its turn with a 429. (The
    // client that left above holds its place until its server notices, at the latest after
    // live_max_secs: on p3 a write to a client that has gone may not fail. On a machine whose
    // two cores also run the other runtimes' suites, the p3 run once needed more than 10 s past
    // it: 30 s are allowed.)
    let watch = json!({ "query": WATCH, "variables": { "id": "open" } });
    let deadline = Instant::now() + Duration::from_secs(MAX_SECS + 30);
    let first = loop {
        let r = open(&api, watch.clone()).await;
        if r.status() == 200 || Instant::now() > deadline {
            break r;
        }
        assert_eq!(r.status(), 429);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(first.status(), 200);
    assert_eq!(
        first.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let second = open(&api, watch.clone()).await;
    assert_eq!(second.status(), 429);
    assert!(second.headers().contains_key("retry-after"));
    let problem: Value = second.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("live_max_streams"),
        "{problem}"
    );
    // The first one: the board, heartbeats while idle, and on time its end without complete.
    let (events, text) = rest(first, Duration::from_secs(MAX_SECS + 5)).await;
    assert_eq!(events.len(), 1, "{text}");
    assert_eq!(events[0].event, "next");
    let result: Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(result["data"]["board"]["top"]["totalCount"], 0);
    assert!(
        text.lines().filter(|l| l.starts_with(':')).count() >= 2,
        "no heartbeats: {text}"
    );
    // Its place is given back.
    let third = open(&api, watch).await;
    assert_eq!(third.status(), 200);
    drop(third);
    api.stop().await;
}

//! `leaderboard.v1.LeaderboardService` (`functions/connect`), on both runtimes, driven by real
//! clients from the npm registry: `buf curl` (with the repo's `proto/`) calls every unary method
//! with the Connect protocol (binary) and gRPC-Web, Connect-ES (`scripts/connect_client.mjs`) with
//! the Connect JSON codec; then what the clients hide: the error JSON and its HTTP status, the
//! problem type header, `415`, a bad `Connect-Timeout-Ms`, and what `SubmitScore` wrote.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, player, service, start};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `buf`, as the README's example runs it (scripts/setup.sh links it there).
fn buf() -> PathBuf {
    let bin = root().join("target/bin/buf");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup.sh",
        bin.display()
    );
    bin
}

const SERVICE: &str = "/leaderboard.v1.LeaderboardService/";

/// One `buf curl` call: `Ok(answer)` or `Err(error)`, both as JSON.
pub(crate) async fn buf_curl(
    api: &Api,
    protocol: &str,
    method: &str,
    data: Value,
    headers: &[String],
) -> Result<Value, Value> {
    let mut cmd = tokio::process::Command::new(buf());
    cmd.arg("curl")
        .arg("--schema")
        .arg(root().join("proto"))
        .args([
            "--protocol",
            protocol,
            "--timeout",
            "30s",
            "--data",
            &data.to_string(),
        ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    cmd.arg(api.app.url(&format!("{SERVICE}{method}")))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("buf curl answers within 60 s")
        .expect("buf starts");
    let parse = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    };
    if out.status.success() {
        Ok(parse(&out.stdout))
    } else {
        Err(parse(&out.stderr))
    }
}

/// [`buf_curl`] with the Connect protocol and `token`: its answer, or its error.
pub(crate) async fn connect_as(
    api: &Api,
    token: &str,
    method: &str,
    data: Value,
) -> Result<Value, Value> {
    let auth = [format!("Authorization: Bearer {token}")];
    buf_curl(api, "connect", method, data, &auth).await
}

async fn seeded(api: &Api, board: &str) {
    api.board_of_five(json!({ "id": board, "public_read": true }))
        .await;
}

fn players(answer: &Value) -> Vec<&str> {
    answer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["player"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn buf_curl_calls_every_method_with_connect_and_grpc_web() {
    let api = start().await;
    let auth = format!("Authorization: Bearer {}", service());
    for protocol in ["connect", "grpcweb"] {
        // A board per protocol: each starts from the same standings.
        let board = &format!("rpc-{protocol}");
        seeded(&api, board).await;
        let top = buf_curl(
            &api,
            protocol,
            "GetLeaderboard",
            json!({ "board": board, "limit": 2 }),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{protocol}: {e}"));
        assert_eq!(players(&top), ["ann", "bob"], "{protocol}: {top}");
        assert_eq!(top["entries"][0]["rank"], "1");
        assert_eq!(top["entries"][0]["score"], "500");
        assert_eq!(top["totalCount"], "5");
        assert_eq!(top["period"]["id"], "all");
        let cursor = top["nextCursor"].as_str().unwrap();
        let next = buf_curl(
            &api,
            protocol,
            "GetLeaderboard",
            json!({ "board": board, "limit": 2, "cursor": cursor }),
            &[],
        )
        .await
        .unwrap();
        assert_eq!(players(&next), ["cy", "dee"], "{protocol}: {next}");

        let me = buf_curl(
            &api,
            protocol,
            "GetPlayer",
            json!({ "board": board, "player": "cy" }),
            &[],
        )
        .await
        .unwrap();
        assert_eq!(me["entry"]["rank"], "3", "{protocol}: {me}");
        assert_eq!(me["percentile"], 60.0);

        let around = buf_curl(
            &api,
            protocol,
            "GetAround",
            json!({ "board": board, "player": "cy", "radius": 1 }),
            &[],
        )
        .await
        .unwrap();
        assert_eq!(
            players(&around),
            ["bob", "cy", "dee"],
            "{protocol}: {around}"
        );

        let key = format!("rpc-{protocol}");
        let submit = json!({
            "board": board, "player": format!("rpc-{protocol}"), "score": "450",
            "metadataJson": "{\"car\":\"blue\"}", "idempotencyKey": key
        });
        let done = buf_curl(
            &api,
            protocol,
            "SubmitScore",
            submit.clone(),
            std::slice::from_ref(&auth),
        )
        .await
        .unwrap_or_else(|e| panic!("{protocol}: {e}"));
        assert_eq!(
            done["status"], "SUBMIT_STATUS_APPLIED",
            "{protocol}: {done}"
        );
        assert_eq!(done["httpStatus"], 201);
        assert_eq!(done["entry"]["score"], "450");
        assert!(done.get("replayed").is_none(), "{done}");
        let again = buf_curl(
            &api,
            protocol,
            "SubmitScore",
            submit,
            std::slice::from_ref(&auth),
        )
        .await
        .unwrap();
        assert_eq!(again["replayed"], true, "{protocol}: {again}");
        assert_eq!(again["entry"], done["entry"]);

        let unknown = buf_curl(
            &api,
            protocol,
            "GetLeaderboard",
            json!({ "board": "no-such" }),
            &[],
        )
        .await
        .unwrap_err();
        assert_eq!(unknown["code"], "not_found", "{protocol}: {unknown}");
        let anonymous = buf_curl(
            &api,
            protocol,
            "SubmitScore",
            json!({ "board": board, "player": "x", "score": "1" }),
            &[],
        )
        .await
        .unwrap_err();
        assert_eq!(
            anonymous["code"], "unauthenticated",
            "{protocol}: {anonymous}"
        );
        let bad = buf_curl(
            &api,
            protocol,
            "GetLeaderboard",
            json!({ "board": board, "limit": 1000 }),
            &[],
        )
        .await
        .unwrap_err();
        assert_eq!(bad["code"], "invalid_argument", "{protocol}: {bad}");
    }
    // The submission is on the board, as REST reads it.
    let r = api
        .get("/api/v1/boards/rpc-grpcweb/players/rpc-grpcweb", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["metadata"], json!({ "car": "blue" }));
    api.stop().await;
}

#[tokio::test]
async fn connect_es_calls_every_method_with_the_json_codec() {
    let api = start().await;
    let board = "rpc-json";
    seeded(&api, board).await;
    let run = tokio::process::Command::new("node")
        .arg(root().join("scripts/connect_client.mjs"))
        .args([&api.app.url(""), &player("connect-json"), board, "cy"])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the Connect-ES client finishes within 120 s")
        .expect("node starts");
    assert!(
        out.status.success(),
        "connect_client.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(players(&seen["top"]["answer"]), ["ann", "bob"], "{seen}");
    assert_eq!(seen["top"]["answer"]["totalCount"], "5");
    assert_eq!(seen["player"]["answer"]["entry"]["rank"], "3");
    assert_eq!(players(&seen["around"]["answer"]), ["bob", "cy", "dee"]);
    assert_eq!(
        seen["submit"]["answer"]["status"], "SUBMIT_STATUS_APPLIED",
        "{seen}"
    );
    assert_eq!(seen["submit"]["answer"]["entry"]["rank"], "1");
    assert_eq!(seen["unknown_board"]["error"]["code"], "NotFound");
    assert_eq!(seen["unauthenticated"]["error"]["code"], "Unauthenticated");
    let german = seen["german"]["error"]["message"].as_str().unwrap();
    let english = seen["unknown_board"]["error"]["message"].as_str().unwrap();
    assert_ne!(german, english);
    api.stop().await;
}

#[tokio::test]
async fn errors_follow_the_connect_protocol() {
    let api = start().await;
    seeded(&api, "rpc-http").await;
    let url = format!("{SERVICE}GetLeaderboard");
    let json_headers = [("content-type", "application/json")];

    let missing = api
        .call(
            Method::POST,
            &url,
            None,
            Some(json!({ "board": "no-such" })),
            &[("connect-protocol-version", "1")],
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(missing.header("content-type"), "application/json");
    assert_eq!(missing.body["code"], "not_found");
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("no-such")
    );
    assert_eq!(
        missing.header("leaderboard-problem-type"),
        "https://leaderboard.dev/problems/board-not-found"
    );

    let unknown_field = api
        .call(
            Method::POST,
            &url,
            None,
            Some(json!({ "bored": "x" })),
            &json_headers,
        )
        .await;
    assert_eq!(unknown_field.status, 400, "{}", unknown_field.body);
    assert_eq!(unknown_field.body["code"], "invalid_argument");

    // The JSON mapping's integers: a string of one is read as the number, `null` as unset; a
    // negative one is refused.
    let as_text = api
        .call(
            Method::POST,
            &url,
            None,
            Some(json!({ "board": "rpc-http", "limit": "2", "cursor": null })),
            &json_headers,
        )
        .await;
    assert_eq!(as_text.status, 200, "{}", as_text.body);
    assert_eq!(as_text.body["entries"].as_array().map(Vec::len), Some(2));
    let around = api
        .call(
            Method::POST,
            &format!("{SERVICE}GetAround"),
            None,
            Some(json!({ "board": "rpc-http", "player": "cy", "radius": null })),
            &json_headers,
        )
        .await;
    assert_eq!(around.status, 200, "{}", around.body);
    assert_eq!(
        around.body["entries"].as_array().map(Vec::len),
        Some(5),
        "unset: the default radius, 5: {}",
        around.body
    );
    let negative = api
        .call(
            Method::POST,
            &url,
            None,
            Some(json!({ "board": "rpc-http", "limit": "-2" })),
            &json_headers,
        )
        .await;
    assert_eq!(negative.status, 400, "{}", negative.body);
    assert_eq!(negative.body["code"], "invalid_argument");

    let timeout = api
        .call(
            Method::POST,
            &url,
            None,
            Some(json!({ "board": "rpc-http" })),
            &[("connect-timeout-ms", "soon")],
        )
        .await;
    assert_eq!(timeout.body["code"], "invalid_argument", "{}", timeout.body);

    let wrong_method = api
        .call(
            Method::POST,
            &format!("{SERVICE}Nope"),
            None,
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(wrong_method.status, 404, "{}", wrong_method.body);
    assert_eq!(wrong_method.body["code"], "unimplemented");

    let text = api
        .call(
            Method::POST,
            &url,
            None,
            None,
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(text.status, 415);
    assert!(text.header("accept-post").contains("application/proto"));
    api.stop().await;
}

/// Reads `stdout` until it holds `n` JSON documents (buf curl prints one per message), within
/// `secs`.
async fn read_documents(
    stdout: &mut tokio::process::ChildStdout,
    buffer: &mut Vec<u8>,
    n: usize,
    secs: u64,
) -> Vec<Value> {
    use tokio::io::AsyncReadExt;
    let parse = |b: &[u8]| -> Vec<Value> {
        serde_json::Deserializer::from_slice(b)
            .into_iter::<Value>()
            .map_while(Result::ok)
            .collect()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while parse(buffer).len() < n {
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout_at(deadline, stdout.read(&mut chunk))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{n} messages within {secs} s; got: {}",
                    String::from_utf8_lossy(buffer)
                )
            })
            .unwrap();
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    parse(buffer)
}

#[tokio::test]
async fn stream_updates_delivers_an_update_after_a_write() {
    let api = start().await;
    let board = "rpc-live";
    seeded(&api, board).await;
    let mut child = tokio::process::Command::new(buf())
        .arg("curl")
        .arg("--schema")
        .arg(root().join("proto"))
        .args([
            "--protocol",
            "connect",
            // buf sends its --timeout as Connect-Timeout-Ms.
            "--timeout",
            "6s",
            "--data",
        ])
        .arg(json!({ "board": board, "limit": 3, "player": "cy" }).to_string())
        .arg(api.app.url(&format!("{SERVICE}StreamUpdates")))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("buf starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut buffer = Vec::new();
    let first = read_documents(&mut stdout, &mut buffer, 1, 20).await;
    if first.is_empty() {
        let out = child.wait_with_output().await.unwrap();
        panic!(
            "buf curl ended without a message: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(first[0]["snapshot"], true, "{}", first[0]);
    assert_eq!(players(&first[0]["leaderboard"]), ["ann", "bob", "cy"]);
    assert_eq!(first[0]["player"]["entry"]["rank"], "3");

    // A write: the stream shows it.
    api.submit_ok(board, "zed", json!(900)).await;
    let seen = read_documents(&mut stdout, &mut buffer, 2, 20).await;
    let update = &seen[1];
    assert!(update.get("snapshot").is_none(), "{update}");
    assert_eq!(
        players(&update["leaderboard"]),
        ["zed", "ann", "bob"],
        "{update}"
    );
    assert_eq!(update["player"]["entry"]["rank"], "4");
    let v = |m: &Value| m["version"].as_str().unwrap().parse::<u64>().unwrap();
    assert!(v(update) > v(&seen[0]));

    // The client's Connect-Timeout-Ms ends it, with deadline_exceeded.
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the stream ends at its Connect-Timeout-Ms")
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deadline_exceeded"), "{err}");
    api.stop().await;
}

/// The envelopes of a Connect stream body: (flags, payload).
fn envelopes(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    assert!(body.is_empty(), "a partial envelope is left");
    out
}

#[tokio::test]
async fn a_json_stream_is_enveloped_and_ends_when_the_server_says() {
    let api = crate::api::start_with(&[("live_max_secs", "2")], Default::default()).await;
    seeded(&api, "rpc-json-live").await;
    let url = api.app.url(&format!("{SERVICE}StreamUpdates"));
    let message = json!({ "board": "rpc-json-live", "limit": 2 }).to_string();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    body.extend_from_slice(message.as_bytes());
    let post = |body: Vec<u8>| {
        api.app
            .http
            .post(&url)
            .header("content-type", "application/connect+json")
            .header("connect-protocol-version", "1")
            .body(body)
            .send()
    };
    let r = tokio::time::timeout(Duration::from_secs(20), post(body.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/connect+json"
    );
    let bytes = tokio::time::timeout(Duration::from_secs(20), r.bytes())
        .await
        .expect("the stream ends after live_max_secs")
        .unwrap();
    let got = envelopes(&bytes);
    assert_eq!(got.len(), 2, "a snapshot and the end: {got:?}");
    assert_eq!(got[0].0, 0);
    let snapshot: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(snapshot["snapshot"], true);
    assert_eq!(players(&snapshot["leaderboard"]), ["ann", "bob"]);
    assert_eq!(got[1].0, 2);
    assert_eq!(
        serde_json::from_slice::<Value>(&got[1].1).unwrap(),
        json!({})
    );

    // The client's Connect-Timeout-Ms ends it first: deadline_exceeded.
    let r = api
        .app
        .http
        .post(&url)
        .header("content-type", "application/connect+json")
        .header("connect-timeout-ms", "1000")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let got = envelopes(&r.bytes().await.unwrap());
    assert_eq!(got.len(), 2, "{got:?}");
    let end: Value = serde_json::from_slice(&got[1].1).unwrap();
    assert_eq!(end["error"]["code"], "deadline_exceeded", "{end}");

    // An unknown board: the end envelope alone, with the error.
    let message = json!({ "board": "no-such" }).to_string();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    body.extend_from_slice(message.as_bytes());
    let r = post(body).await.unwrap();
    assert_eq!(r.status(), 200);
    let got = envelopes(&r.bytes().await.unwrap());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 2);
    let end: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(end["error"]["code"], "not_found", "{end}");
    api.stop().await;
}

#[tokio::test]
async fn plain_grpc_over_http2_works_on_spin() {
    let api = start().await;
    if api.app.runtime_name() != "spin" {
        // edge-host serves HTTP/1.1 only (docs/runtimes.md): plain gRPC needs HTTP/2 and its
        // trailers, so this is a Spin-only door (docs/connect.md).
        api.stop().await;
        return;
    }
    let board = "rpc-grpc";
    seeded(&api, board).await;
    let top = buf_curl(
        &api,
        "grpc",
        "GetLeaderboard",
        json!({ "board": board, "limit": 2 }),
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("grpc: {e}"));
    assert_eq!(players(&top), ["ann", "bob"], "{top}");
    assert_eq!(top["totalCount"], "5");
    let me = buf_curl(
        &api,
        "grpc",
        "GetPlayer",
        json!({ "board": board, "player": "cy" }),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(me["entry"]["rank"], "3");
    let around = buf_curl(
        &api,
        "grpc",
        "GetAround",
        json!({ "board": board, "player": "cy", "radius": 1 }),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(players(&around), ["bob", "cy", "dee"]);
    let auth = format!("Authorization: Bearer {}", service());
    let done = buf_curl(
        &api,
        "grpc",
        "SubmitScore",
        json!({ "board": board, "player": "rpc-grpc", "score": "50" }),
        std::slice::from_ref(&auth),
    )
    .await
    .unwrap();
    assert_eq!(done["status"], "SUBMIT_STATUS_APPLIED", "{done}");
    assert_eq!(done["entry"]["rank"], "6");
    // Errors are trailers-only answers.
    let unknown = buf_curl(
        &api,
        "grpc",
        "GetLeaderboard",
        json!({ "board": "no-such" }),
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(unknown["code"], "not_found", "{unknown}");
    let anonymous = buf_curl(
        &api,
        "grpc",
        "SubmitScore",
        json!({ "board": board, "player": "x", "score": "1" }),
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(anonymous["code"], "unauthenticated", "{anonymous}");
    api.stop().await;
}

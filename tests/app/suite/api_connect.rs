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

/// `buf`, from target/nodetools (scripts/setup.sh installs it).
fn buf() -> PathBuf {
    let arch = if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else {
        "x64"
    };
    let bin = root().join(format!(
        "target/nodetools/node_modules/@bufbuild/buf-linux-{arch}/bin/buf"
    ));
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup.sh",
        bin.display()
    );
    bin
}

const SERVICE: &str = "/leaderboard.v1.LeaderboardService/";

/// One `buf curl` call: `Ok(answer)` or `Err(error)`, both as JSON.
async fn buf_curl(
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

async fn seeded(api: &Api, board: &str) {
    api.create_board(json!({ "id": board, "public_read": true }))
        .await;
    for (p, score) in [
        ("ann", 500),
        ("bob", 400),
        ("cy", 300),
        ("dee", 200),
        ("eve", 100),
    ] {
        api.submit_ok(board, p, json!(score)).await;
    }
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

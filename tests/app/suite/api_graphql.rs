//! GraphQL over HTTP (`/graphql`, `functions/graphql`), on both runtimes: a real GraphQL client
//! (PyPI `gql` + graphql-core, `scripts/graphql_client.py`) introspects the served schema — it
//! must equal `api/schema.graphql` — and runs every query and the mutation; then the HTTP side
//! the client does not show: a cacheable GET with `ETag` and `304`, `no-store` otherwise, a
//! mutation refused on GET, limits refused before execution, errors with their codes and
//! language, the rate limits counting each root field (a subscription's before its stream opens),
//! and what the mutation wrote in Redis.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, start, start_with};

/// The suite's Python, with `gql` (scripts/setup.sh installs it).
fn python() -> std::path::PathBuf {
    let py = harness::pytools_python();
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup.sh",
        py.display()
    );
    py
}

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/graphql_client.py")
}

/// Runs the GraphQL client against the app: what it saw, as JSON.
async fn client_run(api: &Api, board: &str, token: &str, other: &str) -> Value {
    let run = tokio::process::Command::new(python())
        .arg(script())
        .args(["run", &api.app.url(""), board, token, other])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the GraphQL client finishes within 120 s")
        .expect("python starts");
    assert!(
        output.status.success(),
        "graphql_client.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "graphql_client.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn error_code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

async fn seeded(api: &Api, board: &str) {
    api.board_of_five(
        json!({ "id": board, "public_read": true, "cache": { "ttl_secs": 30, "stale_secs": 5 } }),
    )
    .await;
}

#[tokio::test]
async fn a_graphql_client_runs_every_query_and_the_mutation() {
    let api = start().await;
    let board = "gql-race";
    seeded(&api, board).await;
    let seen = client_run(&api, board, &player("gql-player"), "cy").await;

    assert_eq!(
        seen["schema_matches"],
        true,
        "the served schema differs from api/schema.graphql (served: target/schema.served.graphql):\n{}",
        seen["served_schema"].as_str().unwrap_or("")
    );
    // Fields come back in the order the query selected them.
    assert_eq!(
        seen["key_order"],
        json!({
            "leaderboard": ["totalCount", "entries", "board"],
            "entry": ["score", "player", "rank"],
        })
    );
    let b = &seen["board"]["data"]["board"];
    assert_eq!(b["id"], board);
    assert_eq!(b["sort"], "desc");
    assert_eq!(b["publicRead"], true);
    assert_eq!(b["periodKind"], "all_time");
    assert!(b["nextReset"].is_null());
    let config: Value = serde_json::from_str(b["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["id"], board);

    let top = &seen["top"]["data"]["leaderboard"];
    assert_eq!(top["totalCount"], 5);
    let ranked: Vec<(u64, &str, &str)> = top["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rank"].as_u64().unwrap(),
                e["player"].as_str().unwrap(),
                e["score"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ranked, [(1, "ann", "500"), (2, "bob", "400")]);
    assert!(top["nextCursor"].is_string());
    let next: Vec<&str> = seen["next_page"]["data"]["leaderboard"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["player"].as_str().unwrap())
        .collect();
    assert_eq!(next, ["cy", "dee"]);

    let me = &seen["player"]["data"]["player"];
    assert_eq!(me["entry"]["rank"], 3);
    assert_eq!(me["entry"]["score"], "300");
    assert_eq!(me["totalCount"], 5);
    assert_eq!(me["percentile"], 60.0, "{me}");
    assert!(
        seen["absent"]["data"]["player"].is_null(),
        "{}",
        seen["absent"]
    );
    assert!(seen["absent"].get("errors").is_none());

    let around: Vec<&str> = seen["around"]["data"]["around"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["player"].as_str().unwrap())
        .collect();
    assert_eq!(around, ["bob", "cy", "dee"]);
    let players = &seen["players"]["data"]["players"];
    assert_eq!(players["entries"][0]["player"], "cy");
    assert_eq!(players["missing"], json!(["nobody"]));

    assert_eq!(error_code(&seen["unknown_board"]), "NOT_FOUND");
    assert_eq!(
        seen["unknown_board"]["errors"][0]["extensions"]["type"],
        "https://leaderboard.dev/problems/board-not-found"
    );

    let submitted = &seen["submit"]["data"]["submitScore"];
    assert_eq!(submitted["status"], "APPLIED", "{}", seen["submit"]);
    assert_eq!(submitted["httpStatus"], 201);
    assert_eq!(submitted["replayed"], false);
    assert_eq!(submitted["entry"]["rank"], 1);
    assert_eq!(submitted["entry"]["score"], "4321");
    assert_eq!(submitted["entry"]["metadata"], "{\"car\":\"red\"}");
    assert_eq!(submitted["totalCount"], 6);
    let again = &seen["submit_again"]["data"]["submitScore"];
    assert_eq!(again["replayed"], true, "{}", seen["submit_again"]);
    assert_eq!(again["entry"], submitted["entry"]);
    assert_eq!(error_code(&seen["submit_anonymous"]), "UNAUTHENTICATED");

    let german = &seen["german"]["errors"][0];
    assert_eq!(german["extensions"]["code"], "NOT_FOUND");
    assert_eq!(german["extensions"]["title"], "Bestenliste nicht gefunden");
    assert!(german["extensions"]["detailEn"].is_string(), "{german}");

    // What the mutation wrote is in Redis, like a REST submission, and REST reads it.
    let r = api
        .get(&format!("/api/v1/boards/{board}/players/gql-player"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rank"], 1);
    assert_eq!(r.body["metadata"], json!({ "car": "red" }));
    api.stop().await;
}

async fn gql_get(api: &Api, query: &str, headers: &[(&str, &str)]) -> crate::api::Reply {
    let mut url = reqwest::Url::parse(&api.app.url("/graphql")).unwrap();
    url.query_pairs_mut().append_pair("query", query);
    let path = format!("/graphql?{}", url.query().unwrap());
    api.call(Method::GET, &path, None, None, headers).await
}

#[tokio::test]
async fn get_answers_are_cacheable_and_mutations_need_post() {
    let api = start().await;
    seeded(&api, "gql-cdn").await;
    api.create_board(json!({ "id": "gql-private" })).await;
    let query = "{ leaderboard(board: \"gql-cdn\", limit: 3) { entries { rank player } } }";

    let first = gql_get(&api, query, &[]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("content-type"), "application/json");
    assert_eq!(
        first.header("cache-control"),
        "public, max-age=0, s-maxage=30, stale-while-revalidate=5"
    );
    let etag = first.header("etag").to_string();
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(
        first.body["data"]["leaderboard"]["entries"][0]["player"],
        "ann"
    );
    let again = gql_get(&api, query, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, 304);

    // A private board: the answer is for the caller only.
    let private = api
        .call(
            Method::POST,
            "/graphql",
            Some(&admin()),
            Some(json!({ "query": "{ leaderboard(board: \"gql-private\") { totalCount } }" })),
            &[],
        )
        .await;
    assert_eq!(private.status, 200, "{}", private.body);
    assert_eq!(private.body["data"]["leaderboard"]["totalCount"], 0);
    assert_eq!(private.header("cache-control"), "no-store");
    let anonymous = gql_get(
        &api,
        "{ leaderboard(board: \"gql-private\") { totalCount } }",
        &[],
    )
    .await;
    assert_eq!(
        error_code(&anonymous.body),
        "UNAUTHENTICATED",
        "{}",
        anonymous.body
    );
    assert_eq!(anonymous.header("cache-control"), "no-store");

    // GraphQL over HTTP: a mutation is never run by a GET.
    let get_mutation = gql_get(
        &api,
        "mutation { submitScore(board: \"gql-cdn\", input: {player: \"x\", score: \"1\"}) { status } }",
        &[],
    )
    .await;
    assert_eq!(get_mutation.status, 405, "{}", get_mutation.body);
    assert_eq!(get_mutation.header("allow"), "POST");

    // The newer media type: a document that cannot run is a 400.
    let broken = api
        .call(
            Method::POST,
            "/graphql",
            None,
            Some(json!({ "query": "{ leaderboard(board: " })),
            &[("accept", "application/graphql-response+json")],
        )
        .await;
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert_eq!(
        broken.header("content-type"),
        "application/graphql-response+json"
    );
    assert_eq!(error_code(&broken.body), "GRAPHQL_PARSE_FAILED");

    // Too deep (valid in the schema, so a client's own validation would not stop it; sent as
    // is): refused before anything runs, with a GraphQL error.
    let deep = format!(
        "{{ __schema {{ types {{ {}name{} }} }} }}",
        "fields { type { ".repeat(12),
        " } }".repeat(12)
    );
    let too_deep = api
        .call(
            Method::POST,
            "/graphql",
            None,
            Some(json!({ "query": deep })),
            &[],
        )
        .await;
    assert_eq!(too_deep.status, 200, "{}", too_deep.body);
    assert_eq!(
        error_code(&too_deep.body),
        "QUERY_TOO_COMPLEX",
        "{}",
        too_deep.body
    );
    assert!(too_deep.body.get("data").is_none(), "{}", too_deep.body);

    // Not a GraphQL request at all: a problem, like every malformed request.
    let no_query = api
        .call(Method::POST, "/graphql", None, Some(json!({ "q": 1 })), &[])
        .await;
    no_query.assert_problem(400, "query");
    api.stop().await;
}

#[tokio::test]
async fn each_root_field_is_one_call_against_the_rate_limits() {
    let limits = json!([{
        "name": "reads", "key": "ip", "classes": ["read"], "boards": ["gql-limits"],
        "limit": 3, "window_secs": 3600, "store": "redis"
    }])
    .to_string();
    let api = start_with(&[("rate_limits", &limits)], Default::default()).await;
    seeded(&api, "gql-limits").await;
    let three = "{ a: leaderboard(board: \"gql-limits\") { totalCount } \
                 b: leaderboard(board: \"gql-limits\") { totalCount } \
                 c: leaderboard(board: \"gql-limits\") { totalCount } }";
    let r = api
        .call(
            Method::POST,
            "/graphql",
            None,
            Some(json!({ "query": three })),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["c"]["totalCount"], 5, "{}", r.body);
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    let r = api
        .call(
            Method::POST,
            "/graphql",
            None,
            Some(json!({ "query": "{ leaderboard(board: \"gql-limits\") { totalCount } }" })),
            &[],
        )
        .await;
    assert_eq!(error_code(&r.body), "RATE_LIMITED", "{}", r.body);
    assert!(
        r.body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(!r.header("ratelimit").is_empty(), "{:?}", r.headers);
    // A subscription is admitted before its stream opens: over the limit it is the HTTP 429
    // (with Retry-After), on which graphql-sse clients back off.
    let r = api
        .call(
            Method::POST,
            "/graphql",
            None,
            Some(json!({ "query": "subscription { board(id: \"gql-limits\") { version } }" })),
            &[("accept", "text/event-stream")],
        )
        .await;
    r.assert_problem(429, "reads");
    assert!(!r.header("retry-after").is_empty(), "{:?}", r.headers);
    api.stop().await;
}

//! The deepest JSON the API takes goes through every door, on both runtimes.
//!
//! The components run on a 256 KiB stack (`.cargo/config.toml`; docs/benchmarks.md, "Lean
//! components: a 256 KiB stack"), not Rust's default 1 MiB: each request's instance clears less
//! memory. Nesting is what uses stack here: serde_json refuses JSON nested more than 128 levels,
//! and everything we parse, store, read back and serialise recurses once per level. So this test
//! sends the deepest metadata a submission may carry and the deepest flag rule a flag document
//! may hold, then reads them back through REST, GraphQL and Connect, and asks for an evaluation.
//! A stack too small would trap (a bare 500 from the runtime); one level deeper must be a 400
//! problem. (Measured: all of this passes with a 64 KiB stack and traps with 32 KiB.)

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Reply, admin, start};

/// `{"a": … {"a": 1} …}`, `depth` objects deep (built, not parsed: the test's own parser has the
/// same limit).
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "a": inner }))
}

/// A reply's text (a body too deep for the test's JSON parser stays text).
fn text(r: &Reply) -> String {
    match &r.body {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// How many levels of `{"a":` the text holds (plain or inside a JSON string).
fn levels(text: &str) -> usize {
    text.matches(r#"{"a":"#).count() + text.matches(r#"{\"a\":"#).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deepest_accepted_json_goes_through_every_door() {
    let api = start().await;
    let board = "deep";
    api.create_board(json!({ "id": board, "public_read": true }))
        .await;

    // 126 levels in metadata: the body is 127 deep, the most serde_json takes.
    let deepest = 126;
    let r = api
        .submit(
            board,
            json!({ "player": "diver", "score": 7, "metadata": nested(deepest) }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(levels(&text(&r)), deepest);
    let r = api
        .submit(
            board,
            json!({ "player": "diver2", "score": 8, "metadata": nested(deepest + 1) }),
        )
        .await;
    r.assert_problem(400, "nested too deeply");

    for path in [
        "entries?limit=10",
        "entries?limit=10", // the cached copy
        "players/diver",
        "players/diver/around?radius=2",
        "players?ids=diver",
    ] {
        let r = api
            .get(&format!("/api/v1/boards/{board}/{path}"), None)
            .await;
        assert_eq!(r.status, 200, "{path}: {}", text(&r));
        assert_eq!(levels(&text(&r)), deepest, "{path}");
    }

    let query = format!(
        r#"{{ leaderboard(board: "{board}", limit: 5) {{ entries {{ player metadata }} }} }}"#
    );
    let r = api
        .call(
            Method::POST,
            "/graphql",
            None,
            Some(json!({ "query": query })),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(r.body["errors"].is_null(), "{}", text(&r));
    assert_eq!(levels(&text(&r)), deepest);

    let r = api
        .call(
            Method::POST,
            "/leaderboard.v1.LeaderboardService/GetLeaderboard",
            None,
            Some(json!({ "board": board, "limit": 5 })),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body["entries"][0]["player"], "diver");
    assert_eq!(levels(&text(&r)), deepest);

    // A flag rule of 60 nested negations: 123 levels with the document around it.
    let rule = (0..60).fold(json!(true), |inner, _| json!({ "!": [inner] }));
    let flags = json!({ "flags": { "deep": {
        "state": "ENABLED",
        "variants": { "on": true, "off": false },
        "defaultVariant": "off",
        "targeting": { "if": [rule, "on", "off"] },
    } } });
    let r = api
        .call(
            Method::PUT,
            "/api/v1/flags",
            Some(&admin()),
            Some(flags),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let r = api
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags/deep",
            Some(&admin()),
            Some(json!({ "context": { "targetingKey": "u1" } })),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body["value"], true, "60 negations of true: true");
    assert_eq!(r.body["reason"], "TARGETING_MATCH");
    api.stop().await;
}

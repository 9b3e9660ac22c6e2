//! What one request leaves for the next: nothing of its caller. A p3 instance on Spin 4 serves up
//! to 128 requests in turn and 16 at once, keeping its KV store, its Redis connections and the
//! variables it read; a request's caller, tenant, token and headers must stay its own. Requests
//! alternate two tenants, anonymous callers and per-request headers, in sequence and 16 at once,
//! and every answer is checked against what that caller alone would get. The access log's
//! `instance` shows whether they went through shared instances: on p3 they must have (else the
//! test proved nothing), on p2 every instance serves one request.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Reply, rows, start, token};

/// One kind of request and what it must get.
#[derive(Clone, Copy)]
enum Kind {
    /// acme's player reads acme's board: only acme's player in it.
    AcmeReads,
    /// globex's player reads globex's board of the same name: only globex's player.
    GlobexReads,
    /// No token (the default tenant): its board is not public, so `401`, whoever came before.
    Anonymous,
    /// acme's player asks for a board only globex has: `404`.
    AcmeAsksGlobexBoard,
    /// globex's player reads that board: `200`.
    GlobexOwnBoard,
    /// A token of a tenant the app has never seen: its `arena` does not exist (`404`), whoever
    /// read another tenant's `arena` before.
    Stranger,
}

const KINDS: [Kind; 6] = [
    Kind::AcmeReads,
    Kind::GlobexReads,
    Kind::Anonymous,
    Kind::AcmeAsksGlobexBoard,
    Kind::GlobexOwnBoard,
    Kind::Stranger,
];

fn player_of(tenant: &str) -> String {
    token(&format!("{tenant}-player"), &["player"], Some(tenant))
}

/// Sends request `i` of `kind` with its own request id and trace, and checks the answer.
async fn check(api: &Api, i: usize, kind: Kind) {
    let (path, tok, want, top) = match kind {
        Kind::AcmeReads => ("arena", Some(player_of("acme")), 200, Some("acme-top")),
        Kind::GlobexReads => ("arena", Some(player_of("globex")), 200, Some("globex-top")),
        Kind::Anonymous => ("arena", None, 401, None),
        Kind::AcmeAsksGlobexBoard => ("gx-only", Some(player_of("acme")), 404, None),
        Kind::GlobexOwnBoard => ("gx-only", Some(player_of("globex")), 200, Some("gx-player")),
        Kind::Stranger => ("arena", Some(player_of("initech")), 404, None),
    };
    let request_id = format!("iso-{i}");
    // Never all zeros (an invalid trace id).
    let trace = format!("{:032x}", i + 1);
    let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
    let r: Reply = api
        .call(
            Method::GET,
            &format!("/api/v1/boards/{path}/entries?limit=10"),
            tok.as_deref(),
            None,
            &[("x-request-id", &request_id), ("traceparent", &traceparent)],
        )
        .await;
    assert_eq!(r.status.as_u16(), want, "request {i}: {}", r.body);
    assert_eq!(r.header("x-request-id"), request_id, "request {i}");
    assert_eq!(
        r.header("traceparent").split('-').nth(1),
        Some(trace.as_str()),
        "request {i}"
    );
    match top {
        Some(player) => {
            let players: Vec<String> = rows(&r.body).into_iter().map(|(p, _, _)| p).collect();
            assert_eq!(players, [player], "request {i}: {}", r.body);
        }
        None => assert_eq!(
            r.header("content-type"),
            "application/problem+json",
            "request {i}"
        ),
    }
}

async fn board(api: &Api, tenant: &str, id: &str, player: &str) {
    let admin = token(&format!("{tenant}-admin"), &["admin"], Some(tenant));
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&admin),
            Some(json!({"id": id, "public_read": false})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let service = token(&format!("{tenant}-game"), &["service"], Some(tenant));
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/boards/{id}/scores"),
            Some(&service),
            Some(json!({"player": player, "score": 100})),
            &[],
        )
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn alternating_tenants_and_callers_never_see_each_others_requests() {
    let api = start().await;
    board(&api, "acme", "arena", "acme-top").await;
    board(&api, "globex", "arena", "globex-top").await;
    board(&api, "globex", "gx-only", "gx-player").await;
    // The tenant of a request without a token, so that its `401` is about the token.
    board(&api, "default", "arena", "default-top").await;

    // In sequence: each request follows one of another kind.
    for i in 0..48 {
        check(&api, i, KINDS[i % KINDS.len()]).await;
    }
    // 16 at once, three times: an instance serves several of them together.
    for round in 0..3 {
        join_all((0..16).map(|j| {
            let i = 1000 * (round + 1) + j;
            check(&api, i, KINDS[(j + round) % KINDS.len()])
        }))
        .await;
    }

    // Which instances served the reads.
    let lines: Vec<Value> = api
        .access_log()
        .into_iter()
        .filter(|l| l["route"] == "/api/:v/boards/:board/entries")
        .collect();
    assert!(lines.len() >= 96, "{} access lines", lines.len());
    let tenants_of = |instance: &Value| -> Vec<String> {
        let mut t: Vec<String> = lines
            .iter()
            .filter(|l| &l["instance"] == instance)
            .filter_map(|l| l["tenant"].as_str().map(str::to_owned))
            .collect();
        t.sort();
        t.dedup();
        t
    };
    if harness::p3_under_test() {
        let shared = lines
            .iter()
            .map(|l| &l["instance"])
            .any(|i| tenants_of(i).len() >= 2);
        assert!(
            shared,
            "no p3 instance served both tenants: the test saw no reuse"
        );
    } else if harness::RuntimeKind::under_test().is_spin() {
        assert!(
            lines.iter().all(|l| l["instance_request"] == 1),
            "a p2 instance on Spin serves one request"
        );
    }
    api.stop().await;
}

/// The board a MONITOR line names (`lb:{default/il-<round>-<n>}:…`), if any.
fn board_in(line: &str) -> Option<&str> {
    let start = line.find("lb:{default/il-")? + "lb:{default/".len();
    let len = line[start..].find('}')?;
    Some(&line[start..start + len])
}

/// Per connection (MONITOR's `[db addr]`; `[db lua]` are a script's own calls), the boards its
/// commands named, in order, a request's run of commands counted once.
fn by_connection(text: &str) -> std::collections::BTreeMap<&str, Vec<&str>> {
    let mut by_connection: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for line in text.lines() {
        let (Some(addr), Some(board)) = (
            line.split_once('[')
                .and_then(|(_, r)| r.split_once(']'))
                .map(|(a, _)| a)
                .filter(|a| !a.ends_with(" lua")),
            board_in(line),
        ) else {
            continue;
        };
        let boards = by_connection.entry(addr).or_default();
        if boards.last() != Some(&board) {
            boards.push(board);
        }
    }
    by_connection
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_never_interleave_commands_on_one_redis_connection() {
    if harness::cluster_three() {
        eprintln!(
            "skipped: it watches one server with MONITOR, where a cluster spreads the commands over three"
        );
        return;
    }
    let api = start().await;
    let service = crate::api::service();
    let rounds = 3;
    for round in 0..rounds {
        for n in 0..16 {
            let r = api
                .create_board(json!({"id": format!("il-{round}-{n:02}"), "public_read": true}))
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
    }
    // Every command Redis runs from here on, with the connection it came on.
    let log = std::env::temp_dir().join(format!("edge-monitor-{}.log", std::process::id()));
    let mut monitor = std::process::Command::new("redis-cli")
        .args(["-p", &api.redis.port.to_string(), "monitor"])
        .stdout(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("redis-cli (Debian's redis-tools, installed by scripts/setup.sh)");
    // MONITOR starts when its `OK` is there.
    harness::eventually(std::time::Duration::from_secs(5), || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.starts_with("OK"))
    })
    .await
    .expect("MONITOR did not start");
    // 16 submissions at once, each to its own board, three times (each time to new boards).
    for round in 0..rounds {
        let replies = join_all((0..16).map(|n| {
            let (api, service) = (&api, &service);
            async move {
                api.call(
                    Method::POST,
                    &format!("/api/v1/boards/il-{round}-{n:02}/scores"),
                    Some(service),
                    Some(json!({"player": "ann", "score": 1 + n})),
                    &[],
                )
                .await
            }
        }))
        .await;
        for r in replies {
            assert_eq!(r.status, 201, "{}", r.body);
        }
    }
    // MONITOR writes as Redis runs them: wait until every request's commands are in the log.
    harness::eventually(std::time::Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&log).ok()?;
        let named: usize = by_connection(&text).values().map(Vec::len).sum();
        (named >= 48).then_some(())
    })
    .await
    .expect("MONITOR missed submissions");
    let _ = monitor.kill();
    let _ = monitor.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);

    let by_connection = by_connection(&text);
    let named: usize = by_connection.values().map(Vec::len).sum();
    assert!(
        named >= 48,
        "MONITOR saw {named} requests' commands:\n{text}"
    );
    for (addr, boards) in &by_connection {
        let mut seen = boards.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen.len(),
            boards.len(),
            "connection {addr} interleaved requests: {boards:?}"
        );
    }
    if harness::p3_under_test() {
        // The instance kept its connections: some served several requests, one after another.
        assert!(
            by_connection.values().any(|b| b.len() >= 2),
            "no connection served two requests: {by_connection:?}"
        );
    }
    api.stop().await;
}

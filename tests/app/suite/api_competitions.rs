//! Competitions through HTTP: a tournament's window, joining it, its attempts, ending it early
//! and extending it, and its announcements in the log and as webhooks (docs/competitions.md).

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, now_secs, player, service, start, start_with};
use crate::receiver::{Received, Receiver};

/// An RFC 3339 moment `secs` from now, to the second (UTC).
fn moment(secs: i64) -> String {
    chrono::DateTime::from_timestamp(now_secs() + secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn tournament(api: &Api, id: &str, write_mode: &str, t: Value) -> Value {
    api.create_board(json!({"id": id, "write_mode": write_mode, "tournament": t}))
        .await
        .body
}

async fn submit_with_key(api: &Api, board: &str, player: &str, key: &str) -> crate::api::Reply {
    api.call(
        Method::POST,
        &format!("/api/v1/boards/{board}/scores"),
        Some(&service()),
        Some(json!({"player": player, "score": 10})),
        &[("idempotency-key", key)],
    )
    .await
}

/// Players on an all-time board, as Redis holds them.
fn entries(api: &Api, board: &str) -> u64 {
    redis::cmd("ZCARD")
        .arg(format!("lb:{{default/{board}}}:z:all"))
        .query(&mut api.redis.conn())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tournament_takes_scores_inside_its_window_and_refuses_them_outside_with_the_window() {
    let api = start().await;

    // Open: from a minute ago for an hour. Shown with its end, never the duration posted.
    let open = tournament(
        &api,
        "cup",
        "sync",
        json!({"title": "Friday cup", "category": "weekly", "start": moment(-60), "duration_secs": 3600}),
    )
    .await;
    assert_eq!(open["tournament"]["title"], "Friday cup");
    assert_eq!(open["tournament"]["category"], "weekly");
    assert!(open["tournament"].get("duration_secs").is_none(), "{open}");
    let end = open["tournament"]["end"].as_str().unwrap().to_string();
    let r = api
        .submit("cup", json!({"player": "ann", "score": 120}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["rank"], 1);
    let got = api.get("/api/v1/boards/cup", Some(&admin())).await;
    assert_eq!(got.body["tournament"]["end"], end.as_str());

    // Upcoming: opens tomorrow. Refused with the window; nothing stored.
    let start_at = moment(86_400);
    tournament(
        &api,
        "next-cup",
        "sync",
        json!({"title": "Next cup", "start": start_at, "duration_secs": 3600}),
    )
    .await;
    let r = api
        .submit("next-cup", json!({"player": "ann", "score": 120}))
        .await;
    r.assert_problem(409, "has not started");
    assert_eq!(
        r.body["type"],
        "https://leaderboard.dev/problems/tournament-closed"
    );
    assert_eq!(r.body["phase"], "upcoming");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(r.body["start"].as_str().unwrap()).unwrap(),
        chrono::DateTime::parse_from_rfc3339(&start_at).unwrap()
    );
    assert_eq!(entries(&api, "next-cup"), 0);
    assert_eq!(entries(&api, "cup"), 1);

    // Ended, on an async board: refused before it reaches the inbox.
    tournament(
        &api,
        "old-cup",
        "async",
        json!({"title": "Old cup", "start": moment(-7200), "end": moment(-3600)}),
    )
    .await;
    let r = api
        .submit("old-cup", json!({"player": "bob", "score": 5}))
        .await;
    r.assert_problem(409, "has ended");
    assert_eq!(r.body["phase"], "ended");
    let mut c = api.redis.conn();
    let inbox: u64 = redis::cmd("XLEN")
        .arg("lb:{default/old-cup}:inbox")
        .query(&mut c)
        .unwrap();
    assert_eq!(inbox, 0, "a refused submission never reaches the inbox");

    // In another language: the title and sentence follow Accept-Language, the window stays.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/old-cup/scores",
            Some(&service()),
            Some(json!({"player": "bob", "score": 5})),
            &[("accept-language", "de")],
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["title"], "Turnier geschlossen");
    assert_eq!(r.body["phase"], "ended");
    assert!(r.body["detail_en"].as_str().unwrap().contains("has ended"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submission_accepted_in_the_window_replays_after_it_closes_and_a_new_one_is_refused() {
    let api = start().await;
    // A window of eight seconds that opened a second ago (to the second): room for the first
    // submission on a loaded machine; then the wait until the end the board shows.
    let created = tournament(
        &api,
        "sprint",
        "sync",
        json!({"title": "Sprint", "start": moment(-1), "duration_secs": 8}),
    )
    .await;
    let first = submit_with_key(&api, "sprint", "ann", "sprint-ann-1").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let end = chrono::DateTime::parse_from_rfc3339(created["tournament"]["end"].as_str().unwrap())
        .unwrap()
        .timestamp();
    while now_secs() <= end {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let replay = submit_with_key(&api, "sprint", "ann", "sprint-ann-1").await;
    assert_eq!(replay.status, 201, "{}", replay.body);
    assert_eq!(replay.header("idempotent-replayed"), "true");
    assert_eq!(replay.body["score"], first.body["score"]);
    let late = submit_with_key(&api, "sprint", "bob", "sprint-bob-1").await;
    late.assert_problem(409, "has ended");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_tournament_or_attempts_on_an_async_board_is_refused_with_why() {
    let api = start().await;
    let starts = moment(0);
    api.post_board(json!({"id": "cup", "write_mode": "async", "tournament":
        {"title": "Cup", "start": starts, "duration_secs": 60, "max_attempts": 3}}))
        .await
        .assert_problem(422, "max_attempts needs write_mode sync");
    for (status, t, says) in [
        (
            422,
            json!({"title": "Cup", "start": starts, "duration_secs": 60, "max_size": 5}),
            "max_size needs join_required",
        ),
        (
            422,
            json!({"title": "Cup", "start": starts}),
            "exactly one of end and duration_secs",
        ),
        (
            422,
            json!({"title": "Cup", "start": starts, "end": moment(-10)}),
            "after",
        ),
        (
            422,
            json!({"title": "", "start": starts, "duration_secs": 60}),
            "title",
        ),
        (
            422,
            json!({"title": "Cup", "start": "soon", "duration_secs": 60}),
            "tournament.start",
        ),
        (
            400,
            json!({"title": "Cup", "start": starts, "duration_secs": 60, "rounds": 3}),
            "rounds",
        ),
    ] {
        api.post_board(json!({"id": "cup", "tournament": t}))
            .await
            .assert_problem(status, says);
    }
    let r = api.get("/api/v1/boards/cup", Some(&admin())).await;
    assert_eq!(r.status, 404, "no refused board was stored: {}", r.body);
}

async fn join(api: &Api, board: &str, who: &str, token: &str) -> crate::api::Reply {
    api.call(
        Method::POST,
        &format!("/api/v1/boards/{board}/join"),
        Some(token),
        Some(json!({ "player": who })),
        &[],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn players_join_a_tournament_once_and_only_those_who_joined_may_submit() {
    let api = start().await;
    tournament(
        &api,
        "league-night",
        "sync",
        json!({"title": "League night", "start": moment(-60), "duration_secs": 3600, "join_required": true}),
    )
    .await;

    // Not joined: refused, nothing stored, and the Idempotency-Key freed for the retry.
    let r = submit_with_key(&api, "league-night", "ann", "night-ann-1").await;
    r.assert_problem(403, "joined");
    assert_eq!(
        r.body["type"],
        "https://leaderboard.dev/problems/tournament-not-joined"
    );
    assert_eq!(entries(&api, "league-night"), 0);

    // A player joins itself: 201, then 200 again with the same count.
    let r = join(&api, "league-night", "ann", &player("ann")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"board": "league-night", "player": "ann", "joined": true, "players": 1})
    );
    let again = join(&api, "league-night", "ann", &player("ann")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["players"], 1);
    // Never another player; a service joins anyone.
    join(&api, "league-night", "bob", &player("ann"))
        .await
        .assert_problem(403, "own subject");
    assert_eq!(
        join(&api, "league-night", "bob", &service()).await.status,
        201
    );
    let mut c = api.redis.conn();
    let mut joined: Vec<String> = redis::cmd("SMEMBERS")
        .arg("lb:{default/league-night}:joined")
        .query(&mut c)
        .unwrap();
    joined.sort();
    assert_eq!(joined, ["ann", "bob"]);

    // Joined: the same submission, with the same key, lands once.
    let r = submit_with_key(&api, "league-night", "ann", "night-ann-1").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("idempotent-replayed"), "");
    assert_eq!(entries(&api, "league-night"), 1);

    // A plain board is not joined; an ended tournament is not either.
    api.create_board(json!({"id": "plain"})).await;
    join(&api, "plain", "ann", &service())
        .await
        .assert_problem(409, "not a tournament");
    tournament(
        &api,
        "gone-cup",
        "sync",
        json!({"title": "Gone", "start": moment(-7200), "end": moment(-3600), "join_required": true}),
    )
    .await;
    let r = join(&api, "gone-cup", "ann", &service()).await;
    r.assert_problem(409, "has ended");
    assert_eq!(r.body["phase"], "ended");
    // A body with more than a player says so.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/league-night/join",
            Some(&service()),
            Some(json!({"player": "ann", "team": "x"})),
            &[],
        )
        .await;
    r.assert_problem(400, "team");
    // Joining is a write: GET is not served.
    let r = api
        .get("/api/v1/boards/league-night/join", Some(&service()))
        .await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.header("allow"), "POST");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_joins_never_take_a_tournament_past_its_size() {
    let api = start().await;
    tournament(
        &api,
        "small-cup",
        "sync",
        json!({"title": "Small cup", "start": moment(3600), "duration_secs": 3600,
               "join_required": true, "max_size": 15}),
    )
    .await;
    let joins = (0..40).map(|i| {
        let api = &api;
        async move { join(api, "small-cup", &format!("p{i:02}"), &service()).await }
    });
    let answers = futures::future::join_all(joins).await;
    let joined = answers.iter().filter(|r| r.status == 201).count();
    let full: Vec<_> = answers.iter().filter(|r| r.status == 409).collect();
    assert_eq!(
        joined,
        15,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(full.len(), 25);
    for r in full {
        assert_eq!(
            r.body["type"],
            "https://leaderboard.dev/problems/tournament-full"
        );
        assert_eq!(r.body["max_size"], 15);
    }
    let size: u64 = redis::cmd("SCARD")
        .arg("lb:{default/small-cup}:joined")
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(size, 15);
    // Every answered count is distinct: each join saw the ones before it.
    let mut counts: Vec<u64> = answers
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.body["players"].as_u64().unwrap())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=15).collect::<Vec<u64>>());
}

async fn attempts(api: &Api, board: &str, who: &str, token: &str) -> crate::api::Reply {
    api.get(
        &format!("/api/v1/boards/{board}/attempts?player={who}"),
        Some(token),
    )
    .await
}

async fn grant(api: &Api, board: &str, body: Value, token: &str) -> crate::api::Reply {
    api.call(
        Method::POST,
        &format!("/api/v1/boards/{board}/attempts"),
        Some(token),
        Some(body),
        &[],
    )
    .await
}

/// A submission of `score` for `who` with its own token and an `Idempotency-Key`.
async fn attempt(api: &Api, board: &str, who: &str, score: i64, key: &str) -> crate::api::Reply {
    api.call(
        Method::POST,
        &format!("/api/v1/boards/{board}/scores"),
        Some(&player(who)),
        Some(json!({"player": who, "score": score})),
        &[("idempotency-key", key)],
    )
    .await
}

/// A player's record on an all-time board, as Redis holds it.
fn record(api: &Api, board: &str, who: &str) -> Value {
    let raw: String = redis::cmd("HGET")
        .arg(format!("lb:{{default/{board}}}:r:all"))
        .arg(who)
        .query(&mut api.redis.conn())
        .unwrap();
    serde_json::from_str(&raw).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_player_gets_max_attempts_per_run_and_what_a_service_grants_on_top() {
    let api = start().await;
    tournament(
        &api,
        "trials",
        "sync",
        json!({"title": "Time trials", "start": moment(-60), "duration_secs": 3600, "max_attempts": 2}),
    )
    .await;

    // Two attempts, whether or not they beat the best; the third is refused with what is allowed.
    assert_eq!(
        attempt(&api, "trials", "ann", 50, "ann-1").await.status,
        201
    );
    assert_eq!(
        attempt(&api, "trials", "ann", 40, "ann-2").await.status,
        200
    );
    let third = attempt(&api, "trials", "ann", 90, "ann-3").await;
    third.assert_problem(409, "attempt");
    assert_eq!(
        third.body["type"],
        "https://leaderboard.dev/problems/tournament-attempts-used"
    );
    assert_eq!(third.body["allowed"], 2);
    assert_eq!(record(&api, "trials", "ann")["submissions"], 2);
    assert_eq!(
        record(&api, "trials", "ann")["score"],
        50,
        "the third never landed"
    );

    // The player reads its own attempts, never another's.
    let own = attempts(&api, "trials", "ann", &player("ann")).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(
        own.body,
        json!({"board": "trials", "player": "ann", "period": "all", "max_attempts": 2,
               "granted": 0, "allowed": 2, "used": 2, "left": 0})
    );
    attempts(&api, "trials", "bob", &player("ann"))
        .await
        .assert_problem(403, "own subject");
    let bob = attempts(&api, "trials", "bob", &service()).await;
    assert_eq!(
        (bob.body["used"].clone(), bob.body["left"].clone()),
        (json!(0), json!(2))
    );

    // Only a service or admin grants, 1 to 1,000 at a time.
    grant(
        &api,
        "trials",
        json!({"player": "ann", "extra": 1}),
        &player("ann"),
    )
    .await
    .assert_problem(403, "service");
    for extra in [0, 1001] {
        grant(
            &api,
            "trials",
            json!({"player": "ann", "extra": extra}),
            &service(),
        )
        .await
        .assert_problem(400, "1..=1000");
    }
    let granted = grant(
        &api,
        "trials",
        json!({"player": "ann", "extra": 1}),
        &service(),
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(
        (
            granted.body["granted"].clone(),
            granted.body["allowed"].clone(),
            granted.body["left"].clone()
        ),
        (json!(1), json!(3), json!(1))
    );
    let in_redis: u64 = redis::cmd("HGET")
        .arg("lb:{default/trials}:grants:all")
        .arg("ann")
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(in_redis, 1);

    // The refused attempt's key was freed: the same request now lands, once; the next is refused.
    let retried = attempt(&api, "trials", "ann", 90, "ann-3").await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.header("idempotent-replayed"), "");
    assert_eq!(retried.body["score"], 90);
    let replay = attempt(&api, "trials", "ann", 90, "ann-3").await;
    assert_eq!(replay.header("idempotent-replayed"), "true");
    attempt(&api, "trials", "ann", 95, "ann-4")
        .await
        .assert_problem(409, "3 allowed");
    assert_eq!(record(&api, "trials", "ann")["submissions"], 3);

    // The grant is in the audit log, with who and how many.
    let audit = api.get("/api/v1/audit?limit=50", Some(&admin())).await;
    let grants: Vec<&Value> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "tournament.grant")
        .collect();
    assert_eq!(grants.len(), 1, "{}", audit.body);
    assert_eq!(grants[0]["target"], "trials");
    assert_eq!(grants[0]["detail"]["player"], "ann");
    assert_eq!(grants[0]["detail"]["extra"], 1);

    // A board that counts no attempts says so; an ended tournament takes no grant.
    api.create_board(json!({"id": "plain"})).await;
    attempts(&api, "plain", "ann", &service())
        .await
        .assert_problem(409, "counts no attempts");
    tournament(
        &api,
        "old-trials",
        "sync",
        json!({"title": "Old", "start": moment(-7200), "end": moment(-3600), "max_attempts": 1}),
    )
    .await;
    let r = grant(
        &api,
        "old-trials",
        json!({"player": "ann", "extra": 1}),
        &service(),
    )
    .await;
    r.assert_problem(409, "has ended");
    assert_eq!(r.body["phase"], "ended");
    // Another method on the route is not served.
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/trials/attempts",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.header("allow"), "GET, POST");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_submissions_never_take_a_player_past_its_attempts() {
    let api = start().await;
    tournament(
        &api,
        "rush",
        "sync",
        json!({"title": "Rush", "start": moment(-60), "duration_secs": 3600, "max_attempts": 3}),
    )
    .await;
    let sends = (0..12).map(|i| {
        let api = &api;
        async move {
            api.submit("rush", json!({"player": "cat", "score": 100 + i}))
                .await
        }
    });
    let answers = futures::future::join_all(sends).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    let taken = statuses.iter().filter(|s| matches!(s, 200 | 201)).count();
    assert_eq!(taken, 3, "{statuses:?}");
    for r in answers.iter().filter(|r| r.status == 409) {
        assert_eq!(
            r.body["type"], "https://leaderboard.dev/problems/tournament-attempts-used",
            "{}",
            r.body
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(record(&api, "rush", "cat")["submissions"], 3);
    let read = attempts(&api, "rush", "cat", &service()).await;
    assert_eq!(
        (read.body["used"].clone(), read.body["left"].clone()),
        (json!(3), json!(0))
    );
}

/// The messages of type `kind` the receiver got, each verified with the Standard Webhooks
/// reference library under `secret`.
fn verified(secret: &str, got: &[Received], kind: &str) -> Vec<Value> {
    let hook = standardwebhooks::Webhook::new(secret).unwrap();
    got.iter()
        .filter_map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            (body["type"] == kind).then(|| {
                hook.verify(&r.body, &r.headers)
                    .unwrap_or_else(|e| panic!("{kind}: the signature does not verify: {e}"));
                body
            })
        })
        .collect()
}

async fn window_change(
    api: &Api,
    board: &str,
    what: &str,
    body: Option<Value>,
) -> crate::api::Reply {
    api.call(
        Method::POST,
        &format!("/api/v1/boards/{board}/tournament/{what}"),
        Some(&admin()),
        body,
        &[],
    )
    .await
}

/// The types of the board's log, in order.
async fn logged(api: &Api, board: &str) -> Vec<String> {
    let r = api
        .get(
            &format!("/api/v1/boards/{board}/events?limit=1000"),
            Some(&service()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tournament_is_announced_once_as_it_opens_and_ends_and_an_ended_one_stays_ended() {
    let mut api = start_with(
        &[
            ("webhook_allow_private", "127.0.0.1"),
            ("webhook_allowed_hosts", "http://127.0.0.1:*"),
            ("webhook_retry_schedule", "1s,1s,1s"),
        ],
        edge_host::HostConfig::default(),
    )
    .await;
    api.start_worker().await;
    let receiver = Receiver::start().await;
    let sub = api
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(&admin()),
            Some(json!({"url": receiver.url(),
                        "events": ["tournament.started", "tournament.ended"], "top_n": 2})),
            &[],
        )
        .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let secret = sub.body["secret"].as_str().unwrap().to_string();

    // "final" opens in two seconds for an hour, "blitz" in one for ten seconds (a start before
    // the subscription was made would not be sent to it).
    tournament(
        &api,
        "final",
        "sync",
        json!({"title": "Final", "category": "cups", "start": moment(2), "duration_secs": 3600}),
    )
    .await;
    tournament(
        &api,
        "blitz",
        "sync",
        json!({"title": "Blitz", "start": moment(1), "duration_secs": 10}),
    )
    .await;

    // Both open (the worker's alarm, no traffic needed), and blitz ends at its end by itself.
    let got = receiver
        .wait_for(
            30,
            |got| verified(&secret, got, "tournament.started").len() == 2,
            || async {},
        )
        .await;
    let started = verified(&secret, &got, "tournament.started");
    let fin = started
        .iter()
        .find(|m| m["data"]["board"] == "final")
        .unwrap();
    assert_eq!(fin["data"]["title"], "Final");
    assert_eq!(fin["data"]["category"], "cups");
    let r = api
        .submit("blitz", json!({"player": "zed", "score": 7}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = receiver
        .wait_for(
            60,
            |got| !verified(&secret, got, "tournament.ended").is_empty(),
            || async {},
        )
        .await;
    let blitz = &verified(&secret, &got, "tournament.ended")[0];
    assert_eq!(blitz["data"]["board"], "blitz");
    assert_eq!(blitz["data"]["early"], false);
    assert_eq!(blitz["data"]["period"], "all");
    assert_eq!(blitz["data"]["top"][0]["player"], "zed");

    // Scores in the final, then an extension: only later than the end it has.
    for (who, score) in [("ann", 10), ("bob", 30), ("cat", 20)] {
        let r = api
            .submit("final", json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let later = moment(7200);
    let r = window_change(&api, "final", "extend", Some(json!({"end": later}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(r.body["tournament"]["end"].as_str().unwrap())
            .unwrap(),
        chrono::DateTime::parse_from_rfc3339(&later).unwrap()
    );
    window_change(&api, "final", "extend", Some(json!({"end": moment(60)})))
        .await
        .assert_problem(409, "later end");
    window_change(&api, "final", "extend", Some(json!({"end": "soon"})))
        .await
        .assert_problem(400, "RFC 3339");
    // Only an admin changes a window.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/final/tournament/end",
            Some(&service()),
            None,
            &[],
        )
        .await;
    r.assert_problem(403, "admin");

    // Ended early: at once, announced with the final top, and no more scores.
    let r = window_change(&api, "final", "end", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ended_at =
        chrono::DateTime::parse_from_rfc3339(r.body["tournament"]["end"].as_str().unwrap())
            .unwrap()
            .timestamp();
    assert!(ended_at <= now_secs(), "{}", r.body);
    let late = api
        .submit("final", json!({"player": "dan", "score": 99}))
        .await;
    late.assert_problem(409, "has ended");
    let got = receiver
        .wait_for(
            30,
            |got| verified(&secret, got, "tournament.ended").len() == 2,
            || async {},
        )
        .await;
    let ended = verified(&secret, &got, "tournament.ended");
    let fin = ended
        .iter()
        .find(|m| m["data"]["board"] == "final")
        .unwrap();
    assert_eq!(fin["data"]["early"], true);
    assert_eq!(fin["data"]["top_n"], 2);
    let top: Vec<(&str, i64)> = fin["data"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["player"].as_str().unwrap(), e["score"].as_i64().unwrap()))
        .collect();
    assert_eq!(top, [("bob", 30), ("cat", 20)]);

    // An ended tournament stays ended: no second end, no extension.
    let r = window_change(&api, "final", "end", None).await;
    r.assert_problem(409, "has ended");
    let r = window_change(&api, "final", "extend", Some(json!({"end": moment(9000)}))).await;
    r.assert_problem(409, "has ended");
    // A plain board has no window to change.
    api.create_board(json!({"id": "plain"})).await;
    window_change(&api, "plain", "end", None)
        .await
        .assert_problem(409, "not a tournament");

    // In the log once each, in order; in the audit; and no second message came meanwhile.
    let log = logged(&api, "final").await;
    let tournament_entries: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .filter(|t| t.starts_with("tournament_"))
        .collect();
    assert_eq!(
        tournament_entries,
        ["tournament_started", "tournament_ended"],
        "{log:?}"
    );
    let audit = api.get("/api/v1/audit?limit=50", Some(&admin())).await;
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"tournament.extend") && actions.contains(&"tournament.end"),
        "{actions:?}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let got = receiver.received();
    assert_eq!(verified(&secret, &got, "tournament.started").len(), 2);
    assert_eq!(verified(&secret, &got, "tournament.ended").len(), 2);
    let marks: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg("lb:{default/final}:announced")
        .query(&mut api.redis.conn())
        .unwrap();
    assert!(
        marks.contains_key("started") && marks.contains_key("ended"),
        "{marks:?}"
    );
    assert_eq!(marks.get("early").map(String::as_str), Some("1"));
}

/// The board ids of a listing page, and its next cursor.
async fn listed(api: &Api, query: &str) -> (Vec<String>, Option<String>) {
    let r = api
        .get(
            &format!("/api/v1/tournaments?{query}"),
            Some(&player("ann")),
        )
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    let ids = r.body["tournaments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["board"].as_str().unwrap().to_string())
        .collect();
    (ids, r.body["next_cursor"].as_str().map(str::to_string))
}

/// Every board id of a listing, page by page (`limit` each), following the cursors.
async fn walked(api: &Api, query: &str, limit: u32) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let q = match &cursor {
            Some(c) => format!("{query}&limit={limit}&cursor={c}"),
            None => format!("{query}&limit={limit}"),
        };
        let (ids, next) = listed(api, &q).await;
        assert!(ids.len() <= limit as usize, "{ids:?}");
        all.extend(ids);
        match next {
            Some(c) => cursor = Some(c),
            None => return all,
        }
    }
    panic!("the listing never ended: {all:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tenants_tournaments_are_listed_by_state_and_category_page_by_page() {
    let api = start().await;
    let tie = moment(7200);
    for (id, t) in [
        (
            "o1",
            json!({"title": "O1", "category": "weekly", "start": moment(-60), "end": moment(3600)}),
        ),
        (
            "o3",
            json!({"title": "O3", "start": moment(-60), "end": tie}),
        ),
        (
            "o2",
            json!({"title": "O2", "category": "daily", "start": moment(-60), "end": tie}),
        ),
        (
            "u1",
            json!({"title": "U1", "category": "weekly", "start": moment(3600), "duration_secs": 60}),
        ),
        (
            "e1",
            json!({"title": "E1", "start": moment(-7200), "end": moment(-3600)}),
        ),
        (
            "e2",
            json!({"title": "E2", "start": moment(-9000), "end": moment(-7200)}),
        ),
    ] {
        tournament(&api, id, "sync", t).await;
    }
    api.create_board(json!({"id": "plain"})).await;

    // Open by default, the soonest to end first; a tie at one end ordered by id.
    assert_eq!(listed(&api, "").await.0, ["o1", "o2", "o3"]);
    assert_eq!(listed(&api, "state=upcoming").await.0, ["u1"]);
    assert_eq!(listed(&api, "state=ended").await.0, ["e1", "e2"]);
    assert_eq!(listed(&api, "state=open&category=weekly").await.0, ["o1"]);
    assert_eq!(
        listed(&api, "state=upcoming&category=weekly").await.0,
        ["u1"]
    );
    assert!(
        listed(&api, "state=ended&category=weekly")
            .await
            .0
            .is_empty()
    );
    let r = api
        .get("/api/v1/tournaments?state=upcoming", Some(&player("ann")))
        .await;
    let u1 = &r.body["tournaments"][0];
    assert_eq!(u1["phase"], "upcoming");
    assert_eq!(u1["title"], "U1");
    assert_eq!(u1["join_required"], false);
    assert_eq!(u1["max_size"], Value::Null);

    // One at a time, the cursor resumes exactly after the last (across the tie too).
    assert_eq!(walked(&api, "state=open", 1).await, ["o1", "o2", "o3"]);
    assert_eq!(walked(&api, "state=ended", 1).await, ["e1", "e2"]);

    // An early end moves o1 to the ended ones, latest first; an extension moves o2 after o3;
    // a deleted tournament is listed no more, and leaves the index.
    assert_eq!(window_change(&api, "o1", "end", None).await.status, 200);
    let r = window_change(&api, "o2", "extend", Some(json!({"end": moment(10_800)}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/e2",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(listed(&api, "").await.0, ["o3", "o2"]);
    assert_eq!(listed(&api, "state=ended").await.0, ["o1", "e1"]);
    let indexed: Vec<String> = redis::cmd("ZRANGE")
        .arg("lb:tenant:{default}:tournaments")
        .arg(0)
        .arg(-1)
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(indexed.len(), 5, "{indexed:?}");
    assert!(!indexed.contains(&"e2".to_string()));

    // Refused with why.
    let r = api.get("/api/v1/tournaments", None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    for (query, says) in [
        ("state=running", "upcoming, open or ended"),
        ("category=Not%20one", "category"),
        ("cursor=nonsense", "cursor"),
        ("limit=0", "limit"),
    ] {
        api.get(
            &format!("/api/v1/tournaments?{query}"),
            Some(&player("ann")),
        )
        .await
        .assert_problem(400, says);
    }
}

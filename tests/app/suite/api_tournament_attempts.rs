//! A tournament's attempts through HTTP: `max_attempts` per run, grants, concurrent attempts
//! (docs/competitions.md#attempts).

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, service, start};
use crate::api_competitions::{moment, tournament};

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
    // An upcoming tournament has no run to grant in yet; a read names its player.
    tournament(
        &api,
        "next-trials",
        "sync",
        json!({"title": "Next", "start": moment(3600), "duration_secs": 60, "max_attempts": 1}),
    )
    .await;
    let r = grant(
        &api,
        "next-trials",
        json!({"player": "ann", "extra": 1}),
        &service(),
    )
    .await;
    r.assert_problem(409, "has not started");
    assert_eq!(r.body["phase"], "upcoming");
    api.get("/api/v1/boards/trials/attempts", Some(&service()))
        .await
        .assert_problem(400, "player");
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

#[tokio::test(flavor = "multi_thread")]
async fn a_score_written_after_the_end_was_announced_or_moved_is_refused_and_nothing_lands() {
    let api = start().await;
    tournament(
        &api,
        "final",
        "sync",
        json!({"title": "Final", "start": moment(-60), "duration_secs": 3600}),
    )
    .await;
    let marks = "lb:{default/final}:announced";
    let mut c = api.redis.conn();
    let send = |score: i64| {
        let api = &api;
        async move {
            api.submit("final", json!({"player": "ann", "score": score}))
                .await
        }
    };
    // What the worker marks once it announced the end, while this instance still saw it open:
    // the write's own script refuses it as closed.
    let _: () = redis::cmd("HSET")
        .arg(marks)
        .arg("ended")
        .arg(1)
        .query(&mut c)
        .unwrap();
    let r = send(10).await;
    r.assert_problem(409, "has ended");
    assert_eq!(r.body["phase"], "ended");
    // What an early end or an extension marks: the end moved since the decision.
    let _: () = redis::cmd("HDEL")
        .arg(marks)
        .arg("ended")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(marks)
        .arg("end")
        .arg(1)
        .query(&mut c)
        .unwrap();
    send(10).await.assert_problem(409, "end moved");
    let zcard: u64 = redis::cmd("ZCARD")
        .arg("lb:{default/final}:z:all")
        .query(&mut c)
        .unwrap();
    assert_eq!(zcard, 0, "neither refused write landed");
    // Without marks (a tournament as created), the write lands.
    let _: () = redis::cmd("DEL").arg(marks).query(&mut c).unwrap();
    assert_eq!(send(10).await.status, 201);
}

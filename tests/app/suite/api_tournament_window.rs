//! A tournament's window after its creation through HTTP: ending it early, extending it, its
//! announcements in the log and as webhooks (verified with the Standard Webhooks library), and
//! the tenant's tournaments listed (docs/competitions.md).

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, now_secs, player, service, start};
use crate::api_competitions::{moment, tournament};
use crate::receiver::Received;

/// The messages of type `kind` the receiver got, each verified with the Standard Webhooks
/// reference library under `secret`.
fn verified(secret: &str, got: &[Received], kind: &str) -> Vec<Value> {
    let hook = standardwebhooks::Webhook::new(secret).unwrap();
    got.iter()
        .filter_map(|r| {
            let body = r.json();
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
pub(crate) async fn logged(api: &Api, board: &str) -> Vec<String> {
    log_of(api, board)
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// The board's log entries (up to 1000), oldest first.
pub(crate) async fn log_of(api: &Api, board: &str) -> Vec<Value> {
    let r = api
        .get(
            &format!("/api/v1/boards/{board}/events?limit=1000"),
            Some(&service()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["events"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tournament_is_announced_once_as_it_opens_and_ends_and_an_ended_one_stays_ended() {
    let (api, receiver, secret) =
        crate::receiver::subscribed(&["tournament.started", "tournament.ended"], 2).await;

    // "final" opens in two seconds for an hour, "blitz" in one for fifteen seconds (a start
    // before the subscription was made would not be sent to it).
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
        json!({"title": "Blitz", "start": moment(1), "duration_secs": 15}),
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
    let at = |m: &Value, field: &str| {
        chrono::DateTime::parse_from_rfc3339(m["data"][field].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    let blitz_started = started
        .iter()
        .find(|m| m["data"]["board"] == "blitz")
        .unwrap();
    let old_end = at(blitz_started, "end");
    assert_eq!(old_end - at(blitz_started, "start"), 15);
    let r = api
        .submit("blitz", json!({"player": "zed", "score": 7}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Blitz is extended by four seconds before its end: it ends then, once, not at the old end.
    let r = window_change(
        &api,
        "blitz",
        "extend",
        Some(
            json!({"end": chrono::DateTime::from_timestamp(old_end + 4, 0).unwrap().to_rfc3339()}),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = receiver
        .wait_for(
            60,
            |got| !verified(&secret, got, "tournament.ended").is_empty(),
            || async {},
        )
        .await;
    assert!(now_secs() >= old_end + 4, "ended before its new end");
    let blitz = &verified(&secret, &got, "tournament.ended")[0];
    assert_eq!(blitz["data"]["board"], "blitz");
    assert_eq!(at(blitz, "end"), old_end + 4);
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
    let actions = api.audit_actions(&admin()).await;
    assert!(
        actions.iter().any(|a| a == "tournament.extend")
            && actions.iter().any(|a| a == "tournament.end"),
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
    let ended_tie = moment(-3600);
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
            json!({"title": "E1", "start": moment(-7200), "end": ended_tie}),
        ),
        (
            "e2",
            json!({"title": "E2", "start": moment(-9000), "end": ended_tie}),
        ),
    ] {
        tournament(&api, id, "sync", t).await;
    }
    api.create_board(json!({"id": "plain"})).await;

    // Open by default, the soonest to end first; a tie at one end ordered by id.
    assert_eq!(listed(&api, "").await.0, ["o1", "o2", "o3"]);
    assert_eq!(listed(&api, "state=upcoming").await.0, ["u1"]);
    // Ended ones the latest first; a tie at one end in descending id order.
    assert_eq!(listed(&api, "state=ended").await.0, ["e2", "e1"]);
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
    assert_eq!(walked(&api, "state=ended", 1).await, ["e2", "e1"]);

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

    // An index entry gone stale (a failed index write) is mended as it is read: o3, put back at
    // an end long past, shows among the open ones again from the next page on.
    let mut c = api.redis.conn();
    let _: () = redis::cmd("ZADD")
        .arg("lb:tenant:{default}:tournaments")
        .arg(1)
        .arg("o3")
        .query(&mut c)
        .unwrap();
    assert_eq!(listed(&api, "").await.0, ["o2"]);
    assert!(
        listed(&api, "state=ended")
            .await
            .0
            .contains(&"o1".to_string())
    );
    assert_eq!(listed(&api, "").await.0, ["o3", "o2"]);

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

/// A tournament is indexed for the listing before its board is stored. A listing that reads
/// such an entry keeps it while the creation's mark (`Keys::creating`) says the board is on its
/// way, for a tournament open now and one upcoming alike (an upcoming one's entry was once
/// dropped for good there), and lists it once it is stored; an entry whose board never came is
/// dropped by the first listing after its mark is gone.
#[tokio::test(flavor = "multi_thread")]
async fn the_listing_keeps_the_entry_of_a_creation_on_its_way() {
    use leaderboard::{BoardId, TenantId};
    let api = start().await;
    let mut redis = api.redis.conn();
    let tenant = TenantId::new("default").unwrap();
    let index = edge::competitions::tournaments::store::index(&tenant);
    let mark = |id: &str| edge::repo::Keys::new(&tenant, &BoardId::new(id).unwrap()).creating();
    let now_ms = now_secs() * 1_000;
    // Open now (its end an hour on) and upcoming (two hours on), both on their way.
    let coming = [("coming-open", 3_600), ("coming-later", 7_200)];
    for (id, end_secs) in coming {
        let _: i64 = redis::cmd("ZADD")
            .arg(&index)
            .arg(now_ms + end_secs * 1_000)
            .arg(id)
            .query(&mut redis)
            .unwrap();
        let _: () = redis::cmd("SET")
            .arg(mark(id))
            .arg(now_ms)
            .arg("PX")
            .arg(edge::competitions::tournaments::CREATING_MS)
            .query(&mut redis)
            .unwrap();
    }
    let indexed = |redis: &mut harness::Conn, id: &str| -> bool {
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(&index)
            .arg(id)
            .query(redis)
            .unwrap();
        score.is_some()
    };
    // Not listed yet (no board), in any state, and kept.
    for state in ["open", "upcoming", "ended"] {
        assert_eq!(
            listed(&api, &format!("state={state}")).await.0,
            Vec::<String>::new()
        );
    }
    for (id, _) in coming {
        assert!(
            indexed(&mut redis, id),
            "{id}'s entry was dropped while its mark held"
        );
    }
    // The open one is stored: listed (its creation clears its mark).
    tournament(
        &api,
        "coming-open",
        "sync",
        json!({"title": "Coming", "start": moment(-60), "end": moment(3_600)}),
    )
    .await;
    assert_eq!(listed(&api, "state=open").await.0, ["coming-open"]);
    let left: i64 = redis::cmd("PTTL")
        .arg(mark("coming-open"))
        .query(&mut redis)
        .unwrap();
    assert_eq!(left, -2, "the stored board's creation left its mark");
    // The upcoming one never comes: once its mark is gone, the next listing drops its entry.
    let _: i64 = redis::cmd("DEL")
        .arg(mark("coming-later"))
        .query(&mut redis)
        .unwrap();
    assert_eq!(listed(&api, "state=upcoming").await.0, Vec::<String>::new());
    assert!(
        !indexed(&mut redis, "coming-later"),
        "an entry whose board never came was kept"
    );
    assert!(indexed(&mut redis, "coming-open"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_player_reads_the_tournaments_it_joined_with_its_rank_in_each() {
    let api = start().await;
    for (id, t) in [
        (
            "spring",
            json!({"title": "Spring", "start": moment(-60), "duration_secs": 3600, "join_required": true}),
        ),
        (
            "summer",
            json!({"title": "Summer", "start": moment(3600), "duration_secs": 3600, "join_required": true}),
        ),
        (
            "winter",
            json!({"title": "Winter", "start": moment(-60), "duration_secs": 3600, "join_required": true}),
        ),
    ] {
        tournament(&api, id, "sync", t).await;
    }
    let join = |board: &'static str, who: &'static str| {
        let api = &api;
        async move {
            let r = api
                .call(
                    Method::POST,
                    &format!("/api/v1/boards/{board}/join"),
                    Some(&service()),
                    Some(json!({ "player": who })),
                    &[],
                )
                .await;
            assert!(r.status == 201 || r.status == 200, "{}", r.body);
        }
    };
    join("spring", "ann").await;
    join("spring", "bob").await;
    join("summer", "ann").await;
    join("spring", "ann").await; // again: listed once, its first join kept
    for (who, score) in [("ann", 10), ("bob", 30)] {
        let r = api
            .submit("spring", json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // Newest joined first; a rank where it has a score; winter, never joined, is not there.
    let r = api
        .get("/api/v1/players/ann/tournaments", Some(&player("ann")))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mine: Vec<(&str, &str, Value, Value)> = r.body["tournaments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["board"].as_str().unwrap(),
                t["phase"].as_str().unwrap(),
                t["rank"].clone(),
                t["score"].clone(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [
            ("summer", "upcoming", Value::Null, Value::Null),
            ("spring", "open", json!(2), json!(10)),
        ]
    );
    assert_eq!(r.body["tournaments"][1]["period"], "all");
    let limited = api
        .get(
            "/api/v1/players/ann/tournaments?limit=1",
            Some(&player("ann")),
        )
        .await;
    assert_eq!(limited.body["tournaments"][0]["board"], "summer");
    let cursor = limited.body["next_cursor"].as_str().unwrap();
    let next = api
        .get(
            &format!("/api/v1/players/ann/tournaments?limit=1&cursor={cursor}"),
            Some(&player("ann")),
        )
        .await;
    assert_eq!(
        next.body["tournaments"][0]["board"], "spring",
        "{}",
        next.body
    );

    // Once ended, the standing of its last run; a deleted tournament leaves the list.
    assert_eq!(window_change(&api, "spring", "end", None).await.status, 200);
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/summer",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api
        .get("/api/v1/players/ann/tournaments", Some(&service()))
        .await;
    assert_eq!(
        r.body["tournaments"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    assert_eq!(r.body["tournaments"][0]["phase"], "ended");
    assert_eq!(r.body["tournaments"][0]["rank"], 2);
    // The deleted one left the player's list as it was read.
    let left: Vec<String> = redis::cmd("ZRANGE")
        .arg("lb:tenant:{default}:joined:ann")
        .arg(0)
        .arg(-1)
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(left, ["spring"]);

    // Only the player itself, a service or an admin.
    let r = api
        .get("/api/v1/players/ann/tournaments", Some(&player("bob")))
        .await;
    r.assert_problem(403, "own subject");
    let r = api.get("/api/v1/players/ann/tournaments", None).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

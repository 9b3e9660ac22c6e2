//! Cohort placement through HTTP beyond the first submission's (docs/competitions.md#cohorts):
//! skill bands named by the game's server, an `async` board placing at its drain, a held
//! submission placed when approved, and the configurations and reads refused (a board's
//! deletion taking its cohorts' keys along).

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{admin, player, service, start};
use crate::api_cohorts::{arrivals, cohort_set, name, placements, players_of};

#[tokio::test(flavor = "multi_thread")]
async fn the_games_server_names_skill_bands_each_filling_its_own_cohorts() {
    let api = start().await;
    api.create_board(json!({"id": "ranked", "cohort_size": 2}))
        .await;
    let mut got = Vec::new();
    for (who, band) in [
        ("ann", Some("gold")),
        ("bob", Some("gold")),
        ("cat", None),
        ("dan", Some("gold")),
        ("eve", Some("silver")),
    ] {
        let mut body = json!({"player": who, "score": 10});
        if let Some(band) = band {
            body["band"] = json!(band);
        }
        let r = api.submit("ranked", body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        got.push(r.body["cohort"].as_str().unwrap().to_string());
    }
    assert_eq!(got, ["gold.1", "gold.1", "1", "gold.2", "silver.1"]);
    // A band named later does not move a placed player.
    let later = api
        .submit(
            "ranked",
            json!({"player": "ann", "score": 20, "band": "silver"}),
        )
        .await;
    assert_eq!(later.body["cohort"], "gold.1");
    assert_eq!(arrivals(&api, "ranked", "all")["n:gold"], "3");
    assert_eq!(placements(&api, "ranked", "all")["dan"], "3:gold");
    let gold = api
        .get("/api/v1/boards/ranked/entries", Some(&player("bob")))
        .await;
    assert_eq!(gold.body["cohort"], "gold.1");
    assert_eq!(players_of(&gold.body), ["ann", "bob"]);

    // A player's own token cannot choose its band; a band is a label; a board without cohorts
    // has no bands.
    api.call(
        Method::POST,
        "/api/v1/boards/ranked/scores",
        Some(&player("fay")),
        Some(json!({"player": "fay", "score": 1, "band": "gold"})),
        &[],
    )
    .await
    .assert_problem(403, "band");
    api.submit(
        "ranked",
        json!({"player": "gus", "score": 1, "band": "Gold!"}),
    )
    .await
    .assert_problem(400, "band");
    api.create_board(json!({"id": "plain"})).await;
    api.submit(
        "plain",
        json!({"player": "gus", "score": 1, "band": "gold"}),
    )
    .await
    .assert_problem(400, "no cohorts");
    api.get("/api/v1/boards/plain/entries?cohort=1", Some(&admin()))
        .await
        .assert_problem(400, "no cohorts");
    // A score the board refuses places no one either.
    api.submit("ranked", json!({"player": "hal", "score": -5}))
        .await
        .assert_problem(422, "range");
    let placed = placements(&api, "ranked", "all");
    assert!(
        !placed.contains_key("fay") && !placed.contains_key("hal"),
        "{placed:?}"
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_board_places_its_players_when_the_drain_applies_them() {
    let api = start().await;
    api.create_board(json!({"id": "queue", "cohort_size": 3, "write_mode": "async"}))
        .await;
    for i in 0..7 {
        let mut body = json!({"player": name(i), "score": 10 + i});
        if i == 6 {
            body["band"] = json!("pro");
        }
        let r = api.submit("queue", body).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    // Accepted, not yet placed: the drain places them in the order it applies them.
    assert!(placements(&api, "queue", "all").is_empty());
    assert_eq!(api.drain_all("queue").await, 7);
    let counted = arrivals(&api, "queue", "all");
    assert_eq!(counted["n"], "6");
    assert_eq!(counted["n:pro"], "1");
    assert_eq!(cohort_set(&api, "queue", "all", "1"), 3);
    assert_eq!(cohort_set(&api, "queue", "all", "2"), 3);
    assert_eq!(cohort_set(&api, "queue", "all", "pro.1"), 1);
    let first = api
        .get("/api/v1/boards/queue/entries", Some(&player(&name(0))))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["cohort"], "1");
    assert_eq!(players_of(&first.body), [name(2), name(1), name(0)]);
    // A second round keeps everyone where it was.
    for i in 0..7 {
        api.submit("queue", json!({"player": name(i), "score": 100 - i}))
            .await;
    }
    assert_eq!(api.drain_all("queue").await, 7);
    assert_eq!(arrivals(&api, "queue", "all")["n"], "6");
    let again = api
        .get("/api/v1/boards/queue/entries", Some(&player(&name(0))))
        .await;
    assert_eq!(players_of(&again.body), [name(0), name(1), name(2)]);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cohort_configurations_and_reads_out_of_their_reach_are_refused_with_the_reason() {
    let api = start().await;
    for (config, needle) in [
        (json!({"id": "one", "cohort_size": 1}), "cohort_size"),
        (json!({"id": "huge", "cohort_size": 100_001}), "cohort_size"),
        (
            json!({"id": "paid", "cohort_size": 10, "tournament": {"title": "Cup",
                "start": "2026-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"},
                "rewards": [{"from": 1, "reward": {"gems": 1}}]}),
            "cohort",
        ),
    ] {
        api.post_board(config).await.assert_problem(422, needle);
    }
    api.create_board(json!({"id": "groups", "cohort_size": 5, "public_read": true}))
        .await;
    api.submit_ok("groups", "ann", json!(5)).await;
    // No token on a public board: any cohort, or the whole board.
    let public = api.get("/api/v1/boards/groups/entries", None).await;
    assert_eq!(public.status, 200, "{}", public.body);
    assert_eq!(public.body["cohort"], Value::Null);
    let first = api
        .get("/api/v1/boards/groups/entries?cohort=1", None)
        .await;
    assert_eq!(first.body["cohort"], "1");
    // Live updates answer as the reads do, before any stream starts.
    api.get("/api/v1/boards/groups/live", Some(&player("bob")))
        .await
        .assert_problem(404, "no cohort");
    api.get("/api/v1/boards/groups/live?cohort=2", Some(&player("ann")))
        .await
        .assert_problem(403, "own cohort");
    // A replay rebuilds the board, not its cohorts: refused rather than leaving them apart.
    api.call(
        Method::POST,
        "/api/v1/boards/groups/replay",
        Some(&admin()),
        None,
        &[],
    )
    .await
    .assert_problem(409, "cohorts");
    // Time travel reads the whole board: a player's read (its cohort) cannot go back; the
    // whole board can.
    api.get(
        "/api/v1/boards/groups/entries?as_of=2026-01-01T00:00:00Z",
        Some(&player("ann")),
    )
    .await
    .assert_problem(409, "as_of");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let whole = api
        .get(
            &format!(
                "/api/v1/boards/groups/entries?as_of={}",
                crate::api_competitions::moment(0).replace(':', "%3A")
            ),
            Some(&service()),
        )
        .await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(players_of(&whole.body), ["ann"]);

    // Deleting the board removes its cohorts' keys with its standings, before any sweep.
    let deleted = api
        .call(
            Method::DELETE,
            "/api/v1/boards/groups",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let left: usize = redis::cmd("EXISTS")
        .arg("lb:{default/groups}:cohorts:all")
        .arg("lb:{default/groups}:placed:all")
        .arg("lb:{default/groups}:z:all:c:1")
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(left, 0);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_first_submission_places_its_player_when_it_is_approved() {
    let api = start().await;
    api.create_board(json!({"id": "watched", "cohort_size": 10,
        "integrity": {"outlier": {"min_players": 20, "action": "hold"}}}))
        .await;
    for i in 0..25 {
        api.submit_ok("watched", &name(i), json!(1_000 + i * 13))
            .await;
    }
    // An outlier's first submission is held: not applied, and not placed.
    let held = api
        .submit("watched", json!({"player": "rocket", "score": 1_000_000}))
        .await;
    assert_eq!(held.status, 202, "{}", held.body);
    assert_eq!(held.body["held"], true);
    assert!(!placements(&api, "watched", "all").contains_key("rocket"));
    assert_eq!(
        api.submit_ok("watched", "late", json!(1_100)).await.body["cohort"],
        "3"
    );
    // Approved: applied and placed then, as the next arrival (cohort 3 holds 5 before it).
    let review = held.body["review"].as_str().unwrap();
    let approved = api
        .call(
            Method::POST,
            &format!("/api/v1/boards/watched/reviews/{review}/approve"),
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(placements(&api, "watched", "all")["rocket"], "27");
    assert_eq!(cohort_set(&api, "watched", "all", "3"), 7);
    let mine = api
        .get("/api/v1/boards/watched/entries", Some(&player("rocket")))
        .await;
    assert_eq!(mine.body["cohort"], "3");
    assert_eq!(mine.body["entries"][0]["player"], "rocket");
    api.stop().await;
}

//! Cohorts through HTTP (docs/competitions.md#cohorts): 200 first submissions at once placed in
//! cohorts of seven in order of arrival (none over its size, checked in the answers, the reads
//! and Redis), reads that default to the reader's cohort (and its cached copies kept apart), an
//! admin reading any cohort or the whole board, skill bands named by the game's server, an
//! `async` board placing at its drain, and the configurations and reads refused.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, service, start};

fn name(i: usize) -> String {
    format!("p{i:03}")
}

/// A page's players, best first.
fn players_of(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries in {page}"))
        .iter()
        .map(|e| e["player"].as_str().unwrap().to_string())
        .collect()
}

/// A period's cohort arrivals counted in Redis (`lb:{t/b}:cohorts:<period>`: `n`, `n:<band>`).
fn arrivals(api: &Api, board: &str, period: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(format!("lb:{{default/{board}}}:cohorts:{period}"))
        .query(&mut api.redis.conn())
        .unwrap()
}

/// A period's cohort placements in Redis (`lb:{t/b}:placed:<period>`: player → arrival).
fn placements(api: &Api, board: &str, period: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(format!("lb:{{default/{board}}}:placed:{period}"))
        .query(&mut api.redis.conn())
        .unwrap()
}

/// The players in a cohort's sorted set in Redis.
fn cohort_set(api: &Api, board: &str, period: &str, cohort: &str) -> usize {
    redis::cmd("ZCARD")
        .arg(format!("lb:{{default/{board}}}:z:{period}:c:{cohort}"))
        .query(&mut api.redis.conn())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_first_submissions_at_once_fill_cohorts_in_order_none_over_its_size() {
    let api = start().await;
    api.create_board(json!({"id": "buckets", "cohort_size": 7}))
        .await;

    // 200 players' first submissions, all at once.
    let sends = (0..200).map(|i| {
        let api = &api;
        async move {
            api.submit("buckets", json!({"player": name(i), "score": 1000 + i}))
                .await
        }
    });
    let answers = futures::future::join_all(sends).await;
    let mut cohort_of: HashMap<String, String> = HashMap::new();
    let mut members: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (i, r) in answers.iter().enumerate() {
        assert_eq!(r.status, 201, "{}", r.body);
        let cohort = r.body["cohort"]
            .as_str()
            .unwrap_or_else(|| panic!("no cohort in {}", r.body));
        cohort_of.insert(name(i), cohort.to_string());
        members
            .entry(cohort.parse().unwrap())
            .or_default()
            .push(name(i));
        // The standing answered is the cohort's: at most seven.
        assert!(r.body["total"].as_u64().unwrap() <= 7, "{}", r.body);
    }
    // 200 = 28 × 7 + 4: cohorts 1 to 29, every one full but the last, none over seven.
    let sizes: Vec<usize> = members.values().map(Vec::len).collect();
    assert_eq!(
        members.keys().copied().collect::<Vec<_>>(),
        (1..=29).collect::<Vec<_>>()
    );
    assert!(sizes[..28].iter().all(|n| *n == 7), "{sizes:?}");
    assert_eq!(sizes[28], 4);

    // Redis counted 200 arrivals, each once, and keeps each cohort's set beside the board's.
    let counted = arrivals(&api, "buckets", "all");
    assert_eq!(counted.get("n").map(String::as_str), Some("200"));
    let placed = placements(&api, "buckets", "all");
    let mut order: Vec<u64> = (0..200)
        .map(|i| placed[&name(i)].parse().unwrap())
        .collect();
    order.sort_unstable();
    assert_eq!(order, (1..=200).collect::<Vec<_>>());
    for (cohort, list) in &members {
        assert_eq!(
            cohort_set(&api, "buckets", "all", &cohort.to_string()),
            list.len()
        );
    }

    // A player reads its own cohort by default, with the cohort in the answer; ranks are the
    // cohort's (the best of the seven is 1st).
    let mut three = members[&3].clone();
    three.sort_by_key(|p| std::cmp::Reverse(p[1..].parse::<u32>().unwrap()));
    let own = api
        .get(
            "/api/v1/boards/buckets/entries?limit=10",
            Some(&player(&three[0])),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["cohort"], "3");
    assert_eq!(own.body["total"], 7);
    assert_eq!(players_of(&own.body), three);
    assert_eq!(own.body["entries"][0]["rank"], 1);
    let stranger = &members[&4][0];
    // Cached copies are per cohort (read at once: another query may take the copy's slot):
    // the same query by a player of another cohort is its own.
    let again = api
        .get(
            "/api/v1/boards/buckets/entries?limit=10",
            Some(&player(&three[1])),
        )
        .await;
    assert_eq!(again.header("x-cache"), "HIT");
    assert_eq!(players_of(&again.body), three);
    let other = api
        .get(
            "/api/v1/boards/buckets/entries?limit=10",
            Some(&player(stranger)),
        )
        .await;
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(other.header("x-cache"), "MISS");
    assert_eq!(other.body["cohort"], "4");
    let mut four = players_of(&other.body);
    four.sort();
    let mut expected = members[&4].clone();
    expected.sort();
    assert_eq!(four, expected);

    // An admin reads any cohort, paged with a cursor bound to it, or the whole board.
    let first = api
        .get(
            "/api/v1/boards/buckets/entries?cohort=3&limit=4",
            Some(&admin()),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(players_of(&first.body), three[..4].to_vec());
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let rest = api
        .get(
            &format!("/api/v1/boards/buckets/entries?cohort=3&limit=4&cursor={cursor}"),
            Some(&admin()),
        )
        .await;
    assert_eq!(players_of(&rest.body), three[4..].to_vec());
    assert_eq!(rest.body["entries"][0]["rank"], 5);
    api.get(
        &format!("/api/v1/boards/buckets/entries?cohort=4&limit=4&cursor={cursor}"),
        Some(&admin()),
    )
    .await
    .assert_problem(400, "cursor");
    let board = api
        .get("/api/v1/boards/buckets/entries?limit=1", Some(&admin()))
        .await;
    assert_eq!(board.body["total"], 200);
    assert_eq!(board.body["cohort"], Value::Null);
    assert_eq!(players_of(&board.body), vec![name(199)]);
    api.get("/api/v1/boards/buckets/entries?cohort=3.x", Some(&admin()))
        .await
        .assert_problem(400, "cohort");

    // Its standing and neighbours, within the cohort.
    let me = &three[3];
    let standing = api
        .get(
            &format!("/api/v1/boards/buckets/players/{me}"),
            Some(&player(me)),
        )
        .await;
    assert_eq!(standing.status, 200, "{}", standing.body);
    assert_eq!(
        (
            standing.body["rank"].clone(),
            standing.body["total"].clone()
        ),
        (json!(4), json!(7))
    );
    assert_eq!(standing.body["cohort"], "3");
    let around = api
        .get(
            &format!("/api/v1/boards/buckets/players/{me}/around?radius=1"),
            Some(&player(me)),
        )
        .await;
    assert_eq!(around.status, 200, "{}", around.body);
    assert_eq!(players_of(&around.body), three[2..5].to_vec());
    // Someone of another cohort is not in its standings; another cohort is not its to read.
    api.get(
        &format!("/api/v1/boards/buckets/players/{stranger}"),
        Some(&player(me)),
    )
    .await
    .assert_problem(404, stranger);
    api.get("/api/v1/boards/buckets/entries?cohort=4", Some(&player(me)))
        .await
        .assert_problem(403, "own cohort");
    // A player with no submission this period has no cohort to read.
    api.get("/api/v1/boards/buckets/entries", Some(&player("newcomer")))
        .await
        .assert_problem(404, "no cohort");

    // GraphQL and Connect read the same way: a player's own cohort by default, any for an admin.
    let graphql = |token: String, query: &str| {
        let body = json!({ "query": query });
        let api = &api;
        async move {
            let r = api
                .call(Method::POST, "/graphql", Some(&token), Some(body), &[])
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["data"]["leaderboard"].clone()
        }
    };
    let own = graphql(
        player(me),
        r#"{ leaderboard(board: "buckets", limit: 10) { cohort totalCount } }"#,
    )
    .await;
    assert_eq!(
        (own["cohort"].clone(), own["totalCount"].clone()),
        (json!("3"), json!(7))
    );
    let named = graphql(
        admin(),
        r#"{ leaderboard(board: "buckets", cohort: "4") { cohort entries { player } } }"#,
    )
    .await;
    assert_eq!(named["cohort"], "4");
    assert_eq!(
        named["entries"].as_array().unwrap().len(),
        members[&4].len()
    );
    let connect = |token: String, body: Value| {
        let api = &api;
        async move {
            let r = api
                .call(
                    Method::POST,
                    "/leaderboard.v1.LeaderboardService/GetLeaderboard",
                    Some(&token),
                    Some(body),
                    &[("connect-protocol-version", "1")],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body
        }
    };
    let own = connect(player(me), json!({"board": "buckets", "limit": 10})).await;
    assert_eq!(
        (own["cohort"].clone(), own["totalCount"].clone()),
        (json!("3"), json!("7"))
    );
    let named = connect(admin(), json!({"board": "buckets", "at": {"cohort": "4"}})).await;
    assert_eq!(named["cohort"], "4");

    // A later submission keeps the player's cohort.
    let later = api
        .submit("buckets", json!({"player": me, "score": 5000}))
        .await;
    assert_eq!(later.status, 200, "{}", later.body);
    assert_eq!(later.body["cohort"], "3");
    assert_eq!(later.body["rank"], 1);
    assert_eq!(arrivals(&api, "buckets", "all")["n"], "200");

    // Taking an entry away takes it from its cohort; the placement stays for the period.
    let gone = api
        .call(
            Method::DELETE,
            &format!("/api/v1/boards/buckets/players/{me}"),
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(cohort_set(&api, "buckets", "all", "3"), 6);
    assert!(placements(&api, "buckets", "all").contains_key(me.as_str()));
    api.stop().await;
}

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

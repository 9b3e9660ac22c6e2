//! Cohorts through HTTP (docs/competitions.md#cohorts): 200 first submissions at once placed in
//! cohorts of seven in order of arrival (none over its size, checked in the answers, the reads
//! and Redis), and reads that default to the reader's cohort — REST, GraphQL and Connect, with
//! cached copies kept apart and cursors bound to their cohort — or, for an admin, any cohort or
//! the whole board. The placements' other paths are in `api_cohort_placement`.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, start};

pub(crate) fn name(i: usize) -> String {
    format!("p{i:03}")
}

/// A page's players, best first.
pub(crate) fn players_of(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries in {page}"))
        .iter()
        .map(|e| e["player"].as_str().unwrap().to_string())
        .collect()
}

/// A period's cohort arrivals counted in Redis (`lb:{t/b}:cohorts:<period>`: `n`, `n:<band>`).
pub(crate) fn arrivals(api: &Api, board: &str, period: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(format!("lb:{{default/{board}}}:cohorts:{period}"))
        .query(&mut api.redis.conn())
        .unwrap()
}

/// A period's cohort placements in Redis (`lb:{t/b}:placed:<period>`: player → arrival).
pub(crate) fn placements(api: &Api, board: &str, period: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(format!("lb:{{default/{board}}}:placed:{period}"))
        .query(&mut api.redis.conn())
        .unwrap()
}

/// The players in a cohort's sorted set in Redis.
pub(crate) fn cohort_set(api: &Api, board: &str, period: &str, cohort: &str) -> usize {
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
    // No query string names another cohort's copy: this one is refused for its `limit`.
    api.get(
        "/api/v1/boards/buckets/entries?limit=10%7Call%7C3",
        Some(&player(stranger)),
    )
    .await
    .assert_problem(400, "limit");
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

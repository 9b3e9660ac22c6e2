//! Board administration and input validation through HTTP.

use reqwest::Method;
use serde_json::json;

use crate::api::{admin, player, service, start};

#[tokio::test(flavor = "multi_thread")]
async fn create_get_list_delete() {
    let api = start().await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&admin()),
            Some(json!({"id": "weekly-race", "sort": "asc", "period": "weekly", "retain_periods": 2})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("location"), "/api/v1/boards/weekly-race");
    assert_eq!(r.body["sort"], "asc");
    assert_eq!(r.body["retain_periods"], 2);
    let period = r.body["period_info"]["id"].as_str().unwrap().to_string();
    assert!(period.contains("-W"), "ISO week id, got {period}");
    assert!(r.body["period_info"]["next_reset_ms"].as_i64().unwrap() > 0);

    // Stored in Redis under the board's hash tag.
    let mut c = api.redis.conn();
    let stored: String = redis::cmd("GET")
        .arg("lb:{default/weekly-race}:config")
        .query(&mut c)
        .unwrap();
    assert!(stored.contains("\"weekly\""));

    let dup = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&admin()),
            Some(json!({"id": "weekly-race"})),
            &[],
        )
        .await;
    dup.assert_problem(409, "already exists");

    let r = api
        .get("/api/v1/boards/weekly-race", Some(&player("ann")))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], "weekly-race");

    api.create_board(json!({"id": "arena"})).await;
    let r = api.get("/api/v1/boards", Some(&service())).await;
    let ids: Vec<&str> = r.body["boards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["arena", "weekly-race"]);
    // Listing every configuration (private ones too) is for services and admins.
    api.get("/api/v1/boards", Some(&player("ann")))
        .await
        .assert_problem(403, "service");

    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/weekly-race",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    api.get("/api/v1/boards/weekly-race", Some(&admin()))
        .await
        .assert_problem(404, "does not exist");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("lb:{default/weekly-race}*")
        .query(&mut c)
        .unwrap();
    assert!(keys.is_empty(), "all board keys deleted: {keys:?}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_that_happened_answers_204_even_if_its_webhook_messages_cannot_be_stored() {
    let api = start().await;
    api.create_board(json!({"id": "doomed"})).await;
    // The tenant's subscriptions cannot be read (a value of the wrong type), so the board.deleted
    // messages cannot be made.
    let mut c = api.redis.conn();
    let _: () = redis::cmd("SET")
        .arg("lb:tenant:{default}:webhooks")
        .arg("not a hash")
        .query(&mut c)
        .unwrap();
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/doomed",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "the delete happened: {}", r.body);
    api.get("/api/v1/boards/doomed", Some(&admin()))
        .await
        .assert_problem(404, "does not exist");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("lb:{default/doomed}*")
        .query(&mut c)
        .unwrap();
    assert!(keys.is_empty(), "all board keys deleted: {keys:?}");
    api.stop().await;
}

/// The keys under a board's prefix, sorted (the order `KEYS` answers in is the server's).
fn board_keys(c: &mut harness::Conn, board: &str) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("lb:{{default/{board}}}*"))
        .query(c)
        .unwrap();
    keys.sort_unstable();
    keys
}

/// A delete leaves no key of the board, the ones its config does not name (its
/// `Idempotency-Key` markers) included. A delete cut short after its script leaves the board's
/// tombstone and such leftovers: the next delete of the id (a `404`) or the next creation of it
/// sweeps them first, so the new board never replays the old board's answer to a key.
#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_board_leaves_no_key_and_its_successor_replays_nothing_of_it() {
    let api = start().await;
    let mut c = api.redis.conn();
    let (service, admin) = (service(), admin());
    let submit = |score: i64| {
        api.call(
            Method::POST,
            "/api/v1/boards/phoenix/scores",
            Some(&service),
            Some(json!({"player": "ann", "score": score})),
            &[("idempotency-key", "round-1")],
        )
    };
    api.create_board(json!({"id": "phoenix"})).await;
    let first = submit(10).await;
    assert_eq!(first.status, 201, "{}", first.body);
    // What a cut-short sweep would leave: the old board's idempotency markers.
    let leftovers: Vec<(String, Vec<u8>)> = board_keys(&mut c, "phoenix")
        .into_iter()
        .filter(|k| k.contains(":idem:"))
        .map(|k| {
            let dump: Vec<u8> = redis::cmd("DUMP").arg(&k).query(&mut c).unwrap();
            (k, dump)
        })
        .collect();
    assert!(
        !leftovers.is_empty(),
        "the submission left an idempotency marker"
    );
    let delete = || {
        api.call(
            Method::DELETE,
            "/api/v1/boards/phoenix",
            Some(&admin),
            None,
            &[],
        )
    };
    assert_eq!(delete().await.status, 204);
    assert_eq!(board_keys(&mut c, "phoenix"), Vec::<String>::new());

    let cut_short = |c: &mut harness::Conn| {
        for (k, dump) in &leftovers {
            let _: () = redis::cmd("RESTORE")
                .arg(k)
                .arg(0)
                .arg(dump.as_slice())
                .query(c)
                .unwrap();
        }
        let _: () = redis::cmd("SET")
            .arg("lb:{default/phoenix}:deleting")
            .arg("1")
            .query(c)
            .unwrap();
    };
    cut_short(&mut c);
    delete().await.assert_problem(404, "does not exist");
    assert_eq!(board_keys(&mut c, "phoenix"), Vec::<String>::new(), "swept");

    cut_short(&mut c);
    api.create_board(json!({"id": "phoenix"})).await;
    let again = submit(5).await;
    assert_eq!(
        again.status, 201,
        "a new board's first score: {}",
        again.body
    );
    assert_eq!(again.header("idempotent-replayed"), "");
    assert_eq!(again.body["score"], 5, "{}", again.body);
    assert!(
        !board_keys(&mut c, "phoenix").contains(&"lb:{default/phoenix}:deleting".to_string()),
        "the tombstone went with the sweep"
    );
    api.stop().await;
}

/// The scripts a board's delete races: the sweep's step and the two writes that store a
/// submission. Run here as the app runs them, with the keys a late request would pass.
#[tokio::test(flavor = "multi_thread")]
async fn a_delete_race_neither_wipes_the_new_board_nor_brings_the_old_one_back() {
    let api = start().await;
    let mut c = api.redis.conn();
    let (service, admin) = (service(), admin());
    let tombstone = "lb:{default/kite}:deleting";
    let submit = |player: &'static str| {
        api.call(
            Method::POST,
            "/api/v1/boards/kite/scores",
            Some(&service),
            Some(json!({"player": player, "score": 7})),
            &[],
        )
    };
    let delete = || {
        api.call(
            Method::DELETE,
            "/api/v1/boards/kite",
            Some(&admin),
            None,
            &[],
        )
    };

    // An old delete still sweeping (its tombstone holds its token) when the id is created anew:
    // the creation takes the sweep over, and the old sweep's next step deletes nothing.
    api.create_board(json!({"id": "kite"})).await;
    assert_eq!(submit("ann").await.status, 201);
    assert_eq!(delete().await.status, 204);
    let _: () = redis::cmd("SET")
        .arg(tombstone)
        .arg("the-old-sweep")
        .query(&mut c)
        .unwrap();
    api.create_board(json!({"id": "kite"})).await;
    assert_eq!(submit("bob").await.status, 201);
    let before = board_keys(&mut c, "kite");
    assert!(!before.contains(&tombstone.to_string()), "{before:?}");
    let script = edge::boards::sweep::sweep_step_for_tests();
    assert!(script.more, "the keys found follow the tombstone");
    let mut params = script.params(
        &[("tombstone", tombstone.to_string())],
        "",
        &[
            ("token", "the-old-sweep".to_string()),
            ("last", "1".to_string()),
        ],
    );
    // The keys found follow the named one, counted with it.
    let named = script.keys.len();
    params[0] = (named + before.len()).to_string();
    params.splice(1 + named..1 + named, before.iter().cloned());
    let answer: Vec<String> = redis::cmd("EVAL")
        .arg(script.lua)
        .arg(params)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        answer,
        vec!["taken_over"],
        "the old sweep learns it was taken over"
    );
    assert_eq!(board_keys(&mut c, "kite"), before, "and deletes nothing");
    let read = api
        .call(
            Method::GET,
            "/api/v1/boards/kite/entries",
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["entries"][0]["player"], "bob", "{}", read.body);

    // A write that read the board before its delete and stores after it: refused, nothing kept.
    assert_eq!(delete().await.status, 204);
    assert_eq!(board_keys(&mut c, "kite"), Vec::<String>::new());
    let prefix = "lb:{default/kite}:";
    let k = |s: &str| format!("{prefix}{s}");
    let event = json!({"type": "score_submitted"}).to_string();
    let script = edge::submissions::inbox::enqueue_for_tests();
    let mut enqueue = redis::cmd("EVAL");
    enqueue.arg(script.lua);
    let keys: Vec<(&str, String)> = ["inbox", "events", "bell", "config"]
        .into_iter()
        .map(|n| (n, k(n)))
        .collect();
    let args: Vec<(&str, String)> = [
        ("event", event.as_str()),
        ("doorbell", "lb:doorbell"),
        ("board_ref", "default/kite"),
        ("keyed", "0"),
        ("reservation", ""),
        ("outcome_prefix", ""),
        ("outcome_ttl_ms", "60000"),
        ("bell_ms", "1000"),
    ]
    .into_iter()
    .map(|(n, v)| (n, v.to_string()))
    .collect();
    for p in script.params(&keys, &k("unused"), &args) {
        enqueue.arg(p);
    }
    let answer: Vec<String> = enqueue.query(&mut c).unwrap();
    assert_eq!(
        answer,
        vec!["board_deleted"],
        "an asynchronous submission finds the board gone"
    );
    // The synchronous write, by its names: the keys and arguments a late request would pass.
    let script = edge::submissions::writes::submit_cas_for_tests();
    let mut cas = redis::cmd("EVAL");
    cas.arg(script.lua);
    let named_keys = [
        "records", "members", "ranked", "events", "periods", "version", "config",
    ];
    let key_of = |name: &str| match name {
        "records" => k("r:all_time"),
        "members" => k("m:all_time"),
        "ranked" => k("z:all_time"),
        other => k(other),
    };
    let keys: Vec<(&str, String)> = named_keys.iter().map(|n| (*n, key_of(n))).collect();
    let args: Vec<(&str, String)> = [
        ("player", "cat"),
        ("expected", ""),
        ("record", "{}"),
        ("member", "0000000000001cat"),
        ("rank_value", "1"),
        ("event", event.as_str()),
        ("expire_at_ms", "0"),
        ("period", "all_time"),
        ("period_started", event.as_str()),
        ("keyed", "0"),
        ("reservation", ""),
        ("outcome_prefix", ""),
        ("outcome", ""),
        ("outcome_ttl_ms", "60000"),
        ("hooks_ring", "wh:default/kite"),
        ("integrity_state", ""),
        ("review_id", ""),
        ("review", ""),
        ("now_ms", "0"),
        ("stats_ttl_s", "0"),
        ("counters", ""),
        ("count_player", "0"),
        ("improved", "0"),
        ("climbers_kept", "10"),
        ("tournament_end_ms", ""),
        ("in_cohort", "0"),
        ("closing_field", ""),
    ]
    .into_iter()
    .map(|(n, v)| (n, v.to_string()))
    .collect();
    for p in script.params(&keys, &k("unused"), &args) {
        cas.arg(p);
    }
    let answer: Vec<String> = cas.query(&mut c).unwrap();
    assert_eq!(
        answer,
        vec!["board_deleted"],
        "a synchronous submission finds the board gone"
    );
    assert_eq!(
        board_keys(&mut c, "kite"),
        Vec::<String>::new(),
        "neither brought a key of the deleted board back"
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn board_input_is_validated_with_precise_problems() {
    let api = start().await;
    api.post_board(json!({"id": "x", "colour": "red"}))
        .await
        .assert_problem(400, "unknown field");
    api.post_board(json!({"id": "Bad Id"}))
        .await
        .assert_problem(400, "board id");
    api.post_board(json!({"id": "x", "score_min": 10, "score_max": 5}))
        .await
        .assert_problem(422, "score_min");
    api.post_board(json!({"id": "x", "sort": "sideways"}))
        .await
        .assert_problem(400, "sideways");
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&admin()),
            None,
            &[("content-type", "text/plain")],
        )
        .await;
    r.assert_problem(415, "application/json");
    let big = json!({"id": "x", "pad": "y".repeat(20_000)});
    api.post_board(big).await.assert_problem(413, "16384");
    // Non-admins may not create boards.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&service()),
            Some(json!({"id": "x"})),
            &[],
        )
        .await;
    r.assert_problem(403, "admin");
    let r = api
        .call(Method::PATCH, "/api/v1/boards/x", Some(&admin()), None, &[])
        .await;
    r.assert_problem(405, "PATCH is not allowed");
    assert_eq!(r.header("allow"), "GET, DELETE");
    api.get("/api/v9/boards/x", Some(&admin()))
        .await
        .assert_problem(404, "v9");
    api.stop().await;
}

/// A board as an earlier release stored it, with values this release's input checks refuse
/// (a longer retention, larger metadata than it takes now): it still reads, takes scores and
/// ranks them, through REST and GraphQL (`leaderboard::board::stored`). The response schema
/// leaves these two fields unbounded, as it must any limit a release tightens (docs/operations.md
/// › Stored formats); reward tables past a tightened limit are the core's test.
#[tokio::test(flavor = "multi_thread")]
async fn a_board_stored_before_a_check_was_tightened_reads_and_takes_scores() {
    let api = start().await;
    let stored = json!({
        "id": "cup", "sort": "desc", "operator": "best", "score_type": "integer",
        "score_min": 0, "score_max": 1000, "period": "weekly", "retain_periods": 400,
        "public_read": true, "write_mode": "sync", "require_service_role": false,
        "cache": {"ttl_secs": 5, "stale_secs": 30}, "metadata_max_bytes": 8192,
        "log": {"snapshot_every": 50000, "keep_snapshots": 2},
        "rewards": [{"from": 1, "to": 10, "reward": "medal"}]
    });
    // This release refuses it as input…
    api.post_board(stored.clone())
        .await
        .assert_problem(422, "retain_periods 400 is too large");
    // …so it is stored as the earlier release did: created within today's limits, then its
    // config written over with the earlier release's values.
    let mut allowed = stored.clone();
    allowed["retain_periods"] = json!(3);
    allowed["metadata_max_bytes"] = json!(4096);
    api.create_board(allowed).await;
    let mut c = api.redis.conn();
    let _: () = redis::cmd("SET")
        .arg("lb:{default/cup}:config")
        .arg(stored.to_string())
        .query(&mut c)
        .unwrap();

    let r = api.get("/api/v1/boards/cup", Some(&admin())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["retain_periods"], 400, "{}", r.body);
    assert_eq!(r.body["metadata_max_bytes"], 8192, "{}", r.body);
    // Metadata past today's maximum but within the board's own is taken: the stored value
    // rules the board.
    let note = "n".repeat(6000);
    let r = api
        .submit(
            "cup",
            json!({"player": "ann", "score": 700, "metadata": {"note": note}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    api.submit_ok("cup", "bob", json!(900)).await;
    let r = api.get("/api/v1/boards/cup/entries", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        crate::api::player_scores(&r.body["entries"]),
        [("bob".to_string(), 900), ("ann".to_string(), 700)]
    );
    let gql = crate::api::gql(
        &api,
        admin(),
        r#"{ board(id: "cup") { id config } }"#.into(),
    )
    .await;
    let config: serde_json::Value =
        serde_json::from_str(gql["data"]["board"]["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["retain_periods"], 400, "{gql}");
    api.stop().await;
}

/// The test servers are what `EDGE_TEST_REDIS` asks for: with `cluster3` (scripts/test.sh's
/// cluster run, which also checks that every script stays within one hash slot) a command across
/// two slots is refused, so that run checks something; otherwise the same command is served.
#[test]
fn test_redis_refuses_keys_of_two_slots_exactly_when_it_is_a_cluster() {
    let redis = harness::RedisServer::start();
    let mut c = redis.node_conn();
    let two_slots: redis::RedisResult<()> = redis::cmd("MSET")
        .arg("lb:{a/b}:x")
        .arg(1)
        .arg("lb:{c/d}:x")
        .arg(2)
        .query(&mut c);
    if harness::cluster_three() {
        let e = two_slots.expect_err("a cluster refuses keys of two slots");
        assert_eq!(e.code(), Some("CROSSSLOT"), "{e}");
    } else {
        two_slots.expect("a single Redis serves keys of any slots");
    }
}

/// A named script's prelude (edge::repo::script): Redis runs the app's own write script and
/// refuses a call with a key too few, or an argument too many, naming the counts, before the
/// script touches anything; the drain's batch, which takes more keys than it names, refuses
/// fewer only.
#[test]
fn a_named_script_refuses_other_counts_than_it_declares() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let script = edge::submissions::writes::submit_cas_for_tests();
    let k = |s: &str| format!("lb:{{default/named}}:{s}");
    // The board exists: without the counts' check, the script would go on to write.
    let config = script.keys.iter().position(|n| *n == "config").unwrap();
    let config_key = k(&format!("k{config}"));
    let _: () = redis::cmd("SET")
        .arg(&config_key)
        .arg("{}")
        .query(&mut c)
        .unwrap();
    let call = |keys: usize, args: usize, c: &mut harness::Conn| {
        let mut eval = redis::cmd("EVAL");
        eval.arg(script.lua).arg(keys);
        for i in 0..keys {
            eval.arg(k(&format!("k{i}")));
        }
        for _ in 0..args {
            eval.arg("");
        }
        eval.query::<redis::Value>(c)
    };
    let (keys, args) = (script.keys.len(), script.args.len());
    let fewer = call(keys - 1, args, &mut c).expect_err("a key too few is refused");
    let said = format!("{fewer}");
    assert!(
        said.contains(&format!("keys: {} given, {keys} declared", keys - 1)),
        "{said}"
    );
    let more = call(keys, args + 1, &mut c).expect_err("an argument too many is refused");
    let said = format!("{more}");
    assert!(
        said.contains(&format!("arguments: {} given, {args} declared", args + 1)),
        "{said}"
    );
    let mut exists = redis::cmd("EXISTS");
    for i in (0..=keys).filter(|i| *i != config) {
        exists.arg(k(&format!("k{i}")));
    }
    let written: i64 = exists.query(&mut c).unwrap();
    assert_eq!(written, 0, "nothing was written beside the config");
    assert!(!script.more, "submit_cas names every key it takes");

    // A script that takes more keys than it names (the drain's batch: its own keys follow)
    // refuses fewer only.
    let batch = edge::submissions::pipeline::store::apply_batch_for_tests();
    assert!(batch.more);
    let (keys, args) = (batch.keys.len(), batch.args.len());
    let eval = |keys: usize, c: &mut harness::Conn| {
        let mut eval = redis::cmd("EVAL");
        eval.arg(batch.lua).arg(keys);
        for i in 0..keys {
            eval.arg(k(&format!("b{i}")));
        }
        for name in batch.args {
            eval.arg(match *name {
                "batch" => r#"{"checks":[],"ids":[],"starts":[],"puts":[],"dead":[],"dedupe":[],"states":[],"reviews":[],"notes":[]}"#,
                "climbers_kept" => "10",
                _ => "1",
            });
        }
        eval.query::<redis::Value>(c)
    };
    let fewer = eval(keys - 1, &mut c).expect_err("a key too few is refused");
    let said = format!("{fewer}");
    assert!(
        said.contains(&format!(
            "keys: {} given, {keys} or more declared",
            keys - 1
        )),
        "{said}"
    );
    assert_eq!(args, 6, "{:?}", batch.args);
    for given in [keys, keys + 3] {
        let answer = eval(given, &mut c).unwrap_or_else(|e| panic!("{given} keys: {e}"));
        assert_eq!(
            answer,
            redis::Value::Array(vec![
                redis::Value::BulkString(b"applied".to_vec()),
                redis::Value::Int(0)
            ]),
            "an empty batch with {given} keys"
        );
    }
}

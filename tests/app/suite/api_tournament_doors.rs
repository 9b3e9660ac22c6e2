//! Tournaments through GraphQL and Connect (`buf curl`, which encodes from the .proto): joined,
//! listed, a player's own list, attempts read and granted, and the window ended early and
//! extended — each answering what its REST route answers, with the same refusals
//! (docs/competitions.md › Tournaments).

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, gql, player, service, start_with};
use crate::api_competitions::{moment, tournament};
use crate::api_connect::connect_as;

/// The REST answer of `GET path` with `token`, which must be `200`.
async fn rest(api: &Api, path: &str, token: &str) -> Value {
    let r = api.get(path, Some(token)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn graphql_and_connect_join_list_count_attempts_and_move_a_tournament_as_rest_does() {
    // The admin class of `capped` takes 2 calls an hour: what each door charges is checked last.
    let limits = json!([{"name": "capped-admin", "key": "ip", "classes": ["admin"],
        "boards": ["capped"], "limit": 2, "window_secs": 3600, "store": "redis"}])
    .to_string();
    let api = start_with(&[("rate_limits", &limits)], Default::default()).await;
    tournament(
        &api,
        "cup",
        "sync",
        json!({"title": "Cup", "category": "weekend", "start": moment(-60),
               "duration_secs": 3600, "join_required": true, "max_attempts": 2}),
    )
    .await;
    tournament(
        &api,
        "later",
        "sync",
        json!({"title": "Later", "start": moment(3600), "duration_secs": 3600}),
    )
    .await;

    // Joins: ann by GraphQL with her own token (again: nothing changes), bob by Connect.
    let join_ann = r#"mutation { joinTournament(board: "cup", player: "ann") {
        board player players joinedNow } }"#;
    let first = gql(&api, player("ann"), join_ann.into()).await;
    assert_eq!(
        first["data"]["joinTournament"],
        json!({"board": "cup", "player": "ann", "players": 1, "joinedNow": true}),
        "{first}"
    );
    let again = gql(&api, player("ann"), join_ann.into()).await;
    assert_eq!(
        again["data"]["joinTournament"]["joinedNow"], false,
        "{again}"
    );
    assert_eq!(again["data"]["joinTournament"]["players"], 1, "{again}");
    let bob = connect_as(
        &api,
        &player("bob"),
        "JoinTournament",
        json!({"board": "cup", "player": "bob"}),
    )
    .await
    .unwrap_or_else(|e| panic!("JoinTournament: {e}"));
    assert_eq!(
        bob,
        json!({"board": "cup", "player": "bob", "players": "2", "joinedNow": true})
    );
    // A player joins itself only, as over REST; only a tournament is joined.
    let refused = gql(
        &api,
        player("ann"),
        r#"mutation { joinTournament(board: "cup", player: "cy") { players } }"#.into(),
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    api.create_board(json!({"id": "plain"})).await;
    let plain = connect_as(
        &api,
        &player("bob"),
        "JoinTournament",
        json!({"board": "plain", "player": "bob"}),
    )
    .await
    .expect_err("a board that is no tournament is not joined");
    // A state that stands (the board is no tournament): sent again, it fails again, so not
    // `aborted` (which tells a client to retry).
    assert_eq!(plain["code"], "failed_precondition", "{plain}");
    // Over REST the same 409, whose translated detail says so.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/plain/join",
            Some(&player("bob")),
            Some(json!({"player": "bob"})),
            &[("accept-language", "de")],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.body["detail"],
        "Die Anfrage steht im Konflikt mit dem aktuellen Zustand; eine Wiederholung ändert daran nichts.",
        "{}",
        r.body
    );
    assert!(
        r.body["detail_en"]
            .as_str()
            .is_some_and(|d| d.contains("only a tournament is joined")),
        "{}",
        r.body
    );
    for (who, score) in [("ann", 10), ("bob", 30)] {
        let r = api
            .submit("cup", json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // The listing, as REST lists it: the open one by GraphQL, the upcoming one by Connect.
    let listed = rest(&api, "/api/v1/tournaments", &player("ann")).await;
    let open = gql(
        &api,
        player("ann"),
        r#"{ tournaments { tournaments { board title category phase start end joinRequired
            maxSize maxAttempts publicRead } nextCursor } }"#
            .into(),
    )
    .await;
    let cup = &listed["tournaments"][0];
    assert_eq!(
        open["data"]["tournaments"],
        json!({"tournaments": [{"board": "cup", "title": "Cup", "category": "weekend",
            "phase": "open", "start": cup["start"], "end": cup["end"], "joinRequired": true,
            "maxSize": null, "maxAttempts": 2, "publicRead": cup["public_read"]}],
            "nextCursor": null}),
        "{open}"
    );
    let upcoming = connect_as(
        &api,
        &player("ann"),
        "ListTournaments",
        json!({"state": "upcoming"}),
    )
    .await
    .unwrap_or_else(|e| panic!("ListTournaments: {e}"));
    assert_eq!(upcoming["tournaments"][0]["board"], "later", "{upcoming}");
    assert_eq!(upcoming["tournaments"][0]["phase"], "upcoming");
    assert_eq!(upcoming["tournaments"].as_array().map(Vec::len), Some(1));
    let bad = gql(
        &api,
        player("ann"),
        r#"{ tournaments(state: "soon") { nextCursor } }"#.into(),
    )
    .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );

    // A player's own list, with its rank and score in the run.
    let mine = gql(
        &api,
        player("ann"),
        r#"{ playerTournaments(player: "ann") { player tournaments { board period rank score }
            nextCursor } }"#
            .into(),
    )
    .await;
    assert_eq!(
        mine["data"]["playerTournaments"],
        json!({"player": "ann", "nextCursor": null,
               "tournaments": [{"board": "cup", "period": "all", "rank": 2, "score": "10"}]}),
        "{mine}"
    );
    let bobs = connect_as(
        &api,
        &player("bob"),
        "ListPlayerTournaments",
        json!({"player": "bob"}),
    )
    .await
    .unwrap_or_else(|e| panic!("ListPlayerTournaments: {e}"));
    assert_eq!(
        (
            &bobs["tournaments"][0]["board"],
            &bobs["tournaments"][0]["rank"],
            &bobs["tournaments"][0]["score"]
        ),
        (&json!("cup"), &json!("1"), &json!("30")),
        "{bobs}"
    );
    let other = connect_as(
        &api,
        &player("bob"),
        "ListPlayerTournaments",
        json!({"player": "ann"}),
    )
    .await
    .expect_err("bob reads only his own list");
    assert_eq!(other["code"], "permission_denied", "{other}");

    // Attempts: ann used one of two; a service grants three (GraphQL), one to bob (Connect);
    // each door reads what REST reads.
    let ann_attempts = r#"{ attempts(board: "cup", player: "ann") {
        period maxAttempts granted allowed used left } }"#;
    let before = gql(&api, player("ann"), ann_attempts.into()).await;
    assert_eq!(
        before["data"]["attempts"],
        json!({"period": "all", "maxAttempts": 2, "granted": 0, "allowed": 2, "used": 1,
               "left": 1}),
        "{before}"
    );
    let grant_ann = r#"mutation { grantAttempts(board: "cup", player: "ann", extra: 3) {
        granted allowed left } }"#;
    let granted = gql(&api, service(), grant_ann.into()).await;
    assert_eq!(
        granted["data"]["grantAttempts"],
        json!({"granted": 3, "allowed": 5, "left": 4}),
        "{granted}"
    );
    let by_player = gql(&api, player("ann"), grant_ann.into()).await;
    assert_eq!(
        by_player["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{by_player}"
    );
    let ann_rest = rest(
        &api,
        "/api/v1/boards/cup/attempts?player=ann",
        &player("ann"),
    )
    .await;
    assert_eq!(
        (&ann_rest["granted"], &ann_rest["left"]),
        (&json!(3), &json!(4))
    );
    connect_as(
        &api,
        &service(),
        "GrantAttempts",
        json!({"board": "cup", "player": "bob", "extra": 1}),
    )
    .await
    .unwrap_or_else(|e| panic!("GrantAttempts: {e}"));
    let bob_attempts = connect_as(
        &api,
        &player("bob"),
        "GetAttempts",
        json!({"board": "cup", "player": "bob"}),
    )
    .await
    .unwrap_or_else(|e| panic!("GetAttempts: {e}"));
    assert_eq!(
        bob_attempts,
        json!({"board": "cup", "player": "bob", "period": "all", "maxAttempts": 2,
               "granted": "1", "allowed": "3", "used": "1", "left": "2"})
    );

    // The window: an admin extends it (GraphQL, then Connect), then ends it (Connect); a player
    // may do neither, and an ended tournament is not ended twice.
    let new_end = moment(7200);
    let extend = format!(
        r#"mutation {{ extendTournament(board: "cup", end: "{new_end}") {{ id config }} }}"#
    );
    let by_ann = gql(&api, player("ann"), extend.clone()).await;
    assert_eq!(
        by_ann["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{by_ann}"
    );
    let extended = gql(&api, admin(), extend).await;
    let config: Value = serde_json::from_str(
        extended["data"]["extendTournament"]["config"]
            .as_str()
            .unwrap_or_else(|| panic!("no board config in {extended}")),
    )
    .unwrap();
    let board = rest(&api, "/api/v1/boards/cup", &admin()).await;
    assert_eq!(config["tournament"]["end"], board["tournament"]["end"]);
    assert_eq!(
        leaderboard::time::parse(board["tournament"]["end"].as_str().unwrap()),
        leaderboard::time::parse(&new_end),
        "{board}"
    );
    let later_end = moment(9000);
    let by_bob = connect_as(
        &api,
        &player("bob"),
        "ExtendTournament",
        json!({"board": "cup", "end": later_end}),
    )
    .await
    .expect_err("a player extends nothing");
    assert_eq!(by_bob["code"], "permission_denied", "{by_bob}");
    let moved = connect_as(
        &api,
        &admin(),
        "ExtendTournament",
        json!({"board": "cup", "end": later_end}),
    )
    .await
    .unwrap_or_else(|e| panic!("ExtendTournament: {e}"));
    assert_eq!(
        leaderboard::time::parse(moved["end"].as_str().unwrap_or_default()),
        leaderboard::time::parse(&later_end),
        "{moved}"
    );
    let not_bob = connect_as(
        &api,
        &player("bob"),
        "EndTournament",
        json!({"board": "cup"}),
    )
    .await
    .expect_err("a player ends nothing");
    assert_eq!(not_bob["code"], "permission_denied", "{not_bob}");
    let ended = connect_as(&api, &admin(), "EndTournament", json!({"board": "cup"}))
        .await
        .unwrap_or_else(|e| panic!("EndTournament: {e}"));
    assert_eq!(
        (&ended["board"], &ended["phase"]),
        (&json!("cup"), &json!("ended"))
    );
    let board = rest(&api, "/api/v1/boards/cup", &admin()).await;
    assert_eq!(ended["end"], board["tournament"]["end"], "{ended}");
    let twice = gql(
        &api,
        admin(),
        r#"mutation { endTournament(board: "cup") { id } }"#.into(),
    )
    .await;
    assert_eq!(
        twice["errors"][0]["extensions"]["code"], "CONFLICT",
        "{twice}"
    );
    // Attempts belong to an open run: none is granted once it ended.
    let late = api
        .call(
            Method::POST,
            "/api/v1/boards/cup/attempts",
            Some(&service()),
            Some(json!({"player": "ann", "extra": 1})),
            &[],
        )
        .await;
    let late_gql = gql(&api, service(), grant_ann.into()).await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert_eq!(
        late_gql["errors"][0]["extensions"]["code"], "CONFLICT",
        "{late_gql}"
    );

    // Grants, ends and extensions are admin calls, as over REST: two pass on `capped`, the
    // third is refused by the rate limits whichever door it takes; a join is a write and
    // is not counted there.
    tournament(
        &api,
        "capped",
        "sync",
        json!({"title": "Capped", "start": moment(-60), "duration_secs": 3600,
               "max_attempts": 1}),
    )
    .await;
    let joined = gql(
        &api,
        player("ann"),
        r#"mutation { joinTournament(board: "capped", player: "ann") { players } }"#.into(),
    )
    .await;
    assert_eq!(joined["data"]["joinTournament"]["players"], 1, "{joined}");
    let grant_capped = r#"mutation { grantAttempts(board: "capped", player: "ann", extra: 1) {
        granted } }"#;
    for granted in [1, 2] {
        let r = gql(&api, service(), grant_capped.into()).await;
        assert_eq!(r["data"]["grantAttempts"]["granted"], granted, "{r}");
    }
    let third = gql(&api, service(), grant_capped.into()).await;
    assert_eq!(
        third["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{third}"
    );
    let end = connect_as(&api, &admin(), "EndTournament", json!({"board": "capped"}))
        .await
        .expect_err("over the admin class's limit");
    assert_eq!(end["code"], "resource_exhausted", "{end}");
}

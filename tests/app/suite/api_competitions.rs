//! Competitions through HTTP: a tournament's window and joining it (docs/competitions.md); its
//! attempts are in `api_tournament_attempts`, its window's changes, announcements and listing in
//! `api_tournament_window`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, now_secs, player, service, start};

/// An RFC 3339 moment `secs` from now, to the second (UTC).
pub(crate) fn moment(secs: i64) -> String {
    chrono::DateTime::from_timestamp(now_secs() + secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) async fn tournament(api: &Api, id: &str, write_mode: &str, t: Value) -> Value {
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

/// The clock as the worker reads it (Unix ms).
fn clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Puts `members` in the schedule's register, due at `due_ms`, and rings the alarm: it rings
/// every worker when it expires (a keyspace event), as a note's would.
fn noted_and_rung(redis: &mut harness::Conn, members: &[&str], due_ms: i64) {
    for member in members {
        let _: i64 = redis::cmd("ZADD")
            .arg(edge::schedule::REGISTER)
            .arg(due_ms)
            .arg(*member)
            .query(redis)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg(edge::schedule::ALARM)
        .arg("test")
        .arg("PX")
        .arg(1)
        .query(redis)
        .unwrap();
}

/// When `member` of the schedule's register is due, if it is there.
fn due_of(redis: &mut harness::Conn, member: &str) -> Option<i64> {
    redis::cmd("ZSCORE")
        .arg(edge::schedule::REGISTER)
        .arg(member)
        .query::<Option<f64>>(redis)
        .unwrap()
        .map(|s| s as i64)
}

/// A competition is noted in the schedule before its board is stored, and one already open is
/// due at once: a worker that serves it before the creating request has stored the board finds
/// the request's mark (`lb:{t/b}:creating`) and looks again a second later, where it forgot the
/// item (the tournament was then never announced nor awarded: seen on a loaded machine); without
/// the mark, a note whose board was never created is forgotten.
#[tokio::test(flavor = "multi_thread")]
async fn the_worker_waits_for_a_competition_whose_creation_is_on_its_way() {
    let api = crate::api::start_with_worker().await;
    let mut redis = api.redis.conn();
    let now_ms = clock_ms();
    let (coming, never) = ("competition:default/coming", "competition:default/never");
    use edge::competitions::tournaments::{CREATING_MS, CREATING_RECHECK_MS};
    use edge::schedule::LEASE_MS;
    // Each wait below: as long as the worker takes to look at an item again (a lease's end, if
    // a look failed, and the recheck), twice over for a loaded machine; the mark outlives all
    // three of them.
    let look =
        std::time::Duration::from_millis(2 * (LEASE_MS + CREATING_RECHECK_MS).unsigned_abs());
    let mark = edge::repo::Keys::new(
        &leaderboard::TenantId::new("default").unwrap(),
        &leaderboard::BoardId::new("coming").unwrap(),
    )
    .creating();
    let _: () = redis::cmd("SET")
        .arg(&mark)
        .arg(now_ms)
        .arg("PX")
        .arg(4 * look.as_millis())
        .query(&mut redis)
        .unwrap();
    noted_and_rung(&mut redis, &[coming, never], now_ms - 1_000);
    // Served: the one without a mark forgotten, the other given back, due a recheck later (a
    // lease alone would make it due a lease later: not taken for a give-back).
    let served = harness::eventually(look, || {
        let given_back = |s: i64| s > now_ms && s <= clock_ms() + CREATING_RECHECK_MS;
        (due_of(&mut redis, never).is_none() && due_of(&mut redis, coming).is_some_and(given_back))
            .then_some(())
    })
    .await;
    assert!(
        served.is_some(),
        "within {look:?}: {never} forgotten, {coming} given back; the register holds {:?}",
        [never, coming].map(|m| due_of(&mut redis, m))
    );
    // Looked at again while the mark holds (its due time moves: leased, given back) and still
    // noted, as long as the worker takes for one more look.
    let first = due_of(&mut redis, coming);
    let again = harness::eventually(look, || {
        due_of(&mut redis, coming).filter(|s| Some(*s) != first)
    })
    .await;
    assert!(
        again.is_some(),
        "{coming} should stay noted and be looked at again while its creation is marked: due \
         {first:?}, then {:?}",
        due_of(&mut redis, coming)
    );
    // The creation never came (its mark ended): forgotten at the next look.
    let _: i64 = redis::cmd("DEL").arg(&mark).query(&mut redis).unwrap();
    let forgotten =
        harness::eventually(look, || due_of(&mut redis, coming).is_none().then_some(())).await;
    // Every tournament's creation, open or upcoming (the listing indexes either before it is
    // stored), marks itself, for a minute at most, before it notes the tournament, and the
    // script that stores the board clears the mark; one refused once noted (the id is taken)
    // leaves its mark to its minute.
    for (id, start) in [("opened", moment(-1)), ("upcoming", moment(3_600))] {
        let t = json!({"id": id, "tournament": {
            "title": "Marked", "start": start, "duration_secs": 60}});
        let mark = edge::repo::Keys::new(
            &leaderboard::TenantId::new("default").unwrap(),
            &leaderboard::BoardId::new(id).unwrap(),
        )
        .creating();
        let left = |redis: &mut harness::Conn| -> i64 {
            redis::cmd("PTTL").arg(&mark).query(redis).unwrap()
        };
        api.create_board(t.clone()).await;
        assert_eq!(
            left(&mut redis),
            -2,
            "{id}: the stored board's creation left its mark"
        );
        let taken = api.post_board(t).await;
        assert_eq!(taken.status, 409, "{id}: {}", taken.body);
        let refused_left = left(&mut redis);
        assert!(
            (1..=i64::try_from(CREATING_MS).unwrap_or(i64::MAX)).contains(&refused_left),
            "{id}: the refused creation's mark: {refused_left} ms left"
        );
    }
    assert!(
        forgotten.is_some(),
        "{coming} should be forgotten once its mark is gone: due {:?}",
        due_of(&mut redis, coming)
    );
}

/// The worker's lease of the schedule's register (`edge::schedule`, `Repo::due_lease`), on a
/// real worker: a member that is no item of any release (no kind, or a kind of another register)
/// is forgotten; one this release does not serve (a later release's kind, ids it refuses) is set
/// aside ten minutes, for a worker that serves it — where either was leased again every 30 s.
#[tokio::test(flavor = "multi_thread")]
async fn the_worker_forgets_what_is_no_item_and_sets_aside_what_it_does_not_serve() {
    use edge::schedule::SET_ASIDE_MS;
    let api = crate::api::start_with_worker().await;
    let mut redis = api.redis.conn();
    let now_ms = clock_ms();
    let broken = ["no kind at all", "rollover:acme/cup"];
    let unknown = ["award:acme/cup", "competition:acme/B@d"];
    let members: Vec<&str> = broken.iter().chain(&unknown).copied().collect();
    noted_and_rung(&mut redis, &members, now_ms - 1_000);
    // A member set aside is due SET_ASIDE_MS after the worker's clock when it leased it: a lease
    // takes only what is due by its clock (these were due at `now_ms - 1_000`: a worker busy with
    // an earlier ring may lease them on a clock it read before this one — seen on a cluster), and
    // before this check. Bounded as the suite's other waits for the
    // worker's handling of one message, with room for a loaded machine.
    let settled = harness::eventually(std::time::Duration::from_secs(30), || {
        let latest = clock_ms() + SET_ASIDE_MS;
        let set_aside = |s: i64| (now_ms - 1_000 + SET_ASIDE_MS..=latest).contains(&s);
        let done = broken.iter().all(|m| due_of(&mut redis, m).is_none())
            && unknown
                .iter()
                .all(|m| due_of(&mut redis, m).is_some_and(set_aside));
        done.then_some(())
    })
    .await;
    let seen: Vec<_> = broken
        .iter()
        .chain(&unknown)
        .map(|m| (*m, due_of(&mut redis, m)))
        .collect();
    assert!(
        settled.is_some(),
        "within 30 s of the ring at {now_ms}, the members no item should be gone and the others \
         due {SET_ASIDE_MS} ms after the worker leased them; the register holds {seen:?}"
    );
}

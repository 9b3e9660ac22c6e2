//! Scripts whose decision is theirs alone, run on a real Redis (no app, no runtime): a reward's
//! claim (`rewards_claim.lua`) is taken once and answered the same after, refused before the
//! run's awards are made and to a player awarded nothing, and takes nothing once the board is
//! gone; a tournament's join (`tournament_join.lua`) never passes its size, however many ask,
//! and joining again is no new join.

use redis::Value;

const CONFIG: &str = "lb:{t/b}:config";
const AWARDS: &str = "lb:{t/b}:awards:2026-11-29";

const JOINED: &str = "lb:{t/b}:joined";

/// Runs `script` with its keys and arguments by name: its answer, as strings.
fn run(
    c: &mut harness::Conn,
    script: &edge::repo::script::Named,
    keys: &[(&str, String)],
    args: &[(&str, String)],
) -> Vec<String> {
    let reply: Vec<Value> = redis::cmd("EVAL")
        .arg(script.lua)
        .arg(script.params(keys, "lb:{t/b}:unused", args))
        .query(c)
        .unwrap_or_else(|e| panic!("the script: {e}"));
    reply
        .iter()
        .map(|v| match v {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            Value::Int(n) => n.to_string(),
            other => panic!("the script answered {other:?}"),
        })
        .collect()
}

/// A claim of `player`'s award at `now` (Unix ms), as `Repo::claim_award` sends it.
fn claim(c: &mut harness::Conn, player: &str, now: i64) -> Vec<String> {
    run(
        c,
        &edge::competitions::rewards::store::claim_for_tests(),
        &[("config", CONFIG.into()), ("awards", AWARDS.into())],
        &[("player", player.into()), ("now_ms", now.to_string())],
    )
}

/// A join of `player` to a tournament of at most `max_size` players (`0`: unlimited), as
/// `Repo::tournament_join` sends it.
fn join(c: &mut harness::Conn, player: &str, max_size: u32) -> Vec<String> {
    run(
        c,
        &edge::competitions::tournaments::store::join_for_tests(),
        &[("config", CONFIG.into()), ("joined", JOINED.into())],
        &[
            ("player", player.into()),
            ("max_size", max_size.to_string()),
        ],
    )
}

/// The time a player's claim was taken, as stored (`None`: not taken).
fn taken(c: &mut harness::Conn, player: &str) -> Option<String> {
    redis::cmd("HGET")
        .arg(AWARDS)
        .arg(format!("c:{player}"))
        .query(c)
        .unwrap_or_else(|e| panic!("HGET {AWARDS}: {e}"))
}

#[test]
fn a_claim_is_taken_once_from_made_awards_by_a_player_awarded() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let set = |c: &mut harness::Conn, args: &[&str]| {
        redis::cmd(args[0])
            .arg(&args[1..])
            .query::<()>(c)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    };

    // No board: nothing is taken, even where an award is stored (the sweep takes it later).
    set(&mut c, &["HSET", AWARDS, "_at", "900", "p:a", "1"]);
    assert_eq!(claim(&mut c, "a", 1_000), ["board_gone"]);
    assert_eq!(taken(&mut c, "a"), None);
    set(&mut c, &["DEL", AWARDS]);

    // The board, its run's awards not made yet: a winner-to-be is told to wait.
    set(&mut c, &["SET", CONFIG, "{}"]);
    assert_eq!(claim(&mut c, "a", 1_000), ["not_awarded"]);

    // Made: a (rank 1, cohort gold) and b (rank 2, no cohort); c awarded nothing.
    set(
        &mut c,
        &[
            "HSET", AWARDS, "_at", "900", "p:a", "1", "g:a", "gold", "p:b", "2",
        ],
    );
    assert_eq!(claim(&mut c, "c", 1_000), ["no_award"]);
    assert_eq!(taken(&mut c, "c"), None);
    assert_eq!(claim(&mut c, "a", 1_000), ["claimed", "1", "gold"]);
    assert_eq!(
        claim(&mut c, "a", 2_000),
        ["claimed_before", "1", "1000", "gold"]
    );
    assert_eq!(claim(&mut c, "b", 3_000), ["claimed", "2", ""]);
    assert_eq!(taken(&mut c, "a").as_deref(), Some("1000"));
    assert_eq!(taken(&mut c, "b").as_deref(), Some("3000"));
}

#[test]
fn joins_never_pass_a_tournaments_size_and_joining_again_is_no_new_join() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    assert_eq!(join(&mut c, "p0", 3), ["board_gone"]);
    redis::cmd("SET")
        .arg(CONFIG)
        .arg("{}")
        .query::<()>(&mut c)
        .unwrap_or_else(|e| panic!("SET {CONFIG}: {e}"));
    for (i, who) in ["p0", "p1", "p2"].iter().enumerate() {
        assert_eq!(join(&mut c, who, 3), ["joined".to_string(), i.to_string()]);
    }
    for who in ["p3", "p4", "p5"] {
        assert_eq!(join(&mut c, who, 3), ["full", "3"], "{who}");
    }
    assert_eq!(join(&mut c, "p1", 3), ["already", "3"]);
    let size: u64 = redis::cmd("SCARD")
        .arg(JOINED)
        .query(&mut c)
        .unwrap_or_else(|e| panic!("SCARD {JOINED}: {e}"));
    assert_eq!(size, 3, "no join passed the size");
    // 0 is no size: every join is taken.
    assert_eq!(join(&mut c, "p3", 0), ["joined", "3"]);
}

//! The schedule's register (`edge::schedule`), as its scripts keep it on a real Redis (no app,
//! no runtime): the earliest due time arms the alarm; a lease takes what is due, at most so
//! many, and holds each until the lease ends; a note made with the lease's hold wins over it,
//! one made with a stale hold does not; a removal while held; and what a register of the
//! previous release still holds is moved in by the next lease, by kind, keeping the earlier due
//! time of an item both hold (the schedule's register and a push tier's alike).

use edge::schedule::{ALARM, REGISTER, Register, script_for_tests};
use std::time::Instant;

use redis::Value;

const NOW: i64 = 1_800_000_000_000;

/// Runs the schedule's script `name` with its keys and arguments by name; its answer's word and
/// the rest as strings.
fn run(
    c: &mut harness::Conn,
    name: &str,
    keys: &[(&str, String)],
    args: &[(&str, String)],
) -> (String, Vec<String>) {
    let script = script_for_tests(name);
    let reply: Vec<Value> = redis::cmd("EVAL")
        .arg(script.lua)
        .arg(script.params(keys, "lb:{claims}:unused", args))
        .query(c)
        .unwrap_or_else(|e| panic!("the script {name}: {e}"));
    let mut words = reply.iter().map(|v| match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        other => panic!("the script {name} answered {other:?}"),
    });
    let word = words
        .next()
        .unwrap_or_else(|| panic!("the script {name} answered nothing"));
    (word, words.collect())
}

fn register_keys() -> Vec<(&'static str, String)> {
    vec![
        ("register", REGISTER.to_string()),
        ("alarm", ALARM.to_string()),
    ]
}

fn note(c: &mut harness::Conn, item: &str, due: i64, now: i64, mode: &str, held: &str) -> String {
    let args = [
        ("item", item.to_string()),
        ("due_ms", due.to_string()),
        ("now_ms", now.to_string()),
        ("mode", mode.to_string()),
        ("held_ms", held.to_string()),
    ];
    run(c, "note", &register_keys(), &args).0
}

fn lease(c: &mut harness::Conn, now: i64, lease_ms: i64, max: usize) -> Vec<String> {
    lease_in(c, &Register::Shared, now, lease_ms, max)
}

/// A lease of `register`, which moves in its previous release's register first.
fn lease_in(
    c: &mut harness::Conn,
    register: &Register,
    now: i64,
    lease_ms: i64,
    max: usize,
) -> Vec<String> {
    let (key, previous) = (register.key(), register.previous());
    let keys = [
        ("register", key),
        ("alarm", ALARM.to_string()),
        ("previous", previous),
    ];
    let args = [
        ("now_ms", now.to_string()),
        ("lease_ms", lease_ms.to_string()),
        ("max", max.to_string()),
        ("kind", register.kind().to_string()),
        ("adopt_max", "2".to_string()),
    ];
    let (word, items) = run(c, "lease", &keys, &args);
    assert_eq!(word, "leased");
    items
}

fn due(c: &mut harness::Conn, item: &str) -> Option<i64> {
    redis::cmd("ZSCORE")
        .arg(REGISTER)
        .arg(item)
        .query(c)
        .unwrap()
}

/// The alarm rang: it expired, as Redis lets it when its time comes (the test's clock is its own,
/// so Redis's would not), which is when a worker leases.
fn ring(c: &mut harness::Conn) {
    let _: i64 = redis::cmd("DEL").arg(ALARM).query(c).unwrap();
}

/// Sets the alarm to ring ten minutes from now (as a note of the far future would leave it), so
/// that one set to ring at once by a script is told from none.
fn set_for_later(c: &mut harness::Conn) {
    let () = redis::cmd("SET")
        .arg(ALARM)
        .arg("later")
        .arg("PX")
        .arg(600_000)
        .query(c)
        .unwrap();
}

/// Asserts that the alarm rings `wait_ms` after the script call made at `armed` set it: Redis
/// counts it down in real time, so what it has left is `wait_ms` less the time since, at most
/// (and a millisecond of rounding). An alarm set to ring at once (`wait_ms` 1) may have rung
/// already, and be gone (the caller makes sure one was set before, for longer).
fn assert_alarm(c: &mut harness::Conn, wait_ms: i64, armed: Instant, what: &str) {
    let left: i64 = redis::cmd("PTTL").arg(ALARM).query(c).unwrap();
    let since = i64::try_from(armed.elapsed().as_millis()).unwrap_or(i64::MAX);
    let rang = wait_ms <= 1 && left == -2;
    assert!(
        rang || (wait_ms - since - 1 <= left && left <= wait_ms),
        "{what}: the alarm should ring {wait_ms} ms after it was armed, {since} ms ago; it has \
         {left} ms left (-2: none)"
    );
}

#[test]
fn the_schedules_register_rings_for_the_earliest_item_and_holds_what_a_lease_took() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let (a, b) = ("competition:t/a", "competition:t/b");

    // The earliest due time arms the alarm; a later note does not push it back.
    assert_eq!(note(&mut c, a, NOW + 60_000, NOW, "always", ""), "noted");
    let armed = Instant::now();
    assert_eq!(note(&mut c, b, NOW + 9_000, NOW, "always", ""), "noted");
    assert_alarm(&mut c, 9_000, armed, "b, the earliest");
    // `earlier` only makes an item due sooner; `always` sets its time either way. None of these
    // is due before b: the alarm stays b's.
    assert_eq!(note(&mut c, a, NOW + 90_000, NOW, "earlier", ""), "noted");
    assert_eq!(due(&mut c, a), Some(NOW + 60_000));
    assert_eq!(note(&mut c, a, NOW + 30_000, NOW, "earlier", ""), "noted");
    assert_eq!(due(&mut c, a), Some(NOW + 30_000));
    assert_eq!(note(&mut c, a, NOW + 70_000, NOW, "always", ""), "noted");
    assert_eq!(due(&mut c, a), Some(NOW + 70_000));
    assert_eq!(note(&mut c, a, NOW + 30_000, NOW, "always", ""), "noted");
    assert_eq!(due(&mut c, a), Some(NOW + 30_000));
    assert_alarm(&mut c, 9_000, armed, "still b, the earliest");

    // Nothing is due before its time; at it, the lease takes it and holds it a lease long, and
    // the alarm rings for what is due next (a).
    ring(&mut c);
    assert!(lease(&mut c, NOW + 8_999, 30_000, 16).is_empty());
    ring(&mut c);
    let armed = Instant::now();
    assert_eq!(lease(&mut c, NOW + 9_000, 30_000, 16), [b]);
    let held = NOW + 9_000 + 30_000;
    assert_eq!(due(&mut c, b), Some(held));
    assert_alarm(&mut c, 21_000, armed, "a, due next");

    // A note with the lease's hold sets the next time; one with a hold that is not the
    // register's (another worker's stale lease) changes nothing.
    assert_eq!(
        note(
            &mut c,
            b,
            NOW + 500_000,
            NOW + 9_100,
            "if_held",
            &(held + 1).to_string()
        ),
        "held_elsewhere"
    );
    assert_eq!(due(&mut c, b), Some(held));
    assert_eq!(
        note(
            &mut c,
            b,
            NOW + 400_000,
            NOW + 9_100,
            "if_held",
            &held.to_string()
        ),
        "noted"
    );
    assert_eq!(due(&mut c, b), Some(NOW + 400_000));

    // A removal while held: only with the time the register holds.
    let forget = |c: &mut harness::Conn, item: &str, score: i64| {
        run(
            c,
            "forget",
            &[("set", REGISTER.to_string())],
            &[("member", item.to_string()), ("score", score.to_string())],
        )
        .0
    };
    assert_eq!(forget(&mut c, b, NOW + 399_999), "kept");
    assert_eq!(due(&mut c, b), Some(NOW + 400_000));
    assert_eq!(forget(&mut c, b, NOW + 400_000), "removed");
    assert_eq!(due(&mut c, b), None);

    // More due than a lease takes: the first ones, the alarm at once for the rest.
    for i in 0..5 {
        note(
            &mut c,
            &format!("competition:t/m{i}"),
            NOW + 10_000 + i,
            NOW,
            "always",
            "",
        );
    }
    // The alarm still set for later: the lease must bring it forward, to at once.
    set_for_later(&mut c);
    let armed = Instant::now();
    let first = lease(&mut c, NOW + 40_000, 30_000, 3);
    assert_eq!(
        first,
        ["competition:t/m0", "competition:t/m1", "competition:t/m2"]
    );
    assert_alarm(&mut c, 1, armed, "more are due: at once");
    ring(&mut c);
    let rest = lease(&mut c, NOW + 40_001, 30_000, 3);
    assert_eq!(
        rest,
        ["competition:t/m3", "competition:t/m4", "competition:t/a"]
    );
}

#[test]
fn the_schedule_takes_in_what_the_previous_releases_registers_hold() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let tier = Register::Tier("0123456789abcdef".into());
    let cases = [
        (
            Register::Shared,
            edge::schedule::PREVIOUS_COMPETITIONS.to_string(),
            "competition",
        ),
        (
            tier.clone(),
            edge::schedule::previous_rollovers("0123456789abcdef"),
            "rollover",
        ),
    ];
    for (register, previous, kind) in cases {
        let key = register.key();
        let zadd = |c: &mut harness::Conn, set: &str, score: i64, member: &str| {
            let _: i64 = redis::cmd("ZADD")
                .arg(set)
                .arg(score)
                .arg(member)
                .query(c)
                .unwrap();
        };
        let score = |c: &mut harness::Conn, set: &str, member: &str| -> Option<i64> {
            redis::cmd("ZSCORE").arg(set).arg(member).query(c).unwrap()
        };
        // As the previous release noted them: no kind.
        zadd(&mut c, &previous, NOW + 5_000, "t/old");
        zadd(&mut c, &previous, NOW + 7_000, "t/later-here");
        zadd(&mut c, &previous, NOW + 90_000, "t/sooner-here");
        // Noted by this release too: the earlier of the two times stands, whichever holds it.
        zadd(&mut c, &key, NOW + 50_000, &format!("{kind}:t/later-here"));
        zadd(&mut c, &key, NOW + 8_000, &format!("{kind}:t/sooner-here"));
        // A lease before any is due moves them in (two a lease here) and takes none; while more
        // are left to move, the alarm rings again at once.
        set_for_later(&mut c);
        let armed = Instant::now();
        assert!(
            lease_in(&mut c, &register, NOW, 30_000, 16).is_empty(),
            "{key}"
        );
        assert_alarm(&mut c, 1, armed, "more to move");
        ring(&mut c);
        let armed = Instant::now();
        assert!(
            lease_in(&mut c, &register, NOW, 30_000, 16).is_empty(),
            "{key}"
        );
        let left: i64 = redis::cmd("EXISTS").arg(&previous).query(&mut c).unwrap();
        assert_eq!(left, 0, "{previous} is emptied");
        assert_eq!(
            score(&mut c, &key, &format!("{kind}:t/old")),
            Some(NOW + 5_000)
        );
        assert_eq!(
            score(&mut c, &key, &format!("{kind}:t/later-here")),
            Some(NOW + 7_000)
        );
        assert_eq!(
            score(&mut c, &key, &format!("{kind}:t/sooner-here")),
            Some(NOW + 8_000)
        );
        assert_alarm(&mut c, 5_000, armed, "t/old, the earliest");
        // And each is leased as its kind when due.
        ring(&mut c);
        assert_eq!(
            lease_in(&mut c, &register, NOW + 7_000, 30_000, 16),
            [format!("{kind}:t/old"), format!("{kind}:t/later-here")]
        );
        let _: i64 = redis::cmd("DEL").arg(&key).query(&mut c).unwrap();
    }
}

//! The schedule's register (`edge::schedule`), as its scripts keep it on a real Redis (no app,
//! no runtime): the earliest due time arms the alarm; a lease takes what is due, at most so
//! many, each with its stamp, and holds each for its kind's lease; what the worker says it did
//! holds to the stamp, so a note made during a lease (even in its millisecond) outlives it and
//! the sooner of two times stands; what the overdue read counts; and what the previous release's
//! registers of the inbox sweep and the webhook deliverer still hold is moved in, by kind (an
//! inbox item at the later of two due times, a webhook item at the earlier).

use edge::schedule::{ALARM, Kind, NOTES, REGISTER, Register, script_for_tests};
use std::time::Instant;

use redis::Value;

const NOW: i64 = 1_800_000_000_000;

/// Runs the schedule's script `name` with its keys and arguments by name; its answer's word and
/// the rest as strings (the suites that act as a drain or a deliverer run the scripts so too).
pub(crate) fn run(
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

/// The keys every script of a register names: the register, the alarm, its stamps.
fn register_keys(register: &Register) -> Vec<(&'static str, String)> {
    vec![
        ("register", register.key()),
        ("alarm", ALARM.to_string()),
        ("stamps", register.stamps()),
    ]
}

/// What a lease or a note gave an item: its stamp and due time.
type Held = (String, String);

/// A note of `item` in the schedule's register, as `Repo::due_note` makes it: its stamp and due
/// time.
pub(crate) fn note(c: &mut harness::Conn, item: &str, due: i64, now: i64, mode: &str) -> Held {
    let mut keys = register_keys(&Register::Shared);
    keys.push(("notes", NOTES.to_string()));
    let args = [
        ("item", item.to_string()),
        ("due_ms", due.to_string()),
        ("now_ms", now.to_string()),
        ("mode", mode.to_string()),
    ];
    let (word, rest) = run(c, "note", &keys, &args);
    match &rest[..] {
        [stamp, due] if word == "noted" => (stamp.clone(), due.clone()),
        _ => panic!("a note answered {word} {rest:?}"),
    }
}

/// A lease of the schedule's register, as `Repo::due_lease` takes it: each item with what the
/// lease gave it.
fn lease(c: &mut harness::Conn, now: i64, max: usize) -> Vec<(String, Held)> {
    lease_of(c, now, max, "")
}

/// A lease of the items of `kinds` only (words; `""`: every kind).
fn lease_of(c: &mut harness::Conn, now: i64, max: usize, kinds: &str) -> Vec<(String, Held)> {
    let leases: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("{}={}", k.name(), k.lease_ms()))
        .collect();
    let args = [
        ("now_ms", now.to_string()),
        ("lease_ms", "30000".to_string()),
        ("leases", leases.join(" ")),
        ("kinds", kinds.to_string()),
        ("defer_ms", "2000".to_string()),
        ("max", max.to_string()),
    ];
    let (word, items) = run(c, "lease", &register_keys(&Register::Shared), &args);
    assert_eq!(word, "leased");
    assert_eq!(items.len() % 3, 0, "a lease answers triples: {items:?}");
    items
        .chunks(3)
        .map(|t| (t[0].clone(), (t[1].clone(), t[2].clone())))
        .collect()
}

/// What a worker says it did with `item` it holds by `held` (`None`: whatever was noted since):
/// due at `next`, or forgotten.
fn done(
    c: &mut harness::Conn,
    item: &str,
    held: Option<&Held>,
    next: Option<i64>,
    now: i64,
) -> String {
    done_as(c, item, held, next, now, false)
}

/// [`done`], or with `only_held` an item given back (left as it is when noted since).
fn done_as(
    c: &mut harness::Conn,
    item: &str,
    held: Option<&Held>,
    next: Option<i64>,
    now: i64,
    only_held: bool,
) -> String {
    let (stamp, held_ms) = held.cloned().unwrap_or_default();
    let args = [
        ("item", item.to_string()),
        ("stamp", stamp),
        ("held_ms", held_ms),
        ("next_ms", next.map(|n| n.to_string()).unwrap_or_default()),
        ("only_held", if only_held { "1" } else { "0" }.to_string()),
        ("now_ms", now.to_string()),
    ];
    run(c, "done", &register_keys(&Register::Shared), &args).0
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

fn items(leased: &[(String, Held)]) -> Vec<&str> {
    leased.iter().map(|(item, _)| item.as_str()).collect()
}

#[test]
fn the_schedules_register_rings_for_the_earliest_item_and_holds_what_a_lease_took() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let (a, b) = ("competition:t/a", "competition:t/b");

    // The earliest due time arms the alarm; a later note does not push it back.
    note(&mut c, a, NOW + 60_000, NOW, "always");
    let armed = Instant::now();
    note(&mut c, b, NOW + 9_000, NOW, "always");
    assert_alarm(&mut c, 9_000, armed, "b, the earliest");
    // `earlier` only makes an item due sooner; `always` sets its time either way. None of these
    // is due before b: the alarm stays b's.
    note(&mut c, a, NOW + 90_000, NOW, "earlier");
    assert_eq!(due(&mut c, a), Some(NOW + 60_000));
    note(&mut c, a, NOW + 30_000, NOW, "earlier");
    assert_eq!(due(&mut c, a), Some(NOW + 30_000));
    note(&mut c, a, NOW + 70_000, NOW, "always");
    assert_eq!(due(&mut c, a), Some(NOW + 70_000));
    let noted = note(&mut c, a, NOW + 30_000, NOW, "always");
    assert_eq!(
        noted.1,
        (NOW + 30_000).to_string(),
        "a note answers the due time"
    );
    assert_alarm(&mut c, 9_000, armed, "still b, the earliest");

    // Nothing is due before its time; at it, the lease takes it with its stamp and holds it a
    // lease long, and the alarm rings for what is due next (a).
    ring(&mut c);
    assert!(lease(&mut c, NOW + 8_999, 16).is_empty());
    ring(&mut c);
    let armed = Instant::now();
    let leased = lease(&mut c, NOW + 9_000, 16);
    assert_eq!(items(&leased), [b]);
    let held = leased[0].1.clone();
    assert_eq!(held.1, (NOW + 39_000).to_string());
    assert_eq!(due(&mut c, b), Some(NOW + 39_000));
    assert_alarm(&mut c, 21_000, armed, "a, due next");

    // Served with a next time: due then.
    assert_eq!(
        done(&mut c, b, Some(&held), Some(NOW + 400_000), NOW + 9_100),
        "due"
    );
    assert_eq!(due(&mut c, b), Some(NOW + 400_000));
    // A worker whose lease ended and that another worker leased since (the due time is the new
    // lease's): its word keeps the sooner time and removes nothing.
    ring(&mut c);
    let again = lease(&mut c, NOW + 400_000, 16);
    assert_eq!(items(&again), [a, b]);
    let (_, newer) = again[1].clone();
    assert_eq!(
        done(&mut c, b, Some(&held), Some(NOW + 900_000), NOW + 400_100),
        "kept"
    );
    assert_eq!(done(&mut c, b, Some(&held), None, NOW + 400_100), "kept");
    // Nor does its giving back an item it did not serve, even for sooner.
    assert_eq!(
        done_as(
            &mut c,
            b,
            Some(&held),
            Some(NOW + 400_100),
            NOW + 400_100,
            true
        ),
        "kept"
    );
    assert_eq!(due(&mut c, b), Some(NOW + 430_000));
    // The previous release notes it meanwhile: no stamp, but another due time: kept.
    let _: i64 = redis::cmd("ZADD")
        .arg(REGISTER)
        .arg(NOW + 420_000)
        .arg(b)
        .query(&mut c)
        .unwrap();
    assert_eq!(done(&mut c, b, Some(&newer), None, NOW + 400_200), "kept");
    assert_eq!(due(&mut c, b), Some(NOW + 420_000));
    // Its holder, with nothing noted since: removed, with its stamp.
    let last = lease(&mut c, NOW + 420_000, 16);
    assert_eq!(items(&last), [b]);
    assert_eq!(
        done(&mut c, b, Some(&last[0].1), None, NOW + 420_100),
        "removed"
    );
    assert_eq!(due(&mut c, b), None);
    // With no stamp (a board gone), whatever was noted.
    let stamp = note(&mut c, b, NOW + 1_000, NOW, "always");
    assert_ne!(stamp.0, last[0].1.0, "every note's stamp is new");
    assert_eq!(done(&mut c, b, None, None, NOW), "removed");
    assert_eq!(due(&mut c, b), None);
    let stamps: i64 = redis::cmd("HLEN")
        .arg(Register::Shared.stamps())
        .query(&mut c)
        .unwrap();
    assert_eq!(stamps, 1, "a's stamp alone is left");

    // More due than a lease takes: the first ones, the alarm at once for the rest.
    for i in 0..5 {
        note(
            &mut c,
            &format!("competition:t/m{i}"),
            NOW + 500_000 + i,
            NOW,
            "always",
        );
    }
    // The alarm still set for later: the lease must bring it forward, to at once.
    set_for_later(&mut c);
    let armed = Instant::now();
    let first = lease(&mut c, NOW + 600_000, 3);
    assert_eq!(
        items(&first),
        ["competition:t/a", "competition:t/m0", "competition:t/m1"]
    );
    assert_alarm(&mut c, 1, armed, "more are due: at once");
    ring(&mut c);
    let rest = lease(&mut c, NOW + 600_001, 3);
    assert_eq!(
        items(&rest),
        ["competition:t/m2", "competition:t/m3", "competition:t/m4"]
    );
}

/// A drain notes its board for the inbox sweep in the very millisecond a worker leased it, and
/// the webhook deliverer owes a tenant's messages again while a worker serves them: the worker's
/// word after its lease takes neither note away, and of two due times the sooner stands.
#[test]
fn a_note_made_during_a_lease_outlives_it_even_in_its_millisecond() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let (inbox, owed) = ("inbox:t/a", "webhook_messages:t/*");

    // The inbox item: due the reclaim time after its drain's note, moved on by every drain.
    note(&mut c, inbox, NOW + 1_000, NOW, "always");
    note(&mut c, inbox, NOW + 1_500, NOW + 500, "always");
    assert!(lease(&mut c, NOW + 1_499, 16).is_empty());
    let leased = lease(&mut c, NOW + 1_500, 16);
    assert_eq!(items(&leased), [inbox]);
    // A drain notes it in the lease's own millisecond, due the same time the lease set: the
    // sweep, finding the inbox empty, may not remove it.
    note(&mut c, inbox, NOW + 1_500 + 30_000, NOW + 1_500, "always");
    assert_eq!(due(&mut c, inbox), Some(NOW + 31_500));
    assert_eq!(
        done(&mut c, inbox, Some(&leased[0].1), None, NOW + 1_600),
        "kept"
    );
    assert_eq!(due(&mut c, inbox), Some(NOW + 31_500));
    assert_eq!(done(&mut c, inbox, None, None, NOW + 1_600), "removed");

    // What the deliverer owes: the earliest due time stands.
    note(&mut c, owed, NOW + 60_000, NOW, "earlier");
    note(&mut c, owed, NOW + 9_000, NOW, "earlier");
    note(&mut c, owed, NOW + 30_000, NOW, "earlier");
    assert_eq!(due(&mut c, owed), Some(NOW + 9_000));
    let leased = lease(&mut c, NOW + 9_000, 16);
    assert_eq!(items(&leased), [owed]);
    // Noted during the lease for later than the worker's next time: the sooner stands.
    note(&mut c, owed, NOW + 90_000, NOW + 9_050, "earlier");
    assert_eq!(
        done(
            &mut c,
            owed,
            Some(&leased[0].1),
            Some(NOW + 50_000),
            NOW + 9_100
        ),
        "due"
    );
    assert_eq!(due(&mut c, owed), Some(NOW + 50_000));
    // Noted during the next lease, for later than the worker knew of: it stays, due then.
    let leased = lease(&mut c, NOW + 50_000, 16);
    note(&mut c, owed, NOW + 90_000, NOW + 50_050, "earlier");
    assert_eq!(
        done(&mut c, owed, Some(&leased[0].1), None, NOW + 50_100),
        "kept"
    );
    assert_eq!(due(&mut c, owed), Some(NOW + 90_000));
    // Noted during the lease without changing its time (an `earlier` note for later): its stamp
    // alone tells the worker; kept, due then.
    let leased = lease(&mut c, NOW + 90_000, 16);
    note(&mut c, owed, NOW + 500_000, NOW + 90_050, "earlier");
    assert_eq!(due(&mut c, owed), Some(NOW + 210_000));
    assert_eq!(
        done(&mut c, owed, Some(&leased[0].1), None, NOW + 90_100),
        "kept"
    );
    assert_eq!(due(&mut c, owed), Some(NOW + 210_000));
    // Nothing noted since its lease and nothing left: it leaves the register, with its stamp.
    let leased = lease(&mut c, NOW + 210_000, 16);
    assert_eq!(
        done(&mut c, owed, Some(&leased[0].1), None, NOW + 210_100),
        "removed"
    );
    assert_eq!(due(&mut c, owed), None);
    let stamp: Option<String> = redis::cmd("HGET")
        .arg(Register::Shared.stamps())
        .arg(owed)
        .query(&mut c)
        .unwrap();
    assert_eq!(stamp, None);
}

/// Each kind is held for its own lease (the webhook deliverer's longer, a later release's kind
/// for the default), and the overdue read counts the items of a kind whose time has passed and
/// that no worker holds.
#[test]
fn each_kind_is_leased_for_its_own_time_and_what_waits_is_counted() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let members = [
        "competition:t/a",
        "inbox:t/a",
        "inbox:t/b",
        "webhook_log:t/a",
        "webhook_messages:t/*",
        "award:t/a",
    ];
    for (i, item) in members.iter().enumerate() {
        note(&mut c, item, NOW + i as i64, NOW, "always");
    }
    let overdue = |c: &mut harness::Conn, now: i64, scan: usize, max: usize| {
        let args = [
            ("now_ms", now.to_string()),
            ("kind", "inbox".to_string()),
            ("scan", scan.to_string()),
            ("max", max.to_string()),
        ];
        let keys = [("register", REGISTER.to_string())];
        let (word, rest) = run(c, "overdue", &keys, &args);
        assert_eq!(word, "overdue");
        rest
    };
    assert_eq!(overdue(&mut c, NOW, 1_000, 10), ["0"]);
    assert_eq!(
        overdue(&mut c, NOW + 1, 1_000, 10),
        ["1", "inbox:t/a", &(NOW + 1).to_string()]
    );
    assert_eq!(
        overdue(&mut c, NOW + 10, 1_000, 1),
        ["2", "inbox:t/a", &(NOW + 1).to_string()]
    );
    // Counted among the first items due only.
    assert_eq!(
        overdue(&mut c, NOW + 10, 2, 10),
        ["1", "inbox:t/a", &(NOW + 1).to_string()]
    );

    // A lease of some kinds leaves the others due, and rings for them, but not at once: a
    // burst of such leases (a drain's messages) rings once.
    set_for_later(&mut c);
    let armed = Instant::now();
    let some = lease_of(&mut c, NOW + 10, 16, "competition inbox");
    assert_eq!(items(&some), members[..3]);
    assert_alarm(
        &mut c,
        2_000,
        armed,
        "other kinds are due, after the deferral",
    );
    let again = Instant::now();
    assert!(lease_of(&mut c, NOW + 11, 16, "competition inbox").is_empty());
    assert_alarm(
        &mut c,
        2_000,
        armed,
        "not set again by the next filtered lease",
    );
    let _ = again;
    for (item, held) in &some {
        assert_eq!(
            done_as(&mut c, item, Some(held), Some(NOW + 5), NOW + 10, true),
            "due",
            "given back by its holder"
        );
    }
    let leased = lease(&mut c, NOW + 10, 16);
    assert_eq!(items(&leased).len(), members.len());
    let leases = [
        (members[0], 30_000),
        (members[1], 30_000),
        (members[2], 30_000),
        (members[3], 120_000),
        (members[4], 120_000),
        // A later release's kind: the default.
        (members[5], 30_000),
    ];
    for (item, lease_ms) in leases {
        assert_eq!(due(&mut c, item), Some(NOW + 10 + lease_ms), "{item}");
    }
    // Held: none is waiting for a worker.
    assert_eq!(overdue(&mut c, NOW + 20, 1_000, 10), ["0"]);
}

#[test]
fn the_schedule_takes_in_what_the_previous_releases_registers_hold() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let zadd = |c: &mut harness::Conn, set: &str, score: i64, member: &str| {
        let _: i64 = redis::cmd("ZADD")
            .arg(set)
            .arg(score)
            .arg(member)
            .query(c)
            .unwrap();
    };
    let (inbox, webhooks) = (
        edge::schedule::PREVIOUS_INBOX,
        edge::schedule::PREVIOUS_WEBHOOKS,
    );
    // As the previous release noted them: the inbox sweep's boards by when a drain noted them,
    // the deliverer's boards and tenants (`wh:<t>`) by when due, with stamps of its own.
    zadd(&mut c, inbox, NOW, "t/old");
    zadd(&mut c, inbox, NOW + 2_000, "t/held");
    zadd(&mut c, webhooks, NOW + 7_000, "t/log");
    zadd(&mut c, webhooks, NOW + 4_000, "wh:t");
    zadd(&mut c, webhooks, NOW + 3_000, "t/here");
    let _: i64 = redis::cmd("HSET")
        .arg(edge::schedule::PREVIOUS_WEBHOOK_STAMPS)
        .arg("wh:t")
        .arg(3)
        .query(&mut c)
        .unwrap();
    // Noted by this release too. An inbox item, leased: the later of the two times stands (a
    // drain's latest note), and the move counts as a note (the worker's word after its lease
    // does not take it away). A webhook item: the earlier stands.
    note(&mut c, "inbox:t/held", NOW + 1_000, NOW, "always");
    note(&mut c, "webhook_log:t/here", NOW + 9_000, NOW, "always");
    let leased = lease(&mut c, NOW + 1_000, 16);
    assert_eq!(items(&leased), ["inbox:t/held"]);
    let adopt = |c: &mut harness::Conn, max: usize, reclaim: &str| {
        let keys = [
            ("register", REGISTER.to_string()),
            ("alarm", ALARM.to_string()),
            ("stamps", Register::Shared.stamps()),
            ("notes", NOTES.to_string()),
            ("inbox", inbox.to_string()),
            ("webhooks", webhooks.to_string()),
            (
                "webhook_stamps",
                edge::schedule::PREVIOUS_WEBHOOK_STAMPS.to_string(),
            ),
        ];
        let args = [
            ("now_ms", (NOW + 1_000).to_string()),
            ("reclaim_ms", reclaim.to_string()),
            ("max", max.to_string()),
        ];
        let (word, moved) = run(c, "adopt", &keys, &args);
        assert_eq!(word, "adopted");
        moved
    };
    // With the reclaim time not known, the inbox's register is left as it is.
    set_for_later(&mut c);
    let armed = Instant::now();
    assert_eq!(adopt(&mut c, 1, ""), ["1"]);
    assert_alarm(&mut c, 1, armed, "more to move");
    let left: i64 = redis::cmd("ZCARD").arg(inbox).query(&mut c).unwrap();
    assert_eq!(left, 2);
    // One at a time from each here: while more are left to move, the alarm rings again at once.
    set_for_later(&mut c);
    let armed = Instant::now();
    assert_eq!(adopt(&mut c, 1, "5000"), ["2"]);
    assert_alarm(&mut c, 1, armed, "more to move");
    ring(&mut c);
    let armed = Instant::now();
    assert_eq!(adopt(&mut c, 10, "5000"), ["2"]);
    for previous in [inbox, webhooks, edge::schedule::PREVIOUS_WEBHOOK_STAMPS] {
        let left: i64 = redis::cmd("EXISTS").arg(previous).query(&mut c).unwrap();
        assert_eq!(left, 0, "{previous} is emptied");
    }
    assert_eq!(due(&mut c, "inbox:t/old"), Some(NOW + 5_000));
    assert_eq!(due(&mut c, "inbox:t/held"), Some(NOW + 31_000));
    assert_eq!(due(&mut c, "webhook_log:t/log"), Some(NOW + 7_000));
    assert_eq!(due(&mut c, "webhook_log:t/here"), Some(NOW + 3_000));
    assert_eq!(due(&mut c, "webhook_messages:t/*"), Some(NOW + 4_000));
    assert_alarm(&mut c, 2_000, armed, "webhook_log:t/here, the earliest");
    assert_eq!(
        done(
            &mut c,
            "inbox:t/held",
            Some(&leased[0].1),
            None,
            NOW + 1_100
        ),
        "kept"
    );
    // And each is leased as its kind when due.
    ring(&mut c);
    assert_eq!(
        items(&lease(&mut c, NOW + 5_000, 16)),
        ["webhook_log:t/here", "webhook_messages:t/*", "inbox:t/old"]
    );
}

/// `/health/ready`'s ring (`Repo::due_nudge`), as the script does it on a real Redis.
fn nudge(c: &mut harness::Conn, now: i64) -> (String, Vec<String>) {
    let keys = [
        ("register", REGISTER.to_string()),
        ("alarm", ALARM.to_string()),
        ("nudged", edge::schedule::NUDGED.to_string()),
    ];
    let args = [
        ("now_ms", now.to_string()),
        ("grace_ms", edge::schedule::NUDGE_AFTER_MS.to_string()),
    ];
    run(c, "nudge", &keys, &args)
}

#[test]
/// The ring for due work no alarm will ring any more: nothing with the register empty or with the
/// earliest item due within the grace; past it, the alarm armed at once (even one set for later,
/// as a push tier's note may leave it), once per grace however often asked.
fn the_ready_ring_arms_the_alarm_for_work_past_its_time_once_per_grace() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let grace = edge::schedule::NUDGE_AFTER_MS;
    let item = "inbox:t/night";
    assert_eq!(nudge(&mut c, NOW), ("quiet".to_string(), vec![]));
    note(&mut c, item, NOW + 1_000, NOW, "always");
    // The alarm rang for nobody: gone.
    ring(&mut c);
    assert_eq!(
        nudge(&mut c, NOW + 999 + grace).0,
        "quiet",
        "within the grace"
    );
    set_for_later(&mut c);
    let armed = Instant::now();
    assert_eq!(
        nudge(&mut c, NOW + 1_001 + grace),
        (
            "rung".to_string(),
            vec![item.to_string(), (NOW + 1_000).to_string()]
        )
    );
    assert_alarm(&mut c, 1, armed, "rung for the item past its time");
    set_for_later(&mut c);
    let armed = Instant::now();
    assert_eq!(
        nudge(&mut c, NOW + 1_002 + grace).0,
        "quiet",
        "a second call within the grace"
    );
    assert_alarm(&mut c, 600_000, armed, "left as it was within the grace");
    let left: i64 = redis::cmd("PTTL")
        .arg(edge::schedule::NUDGED)
        .query(&mut c)
        .unwrap();
    assert!(0 < left && left <= grace, "the ring holds {left} ms");
    let _: i64 = redis::cmd("DEL")
        .arg(edge::schedule::NUDGED)
        .query(&mut c)
        .unwrap();
    let armed = Instant::now();
    assert_eq!(
        nudge(&mut c, NOW + 1_002 + grace).0,
        "rung",
        "the grace over"
    );
    assert_alarm(&mut c, 1, armed, "rung again once the grace is over");
}

#[test]
/// A note `absent` (an acceptance whose doorbell no worker heard) adds an item not in the
/// register; of one noted already (a drain's note: the drain may be at work) it keeps the due
/// time and stamps it anew, so a sweep that leased it before does not take it for served.
fn a_note_absent_adds_an_item_and_keeps_a_noted_ones_time() {
    let redis = harness::RedisServer::start();
    let mut c = redis.conn();
    let item = "inbox:t/night";
    let (stamp, due_at) = note(&mut c, item, NOW + 30_000, NOW, "absent");
    assert_eq!(due_at, (NOW + 30_000).to_string());
    assert_eq!(due(&mut c, item), Some(NOW + 30_000));
    let drained = note(&mut c, item, NOW + 40_000, NOW + 10_000, "always");
    assert_ne!(drained.0, stamp, "a drain's note stamps anew");
    let leased = lease(&mut c, NOW + 40_000, 16);
    assert_eq!(items(&leased), [item]);
    let accepted = note(&mut c, item, NOW + 35_000, NOW + 40_001, "absent");
    assert_ne!(accepted.0, leased[0].1.0, "stamped anew");
    assert_eq!(
        due(&mut c, item),
        Some(NOW + 40_000 + edge::schedule::LEASE_MS),
        "the lease's time stands"
    );
    // The sweep that leased it read the inbox before the acceptance: it does not forget it.
    assert_eq!(
        done(&mut c, item, Some(&leased[0].1), None, NOW + 40_002),
        "kept"
    );
    assert!(due(&mut c, item).is_some());
}

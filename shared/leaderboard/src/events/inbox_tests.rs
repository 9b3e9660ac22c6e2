#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::board::config::BoardConfigInput;
use crate::events::event::ScoreSubmitted;
use crate::ids::BoardId;

const NOW: i64 = 1_764_000_000_000; // 2025-11-24

fn board(config: Value) -> Board {
    serde_json::from_value::<BoardConfigInput>(config)
        .unwrap()
        .validate()
        .unwrap()
}

fn incr() -> Board {
    board(json!({"id": "race", "operator": "incr", "score_max": 100}))
}

fn tenant() -> TenantId {
    TenantId::default()
}

fn entry(id: &str, fields: &[(&str, &str)]) -> RawEntry {
    RawEntry {
        id: id.into(),
        deliveries: 1,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn envelope(board: &str, player: &str, score: i64, at_ms: i64) -> String {
    EventEnvelope {
        id: "x".into(),
        tenant: tenant(),
        board: BoardId::new(board).unwrap(),
        at_ms,
        event: Event::ScoreSubmitted(ScoreSubmitted {
            player: PlayerId::new(player).unwrap(),
            score,
            subscore: None,
            metadata: None,
            idempotency_key: Some("k".into()),
            band: None,
        }),
    }
    .to_json()
    .unwrap()
}

fn plan_one(board: &Board, e: &RawEntry) -> Result<Planned> {
    plan(&tenant(), board, e, NOW)
}

fn reason(board: &Board, e: &RawEntry) -> String {
    plan_one(board, e).unwrap_err().to_string()
}

#[test]
fn the_api_layout_keeps_its_acceptance_time() {
    let e = entry(
        &format!("{}-0", NOW + 5),
        &[("event", &envelope("race", "ann", 7, NOW - 10))],
    );
    let p = plan_one(&incr(), &e).unwrap();
    assert_eq!(p.player.as_str(), "ann");
    assert_eq!(p.submission.score, 7);
    assert_eq!(p.at_ms, NOW - 10);
    assert_eq!(p.period, PeriodId::AllTime);
    // The HTTP door already handled its Idempotency-Key.
    assert_eq!(p.dedupe_key, None);
}

#[test]
fn the_ingest_layout_is_validated_like_http() {
    let b = board(
        json!({"id": "lap", "sort": "asc", "score_type": "decimal", "scale": 3,
        "subscore": {"sort": "desc"}, "period": "daily", "retain_periods": 1}),
    );
    let e = entry(
        &format!("{NOW}-4"),
        &[
            ("player", "bob"),
            ("score", "61.25"),
            ("subscore", "3"),
            ("metadata", r#"{"car":"red"}"#),
            ("idempotency_key", "lap-1"),
        ],
    );
    let p = plan_one(&b, &e).unwrap();
    assert_eq!(p.submission.score, 61_250);
    assert_eq!(p.submission.subscore, Some(3));
    assert_eq!(p.submission.metadata, Some(json!({"car": "red"})));
    assert_eq!(p.at_ms, NOW);
    assert_eq!(p.period.to_string(), "2025-11-24");
    assert!(p.expire_at_ms.is_some());
    assert_eq!(p.dedupe_key.as_deref(), Some("lap-1"));

    // A redriven entry keeps the time it was first accepted.
    let mut e = e;
    e.fields
        .push(("accepted_at_ms".into(), (NOW - 3_600_000).to_string()));
    assert_eq!(plan_one(&b, &e).unwrap().at_ms, NOW - 3_600_000);
}

#[test]
fn a_tournaments_window_joins_and_attempts_hold_for_ingest_entries_too() {
    let cup = |join_required: bool| {
        board(json!({"id": "cup", "tournament": {
            "title": "Cup", "start": "2025-11-24T16:00:00Z", "duration_secs": 60,
            "join_required": join_required,
        }}))
    };
    let limited = board(json!({"id": "cup", "tournament": {
        "title": "Cup", "start": "2025-11-24T16:00:00Z", "duration_secs": 60, "max_attempts": 3,
    }}));
    let at = |ms: i64| entry(&format!("{ms}-0"), &[("player", "ann"), ("score", "5")]);
    // 2025-11-24T16:00:00Z is NOW.
    assert!(plan_one(&cup(false), &at(NOW + 1_000)).is_ok());
    assert!(matches!(
        plan_one(&cup(false), &at(NOW + 60_000)),
        Err(LeaderboardError::TournamentClosed {
            upcoming: false,
            ..
        })
    ));
    assert!(matches!(
        plan_one(&cup(false), &at(NOW - 1)),
        Err(LeaderboardError::TournamentClosed { upcoming: true, .. })
    ));
    assert!(matches!(
        plan_one(&cup(true), &at(NOW + 1_000)),
        Err(LeaderboardError::InvalidEvent(m)) if m.contains("join_required")
    ));
    assert!(matches!(
        plan_one(&limited, &at(NOW + 1_000)),
        Err(LeaderboardError::InvalidEvent(m)) if m.contains("max_attempts")
    ));
    // An entry the API accepted (the event layout) was join-checked there: taken in the window.
    let accepted = entry(
        &format!("{}-0", NOW + 1_000),
        &[("event", &envelope("cup", "ann", 5, NOW + 1_000))],
    );
    assert!(plan_one(&cup(true), &accepted).is_ok());
}

#[test]
fn bad_entries_say_why() {
    let b = incr();
    let id = format!("{NOW}-0");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("score", "1")], "no 'player'"),
        (vec![("player", "ann")], "no 'score'"),
        (
            vec![("player", "ann"), ("score", "1"), ("level", "3")],
            "unknown inbox field 'level'",
        ),
        (vec![("player", "ann"), ("score", "abc")], "score"),
        (vec![("player", "ann"), ("score", "1.5")], "score"),
        (vec![("player", "ann"), ("score", "500")], "range"),
        (
            vec![("player", "ann"), ("score", "1"), ("subscore", "x")],
            "'subscore' is not an integer",
        ),
        (
            vec![("player", "ann"), ("score", "1"), ("metadata", "{")],
            "'metadata' is not JSON",
        ),
        (
            vec![("player", "ann"), ("score", "1"), ("metadata", "[1]")],
            "metadata must be a JSON object",
        ),
        (vec![("player", "a b"), ("score", "1")], "player"),
        (vec![("event", "{}")], "envelope"),
    ];
    for (fields, needle) in cases {
        let r = reason(&b, &entry(&id, &fields));
        assert!(
            r.contains(needle),
            "{fields:?}: {r:?} should mention {needle:?}"
        );
    }
    let other = entry(&id, &[("event", &envelope("other", "ann", 1, NOW))]);
    assert!(reason(&b, &other).contains("default/other"));
    let mut tired = entry(&id, &[("player", "ann"), ("score", "1")]);
    tired.deliveries = MAX_DELIVERIES + 1;
    assert!(reason(&b, &tired).contains("gave up after 5 deliveries"));
}

#[test]
fn an_entry_of_a_period_no_longer_retained_is_refused() {
    let b = board(json!({"id": "d", "period": "daily", "retain_periods": 1}));
    let old = NOW - 3 * 86_400_000;
    let e = entry(&format!("{old}-0"), &[("player", "ann"), ("score", "1")]);
    assert!(reason(&b, &e).contains("no longer retained"));
    let yesterday = NOW - 86_400_000;
    let e = entry(
        &format!("{yesterday}-0"),
        &[("player", "ann"), ("score", "1")],
    );
    assert_eq!(plan_one(&b, &e).unwrap().period.to_string(), "2025-11-23");
}

#[test]
fn a_batch_decides_in_order_and_a_dead_entry_blocks_nothing() {
    let b = incr();
    let mk =
        |i: i64, fields: &[(&str, &str)]| plan_one(&b, &entry(&format!("{}-0", NOW + i), fields));
    let plans = vec![
        mk(0, &[("player", "ann"), ("score", "40")]),
        mk(1, &[("player", "ann"), ("score", "oops")]),
        mk(2, &[("player", "ann"), ("score", "50")]),
        // 40 + 50 + 20 > 100: refused by the operator, after seeing the two before it.
        mk(3, &[("player", "ann"), ("score", "20")]),
        mk(
            4,
            &[("player", "bob"), ("score", "5"), ("idempotency_key", "k1")],
        ),
        mk(
            5,
            &[("player", "bob"), ("score", "5"), ("idempotency_key", "k1")],
        ),
        mk(
            6,
            &[
                ("player", "bob"),
                ("score", "5"),
                ("idempotency_key", "seen"),
            ],
        ),
    ];
    let mut records = HashMap::new();
    let stored = Record {
        score: 1,
        subscore: None,
        achieved_at_ms: NOW - 1,
        updated_at_ms: NOW - 1,
        metadata: None,
        submissions: 1,
    };
    records.insert(
        (PeriodId::AllTime, PlayerId::new("ann").unwrap()),
        Some(stored),
    );
    records.insert((PeriodId::AllTime, PlayerId::new("bob").unwrap()), None);
    let seen = HashSet::from(["seen".to_owned()]);
    let v = decide(&b, &plans, &records, &seen);
    let score = |v: &Verdict| match v {
        Verdict::Apply(d) => d.outcome.record.score,
        other => panic!("expected an applied entry, got {other:?}"),
    };
    assert_eq!(score(&v[0]), 41);
    assert!(matches!(&v[1], Verdict::Dead(r) if r.contains("score")));
    assert_eq!(score(&v[2]), 91);
    assert!(
        matches!(&v[3], Verdict::Dead(r) if r.contains("range")),
        "{:?}",
        v[3]
    );
    assert_eq!(score(&v[4]), 5);
    assert_eq!(v[5], Verdict::Duplicate);
    assert_eq!(v[6], Verdict::Duplicate);
}

/// What a judge says of an entry it holds.
fn held(p: &Planned) -> Ruling {
    Ruling::Hold(Box::new(crate::integrity::review::Review::open(
        "rv_1".into(),
        true,
        p.player.clone(),
        p.period,
        p.submission.clone(),
        p.at_ms,
        Vec::new(),
    )))
}

#[test]
fn a_held_or_rejected_entry_leaves_the_record_as_it_was_for_the_entries_after_it() {
    let b = incr();
    let mk = |i: i64, score: &str| {
        plan_one(
            &b,
            &entry(
                &format!("{}-0", NOW + i),
                &[("player", "ann"), ("score", score)],
            ),
        )
    };
    let plans = vec![mk(0, "10"), mk(1, "30"), mk(2, "7"), mk(3, "20")];
    let records = HashMap::from([((PeriodId::AllTime, PlayerId::new("ann").unwrap()), None)]);
    let mut seen_before = Vec::new();
    // Holds an increment of 30, rejects one of 20, applies the rest.
    let v = decide_judged(&b, &plans, &records, &HashSet::new(), |p, before, _| {
        seen_before.push(before.map(|r| r.score));
        Ok(match p.submission.score {
            30 => held(p),
            20 => Ruling::Reject(LeaderboardError::IntegrityRejected {
                rule: "velocity".into(),
                detail: "too fast".into(),
            }),
            _ => Ruling::Apply(None),
        })
    })
    .unwrap();
    assert!(matches!(&v[0], Verdict::Apply(d) if d.outcome.record.score == 10));
    assert!(matches!(&v[1], Verdict::Held(r) if r.submission.score == 30));
    // The held 30 never counted: 10 + 7.
    assert!(matches!(&v[2], Verdict::Apply(d) if d.outcome.record.score == 17));
    assert_eq!(
        v[3],
        Verdict::Rejected("refused by the board's velocity rule: too fast".into())
    );
    assert_eq!(seen_before, [None, Some(10), Some(10), Some(17)]);
}

#[test]
fn a_held_entry_uses_its_ingest_key_and_a_rejected_one_frees_it() {
    let b = incr();
    let mk = |i: i64, score: &str, key: &str| {
        plan_one(
            &b,
            &entry(
                &format!("{}-0", NOW + i),
                &[
                    ("player", "ann"),
                    ("score", score),
                    ("idempotency_key", key),
                ],
            ),
        )
    };
    // Each key sent twice: the first of "held" is held, the first of "no" rejected.
    let plans = vec![
        mk(0, "30", "held"),
        mk(1, "30", "held"),
        mk(2, "20", "no"),
        mk(3, "5", "no"),
    ];
    let records = HashMap::from([((PeriodId::AllTime, PlayerId::new("ann").unwrap()), None)]);
    let v = decide_judged(&b, &plans, &records, &HashSet::new(), |p, _, _| {
        Ok(match p.submission.score {
            30 => held(p),
            20 => Ruling::Reject(LeaderboardError::IntegrityRejected {
                rule: "velocity".into(),
                detail: "too fast".into(),
            }),
            _ => Ruling::Apply(None),
        })
    })
    .unwrap();
    assert!(matches!(&v[0], Verdict::Held(_)));
    assert_eq!(v[1], Verdict::Duplicate);
    assert_eq!(
        v[2],
        Verdict::Rejected("refused by the board's velocity rule: too fast".into())
    );
    assert!(matches!(&v[3], Verdict::Apply(d) if d.outcome.record.score == 5));
}

#[test]
fn stepwise_deciding_asks_again_until_ruled_and_skips_what_needs_no_ruling() {
    let b = incr();
    let mk =
        |i: i64, fields: &[(&str, &str)]| plan_one(&b, &entry(&format!("{}-0", NOW + i), fields));
    let plans = vec![
        mk(0, &[("player", "ann"), ("score", "4")]),
        mk(1, &[("player", "ann")]),
        mk(2, &[("player", "ann"), ("score", "6")]),
    ];
    let records = HashMap::from([((PeriodId::AllTime, PlayerId::new("ann").unwrap()), None)]);
    let seen = HashSet::new();
    let mut deciding = Deciding::new(&b, &plans, &records, &seen);
    let first = deciding.next_to_judge().unwrap();
    assert_eq!(
        (first.before.clone(), first.outcome.record.score),
        (None, 4)
    );
    // Not ruled on yet: the same entry again.
    let again = deciding.next_to_judge().unwrap();
    assert_eq!(again.plan.at_ms, first.plan.at_ms);
    deciding.rule(Ruling::Apply(None));
    // The entry without a score needs no ruling: the next one asked is the third, after 4.
    let third = deciding.next_to_judge().unwrap();
    assert_eq!(third.before.map(|r| r.score), Some(4));
    assert_eq!(third.outcome.record.score, 10);
    deciding.rule(Ruling::Apply(None));
    assert!(deciding.next_to_judge().is_none());
    let v = deciding.finish();
    assert_eq!(v.len(), 3);
    assert!(matches!(&v[1], Verdict::Dead(_)));
    assert!(matches!(&v[2], Verdict::Apply(d) if d.outcome.record.score == 10));
}

proptest! {
    /// Deciding a batch gives exactly what applying the entries one at a time gives.
    #[test]
    fn a_batch_equals_one_at_a_time(
        ops in prop::collection::vec((0usize..4, -30i64..60, 0i64..5), 1..40),
        operator in prop_oneof![Just("best"), Just("set"), Just("incr"), Just("decr")],
    ) {
        let b = board(json!({"id": "p", "operator": operator, "score_min": -100, "score_max": 200}));
        let players = ["a", "b", "c", "d"];
        let plans: Vec<_> = ops
            .iter()
            .enumerate()
            .map(|(i, (p, s, dt))| {
                let at = NOW + i as i64 * 10 + dt;
                let score = s.to_string();
                plan_one(&b, &entry(&format!("{at}-0"), &[("player", players[*p]), ("score", &score)]))
            })
            .collect();
        let verdicts = decide(&b, &plans, &HashMap::new(), &HashSet::new());
        prop_assert_eq!(verdicts.len(), plans.len());
        let mut state: HashMap<&str, Record> = HashMap::new();
        for ((p, _, _), (plan, verdict)) in ops.iter().zip(plans.iter().zip(&verdicts)) {
            let plan = match plan {
                Ok(plan) => plan,
                Err(e) => {
                    prop_assert_eq!(verdict, &Verdict::Dead(e.to_string()));
                    continue;
                }
            };
            let one = operator::apply(&b, state.get(players[*p]), &plan.submission, plan.at_ms);
            match (one, verdict) {
                (Ok(o), Verdict::Apply(d)) => {
                    prop_assert_eq!(&o, &d.outcome);
                    prop_assert_eq!(o.record.sort_key(&b, &plan.player).unwrap(), d.key.clone());
                    state.insert(players[*p], o.record);
                }
                (Err(e), Verdict::Dead(r)) => prop_assert_eq!(e.to_string(), r.clone()),
                (one, v) => prop_assert!(false, "one at a time {one:?}, batch {v:?}"),
            }
        }
    }
}

#[test]
fn a_redriven_entry_keeps_its_acceptance_time() {
    let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    };
    let ingest = f(&[("player", "ann"), ("score", "1")]);
    let mut expected = ingest.clone();
    expected.push(("accepted_at_ms".into(), "1700000000000".into()));
    assert_eq!(redrive_fields("1700000000000-3", ingest), expected);
    let dated = f(&[("player", "ann"), ("score", "1"), ("accepted_at_ms", "5")]);
    assert_eq!(redrive_fields("1700000000000-3", dated.clone()), dated);
    let api = f(&[("event", "{}")]);
    assert_eq!(redrive_fields("1700000000000-3", api.clone()), api);
    let fields = f(&[("player", "ann"), ("score", "1")]);
    let json = RawEntry {
        id: "1-0".into(),
        deliveries: 1,
        fields: fields.clone(),
    }
    .fields_json();
    assert_eq!(fields_from_json(&json).unwrap(), fields);
}

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn input(raw: Value) -> SubscriptionInput {
    serde_json::from_value(raw).unwrap()
}

fn make(raw: Value) -> Result<Subscription> {
    input(raw).validate(
        &TargetPolicy::default(),
        "acme",
        "wh_0123456789abcdef".into(),
        "whsec_c2VjcmV0".into(),
        1_700_000_000_000,
    )
}

#[test]
fn a_subscription_is_validated_and_defaulted() {
    let s = make(json!({"url": "https://hooks.example.com/lb", "events": ["rank.top_changed", "score.applied", "score.applied"]}))
        .unwrap();
    assert_eq!(s.events, ["score.applied", "rank.top_changed"]);
    assert_eq!((s.top_n, s.enabled, s.boards.clone()), (10, true, None));
    let view = s.view();
    assert!(view.get("secret").is_none());
    assert_eq!(view["created_at"], "2023-11-14T22:13:20.000Z");
    assert!(!view.to_string().contains("whsec_"));
}

#[test]
fn bad_subscriptions_are_refused_with_the_field() {
    for (raw, why) in [
        (
            json!({"url": "https://h.example.com", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://h.example.com", "events": ["score.submitted"]}),
            "unknown event type",
        ),
        (
            json!({"url": "https://h.example.com", "events": ["board.deleted"], "top_n": 0}),
            "top_n",
        ),
        (
            json!({"url": "https://h.example.com", "events": ["board.deleted"], "top_n": 101}),
            "top_n",
        ),
        (
            json!({"url": "https://h.example.com", "events": ["board.deleted"], "boards": []}),
            "boards",
        ),
        (
            json!({"url": "https://127.0.0.1", "events": ["board.deleted"]}),
            "loopback",
        ),
        (
            json!({"url": "https://h.example.com", "events": ["board.deleted"], "description": "x".repeat(257)}),
            "description",
        ),
    ] {
        let e = make(raw.clone()).unwrap_err();
        assert_eq!(e.status(), 422, "{raw}");
        assert!(e.to_string().contains(why), "{raw}: {e}");
    }
    let e = make(json!({"url": "https://h.example.com", "events": ["board.deleted"], "boards": ["no spaces"]}))
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(
        serde_json::from_value::<SubscriptionInput>(
            json!({"url": "x", "events": [], "secret": "mine"})
        )
        .is_err()
    );
}

#[test]
fn a_patch_changes_only_what_it_names_and_null_boards_means_every_board() {
    let mut s = make(
        json!({"url": "https://h.example.com", "events": ["score.applied"], "boards": ["a", "b"]}),
    )
    .unwrap();
    let patch: SubscriptionPatch = serde_json::from_value(json!({"top_n": 3})).unwrap();
    s.patch(patch, &TargetPolicy::default(), 5).unwrap();
    assert_eq!(
        (s.top_n, s.boards.clone()),
        (3, Some(vec!["a".to_string(), "b".to_string()]))
    );
    let patch: SubscriptionPatch = serde_json::from_value(json!({"boards": null})).unwrap();
    s.patch(patch, &TargetPolicy::default(), 6).unwrap();
    assert_eq!((s.boards.clone(), s.updated_ms), (None, 6));
    // A refused patch changes nothing.
    let before = s.clone();
    let patch: SubscriptionPatch =
        serde_json::from_value(json!({"top_n": 5, "url": "https://10.0.0.1/"})).unwrap();
    assert!(s.patch(patch, &TargetPolicy::default(), 7).is_err());
    assert_eq!(s, before);
    // Enabling again clears the reason the service disabled it for.
    s.disable("the receiver answered 410 Gone", 8);
    assert!(!s.wants("score.applied", "a"));
    let patch: SubscriptionPatch = serde_json::from_value(json!({"enabled": true})).unwrap();
    s.patch(patch, &TargetPolicy::default(), 9).unwrap();
    assert_eq!((s.enabled, s.disabled_reason.clone()), (true, None));
}

#[test]
fn wants_filters_by_type_board_and_state() {
    let s =
        make(json!({"url": "https://h.example.com", "events": ["score.applied"], "boards": ["a"]}))
            .unwrap();
    assert!(s.wants("score.applied", "a"));
    assert!(!s.wants("score.applied", "b"));
    assert!(!s.wants("board.deleted", "a"));
    let all = make(json!({"url": "https://h.example.com", "events": ["score.applied"]})).unwrap();
    assert!(all.wants("score.applied", "anything"));
}

#[test]
fn a_rotation_signs_with_both_secrets_for_the_grace_period() {
    let mut s = make(json!({"url": "https://h.example.com", "events": ["score.applied"]})).unwrap();
    assert_eq!(s.signing_secrets(0), ["whsec_c2VjcmV0"]);
    s.rotate("whsec_bmV3".into(), 1_000);
    assert_eq!(s.signing_secrets(2_000), ["whsec_bmV3", "whsec_c2VjcmV0"]);
    assert_eq!(s.signing_secrets(1_000 + ROTATION_GRACE_MS), ["whsec_bmV3"]);
}

#[test]
fn schedules_and_durations_parse() {
    assert_eq!(
        parse_schedule(DEFAULT_SCHEDULE).unwrap(),
        [
            5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000
        ]
    );
    assert_eq!(parse_schedule("1s, 2s,4s").unwrap(), [1_000, 2_000, 4_000]);
    assert_eq!(parse_schedule("").unwrap(), Vec::<u64>::new());
    assert_eq!(parse_duration_ms("250ms").unwrap(), 250);
    assert_eq!(parse_duration_ms("5d").unwrap(), 432_000_000);
    for bad in ["5", "s", "5w", "-1s", "1.5s"] {
        assert!(parse_duration_ms(bad).is_err(), "{bad}");
    }
    assert!(parse_schedule(&vec!["1s"; 21].join(",")).is_err());
}

#[test]
fn next_step_follows_the_schedule_and_the_receiver() {
    let schedule = [1_000, 2_000, 4_000];
    let status = |code| AttemptOutcome::Status {
        code,
        retry_after_secs: None,
    };
    assert_eq!(
        next_step(&status(204), 1, &schedule, 0, 0.5),
        NextStep::Delivered
    );
    assert_eq!(
        next_step(&status(500), 1, &schedule, 0, 0.0),
        NextStep::Retry { at_ms: 1_000 }
    );
    assert_eq!(
        next_step(&status(302), 2, &schedule, 10, 0.0),
        NextStep::Retry { at_ms: 2_010 }
    );
    assert_eq!(
        next_step(&AttemptOutcome::Timeout, 3, &schedule, 0, 0.999),
        NextStep::Retry { at_ms: 4_799 }
    );
    assert_eq!(
        next_step(&status(500), 4, &schedule, 0, 0.0),
        NextStep::DeadLetter
    );
    assert_eq!(
        next_step(&status(410), 1, &schedule, 0, 0.0),
        NextStep::Disable
    );
    assert_eq!(
        next_step(&status(500), 1, &[], 0, 0.0),
        NextStep::DeadLetter
    );
    // Retry-After on 429/503 postpones (never hastens) a retry, up to a day.
    let busy = |code, s| AttemptOutcome::Status {
        code,
        retry_after_secs: Some(s),
    };
    assert_eq!(
        next_step(&busy(429, 30), 1, &schedule, 0, 0.0),
        NextStep::Retry { at_ms: 30_000 }
    );
    assert_eq!(
        next_step(&busy(503, 0), 1, &schedule, 0, 0.0),
        NextStep::Retry { at_ms: 1_000 }
    );
    assert_eq!(
        next_step(&busy(500, 30), 1, &schedule, 0, 0.0),
        NextStep::Retry { at_ms: 1_000 }
    );
    assert_eq!(
        next_step(&busy(429, u64::MAX), 1, &schedule, 0, 0.0),
        NextStep::Retry {
            at_ms: MAX_RETRY_AFTER_MS as i64
        }
    );
}

#[test]
fn failing_too_long_disables() {
    assert!(!failing_too_long(None, 10, 5));
    assert!(!failing_too_long(Some(6), 10, 5));
    assert!(failing_too_long(Some(5), 10, 5));
}

#[test]
fn payloads_follow_the_spec_shape() {
    let body = payload("score.applied", 0, json!({"player": "p1"}));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v,
        json!({"type": "score.applied", "timestamp": "1970-01-01T00:00:00.000Z", "data": {"player": "p1"}})
    );
}

#[test]
fn a_league_close_is_a_league_closed_message_on_a_league_only() {
    let board = |extra: Value| -> crate::Board {
        let mut config = json!({"id": "ladder", "period": "daily", "cohort_size": 5});
        if let (Value::Object(map), Value::Object(more)) = (&mut config, extra) {
            map.extend(more);
        }
        serde_json::from_value::<crate::BoardConfigInput>(config)
            .unwrap()
            .validate()
            .unwrap()
    };
    let league = board(json!({"league": {"tiers": ["low", "high"], "promote": 1, "demote": 1}}));
    let closed = crate::EventEnvelope::league_closed(
        &crate::TenantId::new("default").unwrap(),
        &league.id,
        "2026-11-26".parse().unwrap(),
        (2, 1, 7),
        1_795_737_600_412,
    );
    assert_eq!(
        league_closed_data(&league, &closed).unwrap(),
        json!({"board": "ladder", "period": "2026-11-26", "closed_at": "2026-11-27T00:00:00.412Z",
            "promoted": 2, "demoted": 1, "stayed": 7})
    );
    assert_eq!(league_closed_data(&board(json!({})), &closed), None);
    let other = crate::EventEnvelope::period_started(
        &crate::TenantId::new("default").unwrap(),
        &league.id,
        "2026-11-27".parse().unwrap(),
        1,
    );
    assert_eq!(league_closed_data(&league, &other), None);
}

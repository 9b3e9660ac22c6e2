#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::board::score::{MAX_DECIMAL_MINOR, MAX_SAFE_INTEGER};
use serde_json::{Value, json};

fn parse(v: Value) -> Result<Board> {
    serde_json::from_value::<BoardConfigInput>(v)
        .unwrap()
        .validate()
}

fn config_err(v: Value) -> String {
    match parse(v).unwrap_err() {
        LeaderboardError::InvalidConfig(m) => m,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn defaults() {
    let b = parse(json!({"id": "race"})).unwrap();
    assert_eq!(b.sort, SortOrder::Desc);
    assert_eq!(b.operator, Operator::Best);
    assert_eq!(b.score_type, ScoreType::Integer);
    assert_eq!((b.score_min, b.score_max), (0, MAX_SAFE_INTEGER));
    assert_eq!(b.subscore, None);
    assert_eq!(b.period, PeriodKind::AllTime);
    assert_eq!(b.retain_periods, 0);
    assert!(!b.public_read && !b.require_service_role);
    assert_eq!(b.write_mode, WriteMode::Sync);
    assert_eq!(
        b.cache,
        CacheTtl {
            ttl_secs: 5,
            stale_secs: 30
        }
    );
    assert_eq!(b.metadata_max_bytes, 1024);

    let weekly = parse(json!({"id": "w", "period": "weekly"})).unwrap();
    assert_eq!(weekly.retain_periods, 3);

    let dec = parse(json!({"id": "d", "score_type": "decimal", "scale": 3})).unwrap();
    assert_eq!(dec.score_type, ScoreType::Decimal { scale: 3 });
    assert_eq!(dec.score_max, MAX_DECIMAL_MINOR);

    let sub = parse(json!({"id": "s", "subscore": {"sort": "asc"}})).unwrap();
    assert_eq!(
        sub.subscore,
        Some(SubscoreConfig {
            sort: SortOrder::Asc,
            min: 0,
            max: DEFAULT_SUBSCORE_MAX
        })
    );
    assert_eq!(
        sub.score_max,
        (1 << 33) - 1,
        "score range shrinks to fit the subscore"
    );
}

#[test]
fn enum_spellings() {
    let b = parse(json!({
        "id": "x", "sort": "asc", "operator": "incr", "period": "all_time",
        "write_mode": "async", "public_read": true, "require_service_role": true,
        "cache": {"ttl_secs": 0, "stale_secs": 86400}, "metadata_max_bytes": 4096
    }))
    .unwrap();
    assert_eq!(
        (b.sort, b.operator, b.write_mode),
        (SortOrder::Asc, Operator::Incr, WriteMode::Async)
    );
    for (field, value) in [
        ("sort", "up"),
        ("operator", "max"),
        ("period", "yearly"),
        ("write_mode", "SYNC"),
    ] {
        let mut v = json!({"id": "x"});
        v[field] = json!(value);
        assert!(
            serde_json::from_value::<BoardConfigInput>(v).is_err(),
            "{field}={value}"
        );
    }
    assert!(serde_json::from_value::<BoardConfigInput>(json!({"id": "x", "colour": 1})).is_err());
    assert!(
        serde_json::from_value::<BoardConfigInput>(json!({"id": "x", "cache": {"ttl": 1}}))
            .is_err()
    );
    assert!(serde_json::from_value::<BoardConfigInput>(json!({"id": "Bad Id"})).is_err());
}

#[test]
fn rejections_are_precise() {
    assert_eq!(
        config_err(json!({"id": "x", "score_type": "decimal"})),
        "score_type \"decimal\" requires a scale (0..=6)"
    );
    assert_eq!(
        config_err(json!({"id": "x", "scale": 2})),
        "scale is only allowed with score_type \"decimal\""
    );
    assert_eq!(
        config_err(json!({"id": "x", "score_type": "decimal", "scale": 7})),
        "scale 7 is too large (0..=6)"
    );
    assert_eq!(
        config_err(json!({"id": "x", "score_min": 5, "score_max": 4})),
        "score_min (5) is greater than score_max (4)"
    );
    assert_eq!(
        config_err(json!({"id": "x", "score_max": MAX_SAFE_INTEGER + 1})),
        "score_max 9007199254740992 is outside the representable range -9007199254740991..=9007199254740991"
    );
    assert_eq!(
        config_err(json!({"id": "x", "retain_periods": 2})),
        "retain_periods (2) must be 0 or absent for period \"all_time\""
    );
    assert!(parse(json!({"id": "x", "retain_periods": 0})).is_ok());
    assert_eq!(
        config_err(json!({"id": "x", "period": "daily", "retain_periods": 367})),
        "retain_periods 367 is too large (0..=366)"
    );
    assert!(parse(json!({"id": "x", "period": "daily", "retain_periods": 366})).is_ok());
    assert_eq!(
        config_err(json!({"id": "x", "cache": {"ttl_secs": 3601}})),
        "cache.ttl_secs 3601 is too large (0..=3600)"
    );
    assert_eq!(
        config_err(json!({"id": "x", "cache": {"stale_secs": 86401}})),
        "cache.stale_secs 86401 is too large (0..=86400)"
    );
    assert_eq!(
        config_err(json!({"id": "x", "metadata_max_bytes": 4097})),
        "metadata_max_bytes 4097 is too large (0..=4096)"
    );
    assert_eq!(
        config_err(json!({"id": "x", "subscore": {"min": 3, "max": 2}})),
        "subscore.min (3) is greater than subscore.max (2)"
    );
}

#[test]
fn capacity_is_checked() {
    let err =
        parse(json!({"id": "x", "score_min": -(MAX_SAFE_INTEGER), "score_max": MAX_SAFE_INTEGER}))
            .unwrap_err();
    assert_eq!(
        err,
        LeaderboardError::EncodingCapacity {
            needed: (1 << 54) - 1,
            available: 1 << 53
        }
    );
    assert!(
        err.to_string()
            .contains("needs 18014398509481983 distinct sort values"),
        "{err}"
    );
    let err = parse(json!({"id": "x", "score_max": 1i64 << 40, "subscore": {"max": 1i64 << 13}}))
        .unwrap_err();
    assert_eq!(
        err,
        LeaderboardError::EncodingCapacity {
            needed: ((1u128 << 40) + 1) * ((1 << 13) + 1),
            available: 1 << 53
        }
    );
}

#[test]
fn board_serde_is_canonical_input() {
    let b = parse(
        json!({"id": "x", "score_type": "decimal", "scale": 2, "period": "monthly",
        "subscore": {"max": 9}}),
    )
    .unwrap();
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["score_type"], "decimal");
    assert_eq!(v["scale"], 2);
    assert_eq!(v["retain_periods"], 3);
    assert_eq!(v["subscore"], json!({"sort": "desc", "min": 0, "max": 9}));
    assert_eq!(v["cache"], json!({"ttl_secs": 5, "stale_secs": 30}));
    assert_eq!(serde_json::from_value::<Board>(v.clone()).unwrap(), b);
    // Built on load: what the encoding cannot hold does not read.
    let mut broken = v;
    broken["score_min"] = json!(100);
    broken["score_max"] = json!(1);
    assert!(serde_json::from_value::<Board>(broken).is_err());
    assert_eq!(b.format_score(1234), "12.34");
}

#[test]
fn caching_is_off_only_with_zero_ttl_and_zero_stale_window() {
    assert!(parse(json!({"id": "a"})).unwrap().cache.enabled());
    let off = json!({"id": "a", "cache": {"ttl_secs": 0, "stale_secs": 0}});
    assert!(!parse(off).unwrap().cache.enabled());
    let stale_only = json!({"id": "a", "cache": {"ttl_secs": 0, "stale_secs": 5}});
    assert!(parse(stale_only).unwrap().cache.enabled());
}

#[test]
fn a_tournament_board_keeps_its_window_and_admits_submissions_inside_it_only() {
    let b = parse(json!({"id": "cup", "tournament": {
        "title": "Cup", "category": "weekly",
        "start": "2025-11-24T16:00:00Z", "duration_secs": 3600,
    }}))
    .unwrap();
    let start = 1_764_000_000_000;
    assert_eq!(b.admits_submission(start), Ok(()));
    assert_eq!(
        b.admits_submission(start - 1),
        Err(LeaderboardError::TournamentClosed {
            upcoming: true,
            start_ms: start,
            end_ms: start + 3_600_000
        })
    );
    assert!(matches!(
        b.admits_submission(start + 3_600_000),
        Err(LeaderboardError::TournamentClosed {
            upcoming: false,
            ..
        })
    ));
    // Stored and shown with its end, never a duration; read back the same.
    let stored = serde_json::to_value(&b).unwrap();
    assert_eq!(stored["tournament"]["end"], "2025-11-24T17:00:00.000Z");
    assert!(stored["tournament"].get("duration_secs").is_none());
    assert_eq!(serde_json::from_value::<Board>(stored).unwrap(), b);
    // A board without one takes submissions at any time, and shows no tournament.
    let plain = parse(json!({"id": "plain"})).unwrap();
    assert_eq!(plain.admits_submission(i64::MIN), Ok(()));
    assert!(
        serde_json::to_value(&plain)
            .unwrap()
            .get("tournament")
            .is_none()
    );
}

#[test]
fn a_tournament_takes_joining_and_attempts_on_a_sync_board_only() {
    let t = json!({"title": "Cup", "start": "2025-11-24T16:00:00Z", "duration_secs": 60,
        "join_required": true, "max_size": 10});
    let b = parse(json!({"id": "cup", "tournament": t})).unwrap();
    let kept = b.tournament.as_ref().unwrap();
    assert!(kept.join_required);
    assert_eq!(kept.max_size, Some(10));
    let mut attempts = t.clone();
    attempts["max_attempts"] = json!(3);
    let b = parse(json!({"id": "cup", "tournament": attempts})).unwrap();
    assert_eq!(b.tournament.as_ref().unwrap().max_attempts, Some(3));
    assert_eq!(b.counting_attempts().unwrap().max_attempts, Some(3));
    let m = parse(json!({"id": "cup", "tournament": t}))
        .unwrap()
        .counting_attempts()
        .unwrap_err()
        .to_string();
    assert!(m.contains("counts no attempts"), "{m}");
    let m = config_err(json!({"id": "cup", "write_mode": "async", "tournament": attempts}));
    assert!(
        m.contains("tournament.max_attempts") && m.contains("write_mode sync"),
        "{m}"
    );
    let m = config_err(
        json!({"id": "cup", "tournament": {"title": "Cup", "start": "x", "duration_secs": 60}}),
    );
    assert!(m.contains("tournament.start"), "{m}");
}

#[test]
fn a_cohort_size_is_kept_and_checked() {
    let b = parse(json!({"id": "pods", "cohort_size": 50})).unwrap();
    assert_eq!(b.cohort_size, Some(50));
    let stored = serde_json::to_value(&b).unwrap();
    assert_eq!(stored["cohort_size"], 50);
    assert_eq!(serde_json::from_value::<Board>(stored).unwrap(), b);
    let plain = parse(json!({"id": "plain"})).unwrap();
    assert_eq!(plain.cohort_size, None);
    assert!(
        serde_json::to_value(&plain)
            .unwrap()
            .get("cohort_size")
            .is_none()
    );
    assert!(config_err(json!({"id": "x", "cohort_size": 1})).contains("cohort_size"));
    // Rewards pay within each cohort on a periodic board; not on a tournament yet.
    let t = json!({"title": "Cup", "start": "2025-11-24T16:00:00Z", "duration_secs": 3600});
    let m = config_err(json!({"id": "x", "cohort_size": 5, "tournament": t,
        "rewards": [{"from": 1, "reward": 1}]}));
    assert!(m.contains("tournament with cohorts"), "{m}");
    assert!(
        parse(json!({"id": "x", "cohort_size": 5, "period": "weekly",
            "rewards": [{"from": 1, "reward": 1}]}))
        .is_ok()
    );
    // A read names a cohort of a board with cohorts only; such a board is not replayed.
    assert_eq!(b.cohort_asked(Some("3")).unwrap().unwrap().to_string(), "3");
    assert_eq!(b.cohort_asked(Some("")).unwrap(), None);
    assert!(matches!(
        b.cohort_asked(Some("x.0")),
        Err(LeaderboardError::InvalidBody(_))
    ));
    assert!(matches!(
        plain.cohort_asked(Some("3")),
        Err(LeaderboardError::InvalidBody(m)) if m.contains("no cohorts")
    ));
    assert_eq!(plain.replayable(), Ok(()));
    assert!(
        matches!(b.replayable(), Err(LeaderboardError::Conflict(Conflict::ReplayOfCohorts { board })) if board == "pods")
    );
}

#[test]
fn a_reward_table_is_kept_in_rank_order_where_a_run_closes_and_refused_elsewhere() {
    let t = json!({"title": "Cup", "start": "2025-11-24T16:00:00Z", "duration_secs": 3600});
    let b = parse(json!({"id": "cup", "tournament": t, "rewards": [
        {"from": 2, "to": 3, "reward": {"gems": 10}},
        {"from": 1, "reward": "trophy"}
    ]}))
    .unwrap();
    let table = b.rewards.as_ref().unwrap();
    assert_eq!(table.for_rank(1), Some(&json!("trophy")));
    assert_eq!(table.for_rank(3), Some(&json!({"gems": 10})));
    assert_eq!(table.for_rank(4), None);
    // Stored in rank order, `to` only where it differs, and read back the same.
    let stored = serde_json::to_value(&b).unwrap();
    assert_eq!(
        stored["rewards"],
        json!([{"from": 1, "reward": "trophy"}, {"from": 2, "to": 3, "reward": {"gems": 10}}])
    );
    assert_eq!(serde_json::from_value::<Board>(stored).unwrap(), b);
    // None by default, and not shown.
    let plain = parse(json!({"id": "cup", "tournament": t})).unwrap();
    assert!(plain.rewards.is_none());
    assert!(
        serde_json::to_value(&plain)
            .unwrap()
            .get("rewards")
            .is_none()
    );

    // Served where a run closes: a tournament of one run, each period of a periodic board.
    let daily = parse(json!({"id": "d", "period": "daily", "rewards": [{"from": 1, "reward": 1}]}))
        .unwrap();
    assert!(daily.closes_periods());
    assert!(!b.closes_periods());
    assert!(matches!(
        daily.reward_tables(),
        Some(crate::competition::rewards::Tables::One(_))
    ));
    assert!(
        !parse(json!({"id": "d", "period": "daily"}))
            .unwrap()
            .closes_periods()
    );
    let one = json!([{"from": 1, "reward": 1}]);
    let rule = json!({"velocity": {"max": 5, "window_secs": 60, "action": "hold"}});
    // A tournament of many runs pays each run as a period closes.
    let runs = parse(
        json!({"id": "r", "period": "daily", "retain_periods": 2, "tournament": t,
        "rewards": one}),
    )
    .unwrap();
    assert!(runs.closes_periods() && runs.pays_rewards());
    // A bad table, or a board where no run closes, names its fault.
    for (v, needle) in [
        (json!({"id": "x", "rewards": one}), "never closes"),
        (
            json!({"id": "x", "period": "daily", "retain_periods": 1, "tournament": t,
                "rewards": one}),
            "2 or more",
        ),
        (
            json!({"id": "x", "period": "weekly", "tournament": t, "integrity": rule,
                "rewards": one}),
            "hold",
        ),
        (
            json!({"id": "x", "period": "daily", "retain_periods": 0, "rewards": one}),
            "retain_periods",
        ),
        (
            json!({"id": "x", "period": "daily", "integrity": rule, "rewards": one}),
            "hold",
        ),
        (
            json!({"id": "x", "period": "daily", "retain_periods": 1, "rewards": one}),
            "2 or more",
        ),
        (
            json!({"id": "x", "period": "daily", "write_mode": "async", "rewards": one}),
            "write_mode sync",
        ),
        (
            json!({"id": "x", "tournament": t,
                   "rewards": [{"from": 1, "to": 2, "reward": 1}, {"from": 2, "reward": 1}]}),
            "overlap",
        ),
        (
            json!({"id": "x", "tournament": t, "rewards": []}),
            "1 to 100",
        ),
    ] {
        assert!(
            matches!(parse(v.clone()), Err(LeaderboardError::InvalidConfig(m)) if m.contains(needle)),
            "{v}"
        );
    }
}

#[test]
fn a_league_is_kept_and_needs_a_reset_cohorts_and_sync_writes() {
    let league = json!({"tiers": ["bronze", "silver", "gold"], "promote": 2, "demote": "20%"});
    let b = parse(
        json!({"id": "weekly", "period": "weekly", "cohort_size": 30,
        "league": league}),
    )
    .unwrap();
    let l = b.league.as_ref().unwrap();
    assert_eq!(l.tiers, ["bronze", "silver", "gold"]);
    let stored = serde_json::to_value(&b).unwrap();
    assert_eq!(stored["league"]["demote"], "20%");
    assert_eq!(serde_json::from_value::<Board>(stored).unwrap(), b);
    assert!(
        serde_json::to_value(parse(json!({"id": "plain"})).unwrap())
            .unwrap()
            .get("league")
            .is_none()
    );
    let m = config_err(json!({"id": "x", "cohort_size": 30, "league": league}));
    assert!(m.contains("period that resets"), "{m}");
    let m = config_err(json!({"id": "x", "period": "daily", "league": league}));
    assert!(m.contains("cohort_size"), "{m}");
    let m = config_err(json!({"id": "x", "period": "daily", "cohort_size": 30,
        "write_mode": "async", "league": league}));
    assert!(m.contains("write_mode sync"), "{m}");
    let t = json!({"title": "Cup", "start": "2025-11-24T16:00:00Z", "duration_secs": 3600});
    let m = config_err(json!({"id": "x", "period": "daily", "cohort_size": 30,
        "tournament": t, "league": league}));
    assert!(m.contains("tournament"), "{m}");
    let m = config_err(json!({"id": "x", "period": "daily", "cohort_size": 30,
        "league": {"tiers": ["solo"], "promote": 1, "demote": 1}}));
    assert!(m.contains("league.tiers"), "{m}");
    let m = config_err(json!({"id": "x", "period": "daily", "cohort_size": 30,
        "retain_periods": 0, "league": league}));
    assert!(m.contains("retain_periods"), "{m}");
    // Rewards per tier, in league.rewards; the board's own table is refused on a league.
    let m = config_err(json!({"id": "x", "period": "daily", "cohort_size": 30,
        "rewards": [{"from": 1, "reward": 1}], "league": league}));
    assert!(m.contains("league.rewards"), "{m}");
    let paid = json!({"tiers": ["bronze", "gold"], "promote": 1, "demote": 1,
        "rewards": {"gold": [{"from": 1, "reward": {"gems": 50}}]}});
    let b =
        parse(json!({"id": "x", "period": "daily", "cohort_size": 30, "league": paid})).unwrap();
    assert!(b.closes_periods());
    let tables = b.reward_tables().unwrap();
    assert_eq!(
        tables.for_band(Some("gold")).unwrap().for_rank(1),
        Some(&json!({"gems": 50}))
    );
    assert!(tables.for_band(Some("bronze")).is_none());
    assert!(tables.for_band(None).is_none());
    let stored = serde_json::to_value(&b).unwrap();
    assert_eq!(stored["league"]["rewards"], paid["rewards"]);
    assert_eq!(serde_json::from_value::<Board>(stored).unwrap(), b);
    let m = config_err(json!({"id": "x", "period": "daily", "cohort_size": 30,
        "retain_periods": 1, "league": paid}));
    assert!(m.contains("2 or more"), "{m}");
    assert!(
        parse(
            json!({"id": "x", "period": "weekly", "cohort_size": 30, "retain_periods": 1,
            "league": paid})
        )
        .is_ok()
    );
    for (rewards, needle) in [
        (json!({"silver": [{"from": 1, "reward": 1}]}), "'silver'"),
        (json!({}), "no tier"),
        (json!({"gold": []}), "tier 'gold'"),
    ] {
        let m = config_err(json!({"id": "x", "period": "daily", "cohort_size": 30,
            "league": {"tiers": ["bronze", "gold"], "promote": 1, "demote": 1,
                       "rewards": rewards}}));
        assert!(m.contains(needle), "{m}");
    }
    let rule = |action: &str| json!({"velocity": {"max": 5, "window_secs": 60, "action": action}});
    // Each rule that holds is refused, whichever it is.
    for holding in [
        rule("hold"),
        json!({"improvement": {"max_abs": 100, "window_secs": 60, "action": "hold"}}),
        json!({"outlier": {"threshold": 3, "min_players": 10, "action": "hold"}}),
        json!({"burst": {"players": 5, "window_secs": 60, "action": "hold"}}),
    ] {
        let m = config_err(json!({"id": "x", "period": "daily", "cohort_size": 30,
            "integrity": holding, "league": league}));
        assert!(m.contains("hold"), "{m}");
    }
    assert!(
        parse(json!({"id": "x", "period": "daily", "cohort_size": 30,
            "integrity": rule("flag"), "league": league}))
        .is_ok()
    );
}

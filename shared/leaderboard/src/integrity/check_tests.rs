#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::board::rules::IntegrityInput;
use crate::board::score::ScoreType;
use crate::error::LeaderboardError;

fn rules(value: serde_json::Value) -> Integrity {
    serde_json::from_value::<IntegrityInput>(value)
        .unwrap()
        .validate(ScoreType::Integer)
        .unwrap()
}

fn invalid(value: serde_json::Value) -> String {
    match serde_json::from_value::<IntegrityInput>(value)
        .unwrap()
        .validate(ScoreType::Integer)
    {
        Err(LeaderboardError::InvalidConfig(m)) => m,
        other => panic!("expected invalid-config, got {other:?}"),
    }
}

fn facts(player: &PlayerState, before: Option<i64>, after: i64) -> Facts<'_> {
    Facts {
        sort: SortOrder::Desc,
        player,
        before,
        after,
        players: 0,
        stats: None,
        same_score_players: 0,
    }
}

#[test]
fn the_issue_example_validates_and_reads_back_the_same() {
    let input = json!({
        "velocity": {"max": 10, "window_secs": 60, "action": "reject"},
        "improvement": {"max_abs": 1000, "max_pct": 50.0, "window_secs": 3600, "action": "hold"},
        "outlier": {"threshold": 3.5, "min_players": 100, "action": "hold"},
        "burst": {"players": 20, "window_secs": 10, "action": "flag"}
    });
    let r = rules(input.clone());
    assert_eq!(r.velocity.unwrap().window_ms, 60_000);
    assert_eq!(r.improvement.unwrap().max_abs, Some(1000));
    let back = serde_json::to_value(r.to_input(ScoreType::Integer)).unwrap();
    assert_eq!(back, input);
    assert!(!r.is_empty());
    assert!(rules(json!({})).is_empty());
}

#[test]
fn defaults_fill_the_outlier_rule() {
    let o = rules(json!({"outlier": {"action": "flag"}}))
        .outlier
        .unwrap();
    assert_eq!(o.threshold, 3.5);
    assert_eq!(o.min_players, 100);
}

#[test]
fn bad_rules_are_refused_naming_the_field() {
    for (input, names) in [
        (
            json!({"velocity": {"max": 0, "window_secs": 60, "action": "flag"}}),
            "velocity.max",
        ),
        (
            json!({"velocity": {"max": 5, "window_secs": 0, "action": "flag"}}),
            "velocity.window_secs",
        ),
        (
            json!({"improvement": {"window_secs": 60, "action": "flag"}}),
            "max_abs, max_pct",
        ),
        (
            json!({"improvement": {"max_abs": -3, "window_secs": 60, "action": "flag"}}),
            "max_abs",
        ),
        (
            json!({"improvement": {"max_pct": 0.0, "window_secs": 60, "action": "flag"}}),
            "max_pct",
        ),
        (
            json!({"outlier": {"threshold": 0.5, "action": "flag"}}),
            "outlier.threshold",
        ),
        (
            json!({"outlier": {"min_players": 3, "action": "flag"}}),
            "outlier.min_players",
        ),
        (
            json!({"burst": {"players": 1, "window_secs": 10, "action": "flag"}}),
            "burst.players",
        ),
        (
            json!({"burst": {"players": 5, "window_secs": 40_000_000, "action": "flag"}}),
            "burst.window_secs",
        ),
    ] {
        let m = invalid(input.clone());
        assert!(m.contains(names), "{input}: {m}");
    }
    assert!(
        serde_json::from_value::<IntegrityInput>(json!({"speed": {}})).is_err(),
        "unknown rules are refused"
    );
    assert!(
        serde_json::from_value::<IntegrityInput>(
            json!({"burst": {"players": 5, "window_secs": 10, "action": "ban"}})
        )
        .is_err(),
        "unknown actions are refused"
    );
}

#[test]
fn max_abs_is_in_the_boards_units() {
    let r = serde_json::from_value::<IntegrityInput>(
        json!({"improvement": {"max_abs": "2.5", "window_secs": 60, "action": "flag"}}),
    )
    .unwrap()
    .validate(ScoreType::Decimal { scale: 2 })
    .unwrap();
    assert_eq!(r.improvement.unwrap().max_abs, Some(250));
    let back = r.to_input(ScoreType::Decimal { scale: 2 });
    assert_eq!(
        back.improvement.unwrap().max_abs.unwrap(),
        ScoreType::Decimal { scale: 2 }.to_json(250)
    );
}

#[test]
fn velocity_allows_max_per_window_then_triggers_until_the_window_moves_on() {
    let r = rules(json!({"velocity": {"max": 3, "window_secs": 60, "action": "reject"}}));
    let mut state = PlayerState::default();
    for t in [0, 1_000, 2_000] {
        assert!(check(&r, &facts(&state, None, 1), t).triggers.is_empty());
        state = admit(&r, &state, None, 1, t);
    }
    let v = check(&r, &facts(&state, None, 1), 3_000);
    assert_eq!(v.action(), Some(Action::Reject));
    assert_eq!(v.decisive().unwrap().rule, Rule::Velocity);
    assert_eq!(v.triggers[0].numbers["submissions"], 4);
    // 60 s after the first, one place is free again.
    assert!(
        check(&r, &facts(&state, None, 1), 60_000)
            .triggers
            .is_empty()
    );
    assert_eq!(state.recent_ms.len(), 3);
}

#[test]
fn improvement_is_measured_from_the_windows_baseline_in_the_better_direction() {
    let r = rules(json!({"improvement": {"max_abs": 100, "window_secs": 60, "action": "hold"}}));
    // A new player: the first standing is the window's baseline.
    let s0 = PlayerState::default();
    assert!(check(&r, &facts(&s0, None, 5_000), 0).triggers.is_empty());
    let s1 = admit(&r, &s0, None, 5_000, 0);
    assert_eq!(s1.baseline, Some(5_000));
    // +100 within the window is fine, +101 is not.
    assert!(
        check(&r, &facts(&s1, Some(5_000), 5_100), 1_000)
            .triggers
            .is_empty()
    );
    let s2 = admit(&r, &s1, Some(5_000), 5_100, 1_000);
    let v = check(&r, &facts(&s2, Some(5_100), 5_101), 2_000);
    assert_eq!(v.action(), Some(Action::Hold));
    assert_eq!(v.triggers[0].numbers["improvement"], 101);
    // A new window starts from the standing of its first submission.
    assert!(
        check(&r, &facts(&s2, Some(5_100), 5_200), 61_000)
            .triggers
            .is_empty()
    );
    // Lower is better on an ascending board: a time dropping by 101 is the jump.
    let asc = Facts {
        sort: SortOrder::Asc,
        ..facts(&s1, Some(5_000), 4_899)
    };
    assert_eq!(check(&r, &asc, 1_000).action(), Some(Action::Hold));
    // Getting worse is never an improvement.
    assert!(
        check(&r, &facts(&s1, Some(5_000), 1), 1_000)
            .triggers
            .is_empty()
    );
}

#[test]
fn with_both_limits_the_larger_allowance_holds() {
    let r = rules(
        json!({"improvement": {"max_abs": 100, "max_pct": 10.0, "window_secs": 60, "action": "flag"}}),
    );
    let strong = PlayerState {
        window_start_ms: Some(0),
        baseline: Some(10_000),
        ..PlayerState::default()
    };
    // 10 % of 10,000 = 1,000 > 100.
    assert!(
        check(&r, &facts(&strong, Some(10_000), 11_000), 1)
            .triggers
            .is_empty()
    );
    assert!(
        !check(&r, &facts(&strong, Some(10_000), 11_001), 1)
            .triggers
            .is_empty()
    );
    let weak = PlayerState {
        baseline: Some(50),
        ..strong
    };
    // 10 % of 50 = 5 < 100.
    assert!(
        check(&r, &facts(&weak, Some(50), 150), 1)
            .triggers
            .is_empty()
    );
    assert!(
        !check(&r, &facts(&weak, Some(50), 151), 1)
            .triggers
            .is_empty()
    );
}

#[test]
fn robust_stats_match_hand_computed_values() {
    let s = RobustStats::of(&[1, 2, 3, 4, 100]).unwrap();
    assert_eq!(s.median, 3.0);
    assert_eq!(s.mad, 1.0);
    assert!((s.z(100, SortOrder::Desc).unwrap() - 0.6745 * 97.0).abs() < 1e-9);
    assert!((s.z(1, SortOrder::Asc).unwrap() - 0.6745 * 2.0).abs() < 1e-9);
    let even = RobustStats::of(&[1, 2, 3, 4]).unwrap();
    assert_eq!(even.median, 2.5);
    assert_eq!(even.mad, 1.0);
    assert!(RobustStats::of(&[]).is_none());
    // More than half one value: the MAD is 0 and the mean absolute deviation stands in.
    let flat = RobustStats::of(&[5, 5, 5, 5, 9]).unwrap();
    assert_eq!(flat.mad, 0.0);
    assert!((flat.mean_ad - 0.8).abs() < 1e-9);
    assert!((flat.z(9, SortOrder::Desc).unwrap() - 4.0 / (1.253_314 * 0.8)).abs() < 1e-9);
    assert!(
        RobustStats::of(&[7, 7, 7])
            .unwrap()
            .z(8, SortOrder::Desc)
            .is_none()
    );
}

#[test]
fn outliers_are_judged_only_on_the_better_side_and_on_a_big_enough_board() {
    let r = rules(json!({"outlier": {"min_players": 50, "action": "hold"}}));
    let sample: Vec<i64> = (0..101).map(|i| 1_000 + i * 10).collect();
    let stats = RobustStats::of(&sample);
    let state = PlayerState::default();
    let at = |after: i64, players: u64| Facts {
        players,
        stats,
        ..facts(&state, None, after)
    };
    let v = check(&r, &at(100_000, 500), 0);
    assert_eq!(v.action(), Some(Action::Hold));
    assert_eq!(v.triggers[0].rule, Rule::Outlier);
    assert!(
        check(&r, &at(100_000, 49), 0).triggers.is_empty(),
        "too few players"
    );
    assert!(
        check(&r, &at(-100_000, 500), 0).triggers.is_empty(),
        "a poor score"
    );
    assert!(
        check(&r, &at(1_600, 500), 0).triggers.is_empty(),
        "within the crowd"
    );
}

#[test]
fn a_burst_triggers_at_the_player_that_completes_it_and_the_strongest_action_wins() {
    let r = rules(json!({
        "burst": {"players": 3, "window_secs": 10, "action": "flag"},
        "velocity": {"max": 1, "window_secs": 60, "action": "reject"}
    }));
    let fresh = PlayerState::default();
    let with = |others: u64, state: &PlayerState| {
        check(
            &r,
            &Facts {
                same_score_players: others,
                ..facts(state, None, 42)
            },
            0,
        )
    };
    assert!(with(1, &fresh).triggers.is_empty());
    let v = with(2, &fresh);
    assert_eq!(v.action(), Some(Action::Flag));
    assert_eq!(v.triggers[0].numbers["players"], 3);
    let busy = admit(&r, &fresh, None, 42, -5);
    let both = with(2, &busy);
    assert_eq!(both.triggers.len(), 2);
    assert_eq!(both.action(), Some(Action::Reject));
    assert_eq!(both.decisive().unwrap().rule, Rule::Velocity);
}

proptest! {
    /// Whatever the arrival times, admitting only what the velocity rule lets through never
    /// puts more than `max` accepted submissions in any window.
    #[test]
    fn velocity_never_admits_more_than_max_per_window(
        max in 1u32..6,
        window_secs in 1u32..30,
        gaps in proptest::collection::vec(0i64..4_000, 1..80),
    ) {
        let r = rules(json!({"velocity": {"max": max, "window_secs": window_secs, "action": "reject"}}));
        let mut state = PlayerState::default();
        let mut admitted = Vec::new();
        let mut now = 0;
        for gap in gaps {
            now += gap;
            if check(&r, &facts(&state, None, 1), now).triggers.is_empty() {
                state = admit(&r, &state, None, 1, now);
                admitted.push(now);
            }
        }
        let window = i64::from(window_secs) * 1_000;
        for (i, &t) in admitted.iter().enumerate() {
            let within = admitted[i..].iter().filter(|&&u| u < t + window).count();
            prop_assert!(within <= max as usize, "{within} admitted within a window from {t}");
        }
    }

    /// Admitting only what the improvement rule lets through never moves a standing further
    /// than the allowance above its window's baseline.
    #[test]
    fn improvement_never_admits_a_jump_past_the_allowance(
        max_abs in 1i64..500,
        steps in proptest::collection::vec((0i64..2_000, -300i64..900), 1..60),
    ) {
        let r = rules(json!({"improvement": {"max_abs": max_abs, "window_secs": 5, "action": "hold"}}));
        let mut state = PlayerState::default();
        let mut best: Option<i64> = None;
        let mut now = 0;
        for (gap, delta) in steps {
            now += gap;
            let after = best.map_or(1_000, |b| (b + delta).max(b));
            if check(&r, &facts(&state, best, after), now).triggers.is_empty() {
                state = admit(&r, &state, best, after, now);
                let base = state.baseline.unwrap();
                prop_assert!(after - base <= max_abs, "{after} from {base}");
                best = Some(after);
            }
        }
    }

    /// The robust z-score does not change when every score moves by the same amount, and the
    /// median itself scores 0.
    #[test]
    fn robust_z_is_shift_invariant(
        sample in proptest::collection::vec(-1_000_000i64..1_000_000, 1..200),
        x in -2_000_000i64..2_000_000,
        shift in -1_000_000i64..1_000_000,
    ) {
        let a = RobustStats::of(&sample).unwrap();
        let moved: Vec<i64> = sample.iter().map(|v| v + shift).collect();
        let b = RobustStats::of(&moved).unwrap();
        match (a.z(x, SortOrder::Desc), b.z(x + shift, SortOrder::Desc)) {
            (Some(za), Some(zb)) => prop_assert!((za - zb).abs() < 1e-6 * za.abs().max(1.0)),
            (None, None) => {}
            other => prop_assert!(false, "{other:?}"),
        }
        if a.median.fract() == 0.0
            && let Some(z) = a.z(a.median as i64, SortOrder::Desc)
        {
            prop_assert!(z.abs() < 1e-12);
        }
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;

const START: i64 = 1_764_000_000_000; // 2025-11-24T16:00:00Z
const HOUR: i64 = 3_600_000;

fn input() -> TournamentInput {
    TournamentInput {
        title: "Weekend cup".into(),
        category: Some("weekend".into()),
        start: "2025-11-24T16:00:00Z".into(),
        end: None,
        duration_secs: Some(3600),
        join_required: true,
        max_size: Some(2),
        max_attempts: Some(3),
    }
}

fn invalid(i: &TournamentInput) -> String {
    match i.validate() {
        Err(LeaderboardError::InvalidConfig(m)) => m,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn a_duration_or_an_end_resolves_to_the_same_window_and_the_canonical_form_has_an_end() {
    let by_duration = input().validate().unwrap();
    let by_end = TournamentInput {
        end: Some("2025-11-24T18:00:00+01:00".into()),
        duration_secs: None,
        ..input()
    }
    .validate()
    .unwrap();
    assert_eq!(by_duration, by_end);
    assert_eq!(
        by_duration.window,
        Window::new(START, START + HOUR).unwrap()
    );
    let canonical = by_duration.to_input();
    assert_eq!(canonical.start, "2025-11-24T16:00:00.000Z");
    assert_eq!(canonical.end.as_deref(), Some("2025-11-24T17:00:00.000Z"));
    assert_eq!(canonical.duration_secs, None);
    assert_eq!(canonical.validate().unwrap(), by_duration);
}

#[test]
fn a_posted_tournament_with_unknown_fields_or_a_bad_value_is_refused_with_its_reason() {
    let unknown: std::result::Result<TournamentInput, _> =
        serde_json::from_str(r#"{"title":"t","start":"2025-11-24T16:00:00Z","ends":"x"}"#);
    assert!(unknown.is_err());
    let cases = [
        (
            TournamentInput {
                title: " ".into(),
                ..input()
            },
            "title",
        ),
        (
            TournamentInput {
                title: "x".repeat(121),
                ..input()
            },
            "title",
        ),
        (
            TournamentInput {
                title: "a\u{7}".into(),
                ..input()
            },
            "control",
        ),
        (
            TournamentInput {
                category: Some("Cup".into()),
                ..input()
            },
            "category",
        ),
        (
            TournamentInput {
                start: "tomorrow".into(),
                ..input()
            },
            "start",
        ),
        (
            TournamentInput {
                duration_secs: Some(0),
                ..input()
            },
            "duration_secs",
        ),
        (
            TournamentInput {
                duration_secs: Some(u64::MAX),
                ..input()
            },
            "duration_secs",
        ),
        (
            TournamentInput {
                end: Some("2025-11-24T16:00:00Z".into()),
                duration_secs: None,
                ..input()
            },
            "after",
        ),
        (
            TournamentInput {
                end: Some("2025-11-24T18:00:00Z".into()),
                ..input()
            },
            "exactly one",
        ),
        (
            TournamentInput {
                duration_secs: None,
                ..input()
            },
            "exactly one",
        ),
        (
            TournamentInput {
                max_size: Some(0),
                ..input()
            },
            "max_size",
        ),
        (
            TournamentInput {
                max_size: Some(MAX_SIZE + 1),
                ..input()
            },
            "max_size",
        ),
        (
            TournamentInput {
                max_attempts: Some(0),
                ..input()
            },
            "max_attempts",
        ),
        (
            TournamentInput {
                max_attempts: Some(MAX_ATTEMPTS + 1),
                ..input()
            },
            "max_attempts",
        ),
        (
            TournamentInput {
                join_required: false,
                ..input()
            },
            "needs join_required",
        ),
        (
            TournamentInput {
                duration_secs: Some(300_000_000_000),
                ..input()
            },
            "9999",
        ),
        (
            TournamentInput {
                end: Some("+10000-01-01T00:00:00Z".into()),
                duration_secs: None,
                ..input()
            },
            "tournament.end",
        ),
    ];
    for (case, says) in cases {
        let m = invalid(&case);
        assert!(m.contains(says), "{case:?}: {m}");
    }
}

#[test]
fn a_window_is_upcoming_then_open_from_its_start_then_ended_at_its_end() {
    let w = Window::new(START, START + HOUR).unwrap();
    assert_eq!(w.phase(START - 1), Phase::Upcoming);
    assert_eq!(w.phase(START), Phase::Open);
    assert_eq!(w.phase(START + HOUR - 1), Phase::Open);
    assert_eq!(w.phase(START + HOUR), Phase::Ended);
    assert_eq!(
        w.admits(START - 1),
        Err(Refusal::Closed {
            phase: Phase::Upcoming,
            window: w
        })
    );
    assert_eq!(w.admits(START), Ok(()));
    assert_eq!(
        w.admits(START + HOUR),
        Err(Refusal::Closed {
            phase: Phase::Ended,
            window: w
        })
    );
    assert!(Window::new(START, START).is_err());
}

#[test]
fn only_an_open_tournament_ends_early_and_it_ends_at_once() {
    let w = Window::new(START, START + HOUR).unwrap();
    let ended = w.end_early(START + 10).unwrap();
    assert_eq!(
        ended,
        Window {
            start_ms: START,
            end_ms: START + 10
        }
    );
    assert_eq!(ended.phase(START + 10), Phase::Ended);
    // At its very start it still ends after it starts.
    assert_eq!(w.end_early(START).unwrap().end_ms, START + 1);
    assert!(matches!(
        w.end_early(START - 1),
        Err(Refusal::Closed {
            phase: Phase::Upcoming,
            ..
        })
    ));
    assert!(matches!(
        ended.end_early(START + 20),
        Err(Refusal::Closed {
            phase: Phase::Ended,
            ..
        })
    ));
}

#[test]
fn an_extension_ends_later_than_the_window_and_now_and_never_reopens_an_ended_one() {
    let w = Window::new(START, START + HOUR).unwrap();
    assert_eq!(
        w.extend(START + 2 * HOUR, START).unwrap().end_ms,
        START + 2 * HOUR
    );
    assert_eq!(
        w.extend(START + 2 * HOUR, START - HOUR).unwrap().start_ms,
        START
    );
    assert_eq!(
        w.extend(START + HOUR, START),
        Err(Refusal::NotLater { window: w })
    );
    assert_eq!(
        w.extend(crate::time::MAX_MS + 1, START),
        Err(Refusal::NotLater { window: w })
    );
    assert_eq!(
        w.extend(crate::time::MAX_MS, START).unwrap().end_ms,
        crate::time::MAX_MS
    );
    assert!(matches!(
        w.extend(START + 3 * HOUR, START + HOUR),
        Err(Refusal::Closed {
            phase: Phase::Ended,
            ..
        })
    ));
}

#[test]
fn a_join_required_tournament_takes_joined_players_inside_its_window_only() {
    let t = input().validate().unwrap();
    let w = t.window;
    assert_eq!(t.admits(w, true, START), Ok(()));
    assert_eq!(t.admits(w, false, START), Err(Refusal::NotJoined));
    assert!(matches!(
        t.admits(w, true, START - 1),
        Err(Refusal::Closed { .. })
    ));
    let open = TournamentInput {
        join_required: false,
        max_size: None,
        ..input()
    }
    .validate()
    .unwrap();
    assert_eq!(open.admits(w, false, START), Ok(()));
}

#[test]
fn joins_are_taken_until_max_size_before_and_during_the_window_and_again_is_no_new_join() {
    let t = input().validate().unwrap();
    let w = t.window;
    assert_eq!(
        t.join(w, JoinStep::Added { before: 0 }, START - HOUR),
        Ok(Joined::Now { players: 1 })
    );
    assert_eq!(
        t.join(w, JoinStep::Added { before: 1 }, START),
        Ok(Joined::Now { players: 2 })
    );
    assert_eq!(
        t.join(w, JoinStep::Full, START),
        Err(Refusal::Full { max_size: 2 })
    );
    assert_eq!(
        t.join(w, JoinStep::Already { players: 2 }, START),
        Ok(Joined::Already { players: 2 })
    );
    assert!(matches!(
        t.join(w, JoinStep::Already { players: 1 }, START + HOUR),
        Err(Refusal::Closed {
            phase: Phase::Ended,
            ..
        })
    ));
    let unlimited = TournamentInput {
        max_size: None,
        ..input()
    }
    .validate()
    .unwrap();
    assert_eq!(
        unlimited.join(w, JoinStep::Added { before: u64::MAX }, START),
        Ok(Joined::Now { players: u64::MAX })
    );
}

#[test]
fn attempts_count_down_to_max_plus_grants_and_unlimited_has_no_count() {
    assert_eq!(
        attempt(
            None,
            Attempts {
                used: 1_000_000,
                granted: 0
            }
        ),
        Ok(None)
    );
    assert_eq!(
        attempt(
            Some(3),
            Attempts {
                used: 0,
                granted: 0
            }
        ),
        Ok(Some(2))
    );
    assert_eq!(
        attempt(
            Some(3),
            Attempts {
                used: 2,
                granted: 0
            }
        ),
        Ok(Some(0))
    );
    assert_eq!(
        attempt(
            Some(3),
            Attempts {
                used: 3,
                granted: 0
            }
        ),
        Err(Refusal::AttemptsUsed { allowed: 3 })
    );
    assert_eq!(
        attempt(
            Some(3),
            Attempts {
                used: 3,
                granted: 2
            }
        ),
        Ok(Some(1))
    );
    assert_eq!(
        attempt(
            Some(3),
            Attempts {
                used: 5,
                granted: 2
            }
        ),
        Err(Refusal::AttemptsUsed { allowed: 5 })
    );
    assert_eq!(
        attempt(
            Some(u32::MAX),
            Attempts {
                used: u64::MAX,
                granted: u64::MAX
            }
        ),
        Err(Refusal::AttemptsUsed { allowed: u64::MAX })
    );
    // What is left: never below 0, none when unlimited.
    let used = |used, granted| Attempts { used, granted };
    assert_eq!(left(Some(3), used(1, 0)), Some(2));
    assert_eq!(left(Some(3), used(3, 2)), Some(2));
    assert_eq!(left(Some(3), used(7, 0)), Some(0));
    assert_eq!(left(None, used(7, 0)), None);
    assert!(grant(0).is_err());
    assert!(grant(u64::from(MAX_GRANT) + 1).is_err());
    assert_eq!(grant(5).unwrap(), 5);
}

#[test]
fn a_listing_state_is_one_of_three_words() {
    for p in [Phase::Upcoming, Phase::Open, Phase::Ended] {
        assert_eq!(Phase::parse(p.as_str()).unwrap(), p);
        assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
    }
    assert!(
        matches!(Phase::parse("live"), Err(LeaderboardError::InvalidBody(m)) if m.contains("live"))
    );
}

#[test]
fn every_refusal_says_what_happened() {
    let w = Window::new(START, START + HOUR).unwrap();
    let says = |r: Refusal| r.to_string();
    assert!(
        says(Refusal::Closed {
            phase: Phase::Upcoming,
            window: w
        })
        .contains("not started")
    );
    assert!(
        says(Refusal::Closed {
            phase: Phase::Ended,
            window: w
        })
        .contains("ended")
    );
    assert!(says(Refusal::NotJoined).contains("joined"));
    assert!(says(Refusal::Full { max_size: 7 }).contains('7'));
    assert!(says(Refusal::AttemptsUsed { allowed: 4 }).contains('4'));
    assert_eq!(
        says(Refusal::NotLater { window: w }),
        "a tournament is extended to a later end, after now and by 9999-12-31T23:59:59.999Z"
    );
    // As errors: the window's problem, a 403 for a player who has not joined, else a 409.
    assert_eq!(
        LeaderboardError::from(Refusal::Closed {
            phase: Phase::Upcoming,
            window: w
        }),
        LeaderboardError::TournamentClosed {
            upcoming: true,
            start_ms: START,
            end_ms: START + HOUR
        }
    );
    assert_eq!(
        LeaderboardError::from(Refusal::NotJoined).slug(),
        "tournament-not-joined"
    );
    assert_eq!(LeaderboardError::from(Refusal::NotJoined).status(), 403);
    assert_eq!(
        LeaderboardError::from(Refusal::Full { max_size: 7 }),
        LeaderboardError::TournamentFull { max_size: 7 }
    );
    assert_eq!(
        LeaderboardError::from(Refusal::Full { max_size: 7 }).status(),
        409
    );
    assert_eq!(
        LeaderboardError::from(Refusal::AttemptsUsed { allowed: 4 }),
        LeaderboardError::TournamentAttemptsUsed { allowed: 4 }
    );
    assert_eq!(
        LeaderboardError::from(Refusal::AttemptsUsed { allowed: 4 }).slug(),
        "tournament-attempts-used"
    );
    assert_eq!(
        LeaderboardError::from(Refusal::NotLater { window: w }).status(),
        409
    );
}

#[test]
fn announcements_fall_due_once_each_in_order_and_say_when_to_look_again() {
    let w = Window::new(START, START + HOUR).unwrap();
    let owed = |started, ended, now| w.owed(started, ended, now);
    let nothing_until = |at| Owed {
        started: false,
        ended: false,
        next_ms: Some(at),
    };
    assert_eq!(owed(false, false, START - 1), nothing_until(START));
    assert_eq!(
        owed(false, false, START),
        Owed {
            started: true,
            ended: false,
            next_ms: Some(START + HOUR)
        }
    );
    assert_eq!(owed(true, false, START + 1), nothing_until(START + HOUR));
    // Opened and closed while nobody looked: both, the start first.
    assert_eq!(
        owed(false, false, START + HOUR),
        Owed {
            started: true,
            ended: true,
            next_ms: None
        }
    );
    assert_eq!(
        owed(true, true, START + 2 * HOUR),
        Owed {
            started: false,
            ended: false,
            next_ms: None
        }
    );
    // When to look next: now while one is owed, else the next moment, else never.
    assert_eq!(w.next_due(false, false, START - 5), Some(START));
    assert_eq!(w.next_due(false, false, START + 5), Some(START + 5));
    assert_eq!(w.next_due(true, false, START + 5), Some(START + HOUR));
    assert_eq!(w.next_due(true, false, START + HOUR), Some(START + HOUR));
    assert_eq!(w.next_due(true, true, START + HOUR), None);
}

#[test]
fn a_listing_shows_a_tournament_in_its_phase_and_category_and_its_standing_is_of_its_last_run() {
    let t = TournamentInput {
        title: "Cup".into(),
        category: Some("weekly".into()),
        start: "2025-11-24T16:00:00Z".into(),
        end: None,
        duration_secs: Some(3600),
        join_required: false,
        max_size: None,
        max_attempts: None,
    }
    .validate()
    .unwrap();
    assert!(t.listed(Phase::Open, None, START));
    assert!(t.listed(Phase::Open, Some("weekly"), START));
    assert!(!t.listed(Phase::Open, Some("daily"), START));
    assert!(!t.listed(Phase::Upcoming, None, START));
    assert!(t.listed(Phase::Upcoming, None, START - 1));
    assert!(t.listed(Phase::Ended, Some("weekly"), START + HOUR));
    assert_eq!(t.standing_at(START + 5), START + 5);
    assert_eq!(t.standing_at(START + 5 * HOUR), START + HOUR - 1);
}

proptest! {
    /// Exactly `max + granted` submissions get through, whatever the order of grants, and the
    /// attempts left count down to zero.
    #[test]
    fn exactly_max_plus_granted_attempts_get_through(max in 1u32..50, grants in proptest::collection::vec(1u64..5, 0..5)) {
        let granted: u64 = grants.iter().sum();
        let mut used = 0u64;
        let mut lefts = Vec::new();
        while let Ok(left) = attempt(Some(max), Attempts { used, granted }) {
            lefts.push(left.unwrap());
            used += 1;
            prop_assert!(used <= u64::from(max) + granted);
        }
        prop_assert_eq!(used, u64::from(max) + granted);
        prop_assert_eq!(lefts.last().copied(), Some(0));
        prop_assert!(lefts.windows(2).all(|w| w[0] == w[1] + 1));
    }

    /// A window's phases come in order and exactly one holds at any moment; a submission is
    /// admitted exactly while it is open.
    #[test]
    fn a_window_admits_exactly_while_it_is_open(start in -1_000_000i64..1_000_000, len in 1i64..1_000_000, now in -3_000_000i64..3_000_000) {
        let w = Window::new(start, start + len).unwrap();
        let phase = w.phase(now);
        prop_assert_eq!(w.admits(now).is_ok(), phase == Phase::Open);
        prop_assert_eq!(phase == Phase::Upcoming, now < start);
        prop_assert_eq!(phase == Phase::Ended, now >= start + len);
        if let Ok(ended) = w.end_early(now) {
            prop_assert!(ended.end_ms <= w.end_ms && ended.end_ms > ended.start_ms);
            prop_assert_eq!(ended.phase(now.max(start + 1)), Phase::Ended);
        }
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::*;
use crate::board::test_support::decimal_board;
use crate::integrity::check::Trigger;
use crate::integrity::review::ReviewStatus;

fn trigger(rule: Rule, action: Action) -> Trigger {
    Trigger {
        rule,
        action,
        detail: format!("{} said so", rule.as_str()),
        numbers: json!({}),
    }
}

fn verdict(triggers: &[(Rule, Action)]) -> Verdict {
    Verdict {
        triggers: triggers.iter().map(|&(r, a)| trigger(r, a)).collect(),
    }
}

fn record(score: i64) -> Record {
    Record {
        score,
        subscore: None,
        achieved_at_ms: 1_000,
        updated_at_ms: 1_000,
        metadata: None,
        submissions: 1,
    }
}

struct Case {
    board: Board,
    player: PlayerId,
    submission: Submission,
    before: Record,
    after: Record,
}

impl Case {
    fn new() -> Self {
        Self {
            board: decimal_board(),
            player: PlayerId::new("ann").unwrap(),
            submission: Submission {
                score: 900,
                subscore: None,
                metadata: None,
                band: None,
            },
            before: record(100),
            after: record(900),
        }
    }

    fn judged(&self) -> Judged<'_> {
        Judged {
            board: &self.board,
            period: PeriodId::AllTime,
            player: &self.player,
            submission: &self.submission,
            at_ms: 5_000,
            before: Some(&self.before),
            after: &self.after,
        }
    }

    fn settle(&self, v: &Verdict, members: &[(String, i64)]) -> Settlement {
        settle(&self.judged(), v, members, || Ok("00ff".into())).unwrap()
    }
}

#[test]
fn nothing_triggered_applies_without_drawing_an_id() {
    let c = Case::new();
    let s = settle(&c.judged(), &Verdict::default(), &[], || {
        panic!("no review, no id")
    })
    .unwrap();
    assert_eq!(s.ruling, Ruling::Apply(None));
    assert!(s.burst_flagged.is_empty());
}

#[test]
fn a_flag_applies_with_a_review_of_the_record_before_and_after() {
    let c = Case::new();
    let s = c.settle(&verdict(&[(Rule::Velocity, Action::Flag)]), &[]);
    let Ruling::Apply(Some(r)) = s.ruling else {
        panic!(
            "expected an applied, flagged submission, got {:?}",
            s.ruling
        )
    };
    assert_eq!(r.id, "rv_00ff");
    assert_eq!(r.status, ReviewStatus::Flagged);
    assert!(!r.held);
    assert_eq!(r.previous, Some(record(100)));
    assert_eq!(r.applied, Some(record(900)));
    assert_eq!(r.submitted_at_ms, 5_000);
}

#[test]
fn a_hold_stores_a_review_of_the_submission_alone() {
    let c = Case::new();
    let s = c.settle(&verdict(&[(Rule::Improvement, Action::Hold)]), &[]);
    let Ruling::Hold(r) = s.ruling else {
        panic!("expected a hold, got {:?}", s.ruling)
    };
    assert!(r.held);
    assert_eq!(r.status, ReviewStatus::Held);
    assert_eq!((r.previous, r.applied), (None, None));
    assert_eq!(r.submission.score, 900);
}

#[test]
fn the_strongest_action_decides_and_a_reject_names_its_rule() {
    let c = Case::new();
    let v = verdict(&[
        (Rule::Velocity, Action::Flag),
        (Rule::Improvement, Action::Reject),
        (Rule::Outlier, Action::Hold),
    ]);
    let s = c.settle(&v, &[]);
    assert_eq!(
        s.ruling,
        Ruling::Reject(LeaderboardError::IntegrityRejected {
            rule: "improvement".into(),
            detail: "improvement said so".into(),
        })
    );
}

#[test]
fn a_completed_burst_flags_its_earlier_members_whatever_becomes_of_the_completer() {
    let c = Case::new();
    let members = vec![
        ("bob".to_string(), 4_000),
        ("not a player id!".to_string(), 4_100),
        ("cy".to_string(), 4_200),
    ];
    for action in [Action::Flag, Action::Hold, Action::Reject] {
        let s = c.settle(&verdict(&[(Rule::Burst, action)]), &members);
        let players: Vec<&str> = s.burst_flagged.iter().map(|r| r.player.as_str()).collect();
        assert_eq!(players, ["bob", "cy"], "{action:?}");
        for r in &s.burst_flagged {
            assert_eq!(r.status, ReviewStatus::Flagged);
            assert_eq!(r.submission.score, 900);
            assert_eq!(r.triggers[0].action, Action::Flag);
            assert!(
                r.triggers[0]
                    .detail
                    .ends_with("(flagged when the burst completed)")
            );
        }
    }
}

#[test]
fn burst_review_ids_are_derived_so_the_same_burst_lists_each_member_once() {
    let c = Case::new();
    let members = vec![("bob".to_string(), 4_000)];
    let v = verdict(&[(Rule::Burst, Action::Flag)]);
    let first = c.settle(&v, &members);
    let again = settle(&c.judged(), &v, &members, || Ok("beef".into())).unwrap();
    assert_eq!(first, again, "a burst review never draws a random id");
    // The completer found later as an earlier member gets the id its own review has.
    let Ruling::Apply(Some(own)) = &first.ruling else {
        panic!("expected a flagged completer")
    };
    let later = Case {
        player: PlayerId::new("dan").unwrap(),
        ..Case::new()
    };
    let seen_later = later.settle(&v, &[("ann".to_string(), 5_000)]);
    assert_eq!(seen_later.burst_flagged[0].id, own.id);
    assert_ne!(first.burst_flagged[0].id, own.id);
}

#[test]
fn no_burst_trigger_flags_no_members() {
    let c = Case::new();
    let s = c.settle(
        &verdict(&[(Rule::Velocity, Action::Flag)]),
        &[("bob".to_string(), 4_000)],
    );
    assert!(s.burst_flagged.is_empty());
}

#[test]
fn burst_review_ids_keep_the_stored_formula() {
    // Reviews already stored under sha256("{board}\n{player}\n{score}\n{at_ms}") keep their ids:
    // the first 8 bytes, in hex (computed outside Rust, with Python's hashlib).
    let c = Case::new();
    let v = verdict(&[(Rule::Burst, Action::Hold)]);
    let s = settle(&c.judged(), &v, &[("bob".to_string(), 4_000)], || {
        panic!("a burst review never draws an id")
    })
    .unwrap();
    assert_eq!(s.burst_flagged[0].id, "rv_bc8b509686e706c0");
    // The held completer's own review: derived the same way, from ann, 900, 5000.
    let Ruling::Hold(own) = s.ruling else {
        panic!("expected a hold, got {:?}", s.ruling)
    };
    assert_eq!(own.id, "rv_e006d86c63985831");
    assert!(own.held);
}

#[test]
fn a_reject_draws_no_id() {
    let c = Case::new();
    let s = settle(
        &c.judged(),
        &verdict(&[(Rule::Velocity, Action::Reject)]),
        &[],
        || panic!("a rejection stores no review"),
    )
    .unwrap();
    assert!(matches!(s.ruling, Ruling::Reject(_)));
}

#[test]
fn a_flagged_first_submission_has_no_previous_record() {
    let c = Case::new();
    let judged = Judged {
        before: None,
        ..c.judged()
    };
    let s = settle(
        &judged,
        &verdict(&[(Rule::Outlier, Action::Flag)]),
        &[],
        || Ok("01".into()),
    )
    .unwrap();
    let Ruling::Apply(Some(r)) = s.ruling else {
        panic!("expected a flagged submission, got {:?}", s.ruling)
    };
    assert_eq!((r.previous, r.applied), (None, Some(record(900))));
}

#[test]
fn a_random_source_that_fails_fails_the_settlement() {
    let c = Case::new();
    let failed = settle(
        &c.judged(),
        &verdict(&[(Rule::Velocity, Action::Hold)]),
        &[],
        || Err(LeaderboardError::Internal("no entropy".into())),
    );
    assert_eq!(failed, Err(LeaderboardError::Internal("no entropy".into())));
}

fn stored<'a>(state: &'a str, members: &'a [(String, i64)]) -> Stored<'a> {
    Stored {
        state,
        sample: &[],
        players: 0,
        same_score_players: 0,
        burst_members: members,
    }
}

#[test]
fn judging_a_corrupt_stored_state_is_corrupt_data_naming_the_player() {
    let c = Case::new();
    let judged = judge(&c.judged(), &stored("{not json", &[]), || Ok("01".into()));
    assert!(
        matches!(&judged, Err(LeaderboardError::CorruptData(m)) if m.contains("ann")),
        "{judged:?}"
    );
}

#[test]
fn judging_with_no_stored_state_starts_one_and_settles() {
    let c = Case::new();
    let j = judge(&c.judged(), &stored("", &[]), || panic!("no review")).unwrap();
    assert_eq!(j.settlement.ruling, Ruling::Apply(None));
    let state: crate::integrity::check::PlayerState = serde_json::from_str(&j.state_json).unwrap();
    // Stored back, it judges the next submission the same way.
    let again = judge(&c.judged(), &stored(&j.state_json, &[]), || {
        panic!("no review")
    })
    .unwrap();
    assert_eq!(again.settlement.ruling, Ruling::Apply(None));
    assert_eq!(
        serde_json::to_string(&state).unwrap(),
        j.state_json,
        "the state reads back as written"
    );
}

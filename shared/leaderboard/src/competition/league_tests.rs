#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;

fn league(promote: AmountInput, demote: AmountInput) -> League {
    LeagueInput {
        tiers: vec!["bronze".into(), "silver".into(), "gold".into()],
        promote,
        demote,
        rewards: None,
    }
    .validate()
    .unwrap()
}

fn moves(l: &League, tier: usize, n: usize) -> Vec<(Move, usize)> {
    let players: Vec<usize> = (0..n).collect();
    l.close(tier, &players)
        .unwrap()
        .into_iter()
        .map(|(_, m, next)| (m, next))
        .collect()
}

#[test]
fn the_best_move_up_and_the_worst_down_except_at_the_ends_of_the_ladder() {
    use Move::{Demoted as D, Promoted as P, Stayed as S};
    let l = league(AmountInput::Count(2), AmountInput::Count(1));
    assert_eq!(moves(&l, 1, 5), [(P, 2), (P, 2), (S, 1), (S, 1), (D, 0)]);
    // The lowest tier demotes no one, the top promotes no one.
    assert_eq!(moves(&l, 0, 4), [(P, 1), (P, 1), (S, 0), (S, 0)]);
    assert_eq!(moves(&l, 2, 4), [(S, 2), (S, 2), (S, 2), (D, 1)]);
    // A group too small for both: promotion first.
    assert_eq!(moves(&l, 1, 2), [(P, 2), (P, 2)]);
    assert_eq!(moves(&l, 1, 3), [(P, 2), (P, 2), (D, 0)]);
    assert!(moves(&l, 1, 0).is_empty());
    assert!(matches!(
        l.close(3, &[1]),
        Err(LeaderboardError::CorruptData(_))
    ));
}

#[test]
fn a_percentage_is_of_the_group_rounded_down() {
    let l = league(
        AmountInput::Text("10%".into()),
        AmountInput::Text("25%".into()),
    );
    assert_eq!(l.cuts(1, 9), (0, 2));
    assert_eq!(l.cuts(1, 10), (1, 2));
    assert_eq!(l.cuts(1, 100), (10, 25));
    assert_eq!(Amount::Percent(100).of(u64::MAX), u64::MAX);
    assert_eq!(Amount::Count(5).of(3), 3);
}

#[test]
fn a_league_reads_back_as_posted_and_bad_ones_say_why() {
    let l = league(AmountInput::Count(3), AmountInput::Text("5%".into()));
    assert_eq!(l.to_input().validate().unwrap(), l);
    assert_eq!(
        serde_json::to_value(l.to_input()).unwrap(),
        serde_json::json!({"tiers": ["bronze", "silver", "gold"], "promote": 3, "demote": "5%"})
    );
    assert_eq!(l.tier("silver"), Some(1));
    assert_eq!(l.tier("iron"), None);
    let bad = |tiers: Vec<&str>, promote: AmountInput, says: &str| {
        let input = LeagueInput {
            tiers: tiers.into_iter().map(String::from).collect(),
            promote,
            demote: AmountInput::Count(1),
            rewards: None,
        };
        match input.validate() {
            Err(LeaderboardError::InvalidConfig(m)) => assert!(m.contains(says), "{m}"),
            other => panic!("{other:?}"),
        }
    };
    bad(vec!["solo"], AmountInput::Count(1), "2 to 32");
    bad(vec!["a", "a"], AmountInput::Count(1), "twice");
    bad(vec!["a", "B"], AmountInput::Count(1), "tier");
    bad(vec!["a", "b"], AmountInput::Text("101%".into()), "promote");
    bad(vec!["a", "b"], AmountInput::Text("ten".into()), "promote");
    for loose in ["+10%", "010%", "%", "10", "1.5%", " 10%"] {
        bad(vec!["a", "b"], AmountInput::Text(loose.into()), "promote");
    }
    assert_eq!(
        LeagueInput {
            tiers: vec!["a".into(), "b".into()],
            promote: AmountInput::Text("0%".into()),
            demote: AmountInput::Text("100%".into()),
            rewards: None,
        }
        .validate()
        .unwrap()
        .demote,
        Amount::Percent(100)
    );
    let unknown: std::result::Result<LeagueInput, _> =
        serde_json::from_str(r#"{"tiers":["a","b"],"promote":1,"demote":1,"relegate":1}"#);
    assert!(unknown.is_err());
    let negative: std::result::Result<LeagueInput, _> =
        serde_json::from_str(r#"{"tiers":["a","b"],"promote":-1,"demote":1}"#);
    assert!(negative.is_err());
}

fn amount() -> impl Strategy<Value = AmountInput> {
    prop_oneof![
        (0u32..30).prop_map(AmountInput::Count),
        (0u8..=100).prop_map(|p| AmountInput::Text(format!("{p}%"))),
    ]
}

proptest! {
    /// Every player of a group gets exactly one move; the promoted are the best and the demoted
    /// the worst of it; no one leaves the ladder; the group's size is kept across the tiers.
    #[test]
    fn every_player_moves_once_and_the_ladder_holds(
        promote in amount(),
        demote in amount(),
        tiers in 2usize..6,
        tier_pick in 0usize..6,
        n in 0usize..200,
    ) {
        let l = LeagueInput {
            tiers: (0..tiers).map(|t| format!("t{t}")).collect(),
            promote,
            demote,
            rewards: None,
        }
        .validate()
        .unwrap();
        let tier = tier_pick % tiers;
        let players: Vec<usize> = (0..n).collect();
        let out = l.close(tier, &players).unwrap();
        prop_assert_eq!(out.len(), n);
        let (up, down) = l.cuts(tier, u64::try_from(n).unwrap());
        prop_assert!(up + down <= u64::try_from(n).unwrap());
        for (i, (player, m, next)) in out.iter().enumerate() {
            prop_assert_eq!(**player, i);
            prop_assert!(*next < tiers);
            match m {
                Move::Promoted => {
                    prop_assert!(u64::try_from(i).unwrap() < up);
                    prop_assert_eq!(*next, tier + 1);
                }
                Move::Demoted => {
                    prop_assert!(u64::try_from(n - i).unwrap() <= down);
                    prop_assert_eq!(*next + 1, tier);
                }
                Move::Stayed => prop_assert_eq!(*next, tier),
            }
        }
        // Exactly the cuts move, and the cuts are the amounts (none off the ladder's ends,
        // promotion served first).
        let count = |want: Move| u64::try_from(out.iter().filter(|(_, m, _)| *m == want).count()).unwrap();
        prop_assert_eq!(count(Move::Promoted), up);
        prop_assert_eq!(count(Move::Demoted), down);
        let n64 = u64::try_from(n).unwrap();
        let want_up = if tier + 1 == tiers { 0 } else { l.promote.of(n64) };
        let want_down = if tier == 0 { 0 } else { l.demote.of(n64).min(n64 - want_up) };
        prop_assert_eq!((up, down), (want_up, want_down));
    }
}

fn cohort(raw: &str) -> CohortId {
    CohortId::parse(raw).unwrap()
}

#[test]
fn a_new_player_starts_in_the_lowest_tier_and_a_stored_one_stays_where_it_was_left() {
    let l = league(AmountInput::Count(1), AmountInput::Count(1));
    assert_eq!(l.entry_tier(None).unwrap(), "bronze");
    assert_eq!(l.entry_tier(Some("gold")).unwrap(), "gold");
    assert_eq!(l.moved("bronze", "silver").unwrap(), Move::Promoted);
    assert_eq!(l.moved("gold", "silver").unwrap(), Move::Demoted);
    assert_eq!(l.moved("gold", "gold").unwrap(), Move::Stayed);
    assert!(matches!(
        l.moved("iron", "gold"),
        Err(LeaderboardError::CorruptData(_))
    ));
    assert!(matches!(
        l.entry_tier(Some("iron")),
        Err(LeaderboardError::CorruptData(_))
    ));
}

#[test]
fn a_standing_shows_the_tier_played_now_and_the_last_move() {
    let l = league(AmountInput::Count(1), AmountInput::Count(1));
    // Placed today in silver, promoted there from bronze.
    let s = l
        .standing(Some("silver"), Some("silver"), Some("bronze"))
        .unwrap();
    assert_eq!(
        (s.tier.as_str(), s.from.as_deref(), s.moved),
        ("silver", Some("bronze"), Some(Move::Promoted))
    );
    // Not placed yet: where the close left it; a player new to the league, in the lowest.
    let s = l.standing(None, Some("gold"), Some("gold")).unwrap();
    assert_eq!((s.tier.as_str(), s.moved), ("gold", Some(Move::Stayed)));
    let s = l.standing(None, None, None).unwrap();
    assert_eq!((s.tier.as_str(), s.from, s.moved), ("bronze", None, None));
    // Never moved, played bronze: stayed.
    assert_eq!(
        l.standing(None, None, Some("bronze")).unwrap().moved,
        Some(Move::Stayed)
    );
    assert!(l.standing(Some("iron"), None, None).is_err());
}

#[test]
fn a_close_moves_each_cohort_by_its_own_ranks_and_counts_everyone() {
    let l = league(AmountInput::Count(1), AmountInput::Count(1));
    let groups = vec![
        (cohort("bronze.1"), vec!["b1", "b2", "b3"]),
        (cohort("bronze.2"), vec!["b4"]),
        (cohort("silver.1"), vec!["s1", "s2", "s3"]),
        (cohort("gold.1"), vec!["g1", "g2"]),
    ];
    let closed = l.close_groups(&groups).unwrap();
    assert_eq!(
        closed.moves,
        [
            ("b1", Move::Promoted, "silver".to_string()),
            ("b4", Move::Promoted, "silver".to_string()),
            ("s1", Move::Promoted, "gold".to_string()),
            ("s3", Move::Demoted, "bronze".to_string()),
            ("g2", Move::Demoted, "silver".to_string()),
        ]
    );
    assert_eq!((closed.promoted, closed.demoted, closed.stayed), (3, 2, 4));
    // A cohort that is not a tier's cannot be closed.
    for bad in ["iron.1", "1"] {
        assert!(matches!(
            l.close_groups(&[(cohort(bad), vec!["p"])]),
            Err(LeaderboardError::CorruptData(_))
        ));
    }
}

#[test]
fn closes_are_due_for_ended_periods_with_standings_oldest_first() {
    // Days by when they end.
    let with_data = [("27th", 28), ("25th", 26), ("26th", 27), ("24th", 25)];
    assert_eq!(due(&with_data, &["24th"], 27), ["25th", "26th"]);
    // The current period is not due before its end.
    assert!(due(&[("27th", 28)], &[], 27).is_empty());
    assert_eq!(due(&[("27th", 28)], &[], 28), ["27th"]);
}

#[test]
fn a_past_move_is_read_from_the_closes_kept_moves() {
    let l = league(AmountInput::Count(1), AmountInput::Count(1));
    assert_eq!(
        l.past_move(Some("bronze"), true, Some("silver")).unwrap(),
        Some(Move::Promoted)
    );
    assert_eq!(
        l.past_move(Some("gold"), true, Some("silver")).unwrap(),
        Some(Move::Demoted)
    );
    // Played and not among the moved: stayed.
    assert_eq!(
        l.past_move(Some("silver"), true, None).unwrap(),
        Some(Move::Stayed)
    );
    // Did not play, or the close's moves were not kept: no move to show.
    assert_eq!(l.past_move(None, true, Some("gold")).unwrap(), None);
    assert_eq!(l.past_move(Some("silver"), false, None).unwrap(), None);
    assert!(l.past_move(Some("iron"), true, None).is_err());
}

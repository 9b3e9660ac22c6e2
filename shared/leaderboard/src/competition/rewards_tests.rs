#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn range(from: u64, to: Option<u64>, reward: Value) -> RewardRangeInput {
    RewardRangeInput { from, to, reward }
}

fn table() -> RewardTable {
    RewardTable::new(&[
        range(4, Some(10), json!({"coins": 100})),
        range(1, None, json!({"coins": 1000, "badge": "gold"})),
        range(2, Some(3), json!({"coins": 500})),
    ])
    .unwrap()
}

fn player(p: &str) -> PlayerId {
    PlayerId::new(p).unwrap()
}

#[test]
fn each_rank_gets_its_ranges_reward_and_none_past_the_table() {
    let t = table();
    assert_eq!(
        t.for_rank(1),
        Some(&json!({"coins": 1000, "badge": "gold"}))
    );
    assert_eq!(t.for_rank(3), Some(&json!({"coins": 500})));
    assert_eq!(t.for_rank(10), Some(&json!({"coins": 100})));
    assert_eq!(t.for_rank(11), None);
    assert_eq!(t.for_rank(0), None);
    assert_eq!(t.last_rank(), 10);
    let gap = RewardTable::new(&[range(1, None, json!(1)), range(5, None, json!(5))]).unwrap();
    assert_eq!(gap.for_rank(3), None);
    assert_eq!(gap.for_rank(5), Some(&json!(5)));
}

#[test]
fn tables_pay_a_group_by_its_tier_and_read_back_as_stored() {
    let one = Tables::One(table());
    // One table pays every group, by the group's own ranks.
    let (a, b) = (player("a"), player("b"));
    let awards = one.award(Some("gold"), [(&a, 1), (&b, 4)]);
    assert_eq!(awards.len(), 2);
    assert_eq!(awards[1].reward, json!({"coins": 100}));
    assert_eq!(one.last_rank(None), 10);
    let per = Tables::from_stored(&TablesInput::PerTier(
        [("gold".to_string(), vec![range(1, None, json!("cup"))])].into(),
    ))
    .unwrap();
    assert_eq!(per.award(Some("gold"), [(&a, 1), (&b, 2)]).len(), 1);
    assert!(per.award(Some("bronze"), [(&a, 1)]).is_empty());
    assert!(per.award(None, [(&a, 1)]).is_empty());
    assert_eq!(per.last_rank(Some("gold")), 1);
    assert_eq!(per.last_rank(Some("bronze")), 0);
    // Stored as posted: a table's ranges, or an object from tier to ranges.
    for tables in [&one, &per] {
        let json = serde_json::to_string(&tables.to_input()).unwrap();
        let back: TablesInput = serde_json::from_str(&json).unwrap();
        assert_eq!(&Tables::from_stored(&back).unwrap(), tables);
    }
    assert!(serde_json::to_value(one.to_input()).unwrap().is_array());
    let empty = check_per_tier(&BTreeMap::new()).unwrap_err();
    assert!(matches!(empty, LeaderboardError::InvalidConfig(m) if m.contains("no tier")));
}

#[test]
fn a_stored_table_reads_past_a_check_tightened_since() {
    // Stored by a release that took more ranges, and deeper ranks, than this one does.
    let ranges: Vec<_> = (1..=u64::try_from(MAX_RANGES).unwrap() + 1)
        .map(|r| range(r * 200, None, json!(r)))
        .collect();
    assert!(RewardTable::new(&ranges).is_err());
    let stored = Tables::from_stored(&TablesInput::One(ranges)).unwrap();
    assert_eq!(
        stored.for_band(None).unwrap().for_rank(20_200),
        Some(&json!(101))
    );
    assert_eq!(stored.last_rank(None), 20_200);
}

#[test]
fn tied_players_share_their_ranks_reward() {
    let (a, b, c, d) = (player("a"), player("b"), player("c"), player("d"));
    let ranked = [(&a, 1), (&b, 1), (&c, 3), (&d, 11)];
    let awards = table().award(ranked);
    let got: Vec<(&str, u64, i64)> = awards
        .iter()
        .map(|w| {
            (
                w.player.as_str(),
                w.rank,
                w.reward["coins"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("a", 1, 1000), ("b", 1, 1000), ("c", 3, 500)]);
}

#[test]
fn a_table_reads_back_in_rank_order_and_bad_ones_say_why() {
    let t = table();
    assert_eq!(RewardTable::new(&t.to_input()).unwrap(), t);
    assert_eq!(
        serde_json::to_value(t.to_input()).unwrap()[0],
        json!({"from": 1, "reward": {"coins": 1000, "badge": "gold"}})
    );
    let bad = |ranges: Vec<RewardRangeInput>, says: &str| match RewardTable::new(&ranges) {
        Err(LeaderboardError::InvalidConfig(m)) => assert!(m.contains(says), "{m}"),
        other => panic!("{other:?}"),
    };
    bad(vec![], "1 to 100");
    bad(
        (1..=101).map(|r| range(r, None, json!(r))).collect(),
        "1 to 100",
    );
    bad(vec![range(0, None, json!(1))], "from 1");
    bad(vec![range(3, Some(2), json!(1))], "from before to");
    bad(vec![range(1, Some(MAX_RANK + 1), json!(1))], "10000");
    bad(vec![range(1, None, Value::Null)], "null");
    bad(
        vec![range(1, None, json!("x".repeat(MAX_REWARD_BYTES)))],
        "bytes",
    );
    bad(
        vec![range(1, Some(5), json!(1)), range(5, None, json!(2))],
        "overlap",
    );
    let unknown: std::result::Result<RewardRangeInput, _> =
        serde_json::from_str(r#"{"from":1,"reward":1,"until":2}"#);
    assert!(unknown.is_err());
}

#[test]
fn an_award_waits_for_held_reviews_until_the_grace_ends() {
    let closed = 1_000_000;
    assert!(!award_due(closed, closed - 1, 0, GRACE_MS));
    assert!(award_due(closed, closed, 0, GRACE_MS));
    assert!(!award_due(closed, closed + GRACE_MS - 1, 2, GRACE_MS));
    assert!(award_due(closed, closed + GRACE_MS, 2, GRACE_MS));
    assert!(award_due(i64::MAX - 1, i64::MAX, 0, GRACE_MS));
}

#[test]
fn a_claim_refused_says_why() {
    assert!(matches!(no_award(), LeaderboardError::NotFound(m) if m.contains("no reward")));
    // Before the awards are computed, even a winner-to-be is told to wait, not "no reward".
    assert!(matches!(
        not_final(Standing::Due),
        LeaderboardError::Conflict(Conflict::RewardsNotFinal)
    ));
    assert!(matches!(
        not_final(Standing::Open),
        LeaderboardError::Conflict(Conflict::RunOpen)
    ));
}

#[test]
fn players_tied_at_the_last_rewarded_rank_are_all_awarded() {
    let t = RewardTable::new(&[range(1, Some(3), json!("prize"))]).unwrap();
    let ps: Vec<PlayerId> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|p| player(p))
        .collect();
    // Four tied at 3: more entries than the last rank's number, all rewarded; 7 is past it.
    let ranked = [
        (&ps[0], 1),
        (&ps[1], 2),
        (&ps[2], 3),
        (&ps[3], 3),
        (&ps[4], 3),
        (&ps[5], 7),
    ];
    let awards = t.award(ranked);
    let awarded: Vec<&str> = awards.iter().map(|w| w.player.as_str()).collect();
    assert_eq!(awarded, ["a", "b", "c", "d", "e"]);
}

#[test]
fn a_reward_of_exactly_the_largest_size_is_taken() {
    // A JSON string of n characters serialises to n + 2 bytes.
    let at_limit = json!("x".repeat(MAX_REWARD_BYTES - 2));
    assert!(RewardTable::new(&[range(1, None, at_limit)]).is_ok());
    let past = json!("x".repeat(MAX_REWARD_BYTES - 1));
    assert!(RewardTable::new(&[range(1, None, past)]).is_err());
}

proptest! {
    /// Whatever the ranges, a rank's reward is the one range that holds it, found by search as
    /// by a plain scan.
    #[test]
    fn a_rank_finds_the_one_range_that_holds_it(
        cuts in proptest::collection::btree_set(1u64..200, 1..20),
        rank in 0u64..220,
    ) {
        // Consecutive cuts make ranges [c_i, c_{i+1} - 1], every other one left out.
        let cuts: Vec<u64> = cuts.into_iter().collect();
        let ranges: Vec<RewardRangeInput> = cuts
            .windows(2)
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(i, w)| range(w[0], Some(w[1] - 1), json!(i)))
            .collect();
        prop_assume!(!ranges.is_empty());
        let t = RewardTable::new(&ranges).unwrap();
        let scan = ranges
            .iter()
            .find(|r| r.from <= rank && rank <= r.to.unwrap_or(r.from))
            .map(|r| &r.reward);
        prop_assert_eq!(t.for_rank(rank), scan);
    }
}

#[test]
fn a_tie_past_the_largest_number_of_awards_is_cut_in_ranked_order() {
    let t = RewardTable::new(&[range(1, None, json!("prize"))]).unwrap();
    let ps: Vec<PlayerId> = (0..MAX_AWARDS + 5)
        .map(|i| player(&format!("p{i}")))
        .collect();
    let awards = t.award(ps.iter().map(|p| (p, 1)));
    assert_eq!(awards.len(), MAX_AWARDS);
    assert_eq!(awards[0].player, ps[0]);
    assert_eq!(awards[MAX_AWARDS - 1].player, ps[MAX_AWARDS - 1]);
}

#[test]
fn a_run_is_due_once_its_close_is_announced_and_no_review_is_open_or_the_grace_ended() {
    let (end, grace) = (1_000, 100);
    assert_eq!(standing(false, end, 5_000, 0, grace), Standing::Open);
    assert_eq!(standing(true, end, 1_050, 0, grace), Standing::Due);
    // A clock behind the announced close does not make the run wait.
    assert_eq!(standing(true, end, 900, 0, grace), Standing::Due);
    assert_eq!(
        standing(true, end, 1_050, 2, grace),
        Standing::Pending {
            reviews: 2,
            until_ms: 1_100
        }
    );
    assert_eq!(standing(true, end, 1_100, 2, grace), Standing::Due);
    assert_eq!(
        Standing::Pending {
            reviews: 1,
            until_ms: 0
        }
        .name(),
        "pending"
    );
}

//! Cohorts: a board split into groups of a fixed size (`cohort_size`), so each player competes
//! against a few others of its own time (Unity's buckets).
//!
//! A player's first submission of a period places it: arrivals are counted per band (one atomic
//! counter in Redis per board, period and band), and the `n`th arrival goes to cohort
//! `(n − 1) / size + 1` of its band ([`place`]), so cohorts fill in order of arrival and none
//! ever holds more than `size`, however many first submissions race (the counter orders them).
//! A band is a skill bracket named on the first submission (`^[a-z0-9][a-z0-9_-]{0,31}$`, none by
//! default) by a `service` or `admin` caller — the game's server, which knows the player's skill;
//! a player's own token cannot choose its band; each band fills its own cohorts. A placement holds for the period: later
//! submissions, with any band, keep it.
//!
//! A cohort's id is its number (`"3"`), or its band and number (`"gold.3"`).

use crate::Conflict;
use std::fmt;

use crate::error::{LeaderboardError, Result};

/// Smallest `cohort_size`.
pub const MIN_SIZE: u32 = 2;
/// Largest `cohort_size`.
pub const MAX_SIZE: u32 = 100_000;

/// Checks a board's `cohort_size`.
pub fn size(raw: u32) -> Result<u32> {
    if (MIN_SIZE..=MAX_SIZE).contains(&raw) {
        Ok(raw)
    } else {
        Err(LeaderboardError::InvalidConfig(format!(
            "cohort_size {raw} must be within {MIN_SIZE}..={MAX_SIZE}"
        )))
    }
}

/// A cohort of a board's period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CohortId {
    /// The skill band it belongs to, if the caller named one.
    pub band: Option<String>,
    /// Its number within the band, from 1.
    pub number: u64,
}

impl CohortId {
    /// Reads an id as the API shows it (`"3"`, `"gold.3"`).
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = || {
            LeaderboardError::InvalidBody(format!(
                "cohort '{raw}' must be a number from 1, or a band, '.' and a number"
            ))
        };
        let (band, number) = match raw.split_once('.') {
            Some((band, number)) => (Some(band_of(band).map_err(|_| bad())?), number),
            None => (None, raw),
        };
        let all_digits = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
        match number.parse::<u64>() {
            Ok(n) if n >= 1 && all_digits && !number.starts_with('0') => {
                Ok(Self { band, number: n })
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for CohortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.band {
            Some(band) => write!(f, "{band}.{}", self.number),
            None => write!(f, "{}", self.number),
        }
    }
}

/// Checks a skill band the caller names.
pub fn band_of(raw: &str) -> Result<String> {
    super::label("cohort band", raw).map_err(|e| match e {
        LeaderboardError::InvalidConfig(m) => LeaderboardError::InvalidBody(m),
        other => other,
    })
}

/// The cohort of the `arrival`th first submission (from 1) of `band` (checked, [`band_of`]),
/// whose cohorts hold `size`.
pub fn place(band: Option<&str>, arrival: u64, size: u32) -> Result<CohortId> {
    let band = band.map(band_of).transpose()?;
    if arrival == 0 || size == 0 {
        return Err(LeaderboardError::CorruptData(format!(
            "a cohort arrival {arrival} of size {size} (both count from 1)"
        )));
    }
    Ok(CohortId {
        band,
        number: (arrival - 1) / u64::from(size) + 1,
    })
}

/// A placement as the adapter stores it (`edge::competitions::cohorts::store`): the arrival's number, and after a
/// `':'` the band it was counted in (`"12"`, `"12:gold"`). Only the arrival is stored, so the
/// cohort is always [`place`]'s answer.
pub fn stored(band: Option<&str>, arrival: u64) -> String {
    match band {
        Some(band) => format!("{arrival}:{band}"),
        None => arrival.to_string(),
    }
}

/// The cohort of a placement as stored ([`stored`]) on a board of cohorts of `size`.
pub fn from_stored(raw: &str, size: u32) -> Result<CohortId> {
    let (arrival, band) = match raw.split_once(':') {
        Some((arrival, band)) => (arrival, Some(band)),
        None => (raw, None),
    };
    let arrival = arrival.parse::<u64>().map_err(|_| {
        LeaderboardError::CorruptData(format!("a cohort placement '{raw}' is not an arrival"))
    })?;
    place(band, arrival, size).map_err(|e| match e {
        LeaderboardError::InvalidBody(m) => LeaderboardError::CorruptData(m),
        other => other,
    })
}

/// Every cohort of a period whose arrivals were counted as `counters` (the adapter's fields:
/// `n` → the arrivals without a band, `n:<band>` → a band's): each band's cohorts from 1 to the
/// one its last arrival fell in, in order — the cohorts without a band first, then each band's
/// by name — whatever order the counters came in.
pub fn cohorts_of(counters: &[(String, String)], size: u32) -> Result<Vec<CohortId>> {
    let mut all = Vec::new();
    for (field, count) in counters {
        let band = match field.as_str() {
            "n" => None,
            other => match other.strip_prefix("n:") {
                Some(band) => Some(band),
                None => {
                    return Err(LeaderboardError::CorruptData(format!(
                        "a cohort arrival counter '{field}' is neither 'n' nor 'n:<band>'"
                    )));
                }
            },
        };
        let arrivals = count.parse::<u64>().map_err(|_| {
            LeaderboardError::CorruptData(format!("cohort arrivals '{count}' of '{field}'"))
        })?;
        if arrivals == 0 {
            continue;
        }
        let last = from_stored(&stored(band, arrivals), size)?;
        all.extend((1..=last.number).map(|number| CohortId {
            band: last.band.clone(),
            number,
        }));
    }
    all.sort_by(|a, b| (&a.band, a.number).cmp(&(&b.band, b.number)));
    Ok(all)
}

/// Whether a read of `scope` (`None`: the whole board) may go back in time (`as_of`): a
/// replayed projection holds the board's standings, not its cohorts' (`409`).
pub fn time_travel(scope: Option<&CohortId>) -> Result<()> {
    match scope {
        None => Ok(()),
        Some(cohort) => Err(Conflict::CohortAsOf {
            cohort: cohort.to_string(),
        }
        .into()),
    }
}

/// Which standings a read of a cohort board shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One cohort's.
    Cohort(CohortId),
    /// The whole board's (a reader who may read any cohort and asked for none).
    Board,
}

/// The scope of a read that asked for `asked` (none: the default) by a reader placed in `own`
/// (none: not placed this period). A reader who `may_read_any` (an admin or service) reads the
/// cohort it asks for, or the whole board; anyone else reads its own cohort only.
pub fn scope(asked: Option<CohortId>, own: Option<CohortId>, may_read_any: bool) -> Result<Scope> {
    match (asked, own) {
        (Some(asked), _) if may_read_any => Ok(Scope::Cohort(asked)),
        (None, _) if may_read_any => Ok(Scope::Board),
        (None, Some(own)) => Ok(Scope::Cohort(own)),
        (Some(asked), Some(own)) if asked == own => Ok(Scope::Cohort(own)),
        (Some(asked), Some(own)) => Err(LeaderboardError::Forbidden(format!(
            "players read their own cohort ({own}), not {asked}"
        ))),
        (_, None) => Err(LeaderboardError::NotFound(
            "the player has no cohort this period: its first submission places it".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    fn id(raw: &str) -> CohortId {
        CohortId::parse(raw).unwrap()
    }

    #[test]
    fn a_cohort_id_is_a_number_or_a_band_and_a_number_and_reads_back_as_shown() {
        assert_eq!(
            id("3"),
            CohortId {
                band: None,
                number: 3
            }
        );
        assert_eq!(
            id("gold-1.12"),
            CohortId {
                band: Some("gold-1".into()),
                number: 12
            }
        );
        for shown in ["1", "gold.7", "a_b-c.99"] {
            assert_eq!(id(shown).to_string(), shown);
        }
        for bad in [
            "", "0", "01", "+1", "-1", "x", "Gold.1", ".1", "gold.", "gold.0", "a.b.1",
        ] {
            assert!(
                matches!(CohortId::parse(bad), Err(LeaderboardError::InvalidBody(m)) if m.contains("cohort")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_size_is_two_to_a_hundred_thousand() {
        assert_eq!(size(2).unwrap(), 2);
        assert_eq!(size(MAX_SIZE).unwrap(), MAX_SIZE);
        assert!(size(1).is_err());
        assert!(size(MAX_SIZE + 1).is_err());
    }

    #[test]
    fn arrivals_fill_cohorts_in_order_each_band_its_own() {
        let numbers: Vec<u64> = (1..=7).map(|n| place(None, n, 3).unwrap().number).collect();
        assert_eq!(numbers, [1, 1, 1, 2, 2, 2, 3]);
        assert_eq!(place(Some("gold"), 4, 3).unwrap().to_string(), "gold.2");
        assert!(matches!(
            place(None, 0, 3),
            Err(LeaderboardError::CorruptData(_))
        ));
        assert!(matches!(
            place(Some("Gold.x"), 1, 3),
            Err(LeaderboardError::InvalidBody(_))
        ));
    }

    #[test]
    fn a_stored_placement_reads_back_as_the_cohort_its_arrival_falls_in() {
        assert_eq!(stored(None, 12), "12");
        assert_eq!(stored(Some("gold"), 12), "12:gold");
        assert_eq!(from_stored("12", 5).unwrap().to_string(), "3");
        assert_eq!(from_stored("12:gold", 5).unwrap().to_string(), "gold.3");
        assert_eq!(from_stored("1", 5).unwrap().to_string(), "1");
        for bad in ["", "x", "0", "-1", "3:Gold", "3:"] {
            assert!(
                matches!(from_stored(bad, 5), Err(LeaderboardError::CorruptData(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_periods_cohorts_are_each_bands_from_the_first_to_its_last_arrivals() {
        let counters = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(f, n)| ((*f).to_string(), (*n).to_string()))
                .collect()
        };
        let all: Vec<String> = cohorts_of(&counters(&[("n", "7"), ("n:gold", "3")]), 3)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(all, ["1", "2", "3", "gold.1"]);
        // In order whatever order the counters come in.
        let all: Vec<String> = cohorts_of(
            &counters(&[("n:gold", "4"), ("n", "1"), ("n:bronze", "2")]),
            3,
        )
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(all, ["1", "bronze.1", "gold.1", "gold.2"]);
        assert!(cohorts_of(&counters(&[("n", "0")]), 3).unwrap().is_empty());
        for bad in [&[("x", "1")][..], &[("n", "many")], &[("n:Gold", "1")]] {
            assert!(matches!(
                cohorts_of(&counters(bad), 3),
                Err(LeaderboardError::CorruptData(_))
            ));
        }
    }

    #[test]
    fn only_the_whole_board_goes_back_in_time() {
        assert_eq!(time_travel(None), Ok(()));
        assert!(matches!(
            time_travel(Some(&id("gold.2"))),
            Err(LeaderboardError::Conflict(Conflict::CohortAsOf { cohort })) if cohort == "gold.2"
        ));
    }

    #[test]
    fn a_player_reads_its_own_cohort_and_an_admin_any_or_the_whole_board() {
        let own = Some(id("2"));
        assert_eq!(
            scope(None, own.clone(), false).unwrap(),
            Scope::Cohort(id("2"))
        );
        assert_eq!(
            scope(Some(id("2")), own.clone(), false).unwrap(),
            Scope::Cohort(id("2"))
        );
        assert!(matches!(
            scope(Some(id("3")), own.clone(), false),
            Err(LeaderboardError::Forbidden(m)) if m.contains('2') && m.contains('3')
        ));
        assert!(matches!(
            scope(None, None, false),
            Err(LeaderboardError::NotFound(_))
        ));
        assert!(matches!(
            scope(Some(id("1")), None, false),
            Err(LeaderboardError::NotFound(_))
        ));
        assert_eq!(
            scope(Some(id("3")), own, true).unwrap(),
            Scope::Cohort(id("3"))
        );
        assert_eq!(scope(None, None, true).unwrap(), Scope::Board);
    }

    proptest! {
        /// However many arrive, every cohort but the band's last holds exactly `size`, the last
        /// at most `size`, and the numbers run from 1 without a gap.
        #[test]
        fn no_cohort_ever_exceeds_its_size(size in MIN_SIZE..50, arrivals in 1u64..2_000) {
            let mut counts = std::collections::BTreeMap::new();
            for n in 1..=arrivals {
                *counts.entry(place(None, n, size).unwrap().number).or_insert(0u64) += 1;
            }
            let numbers: Vec<u64> = counts.keys().copied().collect();
            prop_assert_eq!(numbers, (1..=u64::try_from(counts.len()).unwrap()).collect::<Vec<_>>());
            let last = *counts.keys().last().unwrap();
            for (number, count) in counts {
                prop_assert!(count <= u64::from(size));
                if number != last {
                    prop_assert_eq!(count, u64::from(size));
                }
            }
        }
    }
}

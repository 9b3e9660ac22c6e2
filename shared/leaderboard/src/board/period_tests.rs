#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;

/// Unix ms of `y-m-d hh:mm` UTC.
fn ms(y: i32, m: u32, d: u32, hh: u32, mm: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(hh, mm, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn id(kind: PeriodKind, y: i32, m: u32, d: u32) -> String {
    period_id(kind, ms(y, m, d, 12, 0)).unwrap().to_string()
}

const KINDS: [PeriodKind; 3] = [PeriodKind::Daily, PeriodKind::Weekly, PeriodKind::Monthly];

#[test]
fn ids_by_kind() {
    assert_eq!(epoch().to_string(), "1970-01-01");
    assert_eq!(id(PeriodKind::AllTime, 2026, 11, 21), "all");
    assert_eq!(id(PeriodKind::Daily, 2026, 11, 21), "2026-11-21");
    assert_eq!(id(PeriodKind::Weekly, 2026, 11, 21), "2026-W47");
    assert_eq!(id(PeriodKind::Monthly, 2026, 11, 21), "2026-11");
    assert_eq!(id(PeriodKind::Weekly, 1970, 1, 1), "1970-W01");
}

#[test]
fn iso_week_year_boundaries() {
    // 2020 has 53 ISO weeks; 2021-01-01..03 still belong to 2020-W53.
    assert_eq!(id(PeriodKind::Weekly, 2020, 12, 31), "2020-W53");
    assert_eq!(id(PeriodKind::Weekly, 2021, 1, 1), "2020-W53");
    assert_eq!(id(PeriodKind::Weekly, 2021, 1, 3), "2020-W53");
    assert_eq!(id(PeriodKind::Weekly, 2021, 1, 4), "2021-W01");
    // 2026 has 53 weeks too (Jan 1 2026 is a Thursday).
    assert_eq!(id(PeriodKind::Weekly, 2026, 12, 31), "2026-W53");
    assert_eq!(id(PeriodKind::Weekly, 2027, 1, 3), "2026-W53");
    assert_eq!(id(PeriodKind::Weekly, 2027, 1, 4), "2027-W01");
    // Calendar 2024-12-30 is ISO 2025-W01.
    assert_eq!(id(PeriodKind::Weekly, 2024, 12, 30), "2025-W01");
    assert_eq!(id(PeriodKind::Weekly, 2024, 12, 29), "2024-W52");

    let w53: PeriodId = "2020-W53".parse().unwrap();
    assert_eq!(w53.start_ms(), Some(ms(2020, 12, 28, 0, 0)));
    assert_eq!(w53.end_ms(), Some(ms(2021, 1, 4, 0, 0)));
    assert_eq!(w53.next().unwrap().to_string(), "2021-W01");
    assert_eq!(
        "2021-W01".parse::<PeriodId>().unwrap().previous(),
        Some(w53)
    );
    assert_eq!(
        next_reset_ms(PeriodKind::Weekly, ms(2026, 12, 31, 23, 59)).unwrap(),
        Some(ms(2027, 1, 4, 0, 0))
    );
    assert!("2021-W53".parse::<PeriodId>().is_err());
    assert!("2026-W53".parse::<PeriodId>().is_ok());
    assert!("2026-W00".parse::<PeriodId>().is_err());
}

#[test]
fn month_ends_and_leap_day() {
    let next = |y, m, d| {
        next_reset_ms(PeriodKind::Monthly, ms(y, m, d, 10, 0))
            .unwrap()
            .unwrap()
    };
    assert_eq!(next(2023, 2, 28), ms(2023, 3, 1, 0, 0));
    assert_eq!(next(2024, 2, 29), ms(2024, 3, 1, 0, 0));
    assert_eq!(next(2024, 4, 30), ms(2024, 5, 1, 0, 0));
    assert_eq!(next(2024, 1, 31), ms(2024, 2, 1, 0, 0));
    assert_eq!(next(2024, 12, 31), ms(2025, 1, 1, 0, 0));
    let daily_next = next_reset_ms(PeriodKind::Daily, ms(2024, 2, 28, 23, 59))
        .unwrap()
        .unwrap();
    assert_eq!(
        period_id(PeriodKind::Daily, daily_next)
            .unwrap()
            .to_string(),
        "2024-02-29"
    );
    let leap: PeriodId = "2024-02-29".parse().unwrap();
    assert_eq!(leap.next().unwrap().to_string(), "2024-03-01");
    assert_eq!(
        "2024-03-01".parse::<PeriodId>().unwrap().previous(),
        Some(leap)
    );
    assert!("2023-02-29".parse::<PeriodId>().is_err());
    assert_eq!(
        "2024-03"
            .parse::<PeriodId>()
            .unwrap()
            .previous()
            .unwrap()
            .to_string(),
        "2024-02"
    );
    assert_eq!(
        "2024-01"
            .parse::<PeriodId>()
            .unwrap()
            .previous()
            .unwrap()
            .to_string(),
        "2023-12"
    );
}

#[test]
fn all_time() {
    assert_eq!(next_reset_ms(PeriodKind::AllTime, 5).unwrap(), None);
    assert_eq!(period_start_ms(PeriodKind::AllTime, 5).unwrap(), None);
    assert_eq!(PeriodId::AllTime.previous(), None);
    assert_eq!(expire_at_ms(&PeriodId::AllTime, 3), None);
    assert!(is_retained(&PeriodId::AllTime, 5, 0).unwrap());
    assert_eq!(
        serde_json::to_string(&PeriodId::AllTime).unwrap(),
        "\"all\""
    );
}

#[test]
fn parsing_is_strict() {
    for bad in [
        "",
        "al",
        "2026",
        "2026-1",
        "2026-13",
        "2026-00",
        "2026-11-31",
        "2026-w47",
        "2026-W7",
        "1969-12",
        "26-11-21",
        "2026/11/21",
        "2026-11-21T00",
        "+026-11",
        "２０２６-11",
    ] {
        assert!(
            matches!(
                bad.parse::<PeriodId>(),
                Err(LeaderboardError::InvalidPeriod(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        parse_period_id(PeriodKind::Daily, "2026-W47"),
        Err(LeaderboardError::InvalidPeriod(m)) if m.contains("weekly period but the board's period is daily")
    ));
    assert_eq!(
        previous(PeriodKind::Daily, &"2026-W47".parse().unwrap()),
        None
    );
    assert_eq!(
        serde_json::from_str::<PeriodId>("\"2026-11\"").unwrap(),
        PeriodId::Month {
            year: 2026,
            month: 11
        }
    );
}

#[test]
fn retention() {
    let now = ms(2026, 11, 21, 12, 0); // 2026-W47
    let w = |s: &str| s.parse::<PeriodId>().unwrap();
    assert!(is_retained(&w("2026-W47"), now, 0).unwrap());
    assert!(!is_retained(&w("2026-W46"), now, 0).unwrap());
    assert!(is_retained(&w("2026-W44"), now, 3).unwrap());
    assert!(!is_retained(&w("2026-W43"), now, 3).unwrap());
    assert!(!is_retained(&w("2026-W48"), now, 3).unwrap());
    assert_eq!(
        expire_at_ms(&w("2026-W44"), 3),
        Some(ms(2026, 11, 23, 0, 0))
    );
    assert!(matches!(ensure_retained(&w("2026-W48"), now, 3),
        Err(LeaderboardError::PeriodNotRetained(m)) if m.contains("has not started yet")));
    assert!(matches!(ensure_retained(&w("2026-W40"), now, 3),
        Err(LeaderboardError::PeriodNotRetained(m)) if m.contains("older than the 3 retained weekly")));
    assert_eq!(
        resolve(PeriodKind::Weekly, None, now, 3).unwrap(),
        w("2026-W47")
    );
    assert_eq!(
        resolve(PeriodKind::Weekly, Some("previous"), now, 3).unwrap(),
        w("2026-W46")
    );
    assert!(resolve(PeriodKind::Weekly, Some("previous"), now, 0).is_err());
    assert!(resolve(PeriodKind::AllTime, Some("previous"), now, 0).is_err());
    // Across the ISO year boundary.
    let jan = ms(2021, 1, 5, 0, 0); // 2021-W01
    assert!(is_retained(&w("2020-W53"), jan, 1).unwrap());
    assert!(!is_retained(&w("2020-W52"), jan, 1).unwrap());
}

#[test]
fn time_range() {
    assert!(period_id(PeriodKind::Daily, -1).is_err());
    assert!(period_id(PeriodKind::Daily, MAX_PERIOD_TIME_MS + 1).is_err());
    assert_eq!(
        period_id(PeriodKind::Daily, MAX_PERIOD_TIME_MS)
            .unwrap()
            .to_string(),
        "9999-12-31"
    );
    assert_eq!(
        period_id(PeriodKind::Weekly, 0).unwrap().start_ms(),
        Some(-3 * DAY_MS)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn next_reset_is_next_period_start(now in 0i64..250_000_000_000_000, k in 0usize..3) {
        let kind = KINDS[k];
        let cur = period_id(kind, now).unwrap();
        let start = cur.start_ms().unwrap();
        let reset = next_reset_ms(kind, now).unwrap().unwrap();
        prop_assert!(start <= now && now < reset);
        prop_assert_eq!(period_start_ms(kind, now).unwrap(), Some(start));
        let next = period_id(kind, reset).unwrap();
        prop_assert_eq!(Some(next), cur.next());
        prop_assert_eq!(next.previous(), Some(cur));
        prop_assert_eq!(next.start_ms(), Some(reset));
        prop_assert_eq!(period_id(kind, reset - 1).unwrap(), cur);
        if start >= 0 {
            prop_assert_eq!(period_id(kind, start).unwrap(), cur);
        }
        let len_days = (reset - start) / DAY_MS;
        prop_assert_eq!((reset - start) % DAY_MS, 0);
        let ok_len = match kind {
            PeriodKind::Daily => len_days == 1,
            PeriodKind::Weekly => len_days == 7,
            _ => (28..=31).contains(&len_days),
        };
        prop_assert!(ok_len);
        prop_assert!(next > cur);
    }

    #[test]
    fn id_text_round_trips(now in 0i64..=MAX_PERIOD_TIME_MS, k in 0usize..3) {
        let kind = KINDS[k];
        let cur = period_id(kind, now).unwrap();
        prop_assert_eq!(parse_period_id(kind, &cur.to_string()).unwrap(), cur);
        let json = serde_json::to_string(&cur).unwrap();
        prop_assert_eq!(serde_json::from_str::<PeriodId>(&json).unwrap(), cur);
    }

    #[test]
    fn retention_window(now in 86_400_000i64 * 400..=253_000_000_000_000, k in 0usize..3, back in 0u32..10, retain in 0u32..6) {
        let kind = KINDS[k];
        let cur = period_id(kind, now).unwrap();
        let mut id = cur;
        for _ in 0..back { id = id.previous().unwrap(); }
        prop_assert_eq!(is_retained(&id, now, retain).unwrap(), back <= retain);
        let expire = expire_at_ms(&id, retain).unwrap();
        // Retained right before expiry, not at it.
        prop_assert_eq!(is_retained(&id, expire - 1, retain).unwrap(), true);
        prop_assert_eq!(is_retained(&id, expire, retain).unwrap(), false);
        prop_assert!(!is_retained(&cur.next().unwrap(), now, retain).unwrap());
    }

    #[test]
    fn garbage_never_panics(s in ".{0,12}") {
        if let Ok(id) = s.parse::<PeriodId>() {
            prop_assert_eq!(id.to_string(), s);
        }
    }
}

#[test]
fn a_window_closes_with_the_period_of_its_last_moment() {
    // Ending exactly at midnight: the day before is the last run.
    let midnight = 1_764_115_200_000; // 2025-11-26T00:00:00Z
    assert_eq!(
        run_ending_at(PeriodKind::Daily, midnight)
            .unwrap()
            .to_string(),
        "2025-11-25"
    );
    assert_eq!(
        run_ending_at(PeriodKind::Daily, midnight + 1)
            .unwrap()
            .to_string(),
        "2025-11-26"
    );
    assert_eq!(
        run_ending_at(PeriodKind::AllTime, midnight)
            .unwrap()
            .to_string(),
        "all"
    );
}

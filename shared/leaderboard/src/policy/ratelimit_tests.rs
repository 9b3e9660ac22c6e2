#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;

fn policy(limit: u64, window_secs: u64, burst: u64) -> Policy {
    PolicyInput {
        name: "p".into(),
        key: KeyKind::Ip,
        classes: None,
        boards: None,
        limit,
        window_secs,
        burst: Some(burst),
        store: Store::Redis,
        on_unavailable: Unavailable::Open,
        exempt_roles: vec![],
    }
    .validate()
    .unwrap()
}

/// Runs requests at the given times (ms) through one key; the decisions.
fn run(p: &Policy, times: &[i64]) -> Vec<Decision> {
    let mut tat = None;
    times
        .iter()
        .map(|&now| {
            let d = decide(p, tat, now);
            tat = Some(d.tat_us);
            d
        })
        .collect()
}

#[test]
fn a_fresh_key_allows_the_burst_at_once_then_denies_with_retry_after() {
    let p = policy(50, 60, 50);
    let ds = run(&p, &[1_000_000; 60]);
    assert_eq!(ds.iter().filter(|d| d.allowed).count(), 50);
    assert!(ds[..50].iter().all(|d| d.allowed));
    assert_eq!(ds[0].remaining, 49);
    assert_eq!(ds[49].remaining, 0);
    assert_eq!(
        ds[49].reset_secs, 60,
        "the whole burst is back after the window"
    );
    let denied = ds[50];
    assert!(!denied.allowed);
    assert_eq!(denied.retry_after_secs, 2, "one more after T = 1.2 s");
    assert_eq!(denied.remaining, 0);
}

#[test]
fn recovery_after_the_emission_interval_and_the_window() {
    let p = policy(10, 10, 10);
    let mut tat = None;
    for _ in 0..10 {
        tat = Some(decide(&p, tat, 0).tat_us);
    }
    assert!(!decide(&p, tat, 999).allowed);
    let one = decide(&p, tat, 1_000);
    assert!(one.allowed, "T = 1 s later one more passes");
    assert_eq!(one.remaining, 0);
    let full = decide(&p, tat, 10_000);
    assert!(full.allowed);
    assert_eq!(
        full.remaining, 9,
        "after the window the whole burst is back"
    );
}

#[test]
fn policies_parse_with_defaults_and_reject_what_is_wrong() {
    let ps = parse_policies(r#"[{"name":"a","key":"subject","limit":5,"window_secs":1}]"#).unwrap();
    assert_eq!(ps[0].burst, 5);
    assert_eq!(ps[0].classes.len(), 3);
    assert_eq!(ps[0].store, Store::Redis);
    assert_eq!(ps[0].on_unavailable, Unavailable::Open);
    assert!(parse_policies("[]").unwrap().is_empty());
    for (raw, needle) in [
        ("{", "rate_limits is not valid"),
        (
            r#"[{"name":"a","key":"ip","limit":0,"window_secs":1}]"#,
            "limit 0",
        ),
        (
            r#"[{"name":"a","key":"ip","limit":5,"window_secs":0}]"#,
            "window_secs 0",
        ),
        (
            r#"[{"name":"a","key":"ip","limit":5,"window_secs":1,"burst":6}]"#,
            "burst 6",
        ),
        (
            r#"[{"name":"A","key":"ip","limit":5,"window_secs":1}]"#,
            "policy name 'A'",
        ),
        (
            r#"[{"name":"a","key":"host","limit":5,"window_secs":1}]"#,
            "unknown variant",
        ),
        (
            r#"[{"name":"a","key":"ip","limit":5,"window_secs":1,"x":1}]"#,
            "unknown field",
        ),
        (
            r#"[{"name":"a","key":"ip","limit":5,"window_secs":1},{"name":"a","key":"ip","limit":5,"window_secs":1}]"#,
            "two policies are named 'a'",
        ),
    ] {
        let e = parse_policies(raw).unwrap_err().to_string();
        assert!(e.contains(needle), "{raw}: {e}");
        assert!(e.contains("rate_limits"), "{raw}: {e} names the variable");
    }
    let defaults = default_policies();
    assert_eq!(defaults.len(), 4, "the shipped defaults parse");
}

#[test]
fn applies_by_class_board_and_role() {
    let ps = parse_policies(
        r#"[{"name":"a","key":"ip","classes":["write"],"boards":["b1"],"limit":5,"window_secs":1,"exempt_roles":["service"]}]"#,
    )
    .unwrap();
    let p = &ps[0];
    assert!(p.applies(RouteClass::Write, Some("b1"), &["player"]));
    assert!(!p.applies(RouteClass::Read, Some("b1"), &["player"]));
    assert!(!p.applies(RouteClass::Write, Some("b2"), &["player"]));
    assert!(!p.applies(RouteClass::Write, None, &[]));
    assert!(!p.applies(RouteClass::Write, Some("b1"), &["service"]));
}

#[test]
fn header_fields_follow_the_structured_field_form() {
    let a = policy(50, 60, 50);
    let mut b = policy(10, 1, 5);
    b.name = "b".into();
    let (pol, state) =
        header_fields(&[(&a, decide(&a, None, 0)), (&b, decide(&b, None, 0))]).unwrap();
    assert_eq!(pol, r#""p";q=50;w=60, "b";q=10;w=1"#);
    assert_eq!(state, r#""p";r=49;t=2, "b";r=4;t=1"#);
    assert!(header_fields(&[]).is_none());
}

proptest! {
    /// Never more than `burst` at one instant, and over any interval of length L never more than
    /// `burst + L / T` (the long-run rate is the limit).
    #[test]
    fn never_more_than_burst_at_once_nor_above_the_rate(
        limit in 1u64..200,
        window in 1u64..120,
        burst_pct in 1u64..=100,
        gaps in proptest::collection::vec(0i64..3_000, 1..400),
    ) {
        let burst = (limit * burst_pct / 100).max(1);
        let p = policy(limit, window, burst);
        let mut now = 1_700_000_000_000i64;
        let times: Vec<i64> = gaps.iter().map(|g| { now += g; now }).collect();
        let ds = run(&p, &times);
        let allowed: Vec<i64> = times.iter().zip(&ds).filter(|(_, d)| d.allowed).map(|(t, _)| *t).collect();
        let t_us = p.interval_us() as i128;
        for (i, &start) in allowed.iter().enumerate() {
            for (j, &end) in allowed.iter().enumerate().skip(i) {
                let n = (j - i + 1) as i128;
                let span_us = (end - start) as i128 * 1000;
                prop_assert!(n <= burst as i128 + span_us / t_us,
                    "{n} allowed within {span_us} µs (burst {burst}, T {t_us} µs)");
            }
        }
        // A denial always comes with a positive Retry-After, an allowance with none.
        for d in &ds {
            prop_assert_eq!(d.allowed, d.retry_after_secs == 0);
            prop_assert!(d.remaining < burst || d.allowed && d.remaining <= burst);
        }
    }

    /// When exhausted, requests are denied until Retry-After has passed, and then one passes.
    #[test]
    fn denial_when_exhausted_and_recovery_after_retry_after(
        limit in 1u64..100,
        window in 1u64..60,
    ) {
        let p = policy(limit, window, limit);
        let now = 5_000_000i64;
        let mut tat = None;
        for _ in 0..limit {
            let d = decide(&p, tat, now);
            prop_assert!(d.allowed);
            tat = Some(d.tat_us);
        }
        let denied = decide(&p, tat, now);
        prop_assert!(!denied.allowed);
        let later = decide(&p, tat, now + denied.retry_after_secs as i64 * 1000);
        prop_assert!(later.allowed);
        // After the whole window, the whole burst again.
        let mut tat2 = tat;
        let back = now + window as i64 * 1000;
        for _ in 0..limit {
            let d = decide(&p, tat2, back);
            prop_assert!(d.allowed);
            tat2 = Some(d.tat_us);
        }
    }
}

#[test]
fn the_client_is_the_hop_the_trusted_proxies_added() {
    // One proxy: the rightmost hop, whatever the client put before it.
    assert_eq!(
        forwarded_client("198.18.0.1, 203.0.113.7", 1),
        Some("203.0.113.7")
    );
    assert_eq!(forwarded_client("203.0.113.7", 1), Some("203.0.113.7"));
    // Two proxies (a CDN, then a load balancer): the second hop from the right.
    assert_eq!(
        forwarded_client("198.18.0.1, 203.0.113.7, 10.0.0.5", 2),
        Some("203.0.113.7")
    );
    // Fewer hops than proxies: the leftmost.
    assert_eq!(forwarded_client("203.0.113.7", 3), Some("203.0.113.7"));
    assert_eq!(forwarded_client(" , ", 1), None);
    assert_eq!(forwarded_client("203.0.113.7", 0), None);
    // A hop with a port (Azure Application Gateway, IIS ARR) is the same client.
    assert_eq!(
        forwarded_client("198.18.0.1, 203.0.113.7:4711", 1),
        Some("203.0.113.7")
    );
    assert_eq!(
        forwarded_client("[2001:db8::1]:4711", 1),
        Some("2001:db8::1")
    );
    assert_eq!(forwarded_client("2001:db8::1", 1), Some("2001:db8::1"));
    assert_eq!(trusted_proxies(Some("true")), Some(1));
    assert_eq!(trusted_proxies(Some("false")), Some(0));
    assert_eq!(trusted_proxies(None), Some(0));
    assert_eq!(trusted_proxies(Some(" 2 ")), Some(2));
    assert_eq!(trusted_proxies(Some("yes")), None);
    assert_eq!(trusted_proxies(Some("True")), None);
}

#[test]
fn a_stored_policy_at_the_largest_values_it_may_hold_is_decided_without_overflow() {
    // What `build` takes at most (a stored policy, maxima unchecked), decided with a clock of
    // 2070: every arrival time stays within an i64 and exact in the Lua script's doubles.
    let now_ms = 3_155_760_000_000;
    for (limit, window_secs) in [
        (1_000_000_000_000_000_u64, 1_u64),
        (1, 1_000_000_000),
        (1_000_000_000_000_000, 1_000_000_000),
    ] {
        let input: PolicyInput = serde_json::from_value(serde_json::json!({
            "name": "p", "key": "ip", "limit": limit, "window_secs": window_secs,
        }))
        .unwrap();
        let p = input.build().unwrap();
        let first = decide(&p, None, now_ms);
        assert!(first.allowed, "{limit}/{window_secs}");
        let second = decide(&p, Some(first.tat_us), now_ms);
        assert!(second.tat_us >= first.tat_us, "{limit}/{window_secs}");
        assert!(
            second.tat_us < 1_i64 << 52,
            "{limit}/{window_secs}: {}",
            second.tat_us
        );
    }
    for raw in [
        r#"{"name": "p", "key": "ip", "limit": 1000000000000001, "window_secs": 1}"#,
        r#"{"name": "p", "key": "ip", "limit": 1, "window_secs": 1000000001}"#,
    ] {
        let input: PolicyInput = serde_json::from_str(raw).unwrap();
        assert!(input.build().is_err(), "{raw}");
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use super::*;

/// The `[variables]` of a manifest at the workspace's root: name → default.
fn manifest_defaults(file: &str) -> BTreeMap<String, String> {
    let path = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect(&path);
    let doc: toml::Table = text.parse().expect(&path);
    doc["variables"]
        .as_table()
        .expect("a [variables] table")
        .iter()
        .map(|(name, v)| {
            let default = v.get("default").and_then(|d| d.as_str()).unwrap_or("");
            (name.clone(), default.to_owned())
        })
        .collect()
}

#[test]
fn the_table_is_every_variable_the_manifests_declare_with_their_defaults() {
    let table: BTreeMap<&str, &str> = VARIABLES.iter().map(|r| (r.name(), r.default())).collect();
    assert_eq!(table.len(), VARIABLES.len(), "a name twice in the table");
    let mut declared = BTreeMap::new();
    for file in ["spin.toml", "spin-worker.toml", "spin-p3.toml"] {
        for (name, default) in manifest_defaults(file) {
            if MANIFEST_ONLY.contains(&name.as_str()) {
                continue;
            }
            let row = table.get(name.as_str()).copied();
            assert_eq!(
                row,
                Some(default.as_str()),
                "{file} declares '{name}' with the default '{default}': the table must say the same"
            );
            declared.insert(name, file);
        }
    }
    for name in table.keys() {
        assert!(
            declared.contains_key(*name),
            "'{name}' is in the table but no manifest declares it"
        );
    }
}

#[test]
fn every_default_is_a_value_its_variable_takes() {
    for row in VARIABLES {
        assert!(
            row.default_is_taken(),
            "'{}': '{}'",
            row.name(),
            row.default()
        );
    }
}

#[test]
fn unset_and_empty_take_the_default_and_a_bad_value_is_misconfigured() {
    assert_eq!(WEBHOOK_TIMEOUT.value(None).unwrap(), 15_000);
    assert_eq!(WEBHOOK_TIMEOUT.value(Some("  ")).unwrap(), 15_000);
    assert_eq!(WEBHOOK_TIMEOUT.value(Some("2s")).unwrap(), 2_000);
    for bad in ["2 s", "90s", "50ms", "soon"] {
        let e = WEBHOOK_TIMEOUT.value(Some(bad)).unwrap_err();
        assert_eq!(e.slug(), "misconfigured", "{bad}");
        assert!(e.to_string().contains("'webhook_timeout'"), "{e}");
    }
    assert!(WEBHOOK_ALLOW_PRIVATE.value(Some("10.0.0.0/33")).is_err());
    assert!(METRICS_ALLOW_FROM.value(Some("localhost")).is_err());
    assert!(BEHIND_TRUSTED_PROXY.value(Some("yes")).is_err());
    assert_eq!(BEHIND_TRUSTED_PROXY.value(Some("2")).unwrap(), 2);
    assert!(INBOX_RECLAIM_AFTER_MS.value(Some("30 s")).is_err());
    assert!(LIVE_MAX_SECS.value(Some("0")).is_err());
    assert!(LIVE_MAX_SECS.value(Some("3601")).is_err());
    assert!(LIVE_PUBLISH_INTERVAL_MS.value(Some("2001")).is_err());
    assert!(PUSH_PUBLISH_URL.value(Some("ftp://tier")).is_err());
    assert_eq!(PUSH_PUBLISH_URL.value(None).unwrap(), None);
    assert_eq!(
        PUSH_PUBLISH_URL
            .value(Some("http://tier/pub/"))
            .unwrap()
            .as_deref(),
        Some("http://tier/pub")
    );
    assert!(WEBHOOK_RETRY_SCHEDULE.value(Some("1s,,2x")).is_err());
    assert_eq!(METRICS.value(None).unwrap(), 100);
    assert_eq!(METRICS.value(Some("on")).unwrap(), 1);
    assert_eq!(METRICS.value(Some("off")).unwrap(), 0);
    assert_eq!(METRICS.value(Some("1/10")).unwrap(), 10);
    assert!(METRICS.value(Some("1/0")).is_err());
    assert!(METRICS.value(Some("sometimes")).is_err());
    assert_eq!(
        WEBHOOK_RETRY_SCHEDULE.value(Some("1s,2s")).unwrap(),
        vec![1_000, 2_000]
    );
}

#[test]
fn the_live_bundle_takes_its_parts_and_refuses_a_bad_one() {
    let live = components::live_from;
    let p = live("").unwrap();
    assert_eq!((p.max_secs, p.heartbeat_secs, p.max_streams), (55, 15, 500));
    let p = live("5|30|2").unwrap();
    assert_eq!(
        (p.max_secs, p.heartbeat_secs, p.max_streams),
        (5, 5, 2),
        "a heartbeat longer than a stream is the stream's length"
    );
    let e = live("5|1|none").unwrap_err();
    assert!(e.to_string().contains("'live_max_streams'"), "{e}");
    assert!(live("0|1|1").is_err());
}

#[test]
fn the_cores_defaults_are_the_tables() {
    let live = leaderboard::http::live::LivePolicy::default();
    assert_eq!(
        (live.max_secs, live.heartbeat_secs, live.max_streams),
        (
            LIVE_MAX_SECS.value(None).unwrap(),
            LIVE_HEARTBEAT_SECS.value(None).unwrap(),
            LIVE_MAX_STREAMS.value(None).unwrap()
        )
    );
    assert_eq!(
        leaderboard::http::push::DEFAULT_INTERVAL_MS,
        LIVE_PUBLISH_INTERVAL_MS.value(None).unwrap()
    );
}

#[test]
fn every_part_of_a_bundle_is_a_row() {
    for (bundle, parts) in crate::platform::BUNDLES {
        for part in *parts {
            assert!(
                VARIABLES.iter().any(|r| r.name() == *part),
                "{bundle}'s part '{part}' is no row of the table"
            );
        }
    }
}

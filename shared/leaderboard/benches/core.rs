//! Criterion benchmarks of the hot paths of the leaderboard core.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use leaderboard::board::config::Operator;
use leaderboard::board::cursor::{self, Cursor, CursorBinding};
use leaderboard::board::period::{self, PeriodKind};
use leaderboard::{
    Board, BoardConfigInput, BoardId, PlayerId, Record, SortOrder, Submission, TenantId, apply,
    board::sortkey,
};

fn board(json: serde_json::Value) -> Board {
    serde_json::from_value::<BoardConfigInput>(json)
        .unwrap()
        .validate()
        .unwrap()
}

const NOW: i64 = 1_795_000_000_000; // 2026-11

fn bench_sortkey(c: &mut Criterion) {
    let b = board(serde_json::json!({"id": "race", "sort": "asc", "subscore": {"max": 1000}}));
    let player = PlayerId::new("player-12345").unwrap();
    c.bench_function("sortkey/encode+decode", |bench| {
        bench.iter(|| {
            let key = sortkey::encode(&b, black_box(123_456), Some(42), NOW, &player).unwrap();
            let (score, sub) = sortkey::decode_rank_value(&b, key.rank_value).unwrap();
            let (at, p) = sortkey::decode_member(&key.member).unwrap();
            black_box((score, sub, at, p))
        });
    });
    c.bench_function("sortkey/parse_redis_score", |bench| {
        bench.iter(|| sortkey::parse_redis_score(black_box("1.2345678e+15")).unwrap());
    });
}

fn bench_operator(c: &mut Criterion) {
    let prev = Record {
        score: 500,
        subscore: None,
        achieved_at_ms: NOW - 1000,
        updated_at_ms: NOW - 1000,
        metadata: Some(serde_json::json!({"name": "Alice"})),
        submissions: 7,
    };
    let best = board(serde_json::json!({"id": "b"}));
    let incr = board(serde_json::json!({"id": "b", "operator": "incr"}));
    assert_eq!(incr.operator, Operator::Incr);
    let sub = Submission {
        score: 700,
        subscore: None,
        metadata: None,
        band: None,
    };
    c.bench_function("operator/apply best", |bench| {
        bench.iter(|| apply(&best, Some(black_box(&prev)), &sub, NOW).unwrap());
    });
    c.bench_function("operator/apply incr", |bench| {
        bench.iter(|| apply(&incr, Some(black_box(&prev)), &sub, NOW).unwrap());
    });
}

fn bench_period(c: &mut Criterion) {
    for (name, kind) in [
        ("weekly", PeriodKind::Weekly),
        ("monthly", PeriodKind::Monthly),
    ] {
        c.bench_function(&format!("period/{name} id+next_reset"), |bench| {
            bench.iter(|| {
                let id = period::period_id(kind, black_box(NOW)).unwrap();
                let reset = period::next_reset_ms(kind, black_box(NOW)).unwrap();
                black_box((id, reset))
            });
        });
    }
}

fn bench_cursor(c: &mut Criterion) {
    let tenant = TenantId::default();
    let board = BoardId::new("race").unwrap();
    let period = period::period_id(PeriodKind::Weekly, NOW).unwrap();
    let binding = CursorBinding {
        tenant: &tenant,
        board: &board,
        period: &period,
        sort: SortOrder::Desc,
        cohort: None,
    };
    let cur = Cursor {
        rank_value: 123_456_789,
        member: "0000000000005player-12345".into(),
        rank: 51,
    };
    c.bench_function("cursor/encode+decode", |bench| {
        bench.iter(|| {
            let text = cursor::encode(&binding, black_box(&cur));
            cursor::decode(&binding, &text).unwrap()
        });
    });
}

/// A flag evaluation as OFREP serves it: a fractional split by targeting key, and a rule that
/// reads the context (`in`, `sem_ver`, `starts_with`), on a parsed document.
fn bench_flags(c: &mut Criterion) {
    let doc = serde_json::json!({"flags": {
        "split": {"state": "ENABLED", "variants": {"on": true, "off": false},
            "defaultVariant": "off", "targeting": {"fractional": [["on", 20], ["off", 80]]}},
        "rule": {"state": "ENABLED", "variants": {"new": "new", "old": "old"},
            "defaultVariant": "old", "targeting": {"if": [{"and": [
                {"in": [{"var": "country"}, ["de", "at", "ch"]]},
                {"sem_ver": [{"var": "app_version"}, ">=", "2.3.0"]},
                {"starts_with": [{"var": "email"}, "beta-"]}]}, "new", "old"]}}}});
    let set = leaderboard::policy::flags::FlagSet::parse(&doc).unwrap();
    let context = serde_json::json!({"targetingKey": "player-42", "country": "de",
        "app_version": "2.4.1", "email": "beta-ann@example.com"});
    let context = context.as_object().unwrap();
    for key in ["split", "rule"] {
        c.bench_function(&format!("flags/evaluate {key}"), |bench| {
            bench.iter(|| set.evaluate(black_box(key), context, 1_795_000_000, None));
        });
    }
}

/// Placing a request by the app's route table, as each request does (`routes::of_path`: the
/// table matched as it is, nothing built first), and by a router built of it (edge-host's, for
/// a manifest).
fn bench_routes(c: &mut Criterion) {
    use leaderboard::http::routes::{ROUTES, Router, of_path};
    let path = "/api/v1/boards/arena/scores";
    c.bench_function("routes/of_path", |bench| {
        bench.iter(|| of_path(black_box(path)));
    });
    let router = Router::build(ROUTES.iter().copied()).unwrap();
    c.bench_function("routes/router", |bench| {
        bench.iter(|| router.route(black_box(path)));
    });
}

criterion_group!(
    benches,
    bench_routes,
    bench_sortkey,
    bench_operator,
    bench_period,
    bench_cursor,
    bench_flags
);
criterion_main!(benches);

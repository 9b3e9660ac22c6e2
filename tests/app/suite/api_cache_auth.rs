//! Edge caching (MISS/HIT/invalidation/304), JWT failures, tenants, and period rollover.

use std::time::Duration;

use edge_host::HostConfig;
use reqwest::Method;
use serde_json::json;

use crate::api::{Api, Kv, SECRET, now_secs, player, rows, start, start_on_kv, start_with, token};

/// Read-your-writes through the regional cache, on the shipped KV store (Spin's SQLite store,
/// where keeping the version as an incremented counter broke it on real Spin) and on Spin's Redis
/// store.
#[tokio::test(flavor = "multi_thread")]
async fn cache_miss_hit_invalidation_and_304_on_sqlite_kv() {
    cache_miss_hit_invalidation_and_304(Kv::Shipped).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_miss_hit_invalidation_and_304_on_redis_kv() {
    if harness::cluster_three() {
        eprintln!("skipped: Spin's Redis KV store here is on database 1, which a cluster has not");
        return;
    }
    cache_miss_hit_invalidation_and_304(Kv::Redis).await;
}

async fn cache_miss_hit_invalidation_and_304(kv: Kv) {
    let mut api = start_on_kv(kv, &[], HostConfig::default()).await;
    api.create_board(
        json!({"id": "arena", "public_read": true, "cache": {"ttl_secs": 60, "stale_secs": 120}}),
    )
    .await;
    api.submit_ok("arena", "ann", json!(10)).await;
    let path = "/api/v1/boards/arena/entries";
    let miss = api.get(path, None).await;
    assert_eq!(miss.header("x-cache"), "MISS");
    assert_eq!(
        miss.header("cache-control"),
        "public, max-age=0, s-maxage=60, stale-while-revalidate=120"
    );
    let etag = miss.header("etag").to_string();
    assert!(etag.starts_with('"'));
    let hit = api.get(path, None).await;
    assert_eq!(hit.header("x-cache"), "HIT");
    assert_eq!(hit.body, miss.body);

    // Conditional request: 304 without a body.
    let r = api
        .call(Method::GET, path, None, None, &[("if-none-match", &etag)])
        .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), etag);

    // A write in this region invalidates: the next read reflects it (read-your-writes).
    api.submit_ok("arena", "bob", json!(20)).await;
    let after = api.get(path, None).await;
    assert_eq!(after.header("x-cache"), "MISS");
    assert_eq!(after.body["total"], 2);
    assert_ne!(after.header("etag"), etag);
    let r = api
        .call(Method::GET, path, None, None, &[("if-none-match", &etag)])
        .await;
    assert_eq!(r.status, 200, "old ETag no longer matches");

    // With Redis gone, a fresh cached page still answers: a HIT needs no Redis at all (when the
    // cache is not on that same Redis).
    if kv == Kv::Redis {
        api.stop().await;
        return;
    }
    api.redis.kill();
    let r = api.get(path, None).await;
    assert_eq!(r.header("x-cache"), "HIT");
    assert_eq!(r.body["total"], 2);
    api.stop().await;
}

/// Stale-if-error, on real time (no test clock, so it runs on Spin too): past its TTL a cached
/// page is served as `STALE` only while Redis cannot answer; other reads fail fast with a 503.
#[tokio::test(flavor = "multi_thread")]
async fn stale_if_error_serves_expired_pages_only_while_redis_is_down() {
    if harness::cluster_three() {
        eprintln!(
            "skipped: it stops Redis, one node of six on a cluster (the cluster's failover: api_cluster)"
        );
        return;
    }
    let mut api = start().await;
    api.create_board(
        json!({"id": "arena", "public_read": true, "cache": {"ttl_secs": 1, "stale_secs": 120}}),
    )
    .await;
    api.submit_ok("arena", "ann", json!(10)).await;
    let path = "/api/v1/boards/arena/entries";
    let miss = api.get(path, None).await;
    assert_eq!(miss.header("x-cache"), "MISS");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // Expired and Redis up: recomputed.
    assert_eq!(api.get(path, None).await.header("x-cache"), "MISS");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    api.redis.kill();
    let r = api.get(path, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-cache"), "STALE");
    assert_eq!(r.body, miss.body);
    assert_eq!(r.header("etag"), miss.header("etag"));
    // Uncached reads fail cleanly with 503 and Retry-After.
    let r = api.get("/api/v1/boards/arena/players/ann", None).await;
    r.assert_problem(503, "redis");
    assert_eq!(r.header("retry-after"), "1");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn private_boards_need_a_token_and_are_not_cdn_cacheable() {
    let api = start().await;
    api.create_board(json!({"id": "secret-league"})).await;
    api.get("/api/v1/boards/secret-league/entries", None)
        .await
        .assert_problem(401, "not public");
    let r = api
        .get("/api/v1/boards/secret-league/entries", Some(&player("ann")))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), "private, no-cache");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_auth_failure_is_a_401_or_403_problem() {
    let api = start_with(
        &[
            ("jwt_audience", "leaderboards"),
            ("jwt_issuer", "https://auth.example"),
        ],
        HostConfig::default(),
    )
    .await;
    let mint =
        |claims: serde_json::Value| edge::auth::testing::mint_hs256(SECRET, &claims.to_string());
    let good = json!({"sub": "ops", "roles": ["admin"], "aud": "leaderboards",
        "iss": "https://auth.example", "exp": now_secs() + 600});
    let create = |tok: Option<String>| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/boards",
                tok.as_deref(),
                Some(json!({"id": "b1"})),
                &[],
            )
            .await
        }
    };
    create(None).await.assert_problem(401, "Bearer");
    let r = create(Some("not.a.token".into())).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), "Bearer");
    // Bad signature: signed with another secret.
    let other = edge::auth::testing::mint_hs256(&"x".repeat(64), &good.to_string());
    create(Some(other)).await.assert_problem(401, "signature");
    // alg mismatch: the header claims RS256 but the token is an HMAC.
    let hs = mint(good.clone());
    let mut parts: Vec<&str> = hs.split('.').collect();
    let header = base64_url(r#"{"alg":"RS256","typ":"JWT"}"#);
    parts[0] = &header;
    create(Some(parts.join(".")))
        .await
        .assert_problem(401, "alg");
    // Expired.
    let mut expired = good.clone();
    expired["exp"] = json!(now_secs() - 3600);
    create(Some(mint(expired)))
        .await
        .assert_problem(401, "expired");
    // Wrong audience; wrong issuer.
    let mut aud = good.clone();
    aud["aud"] = json!("someone-else");
    create(Some(mint(aud))).await.assert_problem(401, "aud");
    let mut iss = good.clone();
    iss["iss"] = json!("https://evil.example");
    create(Some(mint(iss))).await.assert_problem(401, "iss");
    // The good token works.
    let r = create(Some(mint(good.clone()))).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // A player submitting for someone else.
    let mut p = good.clone();
    p["sub"] = json!("ann");
    p["roles"] = json!(["player"]);
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/b1/scores",
            Some(&mint(p)),
            Some(json!({"player": "bob", "score": 1})),
            &[],
        )
        .await;
    r.assert_problem(403, "own subject");

    // A token of another tenant cannot reach this tenant's board.
    let mut t = good.clone();
    t["tid"] = json!("acme");
    let acme = mint(t);
    let r = api
        .call(
            Method::GET,
            "/api/v1/boards/b1",
            Some(&acme),
            None,
            &[("x-tenant", "default")],
        )
        .await;
    r.assert_problem(403, "acme");
    api.get("/api/v1/boards/b1", Some(&acme))
        .await
        .assert_problem(404, "b1");
    api.stop().await;
}

/// Private JWKs of every asymmetric algorithm and the JWKS of their public halves.
struct Jwks {
    ed: String,
    ed_other: String,
    ec: String,
    rsa: String,
    public: String,
}

impl Jwks {
    fn generate() -> Self {
        use jwt_compact::Algorithm;
        use jwt_compact::alg::{Ed25519, Es256, ModulusBits, Rsa};
        use jwt_compact::jwk::JsonWebKey;
        use rand_core::OsRng;
        let text = |jwk: JsonWebKey<'_>| serde_json::to_string(&jwk).unwrap();
        let (ed, _) = Ed25519::generate(&mut OsRng);
        let (ed_other, _) = Ed25519::generate(&mut OsRng);
        let ec = <Es256 as Algorithm>::SigningKey::random(&mut OsRng);
        let (rsa, _) = Rsa::generate(&mut OsRng, ModulusBits::TwoKibibytes).unwrap();
        let (ed, ed_other, ec, rsa) = (
            text(JsonWebKey::from(&ed)),
            text(JsonWebKey::from(&ed_other)),
            text(JsonWebKey::from(&ec)),
            text(JsonWebKey::from(rsa.as_ref())),
        );
        let public = edge::auth::testing::public_jwks(&[("ed", &ed), ("ec", &ec), ("rsa", &rsa)]);
        Self {
            ed,
            ed_other,
            ec,
            rsa,
            public,
        }
    }
}

/// The subjects of the token verdicts in the KV store, each checked to carry its token's whole
/// digest.
fn cached_verdicts(api: &Api) -> Vec<String> {
    let db = rusqlite::Connection::open(api.kv_db()).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT value FROM spin_key_value WHERE store = 'default' AND key LIKE 'auth:jwt:%'",
        )
        .unwrap();
    let mut subjects: Vec<String> = stmt
        .query_map([], |row| row.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|v| {
            let v: serde_json::Value = serde_json::from_slice(&v.unwrap()).unwrap();
            assert_eq!(v["digest"].as_str().map(str::len), Some(64), "{v}");
            v["principal"]["subject"].as_str().unwrap().to_string()
        })
        .collect();
    subjects.sort();
    subjects
}

/// Tokens signed with JWKS keys — EdDSA, ES256 and RS256 — are verified by the tokens component
/// over service chaining (the API components link only HS256), each verdict cached in the KV
/// store under its digest; every refusal is a 401 saying why, and HS256 tokens still verify.
#[tokio::test(flavor = "multi_thread")]
async fn jwks_tokens_of_every_algorithm_are_verified_by_the_tokens_component() {
    let keys = Jwks::generate();
    let api = start_with(
        &[
            ("jwt_jwks", keys.public.as_str()),
            ("jwt_audience", "leaderboards"),
        ],
        HostConfig::default(),
    )
    .await;
    let mint = |jwk: &str, kid: &str, claims: serde_json::Value| {
        edge::auth::testing::mint_with_jwk(jwk, Some(kid), &claims.to_string())
    };
    let good = |sub: &str| json!({"sub": sub, "roles": ["admin"], "aud": "leaderboards", "exp": now_secs() + 600});
    for (kid, jwk) in [("ed", &keys.ed), ("ec", &keys.ec), ("rsa", &keys.rsa)] {
        let tok = mint(jwk, kid, good(&format!("ops-{kid}")));
        let board = format!("b-{kid}");
        let r = api
            .call(
                Method::POST,
                "/api/v1/boards",
                Some(&tok),
                Some(json!({"id": board})),
                &[],
            )
            .await;
        assert_eq!(r.status, 201, "{kid}: {}", r.body);
        // The same token again: the cached verdict.
        let r = api
            .get(&format!("/api/v1/boards/{board}"), Some(&tok))
            .await;
        assert_eq!(r.status, 200, "{kid}: {}", r.body);
        assert_eq!(r.body["id"], board.as_str());
        // Its verdict, under its slot, with its subject: checked now, as the slot's last write
        // (the store keeps 4,096 slots, so a later token of this test may, rarely, take the
        // same slot and overwrite it: `auth::delegate`'s design, not a lost verdict).
        let subjects = cached_verdicts(&api);
        assert!(
            subjects.contains(&format!("ops-{kid}")),
            "{kid}: cached {subjects:?}"
        );
    }
    // One verdict per token at most (the slots the three took).
    let subjects = cached_verdicts(&api);
    assert!(
        (1..=3).contains(&subjects.len())
            && subjects
                .iter()
                .all(|s| ["ops-ec", "ops-ed", "ops-rsa"].contains(&s.as_str())),
        "{subjects:?}"
    );

    let create = |tok: String| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/boards",
                Some(&tok),
                Some(json!({"id": "refused"})),
                &[],
            )
            .await
        }
    };
    // Signed by another key under a known kid; an unknown kid; wrong audience; expired.
    create(mint(&keys.ed_other, "ed", good("x")))
        .await
        .assert_problem(401, "signature");
    create(mint(&keys.ec, "nope", good("x")))
        .await
        .assert_problem(401, "unknown key id 'nope'");
    let mut aud = good("x");
    aud["aud"] = json!("someone-else");
    create(mint(&keys.rsa, "rsa", aud))
        .await
        .assert_problem(401, "aud");
    let mut expired = good("x");
    expired["exp"] = json!(now_secs() - 3600);
    create(mint(&keys.ed, "ed", expired))
        .await
        .assert_problem(401, "expired");
    // HS256 tokens signed with the secret are verified by the API component itself.
    let hs = edge::auth::testing::mint_hs256(SECRET, &good("ops").to_string());
    let r = api.get("/api/v1/boards/b-ed", Some(&hs)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    api.stop().await;
}

fn base64_url(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_are_isolated() {
    let api = start().await;
    let acme_admin = token("root", &["admin"], Some("acme"));
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&acme_admin),
            Some(json!({"id": "arena", "public_read": true})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201);
    api.create_board(json!({"id": "arena", "public_read": true}))
        .await;
    api.submit_ok("arena", "ann", json!(5)).await;
    let r = api
        .call(
            Method::GET,
            "/api/v1/boards/arena/entries",
            None,
            None,
            &[("x-tenant", "acme")],
        )
        .await;
    assert_eq!(r.body["total"], 0, "acme's arena is a different board");
    let r = api.get("/api/v1/boards/arena/entries", None).await;
    assert_eq!(r.body["total"], 1);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn period_rollover_keeps_the_previous_period_readable() {
    let api = start().await;
    api.create_board(
        json!({"id": "daily", "period": "daily", "retain_periods": 1, "public_read": true}),
    )
    .await;
    api.submit_ok("daily", "ann", json!(10)).await;
    let before = api.get("/api/v1/boards/daily/entries", None).await;
    let day1 = before.body["period"]["id"].as_str().unwrap().to_string();
    let reset = before.body["period"]["next_reset_ms"].as_i64().unwrap();
    assert_eq!(reset % 86_400_000, 0, "resets at midnight UTC");

    // The test clock moves the guests one day ahead (edge-host only: Spin has no test clock).
    if !api.app.set_clock_offset(Duration::from_secs(86_400), true) {
        eprintln!(
            "skipped on {}: needs the host's test clock",
            api.app.runtime_name()
        );
        api.stop().await;
        return;
    }
    let r = api.get("/api/v1/boards/daily/entries", None).await;
    let day2 = r.body["period"]["id"].as_str().unwrap().to_string();
    assert_ne!(day1, day2);
    assert_eq!(r.body["total"], 0, "a new period starts empty");
    api.submit_ok("daily", "bob", json!(3)).await;
    let r = api.get("/api/v1/boards/daily/entries", None).await;
    assert_eq!(rows(&r.body).len(), 1);
    assert_eq!(rows(&r.body)[0].0, "bob");
    // The previous period is still readable, by keyword and by id.
    let prev = api
        .get("/api/v1/boards/daily/entries?period=previous", None)
        .await;
    assert_eq!(prev.body["period"]["id"], day1.as_str());
    assert_eq!(rows(&prev.body)[0].0, "ann");
    let by_id = api
        .get(&format!("/api/v1/boards/daily/entries?period={day1}"), None)
        .await;
    assert_eq!(rows(&by_id.body)[0].0, "ann");
    // Two days on, day 1 is beyond retention.
    api.app
        .set_clock_offset(Duration::from_secs(2 * 86_400), true);
    api.get(&format!("/api/v1/boards/daily/entries?period={day1}"), None)
        .await
        .assert_problem(404, &day1);
    api.stop().await;
}

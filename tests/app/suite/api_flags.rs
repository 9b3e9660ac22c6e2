//! Feature flags through HTTP on the runtime under test: the admin document API (validation,
//! ETag / If-Match), OFREP single and bulk evaluation (status codes, bodies, 304), the product's
//! own flags (the submission kill switch, API v2 exposure) and tenant isolation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Reply, admin, player, service, start, token};

fn document() -> Value {
    json!({
        "$evaluators": {"is-staff": {"ends_with": [{"var": "email"}, "@faas.com"]}},
        "flags": {
            "new-ui": {"state": "ENABLED", "variants": {"on": true, "off": false},
                "defaultVariant": "off"},
            "greeting": {"state": "ENABLED", "variants": {"staff": "hi", "other": "bye"},
                "defaultVariant": "other", "metadata": {"owner": "growth"},
                "targeting": {"if": [{"$ref": "is-staff"}, "staff", null]}},
            "bucket": {"state": "ENABLED", "variants": {"lower": "lower", "upper": "upper"},
                "defaultVariant": "lower",
                "targeting": {"fractional": [{"var": "targetingKey"}, ["lower", 50], ["upper", 50]]}},
            "old": {"state": "DISABLED", "variants": {"a": 1, "b": 2}, "defaultVariant": "a"}
        }
    })
}

async fn put(api: &Api, doc: Value, if_match: Option<&str>, tok: &str) -> Reply {
    let headers: Vec<(&str, &str)> = if_match.map(|m| vec![("if-match", m)]).unwrap_or_default();
    api.call(Method::PUT, "/api/v1/flags", Some(tok), Some(doc), &headers)
        .await
}

async fn evaluate(api: &Api, key: &str, body: Value, tok: Option<&str>) -> Reply {
    api.call(
        Method::POST,
        &format!("/ofrep/v1/evaluate/flags/{key}"),
        tok,
        Some(body),
        &[],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_is_validated_and_versioned_with_etags() {
    let api = start().await;
    let r = api.get("/api/v1/flags", Some(&admin())).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"flags": {}}));
    assert_eq!(r.header("etag"), "\"0\"");

    let r = put(&api, document(), Some("\"0\""), &admin()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), "\"1\"");
    let r = api.get("/api/v1/flags", Some(&admin())).await;
    assert_eq!(r.body, document());
    assert_eq!(r.header("etag"), "\"1\"");

    // A writer that read version 0 is too late now.
    put(&api, document(), Some("\"0\""), &admin())
        .await
        .assert_problem(412, "changed");
    assert_eq!(
        put(&api, document(), Some("\"1\""), &admin())
            .await
            .header("etag"),
        "\"2\""
    );

    let mut bad = document();
    bad["flags"]["new-ui"]["defaultVariant"] = json!("maybe");
    put(&api, bad, None, &admin())
        .await
        .assert_problem(422, "defaultVariant \"maybe\" is not one of its variants");
    let mut bad = document();
    bad["flags"]["greeting"]["targeting"] = json!({"$ref": "nobody"});
    put(&api, bad, None, &admin())
        .await
        .assert_problem(422, "unknown evaluator 'nobody'");
    put(&api, document(), None, &service())
        .await
        .assert_problem(403, "");
    assert_eq!(
        api.get("/api/v1/flags", Some(&admin()))
            .await
            .header("etag"),
        "\"2\""
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ofrep_single_and_bulk_evaluation() {
    let api = start().await;
    assert_eq!(put(&api, document(), None, &admin()).await.status, 200);
    let ann = player("ann");

    let r = evaluate(&api, "new-ui", json!({"context": {}}), Some(&ann)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"key": "new-ui", "value": false, "variant": "off", "reason": "STATIC", "metadata": {}})
    );
    let r = evaluate(
        &api,
        "greeting",
        json!({"context": {"targetingKey": "ann", "email": "ross@faas.com"}}),
        Some(&ann),
    )
    .await;
    assert_eq!(
        r.body,
        json!({"key": "greeting", "value": "hi", "variant": "staff", "reason": "TARGETING_MATCH",
            "metadata": {"owner": "growth"}})
    );
    let r = evaluate(
        &api,
        "greeting",
        json!({"context": {"email": "x@y.z"}}),
        Some(&ann),
    )
    .await;
    assert_eq!(r.body["reason"], "DEFAULT");
    assert_eq!(r.body["value"], "bye");
    // The bucket flagd puts these keys in (hashes 2^31 - 1 and 2^31).
    for (key, want) in [("SI7p-", "lower"), ("6LvT0", "upper")] {
        let r = evaluate(
            &api,
            "bucket",
            json!({"context": {"targetingKey": key}}),
            Some(&ann),
        )
        .await;
        assert_eq!(r.body["value"], want, "{key}");
    }
    // A disabled flag is a successful evaluation without a value (flagd since May 2026): the
    // caller's code default applies.
    let r = evaluate(&api, "old", json!({}), Some(&ann)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["reason"], "DISABLED");
    assert!(r.body.get("value").is_none(), "{}", r.body);
    assert!(r.body.get("variant").is_none(), "{}", r.body);
    assert!(r.body.get("errorCode").is_none(), "{}", r.body);

    let r = evaluate(&api, "nope", json!({"context": {}}), Some(&ann)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["key"], "nope");
    assert_eq!(r.body["errorCode"], "FLAG_NOT_FOUND");
    let r = evaluate(&api, "new-ui", json!({"context": "everyone"}), Some(&ann)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errorCode"], "INVALID_CONTEXT");
    let r = evaluate(&api, "bucket", json!({"context": {}}), Some(&ann)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errorCode"], "TARGETING_KEY_MISSING");
    let r = evaluate(&api, "new-ui", json!({}), None).await;
    assert_eq!(r.status, 401);

    // Bulk: every flag, an ETag over the document version and the context, 304 when unchanged.
    let ctx = json!({"context": {"targetingKey": "6LvT0", "email": "a@faas.com"}});
    let r = api
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags",
            Some(&ann),
            Some(ctx.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let flags = r.body["flags"].as_array().unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["bucket", "greeting", "new-ui", "old"]);
    assert_eq!(flags[0]["value"], "upper");
    assert_eq!(flags[1]["value"], "hi");
    assert_eq!(flags[3]["reason"], "DISABLED");
    assert!(flags[3].get("value").is_none(), "{}", flags[3]);
    let tag = r.header("etag").to_string();
    assert!(tag.starts_with("\"1-"), "{tag}");
    let again = api
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags",
            Some(&ann),
            Some(ctx.clone()),
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(again.status, 304);
    let other_ctx = api
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags",
            Some(&ann),
            Some(json!({"context": {"targetingKey": "SI7p-"}})),
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(other_ctx.status, 200, "another context is another answer");
    assert_eq!(put(&api, document(), None, &admin()).await.status, 200);
    let changed = api
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags",
            Some(&ann),
            Some(ctx),
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(
        changed.status, 200,
        "a new document version is a new answer"
    );
    assert_ne!(changed.header("etag"), tag);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_submission_kill_switch_and_v2_exposure_follow_the_flags_without_a_redeploy() {
    let api = start().await;
    api.create_board(
        json!({"id": "arena", "public_read": true, "cache": {"ttl_secs": 0, "stale_secs": 0}}),
    )
    .await;
    api.submit_ok("arena", "ann", json!(5)).await;
    let switch = |on: bool, v2: bool| {
        json!({"flags": {
            "submissions-enabled": {"state": "ENABLED", "variants": {"on": true, "off": false},
                "defaultVariant": if on { "on" } else { "off" }},
            "api-v2-enabled": {"state": "ENABLED", "variants": {"on": true, "off": false},
                "defaultVariant": if v2 { "on" } else { "off" }}
        }})
    };
    assert_eq!(
        put(&api, switch(false, true), None, &admin()).await.status,
        200
    );
    let r = api
        .submit("arena", json!({"player": "bob", "score": 3}))
        .await;
    r.assert_problem(503, "submissions-enabled");
    assert_eq!(r.header("retry-after"), "30");
    // Reads go on.
    assert_eq!(
        api.get("/api/v2/boards/arena/entries", None).await.status,
        200
    );

    assert_eq!(
        put(&api, switch(true, false), None, &admin()).await.status,
        200
    );
    assert!(
        api.submit("arena", json!({"player": "bob", "score": 3}))
            .await
            .status
            .is_success()
    );
    api.get("/api/v2/boards/arena/entries", None)
        .await
        .assert_problem(404, "API v2 is not enabled");
    let v1 = api.get("/api/v1/boards/arena/entries", None).await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.body["total"], 2);

    // Targeted by the caller (evaluated by the flags component over service chaining): players'
    // submissions off, the game server's on.
    let targeted = json!({"flags": {"submissions-enabled": {"state": "ENABLED",
        "variants": {"on": true, "off": false}, "defaultVariant": "on",
        "targeting": {"if": [{"in": ["player", {"var": "roles"}]}, "off", "on"]}}}});
    assert_eq!(put(&api, targeted, None, &admin()).await.status, 200);
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/arena/scores",
            Some(&player("cat")),
            Some(json!({"player": "cat", "score": 1})),
            &[],
        )
        .await;
    r.assert_problem(503, "submissions-enabled");
    let r = api
        .submit("arena", json!({"player": "cat", "score": 1}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_flags_are_its_own() {
    let api = start().await;
    assert_eq!(put(&api, document(), None, &admin()).await.status, 200);
    let acme_admin = token("boss", &["admin"], Some("acme"));
    let acme_player = token("zoe", &["player"], Some("acme"));
    // acme sees none of the default tenant's flags and cannot reach them with X-Tenant.
    let r = evaluate(&api, "new-ui", json!({"context": {}}), Some(&acme_player)).await;
    assert_eq!(r.status, 404);
    let r = api
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags/new-ui",
            Some(&acme_player),
            Some(json!({})),
            &[("x-tenant", "default")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = api.get("/api/v1/flags", Some(&acme_admin)).await;
    assert_eq!(r.body, json!({"flags": {}}));
    let r = api
        .call(
            Method::GET,
            "/api/v1/flags",
            Some(&acme_admin),
            None,
            &[("x-tenant", "default")],
        )
        .await;
    assert_eq!(r.status, 403);
    api.stop().await;
}

/// A board without cached reads skips the write's KV invalidation, unless the tenant's
/// `read-cache-ttl-secs` flag caches its reads anyway: then a write still drops the copy.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_drops_the_flag_cached_reads_of_an_uncached_board() {
    let api = start().await;
    api.create_board(json!({"id": "cold", "public_read": true,
        "cache": {"ttl_secs": 0, "stale_secs": 0}}))
        .await;
    api.submit_ok("cold", "ann", json!(5)).await;
    let read = || api.get("/api/v1/boards/cold/entries", None);
    assert_eq!(read().await.header("x-cache"), "MISS");
    assert_eq!(
        read().await.header("x-cache"),
        "MISS",
        "ttl 0: never cached"
    );

    let flag = json!({"flags": {"read-cache-ttl-secs": {"state": "ENABLED",
        "variants": {"long": 120}, "defaultVariant": "long"}}});
    assert_eq!(put(&api, flag, None, &admin()).await.status, 200);
    assert_eq!(read().await.header("x-cache"), "MISS");
    let cached = read().await;
    assert_eq!(cached.header("x-cache"), "HIT", "the flag's TTL caches it");
    assert_eq!(cached.body["entries"].as_array().map(Vec::len), Some(1));

    api.submit_ok("cold", "bob", json!(7)).await;
    let after = read().await;
    assert_eq!(
        after.header("x-cache"),
        "MISS",
        "the write dropped the copy"
    );
    assert_eq!(after.body["entries"][0]["player"], "bob", "{}", after.body);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_read_cache_ttl_follows_its_flag() {
    let api = start().await;
    api.create_board(json!({"id": "hall", "public_read": true,
        "cache": {"ttl_secs": 600, "stale_secs": 60}}))
        .await;
    api.submit_ok("hall", "ann", json!(5)).await;
    let first = api.get("/api/v1/boards/hall/entries", None).await;
    assert!(
        first.header("cache-control").contains("s-maxage=600"),
        "{:?}",
        first.headers
    );
    assert_eq!(
        api.get("/api/v1/boards/hall/entries", None)
            .await
            .header("x-cache"),
        "HIT"
    );

    let ttl = |secs: u64| {
        json!({"flags": {"read-cache-ttl-secs": {"state": "ENABLED",
            "variants": {"short": secs, "long": 600}, "defaultVariant": "short"}}})
    };
    assert_eq!(put(&api, ttl(0), None, &admin()).await.status, 200);
    // A write drops the cached copies; what is computed from now on follows the flag.
    api.submit_ok("hall", "bob", json!(4)).await;
    for _ in 0..2 {
        let r = api.get("/api/v1/boards/hall/entries", None).await;
        assert_eq!(r.header("x-cache"), "MISS", "ttl 0: never cached");
        assert!(
            r.header("cache-control").contains("s-maxage=0"),
            "{:?}",
            r.headers
        );
    }
    assert_eq!(put(&api, ttl(120), None, &admin()).await.status, 200);
    api.submit_ok("hall", "cat", json!(3)).await;
    let r = api.get("/api/v1/boards/hall/entries", None).await;
    assert!(
        r.header("cache-control").contains("s-maxage=120"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        api.get("/api/v1/boards/hall/entries", None)
            .await
            .header("x-cache"),
        "HIT"
    );
    api.stop().await;
}

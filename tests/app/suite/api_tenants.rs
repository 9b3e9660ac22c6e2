//! Tenant settings through HTTP on the runtime under test: the platform role manages them, quotas
//! are enforced and named (boards, players per board, submissions per second), the default
//! `public_read`, per-tenant rate-limit policies, usage, and isolation between tenants.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Reply, admin, start, token};

fn platform() -> String {
    token("ops-platform", &["platform"], None)
}

async fn put_settings(api: &Api, tenant: &str, settings: Value, tok: &str) -> Reply {
    api.call(
        Method::PUT,
        &format!("/api/v1/tenants/{tenant}"),
        Some(tok),
        Some(settings),
        &[],
    )
    .await
}

async fn as_tenant(api: &Api, method: Method, path: &str, tok: &str, body: Option<Value>) -> Reply {
    api.call(method, path, Some(tok), body, &[]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn quotas_defaults_and_policies_of_a_tenant() {
    let api = start().await;
    let acme_admin = token("boss", &["admin"], Some("acme"));
    let acme_service = token("game", &["service"], Some("acme"));
    let settings = json!({"max_boards": 2, "max_players_per_board": 2, "submissions_per_sec": 5,
        "default_public_read": true,
        "rate_limits": [{"name": "acme-read", "key": "ip", "classes": ["read"], "limit": 3,
            "window_secs": 3600}]});

    // Only the platform role writes settings; a tenant's admin reads its own.
    put_settings(&api, "acme", settings.clone(), &acme_admin)
        .await
        .assert_problem(403, "'platform' role");
    put_settings(&api, "acme", json!({"max_boards": 0}), &platform())
        .await
        .assert_problem(422, "max_boards 0 is out of range");
    let r = put_settings(&api, "acme", settings.clone(), &platform()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.get("/api/v1/tenants/acme", Some(&acme_admin)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["settings"]["max_boards"], 2);
    api.get("/api/v1/tenants/acme", Some(&admin()))
        .await
        .assert_problem(403, "tenant 'acme'");

    // max_boards, and the default public_read.
    for id in ["one", "two"] {
        let r = as_tenant(
            &api,
            Method::POST,
            "/api/v1/boards",
            &acme_admin,
            Some(json!({"id": id, "operator": "incr"})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["public_read"], true, "the tenant's default");
    }
    let r = as_tenant(
        &api,
        Method::POST,
        "/api/v1/boards",
        &acme_admin,
        Some(json!({"id": "three"})),
    )
    .await;
    r.assert_problem(403, "max_boards (2)");
    assert_eq!(r.body["quota"], "max_boards");
    assert_eq!(
        r.body["type"],
        "https://leaderboard.dev/problems/quota-exceeded"
    );

    // max_players_per_board: a third player is refused, known players go on.
    let submit = |player: &'static str| {
        let (api, tok) = (&api, acme_service.clone());
        async move {
            as_tenant(
                api,
                Method::POST,
                "/api/v1/boards/one/scores",
                &tok,
                Some(json!({"player": player, "score": 1})),
            )
            .await
        }
    };
    assert!(submit("ann").await.status.is_success());
    assert!(submit("bob").await.status.is_success());
    let r = submit("cat").await;
    r.assert_problem(403, "max_players_per_board (2)");
    assert_eq!(r.body["quota"], "max_players_per_board");

    // submissions_per_sec: a burst of 12 lets about 5 through, the rest get 429 naming it.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (http, url, tok) = (
            api.app.http.clone(),
            api.app.url("/api/v1/boards/two/scores"),
            acme_service.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let player = if i % 2 == 0 { "ann" } else { "bob" };
            let r = http
                .post(url)
                .bearer_auth(tok)
                .json(&json!({"player": player, "score": 1}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (
                player,
                status,
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }));
    }
    let mut passed = 0;
    // Which players landed on board two depends on which requests the limit let through.
    let mut on_two = std::collections::BTreeSet::new();
    for t in tasks {
        let (player, status, body) = t.await.unwrap();
        if (200..300).contains(&status) {
            passed += 1;
            on_two.insert(player);
        } else {
            assert_eq!(status, 429, "{body}");
            assert_eq!(body["policy"], "submissions_per_sec", "{body}");
        }
    }
    assert!(
        (5..=7).contains(&passed),
        "{passed} of 12 passed a quota of 5/s"
    );

    // The tenant's own rate-limit policies replace the configured ones, for it alone.
    for _ in 0..3 {
        let r = api
            .call(
                Method::GET,
                "/api/v1/boards/one/entries",
                None,
                None,
                &[("x-tenant", "acme")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.header("ratelimit-policy")
                .contains("\"acme-read\";q=3;w=3600")
        );
    }
    api.call(
        Method::GET,
        "/api/v1/boards/one/entries",
        None,
        None,
        &[("x-tenant", "acme")],
    )
    .await
    .assert_problem(429, "acme-read");

    // Usage, for the tenant's admin.
    let u = api
        .get("/api/v1/tenants/acme/usage", Some(&acme_admin))
        .await;
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(u.body["boards"], 2);
    assert_eq!(u.body["players"], 2 + on_two.len(), "{}", u.body);
    assert_eq!(u.body["by_board"][0]["board"], "one");
    assert_eq!(u.body["by_board"][0]["players"], 2);
    assert_eq!(u.body["quotas"]["max_players_per_board"], 2);

    // The platform's change is in the tenant's audit log.
    let actions = api.audit_actions(&acme_admin).await;
    assert!(actions.iter().any(|a| a == "tenant.update"), "{actions:?}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_of_one_tenant_reaches_nothing_of_another() {
    let api = start().await;
    api.create_board(json!({"id": "secret", "operator": "incr"}))
        .await;
    api.submit_ok("secret", "ann", json!(3)).await;
    let intruder_admin = token("mallory", &["admin"], Some("acme"));
    let intruder_service = token("mallory-svc", &["service"], Some("acme"));
    let to_default = [("x-tenant", "default")];
    for (method, path, tok, body) in [
        (
            Method::GET,
            "/api/v1/boards/secret/entries",
            &intruder_service,
            None,
        ),
        (
            Method::GET,
            "/api/v1/boards/secret/players/ann",
            &intruder_service,
            None,
        ),
        (
            Method::POST,
            "/api/v1/boards/secret/scores",
            &intruder_service,
            Some(json!({"player": "ann", "score": 1})),
        ),
        (
            Method::DELETE,
            "/api/v1/boards/secret",
            &intruder_admin,
            None,
        ),
        (
            Method::DELETE,
            "/api/v1/boards/secret/players/ann",
            &intruder_admin,
            None,
        ),
        (Method::GET, "/api/v1/boards", &intruder_admin, None),
        (
            Method::POST,
            "/ofrep/v1/evaluate/flags/anything",
            &intruder_service,
            Some(json!({})),
        ),
        (Method::GET, "/api/v1/flags", &intruder_admin, None),
    ] {
        // Naming the other tenant is refused outright.
        let r = api
            .call(method.clone(), path, Some(tok), body.clone(), &to_default)
            .await;
        assert_eq!(r.status, 403, "{method} {path} with X-Tenant: {}", r.body);
        // Without it, the token only ever sees its own tenant.
        let r = api.call(method.clone(), path, Some(tok), body, &[]).await;
        assert!(
            matches!(r.status.as_u16(), 404 | 200),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
        if r.status == 200 {
            assert_ne!(r.body["total"], 1, "{path}: another tenant's entries");
            assert_eq!(
                r.body
                    .get("boards")
                    .map(|b| b.as_array().unwrap().len())
                    .unwrap_or(0),
                0,
                "{path}"
            );
        }
    }
    // The default tenant's board is untouched.
    let r = api
        .get("/api/v1/boards/secret/players/ann", Some(&admin()))
        .await;
    assert_eq!(r.body["score"], 3);
    api.stop().await;
}

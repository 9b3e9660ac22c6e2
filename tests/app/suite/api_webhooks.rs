//! Webhook subscriptions through HTTP on the runtime under test: created by a tenant admin with a
//! secret shown once, listed and changed without it, rotated, deleted, audited; other tenants
//! never see them; targets on private networks refused with the reason until an operator opens
//! exactly that address.

use reqwest::Method;
use serde_json::{Value, json};

use edge_host::HostConfig;

use crate::api::{Api, Reply, start, start_with, token};

fn admin(tenant: &str) -> String {
    token("ops", &["admin"], Some(tenant))
}

async fn send(api: &Api, method: Method, path: &str, tenant: &str, body: Option<Value>) -> Reply {
    api.call(method, path, Some(&admin(tenant)), body, &[])
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_are_created_listed_changed_rotated_and_deleted_by_the_tenants_admin() {
    let api = start().await;
    let r = send(
        &api,
        Method::POST,
        "/api/v1/webhooks",
        "acme",
        Some(json!({"url": "https://hooks.example.com/lb", "events": ["score.applied", "rank.top_changed"],
                    "boards": ["arena"], "top_n": 5, "description": "game backend"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    let id = r.body["id"].as_str().unwrap().to_string();
    let secret = r.body["secret"].as_str().unwrap().to_string();
    assert!(id.starts_with("wh_") && id.len() == 19, "{id}");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(r.header("location"), format!("/api/v1/webhooks/{id}"));
    assert_eq!(
        r.body["events"],
        json!(["score.applied", "rank.top_changed"])
    );
    assert_eq!(
        (r.body["top_n"].as_u64(), r.body["enabled"].as_bool()),
        (Some(5), Some(true))
    );

    // Reads never carry the secret; another tenant sees nothing and cannot reach it.
    let list = api.get("/api/v1/webhooks", Some(&admin("acme"))).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["webhooks"][0]["id"], id.as_str());
    assert!(!list.body.to_string().contains(&secret[6..]));
    let one = api
        .get(&format!("/api/v1/webhooks/{id}"), Some(&admin("acme")))
        .await;
    assert_eq!(
        (one.status.as_u16(), one.body["url"].as_str()),
        (200, Some("https://hooks.example.com/lb"))
    );
    assert!(one.body.get("secret").is_none());
    let other = api.get("/api/v1/webhooks", Some(&admin("globex"))).await;
    assert_eq!(other.body["webhooks"], json!([]));
    let other = api
        .get(&format!("/api/v1/webhooks/{id}"), Some(&admin("globex")))
        .await;
    assert_eq!(other.status, 404, "{}", other.body);
    let player = token("ann", &["player"], Some("acme"));
    assert_eq!(api.get("/api/v1/webhooks", Some(&player)).await.status, 403);
    assert_eq!(api.get("/api/v1/webhooks", None).await.status, 401);

    // A patch changes what it names; `boards: null` means every board.
    let r = send(
        &api,
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        "acme",
        Some(json!({"boards": null, "enabled": false})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.body["boards"].clone(),
            r.body["enabled"].clone(),
            r.body["top_n"].clone()
        ),
        (Value::Null, json!(false), json!(5))
    );
    let r = send(
        &api,
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        "acme",
        Some(json!({"events": ["score.submitted"]})),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.body["type"],
        "https://leaderboard.dev/problems/invalid-webhook"
    );
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("score.submitted"),
        "{}",
        r.body
    );

    // A rotation shows the new secret once; Redis keeps the old one for the grace period.
    let r = send(
        &api,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/rotate-secret"),
        "acme",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rotated = r.body["secret"].as_str().unwrap().to_string();
    assert!(rotated.starts_with("whsec_") && rotated != secret);
    let stored: String = redis::cmd("HGET")
        .arg("lb:tenant:{acme}:webhooks")
        .arg(&id)
        .query(&mut api.redis.conn())
        .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        (
            stored["secret"].as_str(),
            stored["previous_secret"].as_str()
        ),
        (Some(rotated.as_str()), Some(secret.as_str()))
    );

    // Deleted: gone, and a second delete is a 404.
    let r = send(
        &api,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        "acme",
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = send(
        &api,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        "acme",
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        api.get("/api/v1/webhooks/wh_nothexatall!!", Some(&admin("acme")))
            .await
            .status,
        404
    );

    // Every change is in the audit log, in order.
    let audit = api
        .get("/api/v1/audit?limit=50", Some(&admin("acme")))
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("webhook."))
        .collect();
    assert_eq!(
        actions,
        [
            "webhook.create",
            "webhook.update",
            "webhook.rotate_secret",
            "webhook.delete"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn private_targets_are_refused_until_the_operator_opens_exactly_them() {
    let api = start().await;
    let create = |url: &'static str| {
        let api = &api;
        async move {
            send(
                api,
                Method::POST,
                "/api/v1/webhooks",
                "acme",
                Some(json!({"url": url, "events": ["score.applied"]})),
            )
            .await
        }
    };
    for (url, reason) in [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("https://localhost/hook", "localhost"),
        ("https://10.0.0.7/hook", "private"),
        ("https://192.168.1.20/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://169.254.10.10/hook", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://[fd12::1]/hook", "unique local"),
        ("http://tokens.spin.internal/", "internal"),
        ("http://hooks.example.com/", "https"),
    ] {
        let r = create(url).await;
        assert_eq!(r.status, 422, "{url}: {}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{url}: {detail}");
    }

    // Opened: exactly 127.0.0.1 (plain http too); the rest stays refused.
    let api = start_with(
        &[("webhook_allow_private", "127.0.0.1")],
        HostConfig::default(),
    )
    .await;
    let r = send(
        &api,
        Method::POST,
        "/api/v1/webhooks",
        "acme",
        Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["score.applied"]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for url in [
        "http://127.0.0.2:9/hook",
        "https://169.254.169.254/",
        "https://10.0.0.7/",
    ] {
        let r = send(
            &api,
            Method::POST,
            "/api/v1/webhooks",
            "acme",
            Some(json!({"url": url, "events": ["score.applied"]})),
        )
        .await;
        assert_eq!(r.status, 422, "{url}: {}", r.body);
    }
}

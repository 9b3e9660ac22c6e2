//! API keys through HTTP on the runtime under test: created by a tenant admin and shown once,
//! only a hash in Redis, usable as `X-Api-Key` or a bearer credential with the roles and tenant
//! they were given, refused when wrong, malformed or revoked.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Reply, player, start, token};

fn acme_admin() -> String {
    token("ops", &["admin"], Some("acme"))
}

async fn create(api: &Api, body: Value) -> Reply {
    api.call(
        Method::POST,
        "/api/v1/api-keys",
        Some(&acme_admin()),
        Some(body),
        &[],
    )
    .await
}

async fn with_key(api: &Api, method: Method, path: &str, key: &str, body: Option<Value>) -> Reply {
    api.call(method, path, None, body, &[("x-api-key", key)])
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_act_for_their_tenant_with_their_roles_until_revoked() {
    let api = start().await;
    let r = create(&api, json!({"name": "game server", "roles": ["service"]})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    let key = r.body["key"].as_str().unwrap().to_string();
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(key.starts_with(&format!("lbk_{id}_")), "{key}");
    assert_eq!(key.len(), 4 + 16 + 1 + 64);
    assert_eq!(r.header("location"), format!("/api/v1/api-keys/{id}"));

    // Redis keeps the hash, never the key.
    let stored: String = redis::cmd("GET")
        .arg(format!("lb:apikey:{{{id}}}"))
        .query(&mut api.redis.conn())
        .unwrap();
    assert!(!stored.contains(&key[21..]), "{stored}");
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["tenant"], "acme");
    assert_eq!(stored["sha256"].as_str().unwrap().len(), 64);
    // Listings never show it again.
    let list = api.get("/api/v1/api-keys", Some(&acme_admin())).await.body;
    assert_eq!(list["api_keys"][0]["id"], id.as_str());
    assert_eq!(list["api_keys"][0]["name"], "game server");
    assert!(!list.to_string().contains(&key[21..]));

    // The key submits scores in its tenant, as a service token would, either way it is sent.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&acme_admin()),
            Some(json!({"id": "arena"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = with_key(
        &api,
        Method::POST,
        "/api/v1/boards/arena/scores",
        &key,
        Some(json!({"player": "ann", "score": 10})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/arena/scores",
            Some(&key),
            Some(json!({"player": "bob", "score": 20})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let page = with_key(
        &api,
        Method::GET,
        "/api/v1/boards/arena/entries",
        &key,
        None,
    )
    .await;
    assert_eq!(page.body["total"], 2, "{}", page.body);
    // In its own tenant only, and not as an admin.
    let other = api
        .call(
            Method::GET,
            "/api/v1/boards/arena/entries",
            None,
            None,
            &[("x-api-key", &key), ("x-tenant", "globex")],
        )
        .await;
    assert_eq!(other.status, 403, "{}", other.body);
    with_key(
        &api,
        Method::POST,
        "/api/v1/boards",
        &key,
        Some(json!({"id": "x"})),
    )
    .await
    .assert_problem(403, "admin");
    with_key(&api, Method::GET, "/api/v1/api-keys", &key, None)
        .await
        .assert_problem(403, "admin");

    // A wrong secret, a malformed key: 401 saying so.
    let mut wrong = key.clone();
    let last = if wrong.ends_with('0') { "1" } else { "0" };
    wrong.replace_range(wrong.len() - 1.., last);
    with_key(
        &api,
        Method::GET,
        "/api/v1/boards/arena/entries",
        &wrong,
        None,
    )
    .await
    .assert_problem(401, "not valid");
    with_key(
        &api,
        Method::GET,
        "/api/v1/boards/arena/entries",
        "lbk_nope",
        None,
    )
    .await
    .assert_problem(401, "malformed API key");

    // Revoked: refused at once in this region.
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id}"),
            Some(&acme_admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    with_key(
        &api,
        Method::GET,
        "/api/v1/boards/arena/entries",
        &key,
        None,
    )
    .await
    .assert_problem(401, "not valid");
    let gone = api
        .get(&format!("/api/v1/api-keys/{id}"), Some(&acme_admin()))
        .await;
    gone.assert_problem(404, "no API key");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_admins_create_keys_and_bad_requests_say_why() {
    let api = start().await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&player("ann")),
            Some(json!({"name": "x", "roles": ["service"]})),
            &[],
        )
        .await;
    r.assert_problem(403, "admin");
    create(&api, json!({"name": "x", "roles": ["player"]}))
        .await
        .assert_problem(400, "no player");
    create(&api, json!({"name": "x", "roles": []}))
        .await
        .assert_problem(400, "at least one role");
    create(
        &api,
        json!({"name": "x", "roles": ["service"], "expires_at": "2001-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(400, "in the past");
    // An admin key may administer; an expiring key carries its expiry.
    let r = create(
        &api,
        json!({"name": "ops", "roles": ["admin"], "expires_at": "2099-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["expires_at"], "2099-01-01T00:00:00.000Z");
    let admin_key = r.body["key"].as_str().unwrap().to_string();
    let r = with_key(
        &api,
        Method::POST,
        "/api/v1/boards",
        &admin_key,
        Some(json!({"id": "k"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    api.get("/api/v1/api-keys/zzzz", Some(&acme_admin()))
        .await
        .assert_problem(404, "no API key");
    api.stop().await;
}

/// A request with a key that requires signing, signed at `ts` (Unix seconds) over `body`.
async fn signed(api: &Api, key: &str, secret: &str, ts: i64, body: &Value) -> Reply {
    let path = "/api/v1/boards/signed/scores?source=test";
    let bytes = serde_json::to_vec(body).unwrap();
    let ts = ts.to_string();
    let sig = edge::tenants::apikeys::sign(secret, &ts, "POST", path, &bytes);
    api.call(
        Method::POST,
        path,
        None,
        Some(body.clone()),
        &[
            ("x-api-key", key),
            ("x-lb-timestamp", &ts),
            ("x-lb-signature", &format!("v1={sig}")),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signing_key_needs_each_request_signed_once_within_the_window() {
    let api = start().await;
    let r = create(
        &api,
        json!({"name": "legacy backend", "roles": ["service", "admin"], "require_signature": true}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["require_signature"], true);
    let key = r.body["key"].as_str().unwrap().to_string();
    let secret = r.body["signing_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("lbs_") && secret.len() == 68, "{secret}");
    let id = r.body["id"].as_str().unwrap().to_string();
    let listed = api
        .get(&format!("/api/v1/api-keys/{id}"), Some(&acme_admin()))
        .await;
    assert_eq!(listed.body["require_signature"], true);
    assert!(!listed.body.to_string().contains(&secret), "shown once");
    let board = with_key(
        &api,
        Method::POST,
        "/api/v1/boards",
        &key,
        Some(json!({"id": "signed"})),
    )
    .await;
    board.assert_problem(401, "must be signed");

    let now = crate::api::now_secs();
    let body = json!({"player": "ann", "score": 7});
    // Unsigned → 401; signed → 2xx (the board is created by a signed admin request first).
    let created = {
        let path = "/api/v1/boards";
        let board = json!({"id": "signed"});
        let bytes = serde_json::to_vec(&board).unwrap();
        let ts = now.to_string();
        let sig = edge::tenants::apikeys::sign(&secret, &ts, "POST", path, &bytes);
        api.call(
            Method::POST,
            path,
            None,
            Some(board),
            &[
                ("x-api-key", &key),
                ("x-lb-timestamp", &ts),
                ("x-lb-signature", &format!("v1={sig}")),
            ],
        )
        .await
    };
    assert_eq!(created.status, 201, "{}", created.body);
    let ok = signed(&api, &key, &secret, now, &body).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.body["rank"], 1);

    // The same signed request again: a replay.
    signed(&api, &key, &secret, now, &body)
        .await
        .assert_problem(401, "replay");
    // Signed with the wrong secret, or over another body: no match.
    signed(&api, &key, "lbs_wrong", now + 1, &body)
        .await
        .assert_problem(401, "does not match");
    let bytes = serde_json::to_vec(&json!({"player": "ann", "score": 1})).unwrap();
    let ts = (now + 2).to_string();
    let sig = edge::tenants::apikeys::sign(
        &secret,
        &ts,
        "POST",
        "/api/v1/boards/signed/scores?source=test",
        &bytes,
    );
    api.call(
        Method::POST,
        "/api/v1/boards/signed/scores?source=test",
        None,
        Some(json!({"player": "ann", "score": 999})),
        &[
            ("x-api-key", &key),
            ("x-lb-timestamp", &ts),
            ("x-lb-signature", &format!("v1={sig}")),
        ],
    )
    .await
    .assert_problem(401, "does not match");
    // Outside the window.
    signed(&api, &key, &secret, now - 400, &body)
        .await
        .assert_problem(401, "away from the server's clock");
    // Nothing but the one signed submission landed.
    let entries = api
        .get("/api/v1/boards/signed/entries", Some(&key_token()))
        .await;
    assert_eq!(entries.body["entries"][0]["score"], 7, "{}", entries.body);

    // A key without signing refuses a signature rather than ignoring it.
    let plain = create(&api, json!({"name": "plain", "roles": ["service"]})).await;
    let plain = plain.body["key"].as_str().unwrap().to_string();
    api.call(
        Method::GET,
        "/api/v1/boards/signed/entries",
        None,
        None,
        &[("x-api-key", &plain), ("x-lb-signature", "v1=00")],
    )
    .await
    .assert_problem(401, "does not sign requests");
    api.stop().await;
}

fn key_token() -> String {
    token("reader", &["service"], Some("acme"))
}

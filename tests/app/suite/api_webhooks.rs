//! Webhook subscriptions through HTTP on the runtime under test: created by a tenant admin with a
//! secret shown once, listed and changed without it, rotated, deleted, audited; other tenants
//! never see them; targets on private networks refused with the reason until an operator opens
//! exactly that address.

use reqwest::Method;
use serde_json::{Value, json};

use edge_host::HostConfig;

use crate::api::{Api, Reply, player_scores, start, start_with, token};
use crate::receiver::{Answer, Received, Receiver};

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
    subscribe_with(
        &api,
        json!({"url": "http://127.0.0.1:9/hook", "events": ["score.applied"]}),
    )
    .await;
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

/// The variables that open a loopback receiver (plain http to 127.0.0.1), and `extra`.
fn opened<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("webhook_allow_private", "127.0.0.1"),
        ("webhook_allowed_hosts", "http://127.0.0.1:*"),
    ];
    vars.extend_from_slice(extra);
    vars
}

/// The retry schedule (one retry) and the attempt's timeout of [`start_delivering_scores`] (s).
const RETRY_SECS: u64 = 1;
const TIMEOUT_SECS: u64 = 5;

/// How long a score's `score.applied` may take to reach the receiver of an app started with
/// [`start_delivering_scores`] (s): a ring the worker missed is caught up
/// [`edge::webhooks::due::CATCH_UP_AFTER_MS`] later; its first attempt may time out and be tried
/// again [`RETRY_SECS`] on, which may take its timeout too; and as much again for a loaded
/// machine.
const DELIVERED_WITHIN_SECS: u64 = 2
    * (edge::webhooks::due::CATCH_UP_AFTER_MS
        .unsigned_abs()
        .div_ceil(1_000)
        + TIMEOUT_SECS
        + RETRY_SECS
        + TIMEOUT_SECS);

/// [`start_delivering`] with [`RETRY_SECS`] and [`TIMEOUT_SECS`].
async fn start_delivering_scores() -> Api {
    start_delivering(&format!("{RETRY_SECS}s"), &format!("{TIMEOUT_SECS}s")).await
}

/// The app with a loopback receiver opened and a short schedule.
async fn start_delivering(schedule: &str, timeout: &str) -> Api {
    start_with(
        &opened(&[
            ("webhook_retry_schedule", schedule),
            ("webhook_timeout", timeout),
        ]),
        HostConfig::default(),
    )
    .await
}

async fn create_board(api: &Api, body: Value) {
    let r = send(api, Method::POST, "/api/v1/boards", "acme", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Creates a subscription of tenant acme: `(id, secret)`.
async fn subscribe_with(api: &Api, body: Value) -> (String, String) {
    let r = send(api, Method::POST, "/api/v1/webhooks", "acme", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["secret"].as_str().unwrap().to_string(),
    )
}

/// Subscribes the receiver to score.applied: `(id, secret)`.
async fn subscribe(api: &Api, receiver: &Receiver) -> (String, String) {
    subscribe_with(
        api,
        json!({"url": receiver.url(), "events": ["score.applied"]}),
    )
    .await
}

/// Sends a `webhook.test` message to subscription `id`: its message id.
async fn send_test(api: &Api, id: &str) -> String {
    let r = send(
        api,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/test"),
        "acme",
        None,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "pending", "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// A drain call (what a cron does on hosts without the Redis trigger).
async fn drain(api: &Api) {
    let r = send(api, Method::POST, "/api/v1/admin/drain", "acme", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

fn header(r: &Received, name: &str) -> String {
    r.headers[name].to_str().unwrap().to_string()
}

/// Verifies a delivery with the Standard Webhooks reference library.
fn verify(secret: &str, r: &Received) -> Result<(), String> {
    standardwebhooks::Webhook::new(secret)
        .map_err(|e| e.to_string())?
        .verify(&r.body, &r.headers)
        .map_err(|e| e.to_string())
}

async fn deliveries(api: &Api, id: &str, status: &str) -> Vec<Value> {
    let r = api
        .get(
            &format!("/api/v1/webhooks/{id}/deliveries?status={status}"),
            Some(&admin("acme")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["deliveries"].as_array().unwrap().clone()
}

/// The subscription's messages in `status` once `until` holds of them, draining meanwhile: the
/// receiver has a request before the drain that sent it has the answer and records it, which
/// under the whole suite on Spin comes visibly later (and an attempt may outlast its timeout and
/// be retried).
async fn deliveries_once(
    api: &Api,
    id: &str,
    status: &str,
    until: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let got = deliveries(api, id, status).await;
        if until(&got) {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the {status} deliveries never became what the test waits for: {got:?}"
        );
        drain(api).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_signed_retried_with_the_same_id_dead_lettered_and_redriven() {
    let api = start_delivering("1s,1s", "5s").await;
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&api, &receiver).await;

    // 500, then 200: the retry carries the same webhook-id and a new timestamp.
    receiver.script(&[Answer::status(500), Answer::status(200)]);
    let msg = send_test(&api, &id).await;
    let got = receiver
        .wait_for(20, |got| got.len() >= 2, || drain(&api))
        .await;
    let (first, second) = (&got[0], &got[1]);
    assert_eq!(header(first, "webhook-id"), msg);
    assert_eq!(header(second, "webhook-id"), msg);
    assert_ne!(
        header(first, "webhook-timestamp"),
        header(second, "webhook-timestamp")
    );
    assert_eq!(first.body, second.body);
    for r in [first, second] {
        verify(&secret, r).unwrap_or_else(|e| {
            panic!("{e}: {:?} {}", r.headers, String::from_utf8_lossy(&r.body))
        });
        assert_eq!(header(r, "content-type"), "application/json");
        // A plain receiver reads `Content-Length` bytes: the delivery is not chunked.
        assert_eq!(header(r, "content-length"), r.body.len().to_string());
        assert!(
            r.headers.get("transfer-encoding").is_none(),
            "{:?}",
            r.headers
        );
    }
    let body = first.json();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["subscription"], id.as_str());
    // A tampered body, or another secret, fails verification.
    let mut tampered = first.clone();
    tampered.body = br#"{"type":"webhook.test","data":{"forged":true}}"#.to_vec();
    assert!(verify(&secret, &tampered).is_err());
    assert!(verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", first).is_err());
    let delivered = deliveries_once(&api, &id, "delivered", |d| !d.is_empty()).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let attempts = delivered[0]["attempts"].as_array().unwrap();
    assert_eq!(
        (
            attempts[0]["status"].as_u64(),
            attempts[1]["status"].as_u64()
        ),
        (Some(500), Some(200))
    );

    // Always 500: after the first attempt and both retries the message is dead-lettered.
    receiver.always(Some(Answer::status(500)));
    let r = send(
        &api,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/test"),
        "acme",
        None,
    )
    .await;
    let dead = r.body["id"].as_str().unwrap().to_string();
    let api_ref = &api;
    let mut failed = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while failed.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        drain(api_ref).await;
        failed = deliveries(api_ref, &id, "failed").await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(failed[0]["id"], dead.as_str());
    assert_eq!(failed[0]["attempts"].as_array().unwrap().len(), 3);
    assert!(
        failed[0]["failure"]
            .as_str()
            .unwrap()
            .contains("3 attempts failed"),
        "{}",
        failed[0]
    );
    let to_dead = receiver
        .received()
        .iter()
        .filter(|r| header(r, "webhook-id") == dead)
        .count();
    assert_eq!(to_dead, 3);

    // Redriven once the receiver is back: delivered, same id; audited.
    receiver.always(None);
    let r = send(
        &api,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/deliveries/{dead}/redrive"),
        "acme",
        None,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    receiver
        .wait_for(
            20,
            |got| {
                got.iter()
                    .filter(|r| header(r, "webhook-id") == dead)
                    .count()
                    >= 4
            },
            || drain(&api),
        )
        .await;
    deliveries_once(&api, &id, "delivered", |d| {
        d.iter().any(|m| m["id"] == dead.as_str())
    })
    .await;
    let r = send(
        &api,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/deliveries/{dead}/redrive"),
        "acme",
        None,
    )
    .await;
    assert_eq!(
        r.status, 409,
        "a delivered message is not redriven: {}",
        r.body
    );
    let audit = api
        .get("/api/v1/audit?limit=50", Some(&admin("acme")))
        .await;
    assert!(audit.body.to_string().contains("webhook.redrive"));
    let pending = deliveries(&api, &id, "pending").await;
    assert!(pending.is_empty(), "{pending:?}");
    let health = api.get("/health/detailed", None).await;
    assert_eq!(health.body["webhooks"]["backlog"], 0, "{}", health.body);

    // After a rotation, deliveries carry two signatures: receivers on either secret verify.
    let r = send(
        &api,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/rotate-secret"),
        "acme",
        None,
    )
    .await;
    let rotated = r.body["secret"].as_str().unwrap().to_string();
    let r = send(
        &api,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/test"),
        "acme",
        None,
    )
    .await;
    let fresh = r.body["id"].as_str().unwrap().to_string();
    let got = receiver
        .wait_for(
            20,
            |got| got.iter().any(|r| header(r, "webhook-id") == fresh),
            || drain(&api),
        )
        .await;
    let delivery = got
        .iter()
        .find(|r| header(r, "webhook-id") == fresh)
        .unwrap();
    assert_eq!(header(delivery, "webhook-signature").split(' ').count(), 2);
    verify(&rotated, delivery).unwrap();
    verify(&secret, delivery).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_receiver_costs_a_drain_one_timeout_for_many_messages() {
    // A 2 s timeout and a drain budget of 5 s: sent one at a time, a drain could try at most
    // three of these six messages; sent together, one drain tries all six.
    let api = start_delivering("1m", "2s").await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&api, &receiver).await;
    receiver.always(Some(Answer {
        delay: std::time::Duration::from_secs(4),
        ..Answer::status(200)
    }));
    let mut sent = Vec::new();
    for _ in 0..6 {
        sent.push(send_test(&api, &id).await);
    }
    let r = send(&api, Method::POST, "/api/v1/admin/drain", "acme", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["webhooks"]["retrying"], 6, "{}", r.body);
    assert_eq!(r.body["webhooks"]["delivered"], 0, "{}", r.body);
    // Each message holds one timed-out attempt and waits for its retry.
    let pending = deliveries(&api, &id, "pending").await;
    let mut ids: Vec<&str> = pending.iter().map(|m| m["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    sent.sort();
    assert_eq!(ids, sent);
    for m in &pending {
        let attempts = m["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{m}");
        assert_eq!(attempts[0]["error"], "timed out", "{m}");
    }
    assert_eq!(
        receiver.received().len(),
        6,
        "every request reached the receiver"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gone_disables_the_subscription_and_a_slow_receiver_times_out() {
    let api = start_delivering("1s", "1s").await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&api, &receiver).await;

    // Slower than the timeout: a failed attempt ("timed out"), retried.
    receiver.script(&[
        Answer {
            delay: std::time::Duration::from_secs(3),
            ..Answer::status(200)
        },
        Answer::status(410),
    ]);
    send_test(&api, &id).await;
    receiver
        .wait_for(20, |got| got.len() >= 2, || drain(&api))
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let failed = loop {
        let failed = deliveries(&api, &id, "failed").await;
        if !failed.is_empty() {
            break failed;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the 410 was not recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let attempts = failed[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["error"], "timed out", "{}", failed[0]);
    assert_eq!(attempts[1]["status"], 410);
    // 410 Gone disabled the subscription, saying why; nothing more is sent to it.
    let sub = api
        .get(&format!("/api/v1/webhooks/{id}"), Some(&admin("acme")))
        .await
        .body;
    assert_eq!(sub["enabled"], false, "{sub}");
    assert!(
        sub["disabled_reason"].as_str().unwrap().contains("410"),
        "{sub}"
    );
    let before = receiver.received().len();
    send_test(&api, &id).await;
    drain(&api).await;
    let failed = deliveries(&api, &id, "failed").await;
    assert!(
        failed[0]["failure"].as_str().unwrap().contains("disabled"),
        "{}",
        failed[0]
    );
    assert_eq!(receiver.received().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_delivers_when_a_message_is_made() {
    let mut api = start_delivering("1s", "5s").await;
    api.start_worker().await;
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&api, &receiver).await;
    let msg = send_test(&api, &id).await;
    // No drain call: the worker's lb:webhooks trigger sends it.
    let got = receiver
        .wait_for(20, |got| !got.is_empty(), || async {})
        .await;
    verify(&secret, &got[0]).unwrap();
    assert_eq!(header(&got[0], "webhook-id"), msg);
}

/// A retry comes due with nothing to ring the worker then (it waits for no retry more than 2 s
/// away): the delivery noted the tenant as owed at the retry's time (sooner than its ring's note,
/// 10 s on), and the alarm rings the worker then. No drain call, no other message.
#[tokio::test(flavor = "multi_thread")]
async fn the_worker_sends_a_retry_at_its_time_with_no_cron() {
    let mut api = start_delivering("4s", "5s").await;
    api.start_worker().await;
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&api, &receiver).await;
    receiver.script(&[Answer::status(500), Answer::status(200)]);
    let msg = send_test(&api, &id).await;
    // After the first attempt, the tenant is owed at the retry's time, to the millisecond (or
    // sooner, should the worker have taken over 5 s to hear the ring, whose note is 10 s on).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let pending = deliveries(&api, &id, "pending").await;
        let retry_at = pending
            .first()
            .filter(|m| m["attempts"].as_array().is_some_and(|a| a.len() == 1))
            .and_then(|m| m["next_attempt_at"].as_str())
            .map(|at| {
                chrono::DateTime::parse_from_rfc3339(at)
                    .unwrap_or_else(|e| panic!("next_attempt_at {at}: {e}"))
                    .timestamp_millis()
            });
        let owed_at: Option<i64> = redis::cmd("ZSCORE")
            .arg(edge::schedule::REGISTER)
            .arg("webhook_messages:acme/*")
            .query(&mut api.redis.conn())
            .unwrap();
        if let (Some(retry_at), Some(owed_at)) = (retry_at, owed_at)
            && owed_at <= retry_at
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tenant is owed at {owed_at:?}, its retry is at {retry_at:?}: {pending:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let got = receiver
        .wait_for(30, |got| got.len() >= 2, || async {})
        .await;
    for r in &got {
        verify(&secret, r).unwrap();
        assert_eq!(header(r, "webhook-id"), msg);
    }
    // 4 s, stretched by up to 20 % jitter; the alarm's keyspace event comes within moments.
    let waited = got[1].at - got[0].at;
    assert!(
        waited >= std::time::Duration::from_secs(4),
        "the retry came {waited:?} after the first attempt"
    );
    let sent = deliveries_once(&api, &id, "delivered", |d| !d.is_empty()).await;
    let attempts: Vec<Option<u64>> = sent[0]["attempts"]
        .as_array()
        .unwrap_or_else(|| panic!("no attempts in {sent:?}"))
        .iter()
        .map(|a| a["status"].as_u64())
        .collect();
    assert_eq!(attempts, [Some(500), Some(200)], "{sent:?}");
    assert_eq!(receiver.received().len(), 2);
}

/// A write rang the worker while none listened (one restarting: pub/sub keeps no message for a
/// subscriber that is not there), and its board stays quiet: the write noted the board as owed a catch-up
/// 10 s on, the alarm rings the worker then, and it fans the log out. No other write, no drain
/// call.
#[tokio::test(flavor = "multi_thread")]
async fn a_ring_no_worker_heard_is_delivered_by_the_sweep_with_no_other_write() {
    let mut api = start_delivering_scores().await;
    let receiver = Receiver::start().await;
    create_board(&api, json!({"id": "final", "write_mode": "sync"})).await;
    let (_, secret) = subscribe(&api, &receiver).await;
    // No worker listens yet: the write's ring is lost.
    submit(&api, "final", "ann", 30).await;
    api.start_worker().await;
    // The board is due for a catch-up 10 s after the write; the alarm's keyspace event rings then.
    let got = receiver
        .wait_for(DELIVERED_WITHIN_SECS, |got| !got.is_empty(), || async {})
        .await;
    verify(&secret, &got[0]).unwrap();
    let sent = messages_of(&got, "score.applied");
    assert_eq!(
        (
            &sent[0]["data"]["board"],
            &sent[0]["data"]["player"],
            &sent[0]["data"]["score"]
        ),
        (&json!("final"), &json!("ann"), &json!(30)),
        "{sent:?}"
    );
    // The catch-up served the board: it left the register.
    let mut redis = api.redis.conn();
    let settled = harness::eventually(std::time::Duration::from_secs(10), || {
        let noted: Option<f64> = redis::cmd("ZSCORE")
            .arg(edge::schedule::REGISTER)
            .arg("webhook_log:acme/final")
            .query(&mut redis)
            .unwrap();
        noted.is_none().then_some(())
    })
    .await;
    assert!(settled.is_some(), "acme/final is still owed a catch-up");
    assert_eq!(receiver.received().len(), 1);
}

async fn submit(api: &Api, board: &str, player: &str, score: i64) {
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/boards/{board}/scores"),
            Some(&token("game-server", &["service"], Some("acme"))),
            Some(json!({"player": player, "score": score})),
            &[],
        )
        .await;
    assert!(
        r.status == 200 || r.status == 201 || r.status == 202,
        "{}",
        r.body
    );
}

fn messages_of(got: &[Received], kind: &str) -> Vec<Value> {
    got.iter()
        .map(|r| r.json())
        .filter(|b| b["type"] == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_applied_score_is_delivered_from_the_log_on_sync_and_async_boards() {
    let mut api = start_delivering_scores().await;
    api.start_worker().await;
    let receiver = Receiver::start().await;
    for (id, mode) in [("arena", "sync"), ("bulk", "async"), ("quiet", "sync")] {
        create_board(&api, json!({"id": id, "write_mode": mode})).await;
    }
    // A score before the subscription is not announced.
    submit(&api, "arena", "early", 1).await;
    let (applied, secret) = subscribe_with(
        &api,
        json!({"url": receiver.url(), "events": ["score.applied"], "boards": ["arena", "bulk"]}),
    )
    .await;

    // Sync writes ring the worker from their own script; async ones from the drain that applies
    // them; a board the subscription does not name sends nothing.
    submit(&api, "arena", "ann", 30).await;
    submit(&api, "arena", "bob", 50).await;
    submit(&api, "bulk", "cat", 7).await;
    submit(&api, "quiet", "dan", 9).await;
    let announced = [
        ("arena".to_string(), "ann".to_string(), 30),
        ("arena".to_string(), "bob".to_string(), 50),
        ("bulk".to_string(), "cat".to_string(), 7),
    ];
    // Each of the three (an attempt retried counts once).
    let got = receiver
        .wait_for(
            DELIVERED_WITHIN_SECS,
            |got| {
                let seen = applied_scores(got);
                announced.iter().all(|a| seen.contains(a))
            },
            || async {},
        )
        .await;
    for r in &got {
        verify(&secret, r).unwrap();
    }
    assert_eq!(applied_scores(&got), announced);
    let first = &messages_of(&got, "score.applied")[0];
    assert_eq!(first["data"]["period"], "all");
    assert!(first["data"]["event_id"].as_str().is_some());
    // The fan-out acknowledged what it read of the boards named, bob's and cat's entries the
    // last, so it has stored what it will of them: three messages (none for the early score).
    for board in ["arena", "bulk"] {
        let keys = edge::repo::Keys::new(
            &leaderboard::TenantId::new("acme").unwrap(),
            &leaderboard::BoardId::new(board).unwrap(),
        );
        let pending: Vec<redis::Value> = redis::cmd("XPENDING")
            .arg(keys.events())
            .arg("webhooks")
            .query(&mut api.redis.conn())
            .unwrap();
        assert_eq!(
            pending.first(),
            Some(&redis::Value::Int(0)),
            "{board}: {pending:?}"
        );
    }
    let stored = deliveries(&api, &applied, "").await;
    assert_eq!(stored.len(), 3, "{stored:?}");

    // board.deleted: stored before the deletion is answered, delivered by the worker.
    subscribe_with(
        &api,
        json!({"url": receiver.url(), "events": ["board.deleted"], "boards": ["quiet"]}),
    )
    .await;
    let r = send(&api, Method::DELETE, "/api/v1/boards/quiet", "acme", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let got = receiver
        .wait_for(
            DELIVERED_WITHIN_SECS,
            |got| !messages_of(got, "board.deleted").is_empty(),
            || async {},
        )
        .await;
    assert_eq!(
        messages_of(&got, "board.deleted")[0]["data"]["board"],
        "quiet"
    );
    // Still the three, received and stored (none for the quiet board's score, which the
    // subscription does not name).
    assert_eq!(applied_scores(&got), announced);
    assert_eq!(deliveries(&api, &applied, "").await.len(), 3);
}

/// The `(board, player, score)` of each `score.applied` received, sorted, each once.
fn applied_scores(got: &[Received]) -> Vec<(String, String, i64)> {
    let mut seen: Vec<(String, String, i64)> = messages_of(got, "score.applied")
        .iter()
        .map(|m| {
            (
                m["data"]["board"].as_str().unwrap().to_string(),
                m["data"]["player"].as_str().unwrap().to_string(),
                m["data"]["score"].as_i64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    seen.dedup();
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_scores_gives_debounced_top_changes_the_last_with_the_final_top() {
    let mut api = start_with(
        &opened(&[("webhook_debounce", "1s")]),
        HostConfig::default(),
    )
    .await;
    api.start_worker().await;
    let receiver = Receiver::start().await;
    create_board(&api, json!({"id": "arena"})).await;
    let (_, secret) = subscribe_with(
        &api,
        json!({"url": receiver.url(), "events": ["rank.top_changed"], "top_n": 3}),
    )
    .await;

    // 100 scores as fast as they go, each a new best for its player: the top 3 keeps changing.
    let started = std::time::Instant::now();
    for i in 0..100 {
        submit(&api, "arena", &format!("p{}", i % 20), i).await;
    }
    let elapsed = started.elapsed();
    let top = api
        .get("/api/v1/boards/arena/entries?limit=3", Some(&admin("acme")))
        .await
        .body["entries"]
        .clone();
    let expected = player_scores(&top);
    assert_eq!(expected[0], ("p19".to_string(), 99));
    let top_of = |m: &Value| -> Vec<(String, i64)> { player_scores(&m["data"]["top"]) };
    let got = receiver
        .wait_for(
            30,
            |got| {
                messages_of(got, "rank.top_changed")
                    .last()
                    .is_some_and(|m| top_of(m) == expected)
            },
            || async {},
        )
        .await;
    // Quiet afterwards: the final top was announced and nothing changed since.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let got_after = receiver.received();
    assert_eq!(
        got_after.len(),
        got.len(),
        "an announcement after the final top"
    );
    let changes = messages_of(&got, "rank.top_changed");
    // At most one per debounce window (1 s) over the burst and the wait for the last.
    let bound = (elapsed.as_secs_f64() / 1.0).ceil() as usize + 2;
    assert!(
        changes.len() <= bound,
        "{} announcements for a burst of {elapsed:?}",
        changes.len()
    );
    assert!(changes.len() < 100);
    for r in &got {
        verify(&secret, r).unwrap();
    }
    let last = changes.last().unwrap();
    assert_eq!(
        (
            last["data"]["board"].as_str(),
            last["data"]["top_n"].as_u64()
        ),
        (Some("arena"), Some(3))
    );
    assert_eq!(last["data"]["top"][0]["rank"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_applied_score_is_lost_across_a_stopped_worker_and_a_redis_kill() {
    let mut api = crate::api::start_on(
        harness::RedisServer::start_persistent(),
        crate::api::Kv::Shipped,
        &opened(&[]),
        HostConfig::default(),
    )
    .await;
    let receiver = Receiver::start().await;
    create_board(&api, json!({"id": "arena"})).await;
    subscribe_with(
        &api,
        json!({"url": receiver.url(), "events": ["score.applied"]}),
    )
    .await;

    // 1,000 scores while no worker runs (their rings are lost), eight at a time.
    const N: usize = 1_000;
    for chunk in (0..N).collect::<Vec<_>>().chunks(8) {
        let names: Vec<String> = chunk.iter().map(|i| format!("p{i}")).collect();
        futures::future::join_all(
            chunk
                .iter()
                .zip(&names)
                .map(|(i, name)| submit(&api, "arena", name, *i as i64)),
        )
        .await;
    }
    // Redis dies (SIGKILL) and comes back from its append-only file.
    tokio::task::block_in_place(|| api.redis.restart());
    // The worker starts; the next score rings it, and it catches up from the log.
    api.start_worker().await;
    // A write rings at most once a second while nobody starts a fan-out (the board's webhook
    // bell); the rings of the last bulk writes reached nobody, so the next ring comes from a
    // write more than a second later.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    submit(&api, "arena", "last", 1).await;
    let got = receiver
        .wait_for(
            120,
            |got| {
                let players: std::collections::HashSet<String> = messages_of(got, "score.applied")
                    .iter()
                    .map(|m| m["data"]["player"].as_str().unwrap().to_string())
                    .collect();
                players.len() == N + 1
            },
            || async {},
        )
        .await;
    let mut ids: Vec<String> = got.iter().map(|r| header(r, "webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        N + 1,
        "one message per applied score (duplicates share an id)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_period_rollover_announces_the_closed_periods_final_top_once_at_the_next_drain() {
    let api = start_delivering("1s", "5s").await;
    let receiver = Receiver::start().await;
    create_board(
        &api,
        json!({"id": "daily", "period": "daily", "retain_periods": 1}),
    )
    .await;
    subscribe_with(
        &api,
        json!({"url": receiver.url(), "events": ["period.closed"], "top_n": 2}),
    )
    .await;
    submit(&api, "daily", "ann", 10).await;
    submit(&api, "daily", "bob", 20).await;
    submit(&api, "daily", "cat", 5).await;
    let day1 = api
        .get("/api/v1/boards/daily", Some(&admin("acme")))
        .await
        .body["period_info"]["current"]
        .as_str()
        .unwrap()
        .to_string();
    drain(&api).await;
    assert!(
        messages_of(&receiver.received(), "period.closed").is_empty(),
        "the first period closed nothing"
    );

    // The test clock moves the guests a day ahead (edge-host only: Spin has no test clock; the
    // fan-out that makes the message is the same code on both).
    if !api
        .app
        .set_clock_offset(std::time::Duration::from_secs(86_400), true)
    {
        eprintln!(
            "skipped on {}: needs the host's test clock",
            api.app.runtime_name()
        );
        return;
    }
    // No write in the new day yet: the next drain call announces the close.
    let got = receiver
        .wait_for(
            20,
            |got| !messages_of(got, "period.closed").is_empty(),
            || drain(&api),
        )
        .await;
    let closed = &messages_of(&got, "period.closed")[0];
    assert_eq!(closed["data"]["board"], "daily");
    assert_eq!(closed["data"]["period"], day1.as_str());
    assert_ne!(closed["data"]["period"], closed["data"]["next_period"]);
    let top: Vec<(&str, i64)> = closed["data"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["player"].as_str().unwrap(), e["score"].as_i64().unwrap()))
        .collect();
    assert_eq!(top, [("bob", 20), ("ann", 10)]);
    // Once: the new day's first write (the other path to the same message) and more drains
    // make no second one.
    submit(&api, "daily", "dan", 1).await;
    drain(&api).await;
    drain(&api).await;
    assert_eq!(messages_of(&receiver.received(), "period.closed").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_failing_longer_than_webhook_disable_after_is_disabled() {
    let api = start_with(
        &opened(&[
            ("webhook_retry_schedule", "1s,1s,1s,1s,1s"),
            ("webhook_disable_after", "2s"),
        ]),
        HostConfig::default(),
    )
    .await;
    let receiver = Receiver::start().await;
    receiver.always(Some(Answer::status(503)));
    let (id, _) = subscribe(&api, &receiver).await;
    send_test(&api, &id).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let sub = loop {
        drain(&api).await;
        let sub = api
            .get(&format!("/api/v1/webhooks/{id}"), Some(&admin("acme")))
            .await
            .body;
        if sub["enabled"] == false {
            break sub;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never disabled: {sub}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    assert!(
        sub["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("webhook_disable_after"),
        "{sub}"
    );
    // Fewer attempts than the schedule allows: disabled first.
    assert!(
        receiver.received().len() < 6,
        "{}",
        receiver.received().len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_on_429_postpones_the_retry_beyond_the_schedule() {
    let api = start_delivering("1s", "5s").await;
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&api, &receiver).await;
    receiver.script(&[
        Answer {
            retry_after: Some(4),
            ..Answer::status(429)
        },
        Answer::status(200),
    ]);
    send_test(&api, &id).await;
    let got = receiver
        .wait_for(30, |got| got.len() >= 2, || drain(&api))
        .await;
    // The schedule says 1 s; the receiver asked for 4.
    let gap = got[1].at.duration_since(got[0].at);
    assert!(
        gap >= std::time::Duration::from_millis(3_900),
        "retried after {gap:?}"
    );
    assert_eq!(header(&got[0], "webhook-id"), header(&got[1], "webhook-id"));
    verify(&secret, &got[1]).unwrap();
    let delivered = deliveries_once(&api, &id, "delivered", |d| !d.is_empty()).await;
    assert_eq!(delivered[0]["attempts"][0]["status"], 429);
}

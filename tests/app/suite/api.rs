//! Harness for the leaderboard API: the project's own `spin.toml` on the host, a private Redis, and
//! tokens minted with the test secret.

use std::time::Duration;

use edge_host::HostConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use harness::{RedisServer, TestApp, wasm_dir};

/// The HS256 secret the test apps trust (64 bytes).
pub const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef0123456789abcdef012345";

pub struct Api {
    pub redis: RedisServer,
    pub app: TestApp,
    /// The Redis-triggered handlers (`spin-worker.toml`), for tests that need them.
    pub worker: Option<TestApp>,
    /// The port of the Redis node the worker was last started to subscribe on.
    trigger: Option<u16>,
    /// Everything both apps were started with, to start the worker later or again.
    launch: Launch,
}

struct Launch {
    config: HostConfig,
    runtime_config: String,
    _kv_dir: TempDir,
}

/// A folder removed on drop (the KV file shared by the HTTP app and the worker).
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A token for `sub` with `roles` in `tenant`.
pub fn token(sub: &str, roles: &[&str], tenant: Option<&str>) -> String {
    // Valid for 30 days: period tests move the guests' clock forward by days.
    let mut claims = json!({ "sub": sub, "roles": roles, "exp": now_secs() + 30 * 86_400 });
    if let Some(t) = tenant {
        claims["tid"] = json!(t);
    }
    edge::auth::testing::mint_hs256(SECRET, &claims.to_string())
}

pub fn admin() -> String {
    token("ops", &["admin"], None)
}

pub fn service() -> String {
    token("game-server", &["service"], None)
}

pub fn player(name: &str) -> String {
    token(name, &["player"], None)
}

/// One of the repository's manifests with component paths pointed at the build output; the
/// HTTP API's is `spin-p3.toml` when the suite tests the p3 build ([`harness::p3_under_test`]).
fn shipped_manifest(name: &str) -> String {
    let name = if name == "spin.toml" && harness::p3_under_test() {
        "spin-p3.toml"
    } else {
        name
    };
    std::fs::read_to_string(format!("{}/../../{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .replace(
            "target/p3/wasm32-wasip2/release",
            &harness::p3_wasm_dir().to_string_lossy(),
        )
        .replace(
            "target/wasm32-wasip2/release",
            &wasm_dir().to_string_lossy(),
        )
}

/// Where the app's edge cache (the `default` KV store) lives in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kv {
    /// The shipped `runtime-config.toml`: Spin's SQLite store, in a file both the HTTP app and
    /// the worker use, as they share `.spin/` when run from the repository.
    Shipped,
    /// Spin's Redis store, on database 1 of the test's Redis (the documented alternative; in
    /// production a regional Redis, never the primary).
    Redis,
}

fn runtime_config(kv: Kv, redis: &RedisServer, dir: &std::path::Path) -> String {
    match kv {
        Kv::Shipped => {
            let shipped = std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../runtime-config.toml"
            ))
            .unwrap();
            let db = dir.join("sqlite_key_value.db");
            let rc = shipped.replace(".spin/sqlite_key_value.db", &db.to_string_lossy());
            assert_ne!(rc, shipped, "runtime-config.toml changed shape");
            rc
        }
        Kv::Redis => format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}/1\"\n",
            redis.url()
        ),
    }
}

/// Starts Redis and the HTTP app from the repository's `spin.toml` on the runtime under test, with
/// the shipped runtime config and extra variables.
pub async fn start_with(vars: &[(&str, &str)], config: HostConfig) -> Api {
    start_on_kv(Kv::Shipped, vars, config).await
}

/// [`start_with`] with the edge cache on the given KV store.
pub async fn start_on_kv(kv: Kv, vars: &[(&str, &str)], config: HostConfig) -> Api {
    start_on(RedisServer::start(), kv, vars, config).await
}

/// Starts the HTTP app against a given Redis.
pub async fn start_on(
    redis: RedisServer,
    kv: Kv,
    vars: &[(&str, &str)],
    config: HostConfig,
) -> Api {
    // On edge-host, behave as Spin does (a Redis connection per request, a trigger failure ends
    // the worker), so the suite means the same on both runtimes.
    launch(redis, kv, vars, config.spin_faithful()).await
}

/// [`start_on`] with edge-host's own defaults (one pooled Redis connection shared by every
/// instance), for what only edge-host does.
pub async fn start_on_pooled(
    redis: RedisServer,
    kv: Kv,
    vars: &[(&str, &str)],
    config: HostConfig,
) -> Api {
    launch(redis, kv, vars, config).await
}

async fn launch(redis: RedisServer, kv: Kv, vars: &[(&str, &str)], mut config: HostConfig) -> Api {
    for (k, v) in redis.app_variables() {
        config.variables.insert(k.into(), v);
    }
    config
        .variables
        .insert("jwt_hs256_secret".into(), SECRET.into());
    // Suites send bursts from one address: rate limits are off unless a test sets its policies
    // (api_ratelimit covers the shipped defaults).
    config.variables.insert("rate_limits".into(), "[]".into());
    for (k, v) in vars {
        config.variables.insert((*k).into(), (*v).into());
    }
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let kv_dir =
        TempDir(harness::scratch_dir().join(format!("edge-api-kv-{}-{n}", std::process::id())));
    std::fs::create_dir_all(&kv_dir.0).unwrap();
    let runtime_config = runtime_config(kv, &redis, &kv_dir.0);
    let app = TestApp::start_under_test(
        &shipped_manifest("spin.toml"),
        Some(&runtime_config),
        config.clone(),
    )
    .await;
    Api {
        redis,
        app,
        worker: None,
        trigger: None,
        launch: Launch {
            config,
            runtime_config,
            _kv_dir: kv_dir,
        },
    }
}

/// Another region of `of`'s app: the same Redis, its own KV store (the edge cache), the same
/// variables; no worker yet.
pub async fn start_region(of: &Api) -> Api {
    launch(
        RedisServer::attach(&of.redis),
        Kv::Shipped,
        &[],
        HostConfig::default().spin_faithful(),
    )
    .await
}

/// [`start`] against a Redis with the append-only file on (`appendfsync always`): a `kill -9`
/// loses no acknowledged write, and a restart comes back with the data. A batch a drain had
/// claimed when Redis died comes back claimed too (the claim is in the file): it is reclaimed a
/// second later (`inbox_reclaim_after_ms`), not after the shipped 30 s.
pub async fn start_persistent() -> Api {
    start_on(
        RedisServer::start_persistent(),
        Kv::Shipped,
        &[("inbox_reclaim_after_ms", "1000")],
        HostConfig::default(),
    )
    .await
}

pub async fn start() -> Api {
    start_with(&[], HostConfig::default()).await
}

/// [`start`] plus the worker app (`spin-worker.toml`: the Redis-triggered projector).
pub async fn start_with_worker() -> Api {
    let mut api = start().await;
    api.start_worker().await;
    api
}

/// A response, its status, headers and JSON body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem response with this status whose detail mentions `needle`.
    pub fn assert_problem(&self, status: u16, needle: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.header("content-type"), "application/problem+json");
        assert_eq!(self.body["status"], status);
        let detail = self.body["detail"].as_str().unwrap_or("");
        assert!(
            detail.to_lowercase().contains(&needle.to_lowercase()),
            "detail {detail:?} should mention {needle:?}"
        );
    }
}

impl Api {
    /// The access-log lines (JSON objects with `"msg":"request"`) the app wrote so far.
    pub fn access_log(&self) -> Vec<Value> {
        self.app
            .guest_log()
            .lines()
            .filter_map(|l| l.find('{').map(|i| &l[i..]))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["msg"] == "request")
            .collect()
    }

    /// The access-log line of the request `id` (its `X-Request-Id`), once the log holds it: the
    /// line is written before the response, and the harness reads the log as it comes.
    pub async fn log_line(&self, id: &str) -> Value {
        let find = || {
            self.access_log()
                .into_iter()
                .find(|v| v["request_id"] == id)
        };
        harness::eventually(std::time::Duration::from_secs(10), find)
            .await
            .unwrap_or_else(|| panic!("no access-log line for request {id} within 10 s"))
    }

    /// The shipped SQLite KV store's file (with [`Kv::Shipped`]).
    pub fn kv_db(&self) -> std::path::PathBuf {
        self.launch._kv_dir.0.join("sqlite_key_value.db")
    }

    /// Starts (or restarts) the worker app beside the HTTP app, on the same runtime, variables and
    /// KV store, then rings the schedule's alarm once it has subscribed, as scripts/up.sh does at
    /// each start (for an alarm that expired while no worker listened).
    pub async fn start_worker(&mut self) {
        self.start_worker_unrung().await;
        let trigger = self.trigger.expect("the worker was started on a node");
        let _: i64 = redis::cmd("PUBLISH")
            .arg(edge::schedule::ALARM_CHANNEL)
            .arg("expired")
            .query(
                &mut self
                    .redis
                    .peer(trigger)
                    .node_client()
                    .get_connection()
                    .unwrap_or_else(|e| panic!("a connection to {trigger}: {e}")),
            )
            .unwrap_or_else(|e| panic!("ringing the sweep: {e}"));
    }

    /// [`Api::start_worker`] without the ring at its start: as a platform that starts the worker
    /// and rings nothing (a Kubernetes Deployment), where only the alarm and the HTTP app's
    /// readiness probes ring it.
    pub async fn start_worker_unrung(&mut self) {
        if let Some(old) = self.worker.take() {
            old.stop().await;
        }
        // Where it subscribes is chosen again at each start, as scripts/up.sh does: on a
        // cluster, a failover (a node killed for a while) may have moved the schedule alarm's slot
        // to another primary, and the keyspace events with it; chosen once the nodes agree (a
        // restarted primary may still claim a slot its replica is taking over).
        let trigger = self.redis.settled_trigger_node().port;
        self.trigger = Some(trigger);
        self.launch
            .config
            .variables
            .insert("redis_trigger_url".into(), self.redis.peer(trigger).url());
        self.worker = Some(
            TestApp::start_under_test(
                &shipped_manifest("spin-worker.toml"),
                Some(&self.launch.runtime_config),
                self.launch.config.clone(),
            )
            .await,
        );
        // Subscribed before the test rings the doorbell (pub/sub does not keep messages), on
        // every channel (Spin subscribes them one by one).
        // Asked on the node it was given; the wait ends early when the worker ends (a refused
        // subscription ends the app, on Spin as on edge-host). Bounded loosely: the cluster run
        // under the other suites' load once took over 30 s.
        let node = self.redis.peer(trigger).node_client();
        let mut seen = String::from("no answer to PUBSUB NUMSUB");
        let mut ended = false;
        let subscribed = harness::eventually(Duration::from_secs(60), || {
            if !self.worker_running() {
                ended = true;
                return Some(false);
            }
            let n: Vec<(String, u64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg("lb:doorbell")
                .arg("lb:ingest")
                .arg("lb:invalidate")
                .arg("lb:webhooks")
                .arg(edge::schedule::ALARM_CHANNEL)
                .query(&mut node.get_connection().ok()?)
                .ok()?;
            seen = format!("PUBSUB NUMSUB answered {n:?}");
            n.iter().all(|(_, subs)| *subs > 0).then_some(true)
        })
        .await;
        if subscribed != Some(true) {
            let log = self
                .worker
                .as_ref()
                .map(TestApp::guest_log)
                .unwrap_or_default();
            let cut = (log.len().saturating_sub(3000)..log.len())
                .find(|&i| log.is_char_boundary(i))
                .unwrap_or(log.len());
            let tail = &log[cut..];
            panic!(
                "the worker never subscribed to all its channels on {trigger} (the worker {}; \
                 last {seen}); the worker's log ends:\n{tail}",
                if ended { "ended" } else { "still runs" },
            );
        }
    }

    /// Kills Redis (`SIGKILL`), restarts it 2 s later, waits for the worker app to end (its
    /// subscription dropped: Spin, and edge-host in Spin mode, end it) and starts the worker again,
    /// as scripts/up.sh and a Kubernetes Deployment do. Whether the worker ended by itself.
    pub async fn restart_redis_and_worker(&mut self) -> bool {
        // On a cluster, the node the worker was last started to subscribe on.
        let port = self
            .trigger
            .unwrap_or_else(|| self.redis.trigger_node().port);
        let server = self.redis.peer_mut(port);
        server.kill();
        tokio::time::sleep(Duration::from_secs(2)).await;
        server.restart();
        // Bounded loosely: on a machine loaded by the other suites the worker has taken more than
        // 10 s to end after a cluster node's restart; run alone it ends within seconds.
        let ended = harness::eventually(Duration::from_secs(30), || {
            (!self.worker_running()).then_some(())
        })
        .await;
        self.start_worker().await;
        ended.is_some()
    }

    /// Stops the worker app (the Redis trigger) and waits until the node it subscribed on counts
    /// one subscriber of the doorbell less (another region's worker may listen there too; a node
    /// that does not answer counts none): doorbells rung meanwhile reach no worker of this app.
    pub async fn stop_worker(&mut self) {
        // A worker that ended by itself (its subscription dropped) has nothing to wait for.
        let ran = self.worker_running();
        let Some(w) = self.worker.take() else {
            return;
        };
        let node = self
            .trigger
            .filter(|_| ran)
            .map(|t| (t, self.redis.peer(t).node_client()));
        let doorbell_subscribers = |node: &redis::Client| -> Option<u64> {
            let n: Vec<(String, u64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(edge::submissions::submit::DOORBELL)
                .query(&mut node.get_connection().ok()?)
                .ok()?;
            n.first().map(|(_, subs)| *subs)
        };
        let before = node.as_ref().and_then(|(_, c)| doorbell_subscribers(c));
        w.stop().await;
        // None listened there: nothing to wait for.
        let (Some((trigger, node)), Some(before @ 1..)) = (node, before) else {
            return;
        };
        let mut seen = before;
        // Redis drops a closed connection's subscriptions at once; 10 s bounds a loaded machine.
        let gone = harness::eventually(Duration::from_secs(10), || {
            let Some(now) = doorbell_subscribers(&node) else {
                return Some(());
            };
            seen = now;
            (now < before).then_some(())
        })
        .await;
        assert!(
            gone.is_some(),
            "the stopped worker's subscription outlived it by 10 s on {trigger}: the doorbell \
             still has {seen} subscribers, as before it stopped"
        );
    }

    /// Whether the worker app is still running (Spin, and edge-host in its Spin-faithful mode, end
    /// it when its Redis subscription drops).
    pub fn worker_running(&mut self) -> bool {
        match self.worker.as_mut() {
            None => false,
            Some(w) => match w.host() {
                Some(host) => host.ended().is_none(),
                None => w.spin().is_some_and(|s| s.is_running()),
            },
        }
    }

    /// Stops the apps (Redis stops when `self` is dropped).
    pub async fn stop(self) {
        if let Some(w) = self.worker {
            w.stop().await;
        }
        self.app.stop().await;
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.app.http.request(method, self.app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.execute(req).await
    }

    /// A call whose body is `text` as given (truncated or otherwise broken JSON), sent as
    /// `application/json`.
    pub async fn call_text(&self, method: Method, path: &str, token: &str, text: &str) -> Reply {
        let req = self
            .app
            .http
            .request(method, self.app.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(text.to_string());
        self.execute(req).await
    }

    async fn execute(&self, req: reqwest::RequestBuilder) -> Reply {
        let req = req.build().unwrap();
        let recorded = harness::Recorded::request(&req, self.app.runtime_name(), self.app.records);
        let resp = self.app.http.execute(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        recorded.response(status.as_u16(), &headers, &text);
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None, &[]).await
    }

    /// Posts a board's configuration as an admin: whatever the app answers.
    pub async fn post_board(&self, config: Value) -> Reply {
        self.call(
            Method::POST,
            "/api/v1/boards",
            Some(&admin()),
            Some(config),
            &[],
        )
        .await
    }

    pub async fn create_board(&self, config: Value) -> Reply {
        let r = self.post_board(config).await;
        assert_eq!(r.status, 201, "create board: {}", r.body);
        r
    }

    /// The actions of the newest 50 entries of the tenant's audit log (an admin's `token`), in
    /// order.
    pub async fn audit_actions(&self, token: &str) -> Vec<String> {
        let audit = self.get("/api/v1/audit?limit=50", Some(token)).await;
        assert_eq!(audit.status, 200, "{}", audit.body);
        audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }

    pub async fn submit(&self, board: &str, body: Value) -> Reply {
        self.call(
            Method::POST,
            &format!("/api/v1/boards/{board}/scores"),
            Some(&service()),
            Some(body),
            &[],
        )
        .await
    }

    /// Creates a board with `config` and five players: ann 500, bob 400, cy 300, dee 200,
    /// eve 100 (what the GraphQL and Connect suites read through their doors).
    pub async fn board_of_five(&self, config: Value) {
        let board = config["id"].as_str().unwrap().to_string();
        self.create_board(config).await;
        for (p, score) in [
            ("ann", 500),
            ("bob", 400),
            ("cy", 300),
            ("dee", 200),
            ("eve", 100),
        ] {
            self.submit_ok(&board, p, json!(score)).await;
        }
    }

    pub async fn submit_ok(&self, board: &str, player: &str, score: Value) -> Reply {
        let r = self
            .submit(board, json!({ "player": player, "score": score }))
            .await;
        assert!(r.status.is_success(), "submit {player}: {}", r.body);
        r
    }

    /// Drains a board through the HTTP drain until nothing is left; the entries applied.
    pub async fn drain_all(&self, board: &str) -> u64 {
        let mut applied = 0;
        for _ in 0..200 {
            let r = self
                .call(
                    Method::POST,
                    &format!("/api/v1/admin/drain?board={board}&max_events=100000"),
                    Some(&admin()),
                    None,
                    &[],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            applied += r.body["applied"].as_u64().unwrap();
            if r.body["more"] == false && r.body["pending"] == 0 {
                return applied;
            }
        }
        panic!("{board} never drained");
    }

    /// Waits at least one millisecond so consecutive submissions get distinct achievement times.
    pub async fn tick(&self) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// `(player, integer score)` of a list of entries (a page's `entries`, a webhook's `top`).
pub fn player_scores(list: &Value) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["player"].as_str().unwrap().to_string(),
                e["score"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// (player, rank, score) of a page.
pub fn rows(body: &Value) -> Vec<(String, u64, Value)> {
    body["entries"]
        .as_array()
        .or_else(|| body["data"].as_array())
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["player"].as_str().unwrap_or("").to_string(),
                e["rank"].as_u64().unwrap_or(0),
                e["score"].clone(),
            )
        })
        .collect()
}

/// A GraphQL request (`POST /graphql`) with `token`, which must answer `200`: its body (`data`
/// and `errors`).
pub async fn gql(api: &Api, token: String, query: String) -> Value {
    let r = api
        .call(
            reqwest::Method::POST,
            "/graphql",
            Some(&token),
            Some(json!({ "query": query })),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

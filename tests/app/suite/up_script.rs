//! `scripts/up.sh` serving on a Redis Cluster it is given: the worker it supervises subscribes
//! where the schedule's alarm rings, and follows it there after a failover.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use harness::{RedisServer, RuntimeKind, eventually, free_port};

use crate::api::TempDir;

/// How often up.sh checks where the alarm's slot is served (`UP_FOLLOW_SECS`).
const FOLLOW_SECS: u64 = 1;

/// `scripts/up.sh` run from the repository's root with `env` (UP_DIR, the runtime, the Redis
/// Cluster), bounded by `bound`.
fn up(args: &[&str], env: &[(&str, String)], bound: Duration) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cmd = Command::new("timeout");
    cmd.arg(bound.as_secs().to_string())
        .arg("scripts/up.sh")
        .args(args)
        .current_dir(&root);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("running scripts/up.sh: {e}"))
}

/// The edge-host binary the test build made (`cargo test --workspace` builds it for
/// edge-host's own tests): beside the test binary itself (`target/<profile>/deps/app-…`).
fn edge_host_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("the test's own path: {e}"));
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|profile| profile.join("edge-host"))
        .unwrap_or_else(|| panic!("{} is in no target folder", exe.display()));
    assert!(
        bin.exists(),
        "{} is missing: `cargo test --workspace` builds it",
        bin.display()
    );
    bin
}

/// Subscribers of the schedule's alarm channel on the node on `port` (None: no answer).
fn alarm_subscribers(redis: &RedisServer, port: u16) -> Option<u64> {
    let mut conn = redis.peer(port).node_client().get_connection().ok()?;
    let n: Vec<(String, u64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(edge::schedule::ALARM_CHANNEL)
        .query(&mut conn)
        .ok()?;
    n.first().map(|(_, subs)| *subs)
}

/// A failover that keeps every node up (`CLUSTER FAILOVER` on the replica: the old primary stays,
/// a replica now) leaves a worker's subscription standing where the alarm no longer rings: the
/// alarm is a keyspace event, which only the slot's primary publishes. up.sh sees the slot served
/// elsewhere and starts the worker again on the new primary, which it rings once subscribed.
#[tokio::test(flavor = "multi_thread")]
async fn the_worker_follows_the_schedules_alarm_to_the_primary_a_failover_made() {
    let redis = RedisServer::start_cluster3();
    let dir = TempDir(harness::scratch_dir().join(format!("up-{}", free_port())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let runtime_config = dir.0.join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        format!(
            "[key_value_store.default]\ntype = \"spin\"\npath = \"{}\"\n",
            dir.0.join("kv.db").display()
        ),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut env = vec![
        ("UP_DIR", dir.0.join("up").display().to_string()),
        ("UP_WAIT_SECS", "300".to_string()),
        // The suite's components, as built: a build here would write them while the other
        // tests read them.
        ("UP_BUILD", "0".to_string()),
        ("UP_FOLLOW_SECS", FOLLOW_SECS.to_string()),
        ("REDIS_MODE", "cluster".to_string()),
        ("REDIS_URL", redis.app_url()),
        ("RUNTIME_CONFIG", runtime_config.display().to_string()),
        (
            "SPIN_VARIABLE_JWT_HS256_SECRET",
            crate::api::SECRET.to_string(),
        ),
    ];
    let spin = RuntimeKind::under_test().is_spin();
    if spin {
        let bin = harness::spin_bin().expect("EDGE_TEST_RUNTIME=spin needs a Spin CLI (SPIN_BIN)");
        env.push(("SPIN_BIN", bin.display().to_string()));
    } else {
        env.push(("UP_RUNTIME", "edge-host".to_string()));
        env.push(("EDGE_HOST_BIN", edge_host_bin().display().to_string()));
    }
    let log = || std::fs::read_to_string(dir.0.join("up/up.log")).unwrap_or_default();
    let background = Background(env.clone());
    let started = up(
        &["--background", "--listen", &listen],
        &env,
        Duration::from_secs(360),
    );
    assert!(
        started.status.success(),
        "scripts/up.sh --background failed: {}{}",
        String::from_utf8_lossy(&started.stdout),
        String::from_utf8_lossy(&started.stderr)
    );

    let primary = redis.settled_trigger_node().port;
    let replica = redis.replica_of(primary);
    // The worker subscribes on the alarm's primary. Bounded by a worker's start on a loaded
    // machine (up.sh waits for the HTTP app only).
    let on_primary = eventually(Duration::from_secs(60), || {
        (alarm_subscribers(&redis, primary)? > 0).then_some(())
    })
    .await;
    assert!(
        on_primary.is_some(),
        "the worker never subscribed on the alarm's primary {primary}; up.log ends:\n{}",
        tail(&log())
    );

    let answer: String = redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .query(&mut redis.peer(replica).node_conn())
        .unwrap_or_else(|e| panic!("CLUSTER FAILOVER on {replica}: {e}"));
    assert_eq!(answer, "OK");
    // The replica takes the slot (a coordinated failover: no node fails), and the nodes agree
    // (each look waits for them to agree, up to its own bound). Bounded by the cluster's own
    // failover timeout (twice `cluster-node-timeout`), with room for a loaded machine.
    let bound = Duration::from_millis(harness::CLUSTER_NODE_TIMEOUT_MS * 15);
    let mut serving = primary;
    let moved = eventually(bound, || {
        serving = redis.settled_trigger_node().port;
        (serving == replica).then_some(())
    })
    .await;
    assert!(
        moved.is_some(),
        "the failover to {replica} did not happen within {bound:?}: the nodes agree on {serving}"
    );

    // up.sh sees the slot served by the new primary in two checks in a row, stops the worker
    // and starts it there: bounded by those checks, the worker's stop and a start on a loaded
    // machine.
    let mut seen = (None, None);
    let followed = eventually(Duration::from_secs(60 + 2 * FOLLOW_SECS), || {
        seen = (
            alarm_subscribers(&redis, replica),
            alarm_subscribers(&redis, primary),
        );
        (seen.0 > Some(0) && seen.1 == Some(0)).then_some(())
    })
    .await;
    let text = log();
    assert!(
        followed.is_some(),
        "the worker did not move to the new primary {replica} (alarm subscribers there, and on \
         the old primary {primary}: {seen:?}); up.log ends:\n{}",
        tail(&text)
    );
    assert!(
        text.contains(&format!(
            "the schedule's alarm is served by redis://127.0.0.1:{replica}"
        )),
        "up.log does not say why the worker restarted:\n{}",
        tail(&text)
    );
    // The HTTP app kept serving.
    let ready = reqwest::get(format!("http://{listen}/health/ready"))
        .await
        .unwrap_or_else(|e| panic!("GET /health/ready: {e}"));
    assert_eq!(ready.status(), 200);

    drop(background);
}

/// What `scripts/up.sh --background` started (its environment names it): stopped with
/// `scripts/up.sh --stop` however the test ends.
struct Background(Vec<(&'static str, String)>);

impl Drop for Background {
    fn drop(&mut self) {
        let stopped = up(&["--stop"], &self.0, Duration::from_secs(60));
        if !stopped.status.success() && !std::thread::panicking() {
            panic!(
                "scripts/up.sh --stop failed: {}",
                String::from_utf8_lossy(&stopped.stderr)
            );
        }
    }
}

/// The last 40 lines of a log.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

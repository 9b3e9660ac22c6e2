//! Traps, endless loops and memory exhaustion are contained: a failed request (a bare 500, as Spin
//! gives, or the host's 504 problem for its deadline), and the next request is served normally.

use std::time::Duration;

use edge_host::HostConfig;

async fn assert_problem(app: &harness::TestApp, path: &str, status: u16) {
    let r = app.get(path).await;
    assert_eq!(r.status(), status, "{path}");
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{path}"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().unwrap().contains("probe"), "{body}");
}

/// A bare 500, as Spin answers for a component that failed.
async fn assert_bare_500(app: &harness::TestApp, path: &str) {
    let r = app.get(path).await;
    assert_eq!(r.status(), 500, "{path}");
    assert!(r.bytes().await.unwrap().is_empty(), "{path}: no body");
}

#[tokio::test(flavor = "multi_thread")]
async fn trap_gives_a_bare_500_and_next_request_works() {
    let (_redis, app) = harness::probe_app(HostConfig::default()).await;
    assert_bare_500(&app, "/trap").await;
    let (s, _) = app.get_json("/clock").await;
    assert_eq!(s, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_loop_hits_the_deadline_and_host_keeps_serving() {
    let config = HostConfig {
        request_timeout: Some(Duration::from_secs(1)),
        ..HostConfig::default()
    };
    let (_redis, app) = harness::probe_app(config).await;
    let looping = {
        let http = app.http.clone();
        let url = app.url("/loop");
        tokio::spawn(async move { http.get(url).send().await.map(|r| r.status().as_u16()) })
    };
    // While the loop runs, other requests are served.
    let (s, _) = app.get_json("/clock").await;
    assert_eq!(s, 200);
    assert_eq!(looping.await.unwrap().unwrap(), 504);
    assert_problem(&app, "/loop", 504).await;
    let (s, _) = app.get_json("/clock").await;
    assert_eq!(s, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_cap_is_enforced() {
    let config = HostConfig {
        memory_limit_bytes: 32 << 20,
        ..HostConfig::default()
    };
    let (_redis, app) = harness::probe_app(config).await;
    let (s, _) = app.get_json("/alloc?mb=8").await;
    assert_eq!(s, 200, "under the cap");
    assert_bare_500(&app, "/alloc?mb=64").await;
    let (s, _) = app.get_json("/alloc?mb=8").await;
    assert_eq!(s, 200, "a fresh instance after the failure");
    app.stop().await;
}

/// `edge-host up` (the binary) on SIGTERM stops accepting, lets the request in flight finish —
/// here a guest waiting 2 s on a slow upstream — and then exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_requests_in_flight_then_exits() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The slow upstream: answers each request 2 s after it arrives.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_port = upstream.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = upstream.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nslow",
                    )
                    .await;
            });
        }
    });
    let redis = harness::RedisServer::start();
    let dir = std::env::temp_dir().join(format!("edge-host-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        harness::probe_manifest(&redis.url(), "")
            .replace("{wasm}", &harness::wasm_dir().to_string_lossy()),
    )
    .unwrap();
    let rc = dir.join("runtime-config.toml");
    std::fs::write(&rc, harness::PROBE_STORES).unwrap();
    let port = harness::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_edge-host"))
        .args(["up", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--manifest")
        .arg(&manifest)
        .arg("--runtime-config")
        .arg(&rc)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("host.log")).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let up = harness::eventually(Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| ())
    })
    .await;
    assert!(up.is_some(), "edge-host did not start");
    // Serving (the signal handler is installed once it serves).
    assert_eq!(
        http.get(format!("{base}/clock"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let in_flight = {
        let (http, url) = (
            http.clone(),
            format!("{base}/outbound?url=http://127.0.0.1:{upstream_port}/"),
        );
        tokio::spawn(async move {
            let r = http.get(url).send().await;
            let r = match r {
                Ok(r) => Ok((r.status().as_u16(), r.text().await.unwrap_or_default())),
                Err(e) => Err(e.to_string()),
            };
            (r, std::time::Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // New connections are refused once it stopped accepting, while the request is in flight.
    let refused = harness::eventually(Duration::from_secs(1), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .err()
            .map(|_| ())
    })
    .await;
    let log = || std::fs::read_to_string(dir.join("host.log")).unwrap_or_default();
    assert!(
        refused.is_some(),
        "still accepting after SIGTERM: {}",
        log()
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited before finishing: {}",
        log()
    );
    // The request in flight got its whole answer, ~1.5 s after the signal.
    let (answer, answered) = in_flight.await.unwrap();
    let (status, body) = answer.unwrap_or_else(|e| panic!("request dropped: {e}: {}", log()));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("slow"), "{body}");
    assert!(answered.duration_since(signalled) > Duration::from_millis(1000));
    let exited = harness::eventually(Duration::from_secs(10), || child.try_wait().unwrap())
        .await
        .expect("edge-host did not exit after SIGTERM");
    assert!(exited.success(), "{exited:?}: {}", log());
    assert!(log().contains("shutting down"), "{}", log());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_spin_lacks_is_asked_for_and_spin_faithful_clears_it() {
    let extras = |c: &HostConfig| (c.request_timeout, c.tcp_nodelay, c.redis_timeouts);
    assert_eq!(extras(&HostConfig::default()), (None, false, false));
    let asked = HostConfig {
        request_timeout: Some(Duration::from_secs(30)),
        tcp_nodelay: true,
        redis_timeouts: true,
        ..HostConfig::default()
    };
    assert_eq!(extras(&asked.spin_faithful()), (None, false, false));
}

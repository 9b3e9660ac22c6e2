//! The native baseline serves the same API as the components: create a board, submit, read a
//! cached page, against a real redis-server on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "native-test-secret-0123456789abcdef0123456789abcdef0123456789abcd";

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn native_baseline_serves_the_same_api() {
    let port = free_port();
    let _redis = Kill(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (run scripts/setup.sh)"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spin.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_edge-native"))
        .args(["--manifest", manifest, "--listen", "127.0.0.1:0"])
        .env(
            "SPIN_VARIABLE_REDIS_URL",
            format!("redis://127.0.0.1:{port}"),
        )
        .env("SPIN_VARIABLE_JWT_HS256_SECRET", SECRET)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _native = Kill(child);
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");

    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let admin = edge::auth::testing::mint_hs256(
        SECRET,
        &format!(r#"{{"sub":"ops","roles":["admin"],"exp":{exp}}}"#),
    );
    let http = reqwest::blocking::Client::new();
    let r = http
        .post(format!("{base}/api/v1/boards"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"id": "nat", "public_read": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    for (p, s) in [("ann", 5), ("bob", 9), ("cat", 5)] {
        let r = http
            .post(format!("{base}/api/v1/boards/nat/scores"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"player": p, "score": s}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let first = http
        .get(format!("{base}/api/v1/boards/nat/entries"))
        .send()
        .unwrap();
    assert_eq!(first.headers()["x-cache"], "MISS");
    let body: serde_json::Value = first.json().unwrap();
    let ranks: Vec<u64> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, [1, 2, 2]);
    let second = http
        .get(format!("{base}/api/v1/boards/nat/entries"))
        .send()
        .unwrap();
    assert_eq!(second.headers()["x-cache"], "HIT");
}

//! The project's own `spin.toml`, as shipped, served by the host.

use edge_host::{Host, HostConfig};

#[tokio::test(flavor = "multi_thread")]
async fn shipped_manifest_serves_health_live() {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
    let dir = std::env::temp_dir().join(format!("edge-host-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rc = dir.join("runtime-config.toml");
    std::fs::write(&rc, "[key_value_store.default]\ntype = \"memory\"\n").unwrap();
    let config = HostConfig {
        runtime_config: Some(rc),
        ..HostConfig::default()
    };
    let host = Host::start(&manifest, ([127, 0, 0, 1], 0).into(), config)
        .await
        .unwrap();
    let base = format!("http://{}", host.addr());
    let http = reqwest::Client::new();

    let r = http
        .get(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));

    let r = http
        .post(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    host.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

//! Criterion benchmarks of the host's per-request floor, with the `hello` test guest
//! (`200 hello, world`, built by `scripts/build.sh`):
//!
//! - `instantiate/<component>`: a fresh `Store` plus an instance from the pre-instantiated
//!   component (pooling allocator), dropped without calling the handler — what every request pays
//!   first — for `hello` and for each of the app's HTTP components (`health`, `boards`, `scores`,
//!   `rankings`); `EDGE_BENCH_WASM_DIR` points at another build's `.wasm` files (e.g. an older
//!   release, for a before/after comparison);
//! - `request/hello`: one whole request through `Runtime::handle` — routing, instantiation, the
//!   guest's handler, reading the response body — in process, without sockets.
//!
//! `cargo bench -p edge-host --bench host` (`scripts/bench-host.sh` runs it, after the build).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use edge_host::{HostConfig, Runtime};
use http_body_util::{BodyExt, Empty};

const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "hello-bench"

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = "{wasm}/hello.wasm"

[[trigger.http]]
route = "/health/live"
component = "health"
[component.health]
source = "{wasm}/health.wasm"

[[trigger.http]]
route = "/boards"
component = "boards"
[component.boards]
source = "{wasm}/boards.wasm"

[[trigger.http]]
route = "/scores"
component = "scores"
[component.scores]
source = "{wasm}/scores.wasm"

[[trigger.http]]
route = "/rankings"
component = "rankings"
[component.rankings]
source = "{wasm}/rankings.wasm"
"#;

/// The app components instantiated by `instantiate/<component>`, after `hello`.
const APP_COMPONENTS: [&str; 4] = ["health", "boards", "scores", "rankings"];

const RUNTIME_CONFIG: &str = "[key_value_store.default]\ntype = \"memory\"\n";

/// Where `scripts/build.sh` puts the components (as in the harness, `tests/app/src/lib.rs`).
fn wasm_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("EDGE_BENCH_WASM_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("wasm32-wasip2/release");
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// Writes the throwaway manifest and runtime config, loads them, and removes the folder.
fn load(rt: &tokio::runtime::Runtime) -> Arc<Runtime> {
    let wasm = wasm_dir();
    assert!(
        wasm.join("hello.wasm").is_file(),
        "{} missing: run scripts/build.sh",
        wasm.join("hello.wasm").display()
    );
    let dir = std::env::temp_dir().join(format!("edge-host-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        MANIFEST.replace("{wasm}", &wasm.to_string_lossy()),
    )
    .unwrap();
    let runtime_config = dir.join("runtime-config.toml");
    std::fs::write(&runtime_config, RUNTIME_CONFIG).unwrap();
    let config = HostConfig {
        runtime_config: Some(runtime_config),
        ..HostConfig::default()
    };
    let runtime = rt
        .block_on(Runtime::load(&manifest, config))
        .unwrap_or_else(|e| panic!("loading the hello app: {e:#}"));
    std::fs::remove_dir_all(&dir).unwrap();
    runtime
}

async fn request(runtime: &Arc<Runtime>, client: SocketAddr) -> Bytes {
    let req = hyper::Request::builder()
        .uri("/")
        .header(http::header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = runtime.handle(req, client).await;
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.unwrap().to_bytes()
}

fn bench_host(c: &mut Criterion) {
    // A current-thread runtime: the request's guest task runs on the benchmark's own thread, so
    // the figures are the host's work, not cross-thread wake-ups.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = load(&rt);
    let client: SocketAddr = ([127, 0, 0, 1], 40000).into();
    assert_eq!(
        rt.block_on(request(&runtime, client)),
        Bytes::from_static(b"hello, world")
    );

    for component in std::iter::once("hello").chain(APP_COMPONENTS) {
        c.bench_function(&format!("instantiate/{component}"), |b| {
            b.iter(|| {
                rt.block_on(runtime.instantiate_only(black_box(component)))
                    .unwrap()
            });
        });
    }
    c.bench_function("request/hello", |b| {
        b.iter(|| black_box(rt.block_on(request(&runtime, client))));
    });
}

criterion_group!(benches, bench_host);
criterion_main!(benches);

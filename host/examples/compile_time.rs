//! `cargo run --profile host -p edge-host --example compile_time -- FILE.wasm...`: how long
//! wasmtime takes to compile each component, the cost a start pays once per distinct component
//! with an empty compile cache (docs/benchmarks.md, "Cold start: what it is made of").
//!
//! Each file is compiled on one thread (`parallel_compilation(false)`: steadier figures than the
//! parallel compile a host does, and proportional to it), best of three, with wasmtime's default
//! configuration as Spin uses it (Cranelift, speed-optimised). Prints one JSON object per file:
//! `{"file": …, "bytes": …, "compile_s": …}`. `scripts/sizes.sh` runs it.

use std::time::Instant;

use anyhow::{Context, Result};

/// Compiles of each file; the fastest is reported (the others absorb the machine's noise).
const ROUNDS: usize = 3;

fn main() -> Result<()> {
    let mut config = wasmtime::Config::new();
    config.parallel_compilation(false);
    let engine = wasmtime::Engine::new(&config).map_err(anyhow::Error::from)?;
    for file in std::env::args().skip(1) {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {file}"))?;
        let mut best = f64::INFINITY;
        for _ in 0..ROUNDS {
            let started = Instant::now();
            wasmtime::component::Component::new(&engine, &bytes)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("compiling {file}"))?;
            best = best.min(started.elapsed().as_secs_f64());
        }
        println!(
            "{}",
            serde_json::json!({ "file": file, "bytes": bytes.len(), "compile_s": best })
        );
    }
    Ok(())
}

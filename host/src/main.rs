//! `edge-host up [--listen ADDR] [--manifest spin.toml] [--runtime-config FILE]
//!  [--clock-offset-ms N] [--timeout-secs N] [--tcp-nodelay] [--redis-timeouts] [--spin-faithful]`
//!
//! By default the host has none of what Spin 4.0.2 lacks: `--timeout-secs N` gives each request
//! a deadline (a `504` problem past it), `--tcp-nodelay` sets `TCP_NODELAY` on accepted
//! connections, `--redis-timeouts` gives up on a Redis connect or reply after 5 s.
//! `--spin-faithful` also behaves as Spin where the host would otherwise be faster or more
//! forgiving: a Redis connection per request, one Redis message at a time, and a lost Redis
//! trigger connection ends the process (exit status 1), HTTP included.
//!
//! SIGTERM and SIGINT stop it gracefully: no new connections, requests in flight finish (each
//! within `--timeout-secs`, else within 61 s), then exit status 0.
//!
//! Arguments are parsed by hand (a dozen lines) to keep the host's dependency tree small.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use edge_host::{Host, HostConfig};

const USAGE: &str = "usage: edge-host up [--listen ADDR] [--manifest FILE] [--runtime-config FILE] [--clock-offset-ms N] [--timeout-secs N] [--tcp-nodelay] [--redis-timeouts] [--spin-faithful]";

/// Notes an extra flag once (it may be given twice).
fn note(extras: &mut Vec<String>, flag: &str) {
    if !extras.iter().any(|f| f == flag) {
        extras.push(flag.to_string());
    }
}

/// `up`'s flags: where to listen, the manifest and the host's settings (`None`: `--help`).
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<(SocketAddr, PathBuf, HostConfig)>> {
    match args.next().as_deref() {
        Some("up") => {}
        Some("-h" | "--help") => return Ok(None),
        _ => bail!("{USAGE}"),
    }
    let mut listen: SocketAddr = ([127, 0, 0, 1], 3000).into();
    let mut manifest = PathBuf::from("spin.toml");
    let mut config = HostConfig::default();
    // `--spin-faithful` runs as Spin does; the extras Spin lacks contradict it, in any order.
    let mut faithful = false;
    let mut extras: Vec<String> = Vec::new();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--listen" => listen = value()?.parse().context("--listen takes HOST:PORT")?,
            "--manifest" | "-f" => manifest = PathBuf::from(value()?),
            "--runtime-config" | "--runtime-config-file" => {
                config.runtime_config = Some(PathBuf::from(value()?))
            }
            "--clock-offset-ms" => {
                config.clock_offset_ms = value()?
                    .parse()
                    .context("--clock-offset-ms takes an integer")?
            }
            "--timeout-secs" => {
                let secs: u64 = value()?
                    .parse()
                    .context("--timeout-secs takes a whole number of seconds")?;
                if secs == 0 {
                    bail!("--timeout-secs must be at least 1 (leave it out for no deadline)");
                }
                config.request_timeout = Some(std::time::Duration::from_secs(secs));
                note(&mut extras, &flag);
            }
            "--tcp-nodelay" => {
                config.tcp_nodelay = true;
                note(&mut extras, &flag);
            }
            "--redis-timeouts" => {
                config.redis_timeouts = true;
                note(&mut extras, &flag);
            }
            "--spin-faithful" => faithful = true,
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    if faithful {
        if !extras.is_empty() {
            bail!(
                "--spin-faithful runs as Spin does, without {}: leave one or the other out",
                extras.join(", ")
            );
        }
        config = config.spin_faithful();
    }
    Ok(Some((listen, manifest, config)))
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Some((listen, manifest, config)) = parse_args(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    let host = Host::start(&manifest, listen, config).await?;
    println!(
        "edge-host: serving {} on http://{}",
        manifest.display(),
        host.addr()
    );
    for r in host.runtime.router.routes() {
        println!("  http://{}{} -> {}", host.addr(), r.raw, r.component);
    }
    // SIGTERM (Kubernetes, systemd, docker stop) and SIGINT (Ctrl-C) shut down gracefully: stop
    // accepting, finish the requests in flight (each within its deadline), then exit 0.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = terminate.recv() => {}
        reason = host.wait_ended() => {
            eprintln!("edge-host: {reason}\nA trigger exited unexpectedly. Terminating.");
            host.shutdown().await;
            std::process::exit(1);
        }
    }
    eprintln!("edge-host: shutting down (finishing requests in flight)");
    host.shutdown().await;
    eprintln!("edge-host: stopped");
    Ok(())
}

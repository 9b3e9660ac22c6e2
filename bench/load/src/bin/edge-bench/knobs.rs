//! The `BENCH_*` knobs, read from the environment (`scripts/bench.sh`'s header lists them). A knob
//! set to the empty string takes its default.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::tools;

/// The runtimes the bench knows: Spin with the p2 build (spin.toml), Spin with the WASIp3 build
/// (spin-p3.toml, `scripts/build.sh p3`; Spin 4.0.x only) and edge-host (the p2 build).
pub const SPIN: &str = "spin";
pub const SPIN_P3: &str = "spin-p3";
pub const EDGE_HOST: &str = "edge-host";
/// Every runtime, in the order BENCH_RUNTIMES measures them by default and the targets name them.
pub const RUNTIMES: [&str; 3] = [SPIN, SPIN_P3, EDGE_HOST];

pub struct Knobs {
    /// BENCH_PLAYERS (1000000): players seeded into each big board.
    pub players: u64,
    /// BENCH_WARMUP_SECS (2): each HTTP row's discarded warm-up.
    pub warmup_secs: u64,
    /// BENCH_SECS (6): each HTTP row's measured phase, at most.
    pub secs: u64,
    /// BENCH_REQUESTS (100000): each HTTP row's requests, at most.
    pub requests: u64,
    /// BENCH_ROUNDS (3): rounds of the floors and the target rows.
    pub rounds: u32,
    /// BENCH_LAG_SAMPLES (50): submit→visible lag samples.
    pub lag_samples: u64,
    /// BENCH_DRAIN_SECS (60): the longest wait for the projector to drain, per async row.
    pub drain_secs: u64,
    /// BENCH_DRAIN_ENTRIES (50000): the projector-throughput backlog.
    pub drain_entries: u64,
    /// BENCH_LIVE_CLIENTS ("100 400 800"): event streams held at once, one row each.
    pub live_clients: Vec<u64>,
    /// BENCH_LIVE_MAX_STREAMS (900): the app's `live_max_streams`.
    pub live_max_streams: String,
    /// BENCH_HOOKS (2000): scores submitted to the webhook board.
    pub hooks: u64,
    /// BENCH_LEAGUE_PLAYERS (100000): players of the league whose close is measured.
    pub league_players: u64,
    /// BENCH_OUT (bench-results): where bench.md and bench.json go.
    pub out: PathBuf,
    /// BENCH_PAUSE_SECS (60): the pause between runtimes, as given and as a duration.
    pub pause_secs: f64,
    pub pause: Duration,
    /// BENCH_RUNTIMES ("spin spin-p3 edge-host"): which runtimes to measure, in order.
    pub runtimes: Vec<String>,
    /// BENCH_REQUEST_LOG (off) and BENCH_METRICS (off): the endpoint rows' access log and metrics.
    pub request_log: String,
    pub metrics: String,
    /// SPIN_BIN: the Spin CLI (else `spin` on PATH).
    pub spin_bin: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn text(name: &str, default: &str) -> String {
    var(name).unwrap_or_else(|| default.to_string())
}

fn whole<T: std::str::FromStr>(name: &str, default: &str) -> Result<T> {
    let raw = text(name, default);
    raw.trim()
        .parse()
        .ok()
        .with_context(|| format!("{name} takes a whole number, not {raw:?}"))
}

fn list(name: &str, default: &str) -> Result<Vec<u64>> {
    let raw = text(name, default);
    let mut values = Vec::new();
    for word in raw.split_whitespace() {
        let n: u64 = word
            .parse()
            .with_context(|| format!("{name}: {word:?} is not a whole number"))?;
        values.push(n);
    }
    Ok(values)
}

/// Seconds as given (for the messages) and as a duration.
fn seconds(name: &str, default: &str) -> Result<(f64, Duration)> {
    let raw = text(name, default);
    let secs: f64 = raw
        .trim()
        .parse()
        .with_context(|| format!("{name} takes seconds, not {raw:?}"))?;
    if !secs.is_finite() || secs < 0.0 {
        bail!("{name} takes seconds, not {raw:?}");
    }
    let duration = Duration::try_from_secs_f64(secs)
        .with_context(|| format!("{name}: {raw:?} seconds is too long a time"))?;
    Ok((secs, duration))
}

impl Knobs {
    pub fn from_env() -> Result<Self> {
        let (pause_secs, pause) = seconds("BENCH_PAUSE_SECS", "60")?;
        Ok(Self {
            players: whole("BENCH_PLAYERS", "1000000")?,
            warmup_secs: whole("BENCH_WARMUP_SECS", "2")?,
            secs: whole("BENCH_SECS", "6")?,
            requests: whole("BENCH_REQUESTS", "100000")?,
            rounds: whole("BENCH_ROUNDS", "3")?,
            lag_samples: whole("BENCH_LAG_SAMPLES", "50")?,
            drain_secs: whole("BENCH_DRAIN_SECS", "60")?,
            drain_entries: whole("BENCH_DRAIN_ENTRIES", "50000")?,
            live_clients: list("BENCH_LIVE_CLIENTS", "100 400 800")?,
            live_max_streams: text("BENCH_LIVE_MAX_STREAMS", "900"),
            hooks: whole("BENCH_HOOKS", "2000")?,
            league_players: whole("BENCH_LEAGUE_PLAYERS", "100000")?,
            out: PathBuf::from(text("BENCH_OUT", "bench-results")),
            pause_secs,
            pause,
            runtimes: text("BENCH_RUNTIMES", &RUNTIMES.join(" "))
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            request_log: text("BENCH_REQUEST_LOG", "off"),
            metrics: text("BENCH_METRICS", "off"),
            spin_bin: var("SPIN_BIN"),
        })
    }

    /// The runtimes to measure and the Spin CLI: SPIN_BIN, else `spin` on PATH, when it is an
    /// executable file (else there is none: the report names no Spin). When Spin is to be
    /// measured but there is no such CLI, Spin is dropped with a line.
    pub fn runtimes_and_spin(&self) -> Result<(Vec<String>, Option<PathBuf>)> {
        let mut runtimes = self.runtimes.clone();
        if let Some(bad) = runtimes.iter().find(|r| !RUNTIMES.contains(&r.as_str())) {
            bail!(
                "BENCH_RUNTIMES: unknown runtime {bad:?} ({})",
                RUNTIMES.join(", ")
            );
        }
        let spin = self
            .spin_bin
            .as_ref()
            .map(PathBuf::from)
            .or_else(|| tools::on_path("spin"))
            .filter(|p| tools::is_executable(p))
            .map(std::path::absolute)
            .transpose()
            .context("resolving the Spin CLI's path")?;
        if spin.is_none() && runtimes.iter().any(|r| r == SPIN || r == SPIN_P3) {
            eprintln!("bench: no Spin CLI (SPIN_BIN or spin on PATH): measuring edge-host only");
            runtimes.retain(|r| r != SPIN && r != SPIN_P3);
        }
        if let Some(cli) = &spin
            && runtimes.iter().any(|r| r == SPIN_P3)
            && !runs_p3(cli)
        {
            eprintln!(
                "bench: {} is not Spin 4.0.x, which the p3 build needs: not measuring spin-p3",
                cli.display()
            );
            runtimes.retain(|r| r != SPIN_P3);
        }
        if runtimes.is_empty() {
            bail!("no runtime to measure (BENCH_RUNTIMES)");
        }
        Ok((runtimes, spin))
    }
}

/// Whether `spin --version` (given at most 30 s) names Spin 4.0.x: the p3 build targets Spin
/// 4.0.2's `wasi:http@0.3.0-rc-2026-03-15`, which other versions do not carry.
fn runs_p3(spin: &std::path::Path) -> bool {
    let child = std::process::Command::new(spin)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!("bench: {} --version: {e}", spin.display());
            return false;
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(status)) => {
                eprintln!("bench: {} --version failed: {status}", spin.display());
                return false;
            }
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            outcome => {
                eprintln!(
                    "bench: {} --version did not answer: {outcome:?}",
                    spin.display()
                );
                if let Err(e) = child.kill().and_then(|()| child.wait().map(drop)) {
                    eprintln!("bench: stopping {} --version: {e}", spin.display());
                }
                return false;
            }
        }
    }
    let mut version = String::new();
    if let Some(mut out) = child.stdout.take()
        && let Err(e) = std::io::Read::read_to_string(&mut out, &mut version)
    {
        eprintln!("bench: reading {} --version: {e}", spin.display());
        return false;
    }
    version.starts_with("spin 4.0.")
}

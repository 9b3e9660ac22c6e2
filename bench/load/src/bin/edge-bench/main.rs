//! `edge-bench`: the leaderboard benchmark. `scripts/bench.sh` builds everything and runs it;
//! the script's header describes what is measured and the knobs (read in `knobs`).
//!
//! Every endpoint class against 1,000,000-player boards, on `edge-host` and (when a Spin CLI is
//! there) on real Spin, each next to its own floors, plus raw Redis and a native baseline, printed
//! as one Markdown table and written to `BENCH_OUT/bench.{md,json}`. In order:
//!
//! 1. its own redis-server on a free loopback port (`tools`), and its own Redis Cluster of three
//!    primaries, no replicas, as the single Redis has none (`cluster`);
//! 2. per runtime: the cold start with an empty compile cache (`coldstart`), the pause after the
//!    first runtime, the app as shipped with its worker, the floors app and two observed apps
//!    (`apps`), the boards and their seeding on the first runtime (`fixtures`), every HTTP row of
//!    the row table (`rows`, run by `measure`) and the rows measured apart (`apart`);
//! 3. the native baseline and `redis-benchmark` (`measure`);
//! 4. the report: the rounds merged, the table, the targets and the JSON (`rounds`, `report`,
//!    `targets`).
//!
//! Every child process is registered in `procs` and stopped on every way out; every wait is
//! bounded in time, every load in count and time, and everything stays on 127.0.0.1. An error
//! ends the run with a non-zero status and one line saying why; SIGINT or SIGTERM with 130 or 143
//! once every child is stopped. `--started EPOCH_SECS` and `--build-secs N` put the builds (timed
//! by the caller) into the total run time.

mod apart;
mod apps;
mod cluster;
mod coldstart;
mod fixtures;
mod floors;
mod knobs;
mod league;
mod measure;
mod procs;
mod py;
mod records;
mod report;
mod rounds;
mod rows;
mod targets;
mod tools;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::knobs::{Knobs, SPIN_P3};
use crate::procs::{Procs, Session};
use crate::records::{Meta, Results};

const USAGE: &str = "usage: edge-bench [--started EPOCH_SECS] [--build-secs N] \
(scripts/bench.sh builds everything and runs it)";

/// The rate limits of the limit-check rows: two policies that never deny (10^9 per second), one
/// counted in Redis and one in the KV store, each on its own board only (the endpoint rows, all
/// from one address, run without limits).
const RATE_LIMITS: &str = r#"[{"name":"bench-redis","key":"ip","classes":["read"],"boards":["bench-rl-redis"],"limit":1000000000,"window_secs":1,"store":"redis"},{"name":"bench-kv","key":"ip","classes":["read"],"boards":["bench-rl-kv"],"limit":1000000000,"window_secs":1,"store":"kv"}]"#;

/// One run: the knobs, the paths, the children, the Redis server, the tokens and what was
/// measured so far.
pub struct Bench {
    knobs: Knobs,
    /// The repository's root (the working directory).
    root: PathBuf,
    /// The scratch folder (removed at the end).
    tmp: PathBuf,
    /// `$CARGO_TARGET_DIR/host`: edge-host, edge-load, edge-seed, edge-live, edge-hooks, edge-native.
    bin: PathBuf,
    /// The built components (the p2 build).
    wasm_dir: PathBuf,
    /// The p3 build's components (`scripts/build.sh p3`), when spin-p3 is measured.
    p3_wasm_dir: Option<PathBuf>,
    procs: Procs,
    /// `SPIN_VARIABLE_*` for every child.
    env: Vec<(String, String)>,
    redis_port: u16,
    redis_url: String,
    /// The Redis Cluster of the cluster rows, and the node its workers subscribe on.
    cluster: cluster::Cluster,
    cluster_trigger: u16,
    admin_token: String,
    service_token: String,
    /// The cohort row's reader (`rows::COHORT_READER`, role player).
    player_token: String,
    /// The `metrics` default of the shipped spin.toml.
    shipped_metrics: String,
    spin: Option<PathBuf>,
    seeded: bool,
    results: Results,
}

struct Args {
    started: u64,
    build_secs: u64,
}

/// What the run needs before its first child: the arguments, the knobs, the paths, the runtimes
/// and the scratch folder.
struct Setup {
    args: Args,
    knobs: Knobs,
    root: PathBuf,
    bin: PathBuf,
    wasm_dir: PathBuf,
    p3_wasm_dir: Option<PathBuf>,
    runtimes: Vec<String>,
    spin: Option<PathBuf>,
    tmp: PathBuf,
}

fn main() -> ExitCode {
    let setup = match setup() {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("bench: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let procs = Procs::new(setup.tmp.clone());
    let outcome = run(setup, &procs);
    // After SIGINT or SIGTERM the run's own error (a child gone, a start refused) is the
    // signal's doing: not reported.
    if let Some(code) = procs.after_run() {
        return ExitCode::from(code);
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        started: tools::now_secs(),
        build_secs: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        let secs: u64 = value
            .parse()
            .with_context(|| format!("{flag} takes whole seconds, not {value:?}"))?;
        match flag.as_str() {
            "--started" => args.started = secs,
            "--build-secs" => args.build_secs = secs,
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn setup() -> Result<Setup> {
    let args = parse_args()?;
    let knobs = Knobs::from_env()?;
    let root = std::env::current_dir().context("reading the working directory")?;
    let target_dir = root.join(
        std::env::var_os("CARGO_TARGET_DIR")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "target".into()),
    );
    let bin = target_dir.join("host");
    let wasm_release = target_dir.join("wasm32-wasip2").join("release");
    let wasm_dir = std::fs::canonicalize(&wasm_release)
        .with_context(|| format!("{} (scripts/build.sh builds it)", wasm_release.display()))?;
    let (runtimes, spin) = knobs.runtimes_and_spin()?;
    // `scripts/build.sh p3` always builds into the repository's target/p3.
    let p3_wasm_dir =
        if runtimes.iter().any(|r| r == SPIN_P3) {
            let p3_release = root.join(P3_SOURCES);
            Some(std::fs::canonicalize(&p3_release).with_context(|| {
                format!("{} (scripts/build.sh p3 builds it)", p3_release.display())
            })?)
        } else {
            None
        };
    let tmp = procs::make_tmp()?;
    Ok(Setup {
        args,
        knobs,
        root,
        bin,
        wasm_dir,
        p3_wasm_dir,
        runtimes,
        spin,
        tmp,
    })
}

fn run(setup: Setup, procs: &Procs) -> Result<()> {
    let Setup {
        args,
        knobs,
        root,
        bin,
        wasm_dir,
        p3_wasm_dir,
        runtimes,
        spin,
        tmp,
    } = setup;
    let _session = Session::new(procs.clone(), tmp.clone());
    procs::watch_signals(procs.clone());

    let sizes = tools::sizes(&wasm_dir)?;
    let redis_port = tools::start_redis(procs, &tmp)?;
    let redis_url = format!("redis://127.0.0.1:{redis_port}");
    eprintln!("==> redis-server on {redis_url}");
    let cluster = cluster::Cluster::start(procs, &tmp)?;
    let cluster_trigger = cluster.owner(procs, cluster::ALARM_KEY)?;
    eprintln!(
        "==> a Redis Cluster of {} primaries on {}",
        cluster::NODES,
        cluster.seeds()
    );
    let secret = tools::random_hex(32)?;
    let env: Vec<(String, String)> = vec![
        ("SPIN_VARIABLE_REDIS_URL".into(), redis_url.clone()),
        // The components' allow-list entry for Redis, and where the worker subscribes.
        ("SPIN_VARIABLE_REDIS_HOSTS".into(), redis_url.clone()),
        ("SPIN_VARIABLE_REDIS_TRIGGER_URL".into(), redis_url.clone()),
        ("SPIN_VARIABLE_JWT_HS256_SECRET".into(), secret.clone()),
        // The access log (one JSON line per request) and metrics are off unless asked for:
        // hundreds of thousands of lines would measure the terminal or the disk, not the app.
        (
            "SPIN_VARIABLE_REQUEST_LOG".into(),
            knobs.request_log.clone(),
        ),
        ("SPIN_VARIABLE_METRICS".into(), knobs.metrics.clone()),
        // The live-update rows hold up to the largest BENCH_LIVE_CLIENTS streams on one instance.
        (
            "SPIN_VARIABLE_LIVE_MAX_STREAMS".into(),
            knobs.live_max_streams.clone(),
        ),
        // The webhook receiver listens on loopback.
        (
            "SPIN_VARIABLE_WEBHOOK_ALLOW_PRIVATE".into(),
            "127.0.0.1".into(),
        ),
        (
            "SPIN_VARIABLE_WEBHOOK_ALLOWED_HOSTS".into(),
            "http://127.0.0.1:*".into(),
        ),
        ("SPIN_VARIABLE_RATE_LIMITS".into(), RATE_LIMITS.into()),
    ];
    let mut bench = Bench {
        shipped_metrics: tools::shipped_metrics(&root.join("spin.toml"))?,
        admin_token: tools::mint(&secret, "bench-admin", "admin")?,
        service_token: tools::mint(&secret, "bench-service", "service")?,
        player_token: tools::mint(&secret, rows::COHORT_READER, "player")?,
        knobs,
        root,
        tmp,
        bin,
        wasm_dir,
        p3_wasm_dir,
        procs: procs.clone(),
        env,
        redis_port,
        redis_url,
        cluster,
        cluster_trigger,
        spin,
        seeded: false,
        results: Results::new(sizes),
    };

    for (i, rt) in runtimes.iter().enumerate() {
        bench.cold_start(rt)?;
        if i > 0 {
            eprintln!(
                "==> pausing {}s (TIME_WAIT sockets of the previous runtime)",
                bench.knobs.pause_secs
            );
            std::thread::sleep(bench.knobs.pause);
        }
        bench.measure(rt)?;
    }
    bench.native()?;
    bench.redis_rows()?;
    let redis_memory = bench.redis_used_memory()?;
    bench.finish(&args, redis_memory)
}

/// The folder the p2 manifests' `source` lines name, and the p3 manifest's.
pub(crate) const P2_SOURCES: &str = "target/wasm32-wasip2/release";
const P3_SOURCES: &str = "target/p3/wasm32-wasip2/release";

/// The build a runtime serves: its app manifest in the repository, the folder that manifest's
/// `source` lines name, and where those components are (absolute); hello and the floors come
/// from the same folder. The worker is p2 on every runtime.
pub(crate) struct Build<'a> {
    pub manifest: &'static str,
    pub sources: &'static str,
    pub wasm_dir: &'a std::path::Path,
}

impl Bench {
    /// The build `rt` serves: spin-p3 the p3 build (spin-p3.toml, its floors too), the others
    /// the p2 build.
    pub(crate) fn build(&self, rt: &str) -> Result<Build<'_>> {
        if rt == SPIN_P3 {
            let wasm_dir = self
                .p3_wasm_dir
                .as_deref()
                .context("no p3 build to measure (scripts/build.sh p3)")?;
            return Ok(Build {
                manifest: "spin-p3.toml",
                sources: P3_SOURCES,
                wasm_dir,
            });
        }
        Ok(Build {
            manifest: "spin.toml",
            sources: P2_SOURCES,
            wasm_dir: &self.wasm_dir,
        })
    }

    /// `rt`'s app manifest as `dir/spin.toml`, its components' paths absolute.
    pub(crate) fn write_app_manifest(&self, rt: &str, dir: &std::path::Path) -> Result<()> {
        let build = self.build(rt)?;
        tools::copy_manifest(
            &self.root.join(build.manifest),
            &dir.join("spin.toml"),
            build.sources,
            build.wasm_dir,
        )
    }

    /// A command with the bench's environment, run from the repository's root, no stdin.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        cmd
    }

    /// `spin --version` when there is a Spin CLI. A Spin CLI that does not answer is reported as
    /// none (with a line saying so): the report is not lost for it.
    fn spin_version(&self) -> String {
        let Some(spin) = &self.spin else {
            return String::new();
        };
        let mut cmd = Command::new(spin);
        cmd.arg("--version").stdin(Stdio::null());
        let version = self.procs.capture(
            &mut cmd,
            "spin --version",
            Duration::from_secs(30),
            Stdio::inherit(),
        );
        match version {
            Ok(version) if version.success() => version.text(),
            Ok(_) => {
                eprintln!(
                    "bench: {} --version failed: the report names no Spin",
                    spin.display()
                );
                String::new()
            }
            Err(e) => {
                eprintln!("bench: {e:#}: the report names no Spin");
                String::new()
            }
        }
    }

    /// The report: `bench.md` and `bench.json` in BENCH_OUT, the Markdown on stdout.
    fn finish(&self, args: &Args, redis_memory: String) -> Result<()> {
        let total_secs = tools::now_secs().saturating_sub(args.started);
        let out = &self.knobs.out;
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let spin_version = self.spin_version();
        let k = &self.knobs;
        let meta = Meta {
            players: k.players as f64,
            warmup_secs: k.warmup_secs as f64,
            secs: k.secs as f64,
            max_requests: k.requests as f64,
            seed_secs: self.results.seed_secs.context("no board was seeded")?,
            build_secs: args.build_secs as f64,
            total_secs: total_secs as f64,
            redis: tools::redis_version(&self.procs)?,
            redis_used_memory: redis_memory,
            spin: spin_version,
            nproc: tools::cpu_count(),
            cpu: tools::cpu_model(),
            kernel: tools::kernel(),
        };
        let md = report::write(&self.results, &meta, out)?;
        print!("{md}");
        eprintln!(
            "==> written {}/bench.md and {}/bench.json (total {total_secs}s)",
            out.display(),
            out.display()
        );
        Ok(())
    }
}

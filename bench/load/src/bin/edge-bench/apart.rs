//! The rows measured apart, per runtime, after its HTTP rows: the async submit→visible lag
//! (`edge-seed lag`); the async submit runs, each followed by the projector's drain of its
//! backlog, and the submit→applied lag of every submission of the c=8 run from the board's log
//! (`edge-seed loglag`); the projector's throughput on a backlog appended straight to an inbox
//! (`edge-seed backlog`, one doorbell); live updates (`edge-live`); webhooks (`edge-hooks`); and
//! the Redis connections received so far.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::Bench;
use crate::apps::Servers;
use crate::procs::{Role, dump};
use crate::records::{Drain, LagReport, LogLag, RuntimeResult, Throughput};
use crate::rows::{self, Group, Header};

/// Live updates: writes per row, their spacing, the connect deadline, edge-live's own bound, and
/// the pause after each row (dropped streams notice at their next 15 s heartbeat and give their
/// place back).
const LIVE_WRITES: &str = "10";
const LIVE_INTERVAL_MS: &str = "500";
const LIVE_CONNECT_SECS: &str = "60";
const LIVE_LIMIT: Duration = Duration::from_secs(180);
const LIVE_PAUSE: Duration = Duration::from_secs(16);

/// Webhooks: the receiver's own deadline and its bound, the load's bound.
const HOOKS_TIMEOUT_SECS: &str = "180";
const HOOKS_LIMIT: Duration = Duration::from_secs(200);
const HOOKS_LOAD_LIMIT: Duration = Duration::from_secs(120);

/// The doorbell the projector listens on.
const DOORBELL: &str = "lb:doorbell";

/// The webhook receiver, started: its pid, when, and its output files.
struct Receiver {
    pid: u32,
    started: Instant,
    out: PathBuf,
    err: PathBuf,
}

impl Bench {
    /// Submit→visible lag on the async board: BENCH_LAG_SAMPLES samples.
    pub(crate) fn lag(&mut self, rt: &str, app: &str) -> Result<()> {
        let samples = self.knobs.lag_samples;
        eprintln!(
            "==> {rt}: submit→visible lag on {}: {samples} samples",
            rows::ASYNC_BOARD
        );
        let n = samples.to_string();
        // Each sample waits at most 10 s to become visible.
        let limit = Duration::from_secs(samples.saturating_mul(12).saturating_add(60));
        let printed = self.tool(
            "edge-seed",
            &[
                "lag",
                "--url",
                app,
                "--board",
                rows::ASYNC_BOARD,
                "--token",
                self.service_token.as_str(),
                "--samples",
                n.as_str(),
                "--timeout-secs",
                "10",
            ],
            limit,
        )?;
        eprintln!("{printed}");
        let report: LagReport = serde_json::from_str(&printed)
            .with_context(|| format!("edge-seed lag printed {printed:?}"))?;
        self.results.lag.insert(rt, report);
        Ok(())
    }

    /// The async submit at each of its concurrencies; after each run the projector's drain of
    /// the backlog goes into the row (and its note), and after the c=8 run the log lag.
    pub(crate) fn async_rows(&mut self, rt: &str, servers: &Servers) -> Result<()> {
        let events = rows::board_key(rows::ASYNC_BOARD, "events");
        for row in rows::in_group(Group::Async) {
            for &c in row.concurrencies {
                let log_end = self
                    .redis_cli(&["xrevrange", events.as_str(), "+", "-", "count", "1"])?
                    .lines()
                    .next()
                    .map(str::to_string)
                    .unwrap_or_default();
                self.load(rt, servers, row, c, 1)?;
                let (backlog, secs) = self.drain(rows::ASYNC_BOARD)?;
                eprintln!("    projector: backlog {backlog} after the run, drained in {secs} s");
                let drain = Drain {
                    backlog: backlog
                        .parse()
                        .with_context(|| format!("XLEN answered {backlog:?}"))?,
                    seconds: match secs.as_str() {
                        "timeout" => None,
                        s => Some(s.parse().context("the drain time")?),
                    },
                };
                let note = match drain.seconds {
                    None => format!("202 queued; backlog {backlog} NOT drained in the time limit"),
                    Some(_) => format!("202 queued; backlog {backlog} drained in {secs} s"),
                };
                if let Some(last) = self.results.rows.last_mut() {
                    last.drain = Some(drain);
                    last.note = note;
                }
                if c == rows::LOGLAG_AT {
                    self.loglag(rt, &log_end)?;
                }
            }
        }
        Ok(())
    }

    /// The submit→applied lag of every submission after `after` (a stream id; empty: all).
    fn loglag(&mut self, rt: &str, after: &str) -> Result<()> {
        let after = if after.is_empty() { "0" } else { after };
        let printed = self.tool(
            "edge-seed",
            &[
                "loglag",
                "--redis",
                self.redis_url.as_str(),
                "--board",
                rows::ASYNC_BOARD,
                "--after",
                after,
            ],
            Duration::from_secs(600),
        )?;
        eprintln!(
            "    submit→applied lag under c={}: {printed}",
            rows::LOGLAG_AT
        );
        let lag: LogLag = serde_json::from_str(&printed)
            .with_context(|| format!("edge-seed loglag printed {printed:?}"))?;
        self.results.loglag.insert(rt, lag);
        Ok(())
    }

    /// Waits (at most BENCH_DRAIN_SECS) until the projector has emptied `board`'s inbox: the
    /// backlog it had, and the seconds it took (three decimals) or `timeout`. A failing XLEN is
    /// an error.
    fn drain(&self, board: &str) -> Result<(String, String)> {
        let inbox = rows::board_key(board, "inbox");
        let backlog = self.redis_cli(&["xlen", inbox.as_str()])?;
        let started = Instant::now();
        let mut polls = 0u64;
        while self.redis_cli(&["xlen", inbox.as_str()])? != "0" {
            polls += 1;
            if polls > self.knobs.drain_secs.saturating_mul(10) {
                return Ok((backlog, "timeout".to_string()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok((backlog, format!("{:.3}", started.elapsed().as_secs_f64())))
    }

    /// The projector's throughput: a BENCH_DRAIN_ENTRIES-entry backlog appended to an inbox,
    /// one doorbell, the time to drain it.
    pub(crate) fn throughput(&mut self, rt: &str) -> Result<()> {
        let entries = self.knobs.drain_entries.to_string();
        eprintln!(
            "==> {rt}: projector throughput: a {entries}-entry backlog on {}",
            rows::DRAIN_BOARD
        );
        let printed = self.tool(
            "edge-seed",
            &[
                "backlog",
                "--redis",
                self.redis_url.as_str(),
                "--board",
                rows::DRAIN_BOARD,
                "--entries",
                entries.as_str(),
            ],
            Duration::from_secs(600),
        )?;
        eprintln!("{printed}");
        let member = format!("default/{}", rows::DRAIN_BOARD);
        self.redis_cli(&["publish", DOORBELL, member.as_str()])?;
        let (backlog, secs) = self.drain(rows::DRAIN_BOARD)?;
        eprintln!("    drained {backlog} entries in {secs} s");
        let throughput = Throughput {
            runtime: rt.to_string(),
            entries: backlog
                .parse()
                .with_context(|| format!("XLEN answered {backlog:?}"))?,
            seconds: secs,
            events_per_s: None,
        };
        self.results.throughput.insert(rt, throughput);
        Ok(())
    }

    /// Live updates: for each BENCH_LIVE_CLIENTS, that many event streams on one instance, 10
    /// writes half a second apart, the delay from each write to its event at every client.
    pub(crate) fn live(&mut self, rt: &str, app: &str) -> Result<()> {
        let board = rows::LIVE_BOARD;
        let url = format!("{app}/api/v1/boards/{board}/live?limit=10");
        let scores = format!("{app}/api/v1/boards/{board}/scores");
        let version = rows::board_key(board, "version");
        let auth = self.header(Header::Auth);
        let err_path = self.tmp.join("live.err");
        for n in self.knobs.live_clients.clone() {
            eprintln!(
                "==> {rt}: live updates: {n} event streams, {LIVE_WRITES} writes \
                 {LIVE_INTERVAL_MS} ms apart"
            );
            let clients = n.to_string();
            let mut cmd = self.command(self.bin.join("edge-live"));
            cmd.args(["--url", url.as_str(), "--scores-url", scores.as_str()])
                .args([
                    "--header",
                    auth.as_str(),
                    "--redis",
                    self.redis_url.as_str(),
                ])
                .args([
                    "--version-key",
                    version.as_str(),
                    "--clients",
                    clients.as_str(),
                ])
                .args(["--writes", LIVE_WRITES, "--interval-ms", LIVE_INTERVAL_MS])
                .args(["--connect-secs", LIVE_CONNECT_SECS]);
            let err = File::create(&err_path).context("creating live.err")?;
            let out = self
                .procs
                .capture(&mut cmd, "edge-live", LIVE_LIMIT, err.into())?;
            let printed = if out.success() {
                out.text()
            } else {
                eprintln!("bench: edge-live failed:");
                dump(&err_path);
                format!(r#"{{"clients":{n},"failed":true}}"#)
            };
            self.results
                .live
                .push(RuntimeResult::printed(rt, "edge-live", &printed)?);
            std::thread::sleep(LIVE_PAUSE);
        }
        Ok(())
    }

    /// Webhooks: BENCH_HOOKS scores at c=8 on a board with a score.applied subscription to a
    /// loopback receiver: deliveries/s and the accepted score → delivery delay.
    pub(crate) fn webhooks(&mut self, rt: &str, app: &str) -> Result<()> {
        let n = self.knobs.hooks;
        let c = rows::HOOKS_AT;
        eprintln!(
            "==> {rt}: webhooks: {n} scores (c={c}), each a score.applied to a loopback receiver"
        );
        let port = crate::tools::free_port()?;
        self.subscribe_hooks(app, port)?;
        let receiver = self.start_hooks_receiver(port, n)?;
        self.hooks_load(rt, app, n, &receiver.err)?;
        let left = HOOKS_LIMIT.saturating_sub(receiver.started.elapsed());
        if self.procs.wait(receiver.pid, left)?.is_none() {
            self.procs.stop(receiver.pid);
        }
        let mut printed = std::fs::read_to_string(receiver.out.as_path())
            .unwrap_or_default()
            .trim_end_matches('\n')
            .to_string();
        if printed.is_empty() {
            dump(&receiver.err);
            printed = r#"{"failed":true}"#.to_string();
        }
        self.results
            .hooks
            .push(RuntimeResult::printed(rt, "edge-hooks", &printed)?);
        Ok(())
    }

    /// The webhooks board (already there on the second runtime: any answer will do) and its
    /// score.applied subscription to `http://127.0.0.1:PORT/hook` (anything but 201 stops the
    /// run).
    fn subscribe_hooks(&self, app: &str, port: u16) -> Result<()> {
        let board = rows::HOOKS_BOARD;
        let admin = format!("authorization: Bearer {}", self.admin_token);
        let json = self.header(Header::Json);
        let boards = format!("{app}/api/v1/boards");
        let create = format!(r#"{{"id":"{board}"}}"#);
        let mut cmd = Command::new("curl");
        cmd.args([
            "-s",
            "-o",
            "/dev/null",
            "-m",
            "10",
            "-X",
            "POST",
            boards.as_str(),
        ])
        .args([
            "-H",
            admin.as_str(),
            "-H",
            json.as_str(),
            "-d",
            create.as_str(),
        ]);
        self.curl(&mut cmd, &format!("POST /api/v1/boards ({board})"))?;
        let hook_out = self.tmp.join("hook.out");
        let subscription = format!(
            r#"{{"url":"http://127.0.0.1:{port}/hook","events":["score.applied"],"boards":["{board}"]}}"#
        );
        let webhooks = format!("{app}/api/v1/webhooks");
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-o"])
            .arg(&hook_out)
            .args([
                "-w",
                "%{http_code}",
                "-m",
                "10",
                "-X",
                "POST",
                webhooks.as_str(),
            ])
            .args([
                "-H",
                admin.as_str(),
                "-H",
                json.as_str(),
                "-d",
                subscription.as_str(),
            ]);
        let code = self.curl(&mut cmd, "POST /api/v1/webhooks")?;
        if code != "201" {
            let answer = std::fs::read_to_string(hook_out).unwrap_or_default();
            bail!(
                "webhook subscription: {code} {}",
                answer.trim_end_matches('\n')
            );
        }
        Ok(())
    }

    /// Starts the receiver (edge-hooks) on `port`, expecting `n` deliveries, and gives it at
    /// most 10 s to say it is ready.
    fn start_hooks_receiver(&self, port: u16, n: u64) -> Result<Receiver> {
        let ready = self.tmp.join("hooks.ready");
        let out = self.tmp.join("hooks.out");
        let err = self.tmp.join("hooks.err");
        std::fs::remove_file(&ready).ok();
        let expect = n.to_string();
        let port = port.to_string();
        let mut receiver = self.command(self.bin.join("edge-hooks"));
        receiver
            .args(["--port", port.as_str(), "--expect", expect.as_str()])
            .args(["--timeout-secs", HOOKS_TIMEOUT_SECS, "--ready-file"])
            .arg(&ready)
            .stdout(File::create(&out).context("creating hooks.out")?)
            .stderr(File::create(&err).context("creating hooks.err")?);
        let started = Instant::now();
        let pid = self.procs.spawn(&mut receiver, "edge-hooks", Role::Task)?;
        let mut tries = 0;
        while !ready.exists() && tries < 100 {
            std::thread::sleep(Duration::from_millis(100));
            tries += 1;
        }
        Ok(Receiver {
            pid,
            started,
            out,
            err,
        })
    }

    /// The webhooks row: `n` scores at its concurrency, its stderr after the receiver's in
    /// `err`. The load's own failure is not the bench's: the receiver's count tells what arrived.
    fn hooks_load(&self, rt: &str, app: &str, n: u64, err: &Path) -> Result<()> {
        let row = rows::app_row(rows::HOOKS).context("no webhooks row")?;
        let c = rows::HOOKS_AT;
        let mut args: Vec<String> = [
            "--url".to_string(),
            format!("{app}{}", row.path),
            "--concurrency".to_string(),
            c.to_string(),
            "--requests".to_string(),
            n.to_string(),
            "--duration-secs".to_string(),
            "60".to_string(),
            "--warmup-secs".to_string(),
            "0".to_string(),
            "--label".to_string(),
            row.name.to_string(),
            "--json".to_string(),
        ]
        .into();
        args.extend(self.request_flags(row, row.body, rt, c, 1));
        let load_err = OpenOptions::new()
            .create(true)
            .append(true)
            .open(err)
            .context("opening hooks.err")?;
        let mut load = self.command(self.bin.join("edge-load"));
        load.args(args)
            .stdout(File::create(self.tmp.join("hooks-load.json")).context("hooks-load.json")?)
            .stderr(load_err);
        self.procs
            .run(&mut load, "edge-load (webhooks)", HOOKS_LOAD_LIMIT)?;
        Ok(())
    }

    /// Redis connections received so far (cumulative), after the runtime's rows.
    pub(crate) fn count_connections(&mut self, rt: &str) -> Result<()> {
        let info = self.redis_cli(&["info", "stats"])?;
        let received = info
            .lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .map(|v| {
                v.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .unwrap_or_default();
        let n: u64 = received
            .parse()
            .with_context(|| format!("INFO stats gave total_connections_received {received:?}"))?;
        self.results.conns.insert(rt, n);
        Ok(())
    }

    /// Redis's `used_memory_human`, at the end.
    pub(crate) fn redis_used_memory(&self) -> Result<String> {
        let info = self.redis_cli(&["info", "memory"])?;
        let found: Vec<String> = info
            .lines()
            .filter_map(|l| l.strip_prefix("used_memory_human:"))
            .map(|v| v.replace('\r', ""))
            .collect();
        Ok(found.join("\n"))
    }
}

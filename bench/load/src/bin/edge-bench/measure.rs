//! Running the rows of the row table with edge-load, one server loaded at a time, in this
//! schedule: per runtime, at concurrency 1 then 32 the floors, the target rows and the endpoint
//! rows; the Redis round trips of an OFREP evaluation; the sync submits at each concurrency;
//! BENCH_ROUNDS - 1 more rounds of the floors, target rows and sync submits, each round's rows
//! next to its floors, the order of the groups swapped every round and the rows of a group
//! reversed every second round (so the report can pair each row with the floor, or the row,
//! measured beside it); then the extra rows. After the runtimes: the
//! native baseline and the raw Redis commands (`redis-benchmark`).

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::Bench;
use crate::apps::Servers;
use crate::procs::Role;
use crate::records::{CmdCount, HTTP, LoadResult, REDIS, RowRecord};
use crate::rows::{self, Group, Header, Row};

impl Bench {
    /// Every row of one runtime, then its servers stopped.
    pub(crate) fn measure(&mut self, rt: &str) -> Result<()> {
        let servers = self.start_runtime(rt)?;
        self.seed_once(&servers)?;
        self.check_app(&servers)?;
        for &c in rows::PAIRED {
            let first_pass = [Group::Floor, Group::Target, Group::Endpoint];
            self.load_groups(rt, &servers, &first_pass, c, 1)?;
        }
        self.count_commands(rt, &servers.app)?;
        for c in rows::concurrencies(Group::Submit) {
            self.load_groups(rt, &servers, &[Group::Submit], c, 1)?;
        }
        for round in 2..=self.knobs.rounds {
            let order = if round % 2 == 0 {
                [Group::Target, Group::Submit, Group::Floor]
            } else {
                [Group::Floor, Group::Target, Group::Submit]
            };
            for &c in rows::PAIRED {
                self.load_groups(rt, &servers, &order, c, round)?;
            }
        }
        self.load_each(rt, &servers, Group::Extra)?;
        self.lag(rt, &servers.app)?;
        self.async_rows(rt, &servers)?;
        self.throughput(rt)?;
        self.live(rt, &servers.app)?;
        self.webhooks(rt, &servers.app)?;
        self.count_connections(rt)?;
        self.league_close(rt, &servers.app)?;
        self.procs.stop_role(Role::Server);
        Ok(())
    }

    /// The native baseline: edge-native serving the same handlers, its rows, then stopped.
    pub(crate) fn native(&mut self) -> Result<()> {
        let servers = Servers {
            native: self.start_native()?,
            ..Servers::default()
        };
        for &c in rows::NATIVE_ORDER {
            self.load_groups("native", &servers, &[Group::Native], c, 1)?;
        }
        self.procs.stop_role(Role::Server);
        Ok(())
    }

    /// The rows of `groups` (in that order) that run at concurrency `c`.
    fn load_groups(
        &mut self,
        rt: &str,
        servers: &Servers,
        groups: &[Group],
        c: u32,
        round: u32,
    ) -> Result<()> {
        for &group in groups {
            let mut in_turn: Vec<&Row> = rows::in_group(group)
                .filter(|r| r.concurrencies.contains(&c) && r.runs_on(rt))
                .collect();
            // Even rounds the other way round, so no row always runs just after another.
            if round.is_multiple_of(2) {
                in_turn.reverse();
            }
            for row in in_turn {
                self.load(rt, servers, row, c, round)?;
            }
        }
        Ok(())
    }

    /// Each row of `group`, at each of its concurrencies in turn.
    fn load_each(&mut self, rt: &str, servers: &Servers, group: Group) -> Result<()> {
        for row in rows::in_group(group).filter(|r| r.runs_on(rt)) {
            for &c in row.concurrencies {
                self.load(rt, servers, row, c, 1)?;
            }
        }
        Ok(())
    }

    /// One row at one concurrency: a discarded warm-up, then at most BENCH_REQUESTS requests
    /// within BENCH_SECS seconds.
    pub(crate) fn load(
        &mut self,
        rt: &str,
        servers: &Servers,
        row: &Row,
        c: u32,
        round: u32,
    ) -> Result<()> {
        let base = servers.url(row.server);
        if base.is_empty() {
            bail!("no server for the row {}", row.name);
        }
        let name = row.label(&self.shipped_metrics);
        let k = &self.knobs;
        eprintln!(
            "==> {rt}: {name}, concurrency {c}: {}s warm-up, then <= {} requests / {}s",
            k.warmup_secs, k.requests, k.secs
        );
        let mut args: Vec<String> = [
            "--url".to_string(),
            format!("{base}{}", row.path),
            "--concurrency".to_string(),
            c.to_string(),
            "--requests".to_string(),
            k.requests.to_string(),
            "--duration-secs".to_string(),
            k.secs.to_string(),
            "--warmup-secs".to_string(),
            k.warmup_secs.to_string(),
            "--label".to_string(),
            name.clone(),
            "--json".to_string(),
        ]
        .into();
        args.extend(self.request_flags(row, row.body, rt, c, round));
        let limit = Duration::from_secs(k.warmup_secs.saturating_add(k.secs).saturating_add(30));
        let (result, raw) = self.edge_load(&args, limit, &format!("{name}, concurrency {c}"))?;
        eprintln!("    {raw}");
        self.results.rows.push(RowRecord {
            runtime: rt.to_string(),
            row: name,
            route: row.route(),
            kind: HTTP,
            note: row.note.to_string(),
            round: Some(round),
            result,
            drain: None,
            floor: row.floor.map(|f| f.row_on(rt)),
            pair_hello: None,
            pair_floor: None,
            rounds: Vec::new(),
            ratio_to_hello: None,
            ratio_to_floor: None,
        });
        Ok(())
    }

    /// edge-load's `--method`, `--header` and `--body` for a row (GET is edge-load's default),
    /// the body from the template `body` (the row's own, or one in its place).
    pub(crate) fn request_flags(
        &self,
        row: &Row,
        body: Option<&str>,
        rt: &str,
        c: u32,
        round: u32,
    ) -> Vec<String> {
        let mut flags: Vec<String> = Vec::new();
        if row.method != "GET" {
            flags.push("--method".to_string());
            flags.push(row.method.to_string());
        }
        for header in row.headers {
            flags.push("--header".to_string());
            flags.push(self.header(*header));
        }
        if let Some(body) = body {
            flags.push("--body".to_string());
            flags.push(rows::fill(body, rt, c, round));
        }
        flags
    }

    /// A request header as sent.
    pub(crate) fn header(&self, header: Header) -> String {
        match header {
            Header::Json => "content-type: application/json".to_string(),
            Header::Auth => format!("authorization: Bearer {}", self.service_token),
            Header::Player => format!("authorization: Bearer {}", self.player_token),
            Header::Connect => "connect-protocol-version: 1".to_string(),
        }
    }

    /// Redis round trips per OFREP evaluation, plain flag vs experiment flag: 200 sequential
    /// requests of each OFREP row (a new targeting key per request) under `redis-cli monitor`,
    /// counting the commands clients sent (a script's own commands, tagged `lua`, are not round
    /// trips).
    fn count_commands(&mut self, rt: &str, app: &str) -> Result<()> {
        let monitor_out = self.tmp.join("monitor.out");
        for name in rows::OFREP_COUNTED {
            let row = rows::app_row(name).with_context(|| format!("no row {name:?}"))?;
            let flag = row.flag();
            let mut monitor = Command::new("redis-cli");
            monitor
                .arg("-p")
                .arg(self.redis_port.to_string())
                .arg("monitor")
                .stdin(Stdio::null())
                .stdout(File::create(&monitor_out).context("creating monitor.out")?)
                .stderr(Stdio::null());
            let monitor_pid = self
                .procs
                .spawn(&mut monitor, "redis-cli monitor", Role::Task)?;
            std::thread::sleep(Duration::from_millis(300));
            let mut args: Vec<String> = ["--url".to_string(), format!("{app}{}", row.path)].into();
            for a in [
                "--concurrency",
                "1",
                "--requests",
                "200",
                "--duration-secs",
                "30",
            ] {
                args.push(a.to_string());
            }
            args.push("--json".to_string());
            args.extend(self.request_flags(row, Some(rows::COMMANDS_BODY), rt, 1, 1));
            let loaded = self.edge_load(
                &args,
                Duration::from_secs(60),
                &format!("Redis commands of {flag}"),
            );
            if loaded.is_ok() {
                std::thread::sleep(Duration::from_millis(300));
            }
            self.procs.stop(monitor_pid);
            let (result, raw) = loaded?;
            let monitored = std::fs::read(monitor_out.as_path()).context("reading monitor.out")?;
            let text = String::from_utf8_lossy(&monitored);
            let sent = text
                .lines()
                .filter(|l| l.starts_with(|ch: char| ch.is_ascii_digit()))
                .count();
            let inside = text.lines().filter(|l| l.contains(" lua] ")).count();
            let commands =
                i64::try_from(sent).unwrap_or(i64::MAX) - i64::try_from(inside).unwrap_or(i64::MAX);
            eprintln!(
                "    {flag}: {commands} Redis round trips (+{inside} inside scripts) for {raw}"
            );
            self.results.cmds.push(CmdCount {
                runtime: rt.to_string(),
                flag: flag.to_string(),
                commands,
                script_commands: u64::try_from(inside).unwrap_or(u64::MAX),
                result,
            });
        }
        Ok(())
    }

    /// The raw Redis commands underneath (`redis-benchmark`), then the scratch key deleted.
    pub(crate) fn redis_rows(&mut self) -> Result<()> {
        let port = self.redis_port.to_string();
        let clients = rows::REDIS_BENCH_CLIENTS.to_string();
        let requests = rows::REDIS_BENCH_REQUESTS.to_string();
        for row in rows::REDIS_ROWS {
            eprintln!("==> redis-benchmark: {}", row.name);
            let mut cmd = Command::new("redis-benchmark");
            cmd.args(["-h", "127.0.0.1", "-p", port.as_str()])
                .args(["-n", requests.as_str(), "-c", clients.as_str()])
                .args(["-r", "1000000", "--csv"])
                .args(row.command)
                .stdin(Stdio::null());
            let out = self.procs.capture(
                &mut cmd,
                "redis-benchmark",
                Duration::from_secs(120),
                Stdio::inherit(),
            )?;
            if !out.success() {
                bail!("redis-benchmark failed ({})", row.name);
            }
            let csv = out.text();
            eprintln!("    {}", csv.lines().next_back().unwrap_or_default());
            let result = benchmark_result(&csv, row.name)?;
            self.results.rows.push(RowRecord {
                runtime: "redis".to_string(),
                row: row.name.to_string(),
                route: row.command.join(" "),
                kind: REDIS,
                note: row.note.to_string(),
                round: None,
                result,
                drain: None,
                floor: None,
                pair_hello: None,
                pair_floor: None,
                rounds: Vec::new(),
                ratio_to_hello: None,
                ratio_to_floor: None,
            });
        }
        self.redis_cli(&["del", rows::REDIS_SCRATCH])?;
        Ok(())
    }
}

/// A `redis-benchmark --csv` output's last row as a row result (the rate and the latencies it
/// gives; the clients and requests are the bench's own).
fn benchmark_result(csv: &str, label: &str) -> Result<LoadResult> {
    let mut lines = csv.lines().filter(|l| !l.is_empty());
    let header = split_csv(lines.next().context("redis-benchmark printed nothing")?);
    let last = split_csv(
        lines
            .next_back()
            .context("redis-benchmark printed no result")?,
    );
    let num = |key: &str| -> Result<Option<f64>> {
        let Some(at) = header.iter().position(|h| h == key) else {
            return Ok(None);
        };
        match last.get(at) {
            Some(v) if !v.is_empty() => {
                Ok(Some(v.trim().parse::<f64>().with_context(|| {
                    format!("redis-benchmark's {key} is {v:?}")
                })?))
            }
            _ => Ok(None),
        }
    };
    Ok(LoadResult {
        label: label.to_string(),
        concurrency: rows::REDIS_BENCH_CLIENTS,
        requests: rows::REDIS_BENCH_REQUESTS,
        errors: 0,
        non_2xx: 0,
        req_per_s: num("rps")?,
        p50_ms: num("p50_latency_ms")?,
        p99_ms: num("p99_latency_ms")?,
        max_ms: num("max_latency_ms")?,
        elapsed_s: None,
    })
}

/// One CSV line's fields (double quotes, `""` inside them).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            }
            '"' => quoted = true,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            other => field.push(other),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_benchmark_csv() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                   \"ZADD bench:scratch __rand_int__ m:__rand_int__\",\"79051.38\",\"0.216\",\"0.064\",\"0.207\",\"0.303\",\"0.463\",\"1.039\"\n";
        let r = benchmark_result(csv, "redis ZADD").ok();
        assert_eq!(r.as_ref().and_then(|r| r.req_per_s), Some(79051.38));
        assert_eq!(r.as_ref().and_then(|r| r.p99_ms), Some(0.463));
        assert_eq!(r.map(|r| r.concurrency), Some(32));
        assert_eq!(split_csv(r#""a ""b""",c"#), [r#"a "b""#, "c"]);
    }
}

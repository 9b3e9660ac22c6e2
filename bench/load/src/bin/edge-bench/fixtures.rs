//! The data the rows read: the boards (created through the API on the first runtime, in the
//! Redis both runtimes share), the big boards seeded straight into Redis (`edge-seed seed`), the
//! flag document and the experiment of the OFREP rows; the cluster rows' board, created through
//! the cluster copy and seeded on the primary that owns its slot; and the checks, on every
//! runtime, that the measured routes answer 200 and the cached read is a cache hit.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::Bench;
use crate::apps::Servers;
use crate::rows::{self, ROWS};

/// The boards: `bench` (cached reads, ttl 3600 s), `bench-nocache` (ttl 0: every read goes to
/// Redis), `bench-async` (write_mode async), `bench-drain` (the projector's backlog), the two
/// limit-check boards, `bench-live`, `bench-nostats` and `bench-integrity` (all four rules set
/// loosely enough that none triggers).
const BOARDS: [&str; 9] = [
    r#"{"id":"bench","public_read":true,"cache":{"ttl_secs":3600,"stale_secs":60}}"#,
    r#"{"id":"bench-nocache","public_read":true,"cache":{"ttl_secs":0,"stale_secs":0}}"#,
    r#"{"id":"bench-async","public_read":true,"write_mode":"async","cache":{"ttl_secs":0,"stale_secs":0}}"#,
    r#"{"id":"bench-drain","operator":"incr","public_read":true,"write_mode":"async","cache":{"ttl_secs":0,"stale_secs":0}}"#,
    r#"{"id":"bench-rl-redis","public_read":true,"cache":{"ttl_secs":3600,"stale_secs":60}}"#,
    r#"{"id":"bench-rl-kv","public_read":true,"cache":{"ttl_secs":3600,"stale_secs":60}}"#,
    r#"{"id":"bench-live","public_read":true,"cache":{"ttl_secs":0,"stale_secs":0}}"#,
    r#"{"id":"bench-nostats","public_read":true,"stats":false,"cache":{"ttl_secs":0,"stale_secs":0}}"#,
    r#"{"id":"bench-integrity","public_read":true,"cache":{"ttl_secs":0,"stale_secs":0},"integrity":{"velocity":{"max":1000,"window_secs":1,"action":"reject"},"improvement":{"max_pct":1000000,"window_secs":60,"action":"hold"},"outlier":{"threshold":100,"min_players":10,"action":"hold"},"burst":{"players":10000,"window_secs":1,"action":"flag"}}}"#,
];

/// The tournament row's board: open from an hour before the run for 30 days, only joined
/// players submit (`join_required`: one `SISMEMBER`), attempts counted (`max_attempts`, more
/// than any run sends: the grants' `HGET` and the count in the write).
fn tournament_board() -> Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?;
    let start = i64::try_from(now.as_secs()).context("the clock")? - 3600;
    let start = chrono::DateTime::from_timestamp(start, 0).context("the run's start")?;
    Ok(format!(
        r#"{{"id":"{}","public_read":true,"cache":{{"ttl_secs":0,"stale_secs":0}},"tournament":{{"title":"Bench cup","start":"{}","duration_secs":2592000,"join_required":true,"max_attempts":1000000}}}}"#,
        rows::TOURNAMENT_BOARD,
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))
}

/// The boards seeded with BENCH_PLAYERS players each.
const SEEDED: [&str; 4] = ["bench", "bench-nocache", "bench-nostats", "bench-integrity"];

/// The board of the cluster rows (seeded like the others): `bench-nocache`, as on one Redis.
const CLUSTER_BOARD: &str = BOARDS[1];
const CLUSTER_SEEDED: &str = SEEDED[1];

/// The flag document of the OFREP rows: fractional splits by targeting key.
const FLAGS: &str = r#"{"flags":{"new-ui":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","targeting":{"fractional":[["on",20],["off",80]]}},"exp-ui":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","targeting":{"fractional":[["on",50],["off",50]]}}}}"#;

/// An experiment on exp-ui: its evaluations count exposures (one script call each).
const EXPERIMENT: &str = r#"{"id":"bench","flag":"exp-ui","control":"off","min_sample":1000,"metrics":[{"name":"bought","kind":"conversion","event":"purchase"}]}"#;

/// How long seeding may take (4 boards of up to 10,000,000 players).
const SEED_LIMIT: Duration = Duration::from_secs(3600);

impl Bench {
    /// On the first runtime only: the boards, the seeding, the flags and the experiment.
    pub(crate) fn seed_once(&mut self, servers: &Servers) -> Result<()> {
        if self.seeded {
            return Ok(());
        }
        let app = servers.app.as_str();
        let boards_url = format!("{app}/api/v1/boards");
        for board in BOARDS {
            self.send_expect("201", "POST", &boards_url, board)?;
        }
        self.send_expect("201", "POST", &boards_url, &tournament_board()?)?;
        self.seed_cohorts(app)?;
        // Every name the tournament row's requests use (`j{seq}`, seq below BENCH_REQUESTS).
        let joined = self.tool(
            "edge-seed",
            &[
                "join",
                "--redis",
                self.redis_url.as_str(),
                "--board",
                rows::TOURNAMENT_BOARD,
                "--prefix",
                rows::TOURNAMENT_PREFIX,
                "--players",
                &self.knobs.requests.to_string(),
            ],
            SEED_LIMIT,
        )?;
        eprintln!("{joined}");
        let players = self.knobs.players.to_string();
        eprintln!(
            "==> seeding bench, bench-nocache, bench-nostats and bench-integrity with {players} \
             players each"
        );
        let mut args = vec!["seed", "--redis", self.redis_url.as_str()];
        for board in SEEDED {
            args.extend(["--board", board]);
        }
        args.extend(["--players", players.as_str()]);
        let started = Instant::now();
        let printed = self.tool("edge-seed", &args, SEED_LIMIT)?;
        let secs = format!("{:.3}", started.elapsed().as_secs_f64());
        eprintln!("{printed}");
        let mut seed = Vec::new();
        for line in printed.lines().filter(|l| !l.trim().is_empty()) {
            let value: Value = serde_json::from_str(line)
                .with_context(|| format!("edge-seed seed printed {line:?}"))?;
            seed.push(value);
        }
        self.results.seed = seed;
        self.results.seed_secs = Some(secs.parse::<f64>().context("the seeding time")?);
        // The limit-check boards: a top-10 page of the same shape (cached reads never see the
        // rest).
        let small = self.tool(
            "edge-seed",
            &[
                "seed",
                "--redis",
                self.redis_url.as_str(),
                "--board",
                "bench-rl-redis",
                "--board",
                "bench-rl-kv",
                "--players",
                "1000",
            ],
            SEED_LIMIT,
        )?;
        eprintln!("{small}");
        self.seed_cluster(&servers.cluster)?;
        self.send_expect("200", "PUT", &format!("{app}/api/v1/flags"), FLAGS)?;
        self.send_expect(
            "201",
            "POST",
            &format!("{app}/api/v1/experiments"),
            EXPERIMENT,
        )?;
        self.seeded = true;
        Ok(())
    }

    /// The cohort row's board, its players submitted through the API (each first submission
    /// places its player, in order: `pod0` in cohort 1).
    fn seed_cohorts(&self, app: &str) -> Result<()> {
        let board = format!(
            r#"{{"id":"{}","cohort_size":{},"cache":{{"ttl_secs":0,"stale_secs":0}}}}"#,
            rows::COHORT_BOARD,
            rows::COHORT_SIZE
        );
        self.send_expect("201", "POST", &format!("{app}/api/v1/boards"), &board)?;
        let scores = format!("{app}/api/v1/boards/{}/scores", rows::COHORT_BOARD);
        for i in 0..rows::COHORT_PLAYERS {
            let body = format!(r#"{{"player":"pod{i}","score":{i}}}"#);
            self.send_expect("201", "POST", &scores, &body)?;
        }
        Ok(())
    }

    /// The cluster rows' board, created through the cluster copy (its config in the cluster)
    /// and seeded with BENCH_PLAYERS players on the primary that owns its slot (every key of a
    /// board shares its hash tag).
    fn seed_cluster(&mut self, cluster_app: &str) -> Result<()> {
        self.send_expect(
            "201",
            "POST",
            &format!("{cluster_app}/api/v1/boards"),
            CLUSTER_BOARD,
        )?;
        let owner = self
            .cluster
            .owner(&self.procs, &rows::board_key(CLUSTER_SEEDED, "config"))?;
        let url = format!("redis://127.0.0.1:{owner}");
        let players = self.knobs.players.to_string();
        eprintln!(
            "==> seeding {CLUSTER_SEEDED} on the cluster's node {url} with {players} players"
        );
        let printed = self.tool(
            "edge-seed",
            &[
                "seed",
                "--redis",
                url.as_str(),
                "--board",
                CLUSTER_SEEDED,
                "--players",
                players.as_str(),
            ],
            SEED_LIMIT,
        )?;
        eprintln!("{printed}");
        Ok(())
    }

    /// The checked rows' routes answer 200, and the cached top-10 is a KV cache hit.
    pub(crate) fn check_app(&self, servers: &Servers) -> Result<()> {
        let app = servers.app.as_str();
        let answer = self.tmp.join("check.out");
        for row in ROWS.iter().filter(|r| r.check) {
            let url = format!("{}{}", servers.url(row.server), row.path);
            let mut cmd = Command::new("curl");
            cmd.args(["-s", "-o"]).arg(&answer).args([
                "-w",
                "%{http_code}",
                "-m",
                "10",
                url.as_str(),
            ]);
            let code = self.curl(&mut cmd, &format!("GET {url}"))?;
            if code != "200" {
                return Err(self
                    .procs
                    .fail(format!("GET {url} answered {code}, expected 200"), &answer));
            }
        }
        let cached = rows::app_row(rows::CACHED).context("no cached top-10 row")?;
        let url = format!("{app}{}", cached.path);
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-D", "-", "-o", "/dev/null", url.as_str()]);
        let headers = String::from_utf8_lossy(&self.curl_output(&mut cmd)?).into_owned();
        let x_cache = x_cache(&headers);
        if x_cache != "HIT" {
            bail!("the cached top-10 answered X-Cache: {x_cache}, expected HIT");
        }
        Ok(())
    }

    /// One JSON request with the admin token; any other answer than `status` stops the run.
    pub(crate) fn send_expect(
        &self,
        status: &str,
        method: &str,
        url: &str,
        body: &str,
    ) -> Result<()> {
        let answer = self.tmp.join("answer");
        let auth = format!("authorization: Bearer {}", self.admin_token);
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-o"])
            .arg(&answer)
            .args(["-w", "%{http_code}", "-m", "10", "-X", method, url])
            .args([
                "-H",
                auth.as_str(),
                "-H",
                "content-type: application/json",
                "-d",
                body,
            ]);
        let code = self.curl(&mut cmd, &format!("{method} {url}"))?;
        if code != status {
            return Err(self.procs.fail(
                format!("{method} {url} {body} answered {code}, expected {status}"),
                &answer,
            ));
        }
        Ok(())
    }
}

/// The `X-Cache` value of a header dump: the letters after each `x-cache:` (any case) and its
/// spaces, one line per header.
fn x_cache(headers: &str) -> String {
    let found: Vec<String> = headers
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            if !name.eq_ignore_ascii_case("x-cache") {
                return None;
            }
            Some(
                value
                    .trim_start_matches(' ')
                    .chars()
                    .take_while(char::is_ascii_alphabetic)
                    .collect(),
            )
        })
        .collect();
    found.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_board_is_the_cluster_rows_board() {
        assert!(CLUSTER_BOARD.contains(&format!(r#""id":"{CLUSTER_SEEDED}""#)));
        for (cluster, _) in rows::CLUSTER_PAIRS {
            let path = rows::app_row(cluster).map(|r| r.path).unwrap_or_default();
            assert!(
                path.contains(&format!("/boards/{CLUSTER_SEEDED}/")),
                "{path}"
            );
        }
    }

    #[test]
    fn x_cache_reads_the_header_in_any_case() {
        assert_eq!(x_cache("HTTP/1.1 200 OK\r\nX-Cache: HIT\r\n\r\n"), "HIT");
        assert_eq!(x_cache("x-cache: miss\r\n"), "miss");
        assert_eq!(x_cache("content-type: text/plain\r\n"), "");
    }
}

//! `edge-seed`: benchmark fixtures for `scripts/bench.sh`.
//!
//! ```text
//! edge-seed seed --redis redis://127.0.0.1:PORT --board ID [--board ID]... --players N
//!                [--tenant T] [--batch N]
//! edge-seed lag --url http://127.0.0.1:PORT --board ID --token JWT --samples N --timeout-secs S
//! edge-seed join --redis redis://127.0.0.1:PORT --board ID --prefix P --players N [--tenant T]
//! edge-seed backlog --redis redis://127.0.0.1:PORT --board ID --entries N [--players N]
//! edge-seed loglag --redis redis://127.0.0.1:PORT --board ID --after STREAM-ID
//! edge-seed delete --redis redis://127.0.0.1:PORT --url http://127.0.0.1:PORT --board ID
//!                  --token JWT --probe-board ID [--filler N] [--tenant T] [--timeout-secs S]
//! edge-seed league --redis redis://127.0.0.1:PORT --url http://127.0.0.1:PORT --board ID
//!                  --token JWT --players N [--tenant T] [--timeout-secs S]
//! ```
//!
//! `seed` writes N players straight into the `all` period of existing boards (see [`seed`]) and
//! prints one JSON object per board (`board`, `players`, `seconds`). `lag` measures the
//! submit→visible lag of an `async` board (see [`lag`]) and prints it as one JSON object. Only
//! loopback Redis and HTTP targets are accepted; everything is bounded by counts and timeouts.
//! `join` joins the players `P0` to `P{N-1}` to a tournament (its joined set, as
//! `POST …/join` makes it), for the tournament row. `backlog` and `loglag` are the event pipeline's fixtures (see [`pipeline`]). `delete` measures
//! a board's delete beside a large keyspace and what other readers of Redis see meanwhile (see
//! [`delete`]). `league` seeds a league's previous period with N players in its cohorts and
//! measures its close and its awards over HTTP, and what they cost in Redis (see [`league`]).

mod delete;
mod lag;
mod league;
mod pipeline;
mod seed;

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use leaderboard::{BoardId, TenantId};

const USAGE: &str = "usage:\n  edge-seed seed --redis redis://127.0.0.1:PORT --board ID [--board ID]... \
--players N [--tenant T] [--batch N]\n  edge-seed join --redis redis://127.0.0.1:PORT --board ID \
--prefix P --players N [--tenant T]\n  edge-seed lag --url http://127.0.0.1:PORT --board ID \
--token JWT --samples N --timeout-secs S\n  edge-seed backlog --redis redis://127.0.0.1:PORT \
--board ID --entries N [--players N]\n  edge-seed loglag --redis redis://127.0.0.1:PORT --board ID \
--after STREAM-ID\n  edge-seed delete --redis redis://127.0.0.1:PORT --url http://127.0.0.1:PORT \
--board ID --token JWT --probe-board ID [--filler N] [--tenant T] [--timeout-secs S]\n  \
edge-seed league --redis redis://127.0.0.1:PORT --url http://127.0.0.1:PORT --board ID \
--token JWT --players N [--tenant T] [--timeout-secs S]";

/// Most players `seed` writes per board.
const MAX_PLAYERS: u64 = 10_000_000;
/// Most lag samples.
const MAX_SAMPLES: u32 = 10_000;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edge-seed: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Splits `host:port` out of `scheme://host:port[/...]` and checks that host is loopback.
fn loopback_addr(url: &str, scheme: &str) -> Result<(SocketAddr, String)> {
    let rest = url
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
        .with_context(|| format!("{url:?} must start with {scheme}://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = authority
        .rsplit_once(':')
        .with_context(|| format!("{url:?} needs an explicit port"))?;
    let host = match host {
        "localhost" => "127.0.0.1",
        h => h.trim_start_matches('[').trim_end_matches(']'),
    };
    let ip: IpAddr = host
        .parse()
        .with_context(|| format!("{url:?}: host must be a loopback IP or localhost"))?;
    if !ip.is_loopback() {
        bail!("refusing {url:?}: edge-seed only talks to loopback");
    }
    let port: u16 = port.parse().with_context(|| format!("{url:?}: bad port"))?;
    Ok((SocketAddr::new(ip, port), authority.to_string()))
}

fn number<T: std::str::FromStr>(flag: &str, raw: &str) -> Result<T> {
    raw.parse()
        .ok()
        .with_context(|| format!("{flag} takes a number, not {raw:?}"))
}

/// `--timeout-secs`: seconds in 0.001..=600.
fn timeout_secs(raw: &str) -> Result<Duration> {
    let secs: f64 = number("--timeout-secs", raw)?;
    if !(0.001..=600.0).contains(&secs) {
        bail!("--timeout-secs must be in 0.001..=600");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `--players`: 1 to [`MAX_PLAYERS`].
fn player_count(raw: &str) -> Result<u64> {
    let players: u64 = number("--players", raw)?;
    if !(1..=MAX_PLAYERS).contains(&players) {
        bail!("--players must be 1..={MAX_PLAYERS}");
    }
    Ok(players)
}

fn run(args: Vec<String>) -> Result<()> {
    let mut it = args.into_iter();
    let command = it.next().unwrap_or_default();
    if matches!(command.as_str(), "" | "-h" | "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let mut flags: Vec<(String, String)> = Vec::new();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        flags.push((flag, value));
    }
    let get = |name: &str| {
        flags
            .iter()
            .rev()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.as_str())
    };
    let need = |name: &str| get(name).with_context(|| format!("{name} is required\n{USAGE}"));
    let known: &[&str] = match command.as_str() {
        "seed" => &["--redis", "--board", "--players", "--tenant", "--batch"],
        "lag" => &["--url", "--board", "--token", "--samples", "--timeout-secs"],
        "join" => &["--redis", "--board", "--prefix", "--players", "--tenant"],
        "backlog" => &["--redis", "--board", "--entries", "--players", "--tenant"],
        "loglag" => &["--redis", "--board", "--after", "--tenant"],
        "delete" => &[
            "--redis",
            "--url",
            "--board",
            "--token",
            "--probe-board",
            "--filler",
            "--tenant",
            "--timeout-secs",
        ],
        "league" => &[
            "--redis",
            "--url",
            "--board",
            "--token",
            "--players",
            "--tenant",
            "--timeout-secs",
        ],
        other => bail!("unknown command {other:?}\n{USAGE}"),
    };
    if let Some((f, _)) = flags.iter().find(|(f, _)| !known.contains(&f.as_str())) {
        bail!("unknown flag {f} for {command}\n{USAGE}");
    }
    if command == "delete" {
        let redis_url = need("--redis")?;
        loopback_addr(redis_url, "redis")?;
        let (addr, authority) = loopback_addr(need("--url")?, "http")?;
        let tenant = TenantId::new(get("--tenant").unwrap_or("default"))?;
        let board = BoardId::new(need("--board")?)?;
        let probe = BoardId::new(need("--probe-board")?)?;
        let filler: u64 = get("--filler").map_or(Ok(0), |n| number("--filler", n))?;
        if filler > delete::MAX_FILLER {
            bail!("--filler must be at most {}", delete::MAX_FILLER);
        }
        let timeout = timeout_secs(get("--timeout-secs").unwrap_or("600"))?;
        let report = delete::measure(&delete::DeletePlan {
            redis_url: redis_url.to_string(),
            addr,
            authority,
            board: board.as_str().to_string(),
            prefix: format!("lb:{{{}/{}}}:", tenant.as_str(), board.as_str()),
            token: need("--token")?.to_string(),
            probe_key: format!("lb:{{{}/{}}}:z:all", tenant.as_str(), probe.as_str()),
            filler,
            timeout,
        })?;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    if command == "league" {
        let redis_url = need("--redis")?;
        loopback_addr(redis_url, "redis")?;
        let (addr, authority) = loopback_addr(need("--url")?, "http")?;
        let players = player_count(need("--players")?)?;
        let timeout = timeout_secs(get("--timeout-secs").unwrap_or("600"))?;
        let report = league::measure(&league::LeaguePlan {
            redis_url: redis_url.to_string(),
            addr,
            authority,
            tenant: TenantId::new(get("--tenant").unwrap_or("default"))?,
            board: BoardId::new(need("--board")?)?,
            token: need("--token")?.to_string(),
            players,
            timeout,
        })?;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    if command == "join" {
        let url = need("--redis")?;
        loopback_addr(url, "redis")?;
        let board = BoardId::new(need("--board")?)?;
        let tenant = TenantId::new(get("--tenant").unwrap_or("default"))?;
        let prefix = need("--prefix")?;
        let players = player_count(need("--players")?)?;
        // Each name must be a player id the API takes.
        leaderboard::PlayerId::new(format!("{prefix}{}", players - 1))?;
        let client = redis::Client::open(url).context("--redis")?;
        let mut con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .with_context(|| format!("connecting to {url}"))?;
        let key = seed::BoardKeys::new(&tenant, &board).joined();
        let started = std::time::Instant::now();
        let mut from = 0;
        while from < players {
            let to = (from + 10_000).min(players);
            let names: Vec<String> = (from..to).map(|i| format!("{prefix}{i}")).collect();
            redis::cmd("SADD")
                .arg(&key)
                .arg(&names)
                .query::<u64>(&mut con)
                .with_context(|| format!("SADD {key}"))?;
            from = to;
        }
        println!(
            "{}",
            serde_json::json!({"board": board.as_str(), "joined": players,
                "seconds": (started.elapsed().as_secs_f64() * 1e3).round() / 1e3})
        );
        return Ok(());
    }
    if command == "backlog" || command == "loglag" {
        let url = need("--redis")?;
        loopback_addr(url, "redis")?;
        let board = BoardId::new(need("--board")?)?;
        let tenant = TenantId::new(get("--tenant").unwrap_or("default"))?;
        let prefix = format!("lb:{{{}/{}}}:", tenant.as_str(), board.as_str());
        let client = redis::Client::open(url).context("--redis")?;
        let mut con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .with_context(|| format!("connecting to {url}"))?;
        if command == "loglag" {
            let lag = pipeline::loglag(&mut con, &format!("{prefix}events"), need("--after")?)?;
            println!("{}", serde_json::to_string(&lag)?);
            return Ok(());
        }
        let entries: u64 = number("--entries", need("--entries")?)?;
        if !(1..=MAX_PLAYERS).contains(&entries) {
            bail!("--entries must be 1..={MAX_PLAYERS}");
        }
        let players: u64 = get("--players").map_or(Ok(20_000), |p| number("--players", p))?;
        let took = pipeline::backlog(&mut con, &format!("{prefix}inbox"), entries, players)?;
        println!(
            "{}",
            serde_json::json!({"entries": entries, "seconds": (took.as_secs_f64() * 1e3).round() / 1e3})
        );
        return Ok(());
    }
    if command == "seed" {
        let url = need("--redis")?;
        loopback_addr(url, "redis")?;
        let boards = flags
            .iter()
            .filter(|(f, _)| f == "--board")
            .map(|(_, v)| BoardId::new(v))
            .collect::<leaderboard::Result<Vec<_>>>()?;
        if boards.is_empty() {
            bail!("--board is required\n{USAGE}");
        }
        let players = player_count(need("--players")?)?;
        let batch: u64 = get("--batch").map_or(Ok(10_000), |b| number("--batch", b))?;
        if !(1..=100_000).contains(&batch) {
            bail!("--batch must be 1..=100000");
        }
        let tenant = TenantId::new(get("--tenant").unwrap_or("default"))?;
        let client = redis::Client::open(url).context("--redis")?;
        let mut con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .with_context(|| format!("connecting to {url}"))?;
        for board in &boards {
            let s = seed::seed(&mut con, &tenant, board, players, batch)?;
            println!(
                "{}",
                serde_json::json!({
                    "board": s.board.as_str(),
                    "players": s.players,
                    "seconds": (s.elapsed.as_secs_f64() * 1e3).round() / 1e3,
                })
            );
        }
        return Ok(());
    }
    let url = need("--url")?;
    let (addr, authority) = loopback_addr(url, "http")?;
    let board = BoardId::new(need("--board")?)?;
    let samples: u32 = number("--samples", need("--samples")?)?;
    if !(1..=MAX_SAMPLES).contains(&samples) {
        bail!("--samples must be 1..={MAX_SAMPLES}");
    }
    let timeout = timeout_secs(need("--timeout-secs")?)?;
    let plan = lag::LagPlan {
        addr,
        authority,
        board: board.as_str().to_string(),
        token: need("--token")?.to_string(),
        samples,
        timeout,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(lag::measure(&plan))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        let ok = loopback_addr("redis://127.0.0.1:6379", "redis").ok();
        assert_eq!(
            ok.map(|(a, h)| (a.port(), h)),
            Some((6379, "127.0.0.1:6379".into()))
        );
        let ok = loopback_addr("http://localhost:3000/x", "http").ok();
        assert_eq!(ok.map(|(a, _)| a.ip().is_loopback()), Some(true));
        assert!(loopback_addr("http://[::1]:80", "http").is_ok());
        for bad in [
            "redis://10.0.0.1:6379",
            "redis://example.com:6379",
            "redis://127.0.0.1",
            "http://127.0.0.1:1",
        ] {
            assert!(loopback_addr(bad, "redis").is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_are_checked() {
        let err = |s: &str| {
            run(s.split_whitespace().map(str::to_string).collect())
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default()
        };
        assert!(err("bogus").contains("unknown command"));
        assert!(err("seed --redis redis://127.0.0.1:1 --nope 1").contains("unknown flag"));
        assert!(err("seed --redis redis://127.0.0.1:1 --players 5").contains("--board"));
        assert!(
            err("seed --redis redis://127.0.0.1:1 --board b --players 0").contains("--players")
        );
        assert!(err("lag --url http://8.8.8.8:80 --board b").contains("refusing"));
        assert!(err("seed --redis").contains("needs a value"));
    }
}

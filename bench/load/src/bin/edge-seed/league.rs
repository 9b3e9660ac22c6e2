//! A league's close at scale (docs/competitions.md › Leagues): how long the close of a period
//! of many players in many cohorts takes, and what it and its players cost in Redis.
//!
//! The league (a board created through the API, with `league`, `cohort_size` and a period that
//! resets) gets its previous period seeded straight into Redis, as its players' first
//! submissions would have left it: `players` players spread over the tiers in turn (player `i`
//! in tier `i % tiers`, its tier kept in the league's tiers as a close before would have left
//! it), each placed in its tier's cohorts in order of arrival, with an entry in the period's
//! standings and in its cohort's. Then one request closes it: the league standing of the first
//! player (`GET …/league?player=`), which makes the closes due first, as the worker does at the
//! period's end and a player's first submission of the next period does. When the league pays
//! rewards, a second request awards them (`GET …/rewards?player=&period=`), as the worker does
//! after the close. Each step is checked in Redis (the closed mark, the moves, the
//! `league_closed` event; the awards), and `used_memory` is read before the seeding, after it,
//! after the close and after the awards. Loopback only; bounded by the player count and the
//! requests' timeout.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http::{Method, StatusCode};
use leaderboard::board::period;
use leaderboard::competition::cohort::{self, CohortId};
use leaderboard::competition::league::League;
use leaderboard::competition::rewards::MAX_AWARDS;
use leaderboard::{BoardId, Event, EventEnvelope, PeriodId, TenantId};
use serde::Serialize;

use crate::lag::Client;
use crate::seed::{self, BoardKeys};

/// Players per pipelined round trip while seeding.
const BATCH: u64 = 10_000;
/// Log entries read back for the close's event.
const LOG_TAIL: usize = 50;
/// The longest wait for one Redis answer.
const REDIS_READ: Duration = Duration::from_secs(60);

/// What to measure.
#[derive(Debug, Clone)]
pub struct LeaguePlan {
    pub redis_url: String,
    pub addr: SocketAddr,
    /// `host:port` for the `Host` header.
    pub authority: String,
    pub tenant: TenantId,
    pub board: BoardId,
    /// A service or admin token of the board's tenant.
    pub token: String,
    pub players: u64,
    /// Each request's bound.
    pub timeout: Duration,
}

/// `used_memory` deltas, in bytes (Redis's allocator: approximate, and it can shrink).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    /// The seeded period: standings, records, members, placements, cohorts, tiers.
    pub league_bytes: i64,
    /// What the close added (the moves, the tiers of those who moved, the marks, the event).
    pub close_bytes: i64,
    /// What the awards added (`None`: the league pays none).
    pub awards_bytes: Option<i64>,
}

/// The measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeagueReport {
    pub board: String,
    pub period: String,
    pub players: u64,
    pub tiers: usize,
    pub cohorts: u64,
    pub seed_s: f64,
    /// The close's request.
    pub close_ms: f64,
    pub promoted: u64,
    pub demoted: u64,
    pub stayed: u64,
    /// The awards' request and the awards made (`None`: the league pays none).
    pub awards_ms: Option<f64>,
    pub awarded: Option<u64>,
    pub memory: Memory,
}

/// Redis's `used_memory`, in bytes.
fn used_memory(con: &mut redis::Connection) -> Result<i64> {
    let info: String = redis::cmd("INFO").arg("memory").query(con)?;
    used_memory_of(&info)
}

fn used_memory_of(info: &str) -> Result<i64> {
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .context("INFO memory has no used_memory")?
        .trim()
        .parse()
        .context("used_memory is not a number")
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The tier of player `i` of a league of `tiers` tiers (lowest first): each in turn.
fn tier_index(i: u64, tiers: usize) -> usize {
    // `tiers` is at most 32, so the remainder fits.
    (i % tiers as u64) as usize
}

/// Seeds `period` of the league; answers its cohorts, each with its players.
fn seed_period(
    con: &mut redis::Connection,
    keys: &BoardKeys,
    board: &leaderboard::Board,
    period: &PeriodId,
    players: u64,
) -> Result<Vec<(CohortId, usize)>> {
    let (Some(league), Some(size)) = (&board.league, board.cohort_size) else {
        bail!("board '{}' is not a league", board.id);
    };
    let start_ms = period.start_ms().context("a league's period has a start")?;
    let expire_ms =
        period::expire_at_ms(period, board.retain_periods).context("a league's period expires")?;
    let tiers = &league.tiers;
    let mut arrivals = vec![0u64; tiers.len()];
    let mut seeded: BTreeMap<String, (CohortId, usize)> = BTreeMap::new();
    let mut from = 0;
    while from < players {
        let to = players.min(from + BATCH);
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(keys.zset(period));
        let mut records = redis::cmd("HSET");
        records.arg(keys.records(period));
        let mut members = redis::cmd("HSET");
        members.arg(keys.members(period));
        let mut placed = redis::cmd("HSET");
        placed.arg(keys.placements(period));
        let mut stored_tiers = redis::cmd("HSET");
        stored_tiers.arg(keys.tiers());
        let mut moved_tiers = false;
        let mut cohorts: BTreeMap<String, redis::Cmd> = BTreeMap::new();
        for i in from..to {
            let e = seed::entry_at(board, i, start_ms)?;
            let t = tier_index(i, tiers.len());
            let tier = &tiers[t];
            arrivals[t] += 1;
            let in_cohort = cohort::place(Some(tier), arrivals[t], size)?;
            zadd.arg(e.rank_value).arg(&e.member);
            records.arg(e.player.as_str()).arg(&e.record_json);
            members.arg(e.player.as_str()).arg(&e.member);
            placed
                .arg(e.player.as_str())
                .arg(cohort::stored(Some(tier), arrivals[t]));
            if t > 0 {
                stored_tiers.arg(e.player.as_str()).arg(tier);
                moved_tiers = true;
            }
            let key = keys.cohort(period, &in_cohort.to_string());
            seeded.entry(key.clone()).or_insert((in_cohort, 0)).1 += 1;
            cohorts
                .entry(key.clone())
                .or_insert_with(|| {
                    let mut c = redis::cmd("ZADD");
                    c.arg(&key);
                    c
                })
                .arg(e.rank_value)
                .arg(&e.member);
        }
        let mut pipe = redis::pipe();
        pipe.add_command(zadd)
            .ignore()
            .add_command(records)
            .ignore()
            .add_command(members)
            .ignore()
            .add_command(placed)
            .ignore();
        if moved_tiers {
            pipe.add_command(stored_tiers).ignore();
        }
        for cmd in cohorts.into_values() {
            pipe.add_command(cmd).ignore();
        }
        pipe.exec(con)
            .with_context(|| format!("seeding players {from}..{to}"))?;
        from = to;
    }
    let mut counters = redis::cmd("HSET");
    counters.arg(keys.arrivals(period));
    for (tier, n) in tiers.iter().zip(&arrivals) {
        counters.arg(format!("n:{tier}")).arg(n);
    }
    let mut pipe = redis::pipe();
    pipe.add_command(counters)
        .ignore()
        .cmd("SADD")
        .arg(keys.periods())
        .arg(period.to_string())
        .ignore();
    let expiring = [
        keys.zset(period),
        keys.records(period),
        keys.members(period),
        keys.placements(period),
        keys.arrivals(period),
    ];
    for key in expiring.iter().chain(seeded.keys()) {
        pipe.cmd("PEXPIREAT").arg(key).arg(expire_ms).ignore();
    }
    pipe.exec(con).context("the period's counters and expiry")?;
    Ok(seeded.into_values().collect())
}

/// What the close of `groups` (each cohort with its players) must do, by the core's rule (the
/// counts depend on the cohorts' sizes only): promoted, demoted, stayed.
fn expected_moves(league: &League, groups: &[(CohortId, usize)]) -> Result<(u64, u64, u64)> {
    let sized: Vec<(CohortId, Vec<()>)> = groups
        .iter()
        .map(|(cohort, n)| (cohort.clone(), vec![(); *n]))
        .collect();
    let closed = league.close_groups(&sized)?;
    Ok((closed.promoted, closed.demoted, closed.stayed))
}

/// The fewest awards `groups` can make: each cohort's players within its tier's table's last
/// rank (ties at it add more), at most [`MAX_AWARDS`] in all.
fn fewest_awards(league: &League, groups: &[(CohortId, usize)]) -> u64 {
    let paid: u64 = groups
        .iter()
        .map(|(cohort, n)| {
            let last = cohort
                .band
                .as_ref()
                .and_then(|tier| league.rewards.get(tier))
                .map_or(0, |table| table.last_rank());
            last.min(*n as u64)
        })
        .sum();
    paid.min(MAX_AWARDS as u64)
}

/// The `league_closed` event of `period` in the board's log (among its last entries).
fn closed_event(
    con: &mut redis::Connection,
    keys: &BoardKeys,
    period: &PeriodId,
) -> Result<(u64, u64, u64)> {
    let tail: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
        .arg(keys.events())
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(LOG_TAIL)
        .query(con)?;
    for (_, fields) in tail {
        for (_, raw) in fields.iter().filter(|(f, _)| f == "event") {
            if let Event::LeagueClosed(c) = EventEnvelope::from_json(raw)?.event
                && c.period == *period
            {
                return Ok((c.promoted, c.demoted, c.stayed));
            }
        }
    }
    bail!("no league_closed event of {period} in the log's last {LOG_TAIL} entries")
}

/// One GET with the plan's token, timed; anything but `200` fails the measurement.
fn get(
    runtime: &tokio::runtime::Runtime,
    client: &mut Client,
    plan: &LeaguePlan,
    path: &str,
) -> Result<Duration> {
    let started = Instant::now();
    let status = runtime.block_on(async {
        tokio::time::timeout(
            plan.timeout,
            client.send(Method::GET, path, Some(&plan.token), String::new()),
        )
        .await
        .with_context(|| format!("GET {path} timed out"))?
    })?;
    let took = started.elapsed();
    if status != StatusCode::OK {
        bail!("GET {path} answered {status}, expected 200");
    }
    Ok(took)
}

/// Seeds, closes, awards; see the module docs.
pub fn measure(plan: &LeaguePlan) -> Result<LeagueReport> {
    let mut con = seed::connect(&plan.redis_url)?;
    // No command here takes long (the seeding's pipelines are of 10,000 players).
    con.set_read_timeout(Some(REDIS_READ))?;
    let keys = BoardKeys::new(&plan.tenant, &plan.board);
    let board = seed::board(&mut con, &keys, &plan.board)?;
    let Some(league) = &board.league else {
        bail!("board '{}' is not a league", plan.board);
    };
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_millis(),
    )
    .context("the clock")?;
    let closed = period::period_id(board.period, now_ms)?
        .previous()
        .context("a league's period resets")?;
    let marks: u64 = redis::cmd("HLEN").arg(keys.league()).query(&mut con)?;
    let played: u64 = redis::cmd("EXISTS")
        .arg(keys.zset(&closed))
        .query(&mut con)?;
    if marks > 0 || played > 0 {
        bail!(
            "league '{}' has closes or standings of {closed} already: measure a new one",
            plan.board
        );
    }

    let before = used_memory(&mut con)?;
    let started = Instant::now();
    let groups = seed_period(&mut con, &keys, &board, &closed, plan.players)?;
    let seed_s = (started.elapsed().as_secs_f64() * 1e3).round() / 1e3;
    let seeded = used_memory(&mut con)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut client = Client::new(plan.addr, plan.authority.clone());
    let first = seed::player_id(0)?;
    let close = get(
        &runtime,
        &mut client,
        plan,
        &format!("/api/v1/boards/{}/league?player={first}", plan.board),
    )?;
    let closed_at: Option<String> = redis::cmd("HGET")
        .arg(keys.league())
        .arg(format!("closed:{closed}"))
        .query(&mut con)?;
    if closed_at.is_none() {
        bail!("the league standing answered 200 and {closed} is not closed");
    }
    let (promoted, demoted, stayed) = closed_event(&mut con, &keys, &closed)?;
    let expected = expected_moves(league, &groups)?;
    if (promoted, demoted, stayed) != expected {
        bail!(
            "{closed}'s close logged {promoted} up, {demoted} down, {stayed} stayed; the core's \
             rule makes {expected:?} of the seeded cohorts"
        );
    }
    let moves: u64 = redis::cmd("HLEN")
        .arg(keys.moves(&closed))
        .query(&mut con)?;
    // The moves hold each moved player, and the close's time.
    if moves != promoted + demoted + 1 {
        bail!("{closed}'s close logged {promoted} up and {demoted} down and kept {moves} moves");
    }
    let after_close = used_memory(&mut con)?;

    let (awards_ms, awarded, awards_bytes) = if league.rewards.is_empty() {
        (None, None, None)
    } else {
        let took = get(
            &runtime,
            &mut client,
            plan,
            &format!(
                "/api/v1/boards/{}/rewards?player={first}&period={closed}",
                plan.board
            ),
        )?;
        let count: Option<u64> = redis::cmd("HGET")
            .arg(keys.awards(&closed))
            .arg("_count")
            .query(&mut con)?;
        let count = count.with_context(|| format!("{closed}'s awards were not stored"))?;
        let fewest = fewest_awards(league, &groups);
        if count < fewest {
            bail!("{closed}'s awards paid {count} players; its tables pay at least {fewest}");
        }
        (
            Some(ms(took)),
            Some(count),
            Some(used_memory(&mut con)? - after_close),
        )
    };
    Ok(LeagueReport {
        board: plan.board.as_str().to_string(),
        period: closed.to_string(),
        players: plan.players,
        tiers: league.tiers.len(),
        cohorts: groups.len() as u64,
        seed_s,
        close_ms: ms(close),
        promoted,
        demoted,
        stayed,
        awards_ms,
        awarded,
        memory: Memory {
            league_bytes: seeded - before,
            close_bytes: after_close - seeded,
            awards_bytes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_memory_is_read_from_info() {
        let info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n";
        assert_eq!(used_memory_of(info).ok(), Some(1_048_576));
        assert!(used_memory_of("# Memory\r\n").is_err());
    }

    #[test]
    fn players_take_the_tiers_in_turn() {
        let got: Vec<usize> = (0..6).map(|i| tier_index(i, 4)).collect();
        assert_eq!(got, [0, 1, 2, 3, 0, 1]);
    }
}

//! Seeding a board's `all` period straight into Redis, in exactly the layout the functions use
//! (`shared/edge/src/repo/mod.rs` and each capability's `store`):
//!
//! | key | command | value |
//! | --- | --- | --- |
//! | `lb:{t/b}:z:all` | `ZADD` | score = rank value, member = `{achieved_at:013x}{player}` |
//! | `lb:{t/b}:r:all` | `HSET` | player → `leaderboard::Record` JSON |
//! | `lb:{t/b}:m:all` | `HSET` | player → sorted-set member |
//! | `lb:{t/b}:periods` | `SADD` | `all` |
//!
//! The board must exist (created through the API, so `lb:{t/b}:config` holds its canonical
//! config); rank values and members come from `leaderboard::board::sortkey::encode` for that validated
//! board. Players are `p0000000`, `p0000001`, …; their scores are a fixed pseudo-random spread, so
//! two runs seed identical boards. Writes go in pipelined batches of variadic commands.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use leaderboard::{Board, BoardConfigInput, BoardId, PeriodId, PlayerId, Record, TenantId};

/// Achievement time of player 0 (2023-11-14T22:13:20Z); player `i` achieved `i` ms later.
pub const BASE_MS: i64 = 1_700_000_000_000;
/// Scores are spread over at most this many distinct values from `score_min`.
pub const SCORE_SPREAD: i64 = 100_000_000;

/// The key names of one board's period (mirrors `edge::repo::Keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardKeys {
    prefix: String,
}

impl BoardKeys {
    /// Keys of `tenant/board`.
    pub fn new(tenant: &TenantId, board: &BoardId) -> Self {
        Self {
            prefix: format!("lb:{{{}/{}}}:", tenant.as_str(), board.as_str()),
        }
    }
    /// The board config (`BoardConfigInput` JSON).
    pub fn config(&self) -> String {
        format!("{}config", self.prefix)
    }
    /// Sorted set of a period.
    pub fn zset(&self, p: &PeriodId) -> String {
        format!("{}z:{p}", self.prefix)
    }
    /// Record hash of a period.
    pub fn records(&self, p: &PeriodId) -> String {
        format!("{}r:{p}", self.prefix)
    }
    /// Member hash of a period.
    pub fn members(&self, p: &PeriodId) -> String {
        format!("{}m:{p}", self.prefix)
    }
    /// Set of periods with data.
    pub fn periods(&self) -> String {
        format!("{}periods", self.prefix)
    }
    /// A tournament's joined players (set).
    pub fn joined(&self) -> String {
        format!("{}joined", self.prefix)
    }
    /// A cohort's sorted set in a period (`cohort`: `12`, or `gold.3` in a band).
    pub fn cohort(&self, p: &PeriodId, cohort: &str) -> String {
        format!("{}z:{p}:c:{cohort}", self.prefix)
    }
    /// A period's cohort arrivals (hash: `n`, `n:<band>` → arrivals counted).
    pub fn arrivals(&self, p: &PeriodId) -> String {
        format!("{}cohorts:{p}", self.prefix)
    }
    /// A period's cohort placements (hash: player → its arrival, `12` or `12:gold`).
    pub fn placements(&self, p: &PeriodId) -> String {
        format!("{}placed:{p}", self.prefix)
    }
    /// A league's tiers (hash: player → the tier it plays its next period in).
    pub fn tiers(&self) -> String {
        format!("{}tiers", self.prefix)
    }
    /// A board's period closes (hash: `closing:<period>`, `closed:<period>` → when).
    pub fn league(&self) -> String {
        format!("{}league", self.prefix)
    }
    /// A league period's close's moves (hash: player → tier, `:at` → when).
    pub fn moves(&self, p: &PeriodId) -> String {
        format!("{}moves:{p}", self.prefix)
    }
    /// The board's event log (stream).
    pub fn events(&self) -> String {
        format!("{}events", self.prefix)
    }
    /// A run's awards (hash).
    pub fn awards(&self, p: &PeriodId) -> String {
        format!("{}awards:{p}", self.prefix)
    }
}

/// One seeded player: what goes into the three period keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub player: PlayerId,
    pub rank_value: u64,
    pub member: String,
    pub record_json: String,
}

/// SplitMix64: a fixed, well-spread hash of the player index.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The player id of index `i`: `p` and at least 7 digits.
pub fn player_id(i: u64) -> Result<PlayerId> {
    Ok(PlayerId::new(format!("p{i:07}"))?)
}

/// Player `i`'s entry on `board`, achieved [`BASE_MS`] + `i` ms.
pub fn entry(board: &Board, i: u64) -> Result<Entry> {
    entry_at(board, i, BASE_MS)
}

/// Player `i`'s entry on `board`, achieved `base_ms` + `i` ms.
pub fn entry_at(board: &Board, i: u64, base_ms: i64) -> Result<Entry> {
    let player = player_id(i)?;
    let span = (i128::from(board.score_max) - i128::from(board.score_min) + 1)
        .min(i128::from(SCORE_SPREAD));
    let offset = i128::from(mix(i)) % span;
    let score = i64::try_from(i128::from(board.score_min) + offset)?;
    let subscore = board.subscore.map(|s| s.min);
    let at = base_ms + i64::try_from(i)?;
    let record = Record {
        score,
        subscore,
        achieved_at_ms: at,
        updated_at_ms: at,
        metadata: None,
        submissions: 1,
    };
    let key = record.sort_key(board, &player)?;
    Ok(Entry {
        record_json: serde_json::to_string(&record)?,
        player,
        rank_value: key.rank_value,
        member: key.member,
    })
}

/// What seeding one board did.
#[derive(Debug, Clone, PartialEq)]
pub struct Seeded {
    pub board: BoardId,
    pub players: u64,
    pub elapsed: Duration,
}

/// A connection to the Redis at `url` (`--redis`), given 5 s to connect.
pub fn connect(url: &str) -> Result<redis::Connection> {
    redis::Client::open(url)
        .context("--redis")?
        .get_connection_with_timeout(Duration::from_secs(5))
        .with_context(|| format!("connecting to {url}"))
}

/// Loads and validates the board config the API stored.
pub fn board(con: &mut redis::Connection, keys: &BoardKeys, id: &BoardId) -> Result<Board> {
    let raw: Option<String> = redis::cmd("GET")
        .arg(keys.config())
        .query(con)
        .with_context(|| format!("reading {}", keys.config()))?;
    let Some(raw) = raw else {
        bail!(
            "board '{id}' does not exist ({} is empty): create it through the API first",
            keys.config()
        );
    };
    let input: BoardConfigInput =
        serde_json::from_str(&raw).with_context(|| format!("decoding {}", keys.config()))?;
    Ok(input.validate()?)
}

/// Replaces the `all` period of `tenant/id` with `players` seeded entries, `batch` players per
/// pipeline.
pub fn seed(
    con: &mut redis::Connection,
    tenant: &TenantId,
    id: &BoardId,
    players: u64,
    batch: u64,
) -> Result<Seeded> {
    let started = Instant::now();
    let keys = BoardKeys::new(tenant, id);
    let board = board(con, &keys, id)?;
    let period = PeriodId::AllTime;
    let (z, r, m) = (
        keys.zset(&period),
        keys.records(&period),
        keys.members(&period),
    );
    redis::cmd("DEL")
        .arg(&z)
        .arg(&r)
        .arg(&m)
        .exec(con)
        .context("clearing the period")?;
    let mut start = 0;
    while start < players {
        let end = players.min(start + batch);
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(&z);
        let mut records = redis::cmd("HSET");
        records.arg(&r);
        let mut members = redis::cmd("HSET");
        members.arg(&m);
        for i in start..end {
            let e = entry(&board, i)?;
            zadd.arg(e.rank_value).arg(&e.member);
            records.arg(e.player.as_str()).arg(&e.record_json);
            members.arg(e.player.as_str()).arg(&e.member);
        }
        redis::pipe()
            .add_command(zadd)
            .ignore()
            .add_command(records)
            .ignore()
            .add_command(members)
            .ignore()
            .exec(con)
            .with_context(|| format!("writing players {start}..{end}"))?;
        start = end;
    }
    redis::cmd("SADD")
        .arg(keys.periods())
        .arg(period.to_string())
        .exec(con)?;
    let (zcard, hlen): (u64, u64) = redis::pipe()
        .cmd("ZCARD")
        .arg(&z)
        .cmd("HLEN")
        .arg(&r)
        .query(con)?;
    if zcard != players || hlen != players {
        bail!("seeded {players} players into '{id}' but ZCARD = {zcard}, HLEN = {hlen}");
    }
    Ok(Seeded {
        board: id.clone(),
        players,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use leaderboard::board::sortkey;

    fn board(json: &str) -> Option<Board> {
        serde_json::from_str::<BoardConfigInput>(json)
            .ok()?
            .validate()
            .ok()
    }

    #[test]
    fn keys_match_the_repository_layout() {
        let (Ok(t), Ok(b)) = (TenantId::new("default"), BoardId::new("bench")) else {
            panic!("ids");
        };
        let k = BoardKeys::new(&t, &b);
        let all = PeriodId::AllTime;
        assert_eq!(k.config(), "lb:{default/bench}:config");
        assert_eq!(k.zset(&all), "lb:{default/bench}:z:all");
        assert_eq!(k.records(&all), "lb:{default/bench}:r:all");
        assert_eq!(k.members(&all), "lb:{default/bench}:m:all");
        assert_eq!(k.periods(), "lb:{default/bench}:periods");
        assert_eq!(k.joined(), "lb:{default/bench}:joined");
        let Ok(day) = "2026-11-27".parse::<PeriodId>() else {
            panic!("a day");
        };
        assert_eq!(
            k.cohort(&day, "gold.3"),
            "lb:{default/bench}:z:2026-11-27:c:gold.3"
        );
        assert_eq!(k.arrivals(&day), "lb:{default/bench}:cohorts:2026-11-27");
        assert_eq!(k.placements(&day), "lb:{default/bench}:placed:2026-11-27");
        assert_eq!(k.tiers(), "lb:{default/bench}:tiers");
        assert_eq!(k.league(), "lb:{default/bench}:league");
        assert_eq!(k.moves(&day), "lb:{default/bench}:moves:2026-11-27");
        assert_eq!(k.events(), "lb:{default/bench}:events");
        assert_eq!(k.awards(&day), "lb:{default/bench}:awards:2026-11-27");
    }

    #[test]
    fn entries_encode_like_the_functions() {
        let Some(b) = board(r#"{"id":"bench","public_read":true}"#) else {
            panic!("board");
        };
        for i in [0, 1, 499_999, 999_999] {
            let Ok(e) = entry(&b, i) else {
                panic!("entry {i}");
            };
            let Ok(rec) = serde_json::from_str::<Record>(&e.record_json) else {
                panic!("record {i}");
            };
            assert_eq!(e.player.as_str(), format!("p{i:07}"));
            assert!((0..SCORE_SPREAD).contains(&rec.score));
            assert_eq!(rec.achieved_at_ms, BASE_MS + i as i64);
            let key = sortkey::encode(&b, rec.score, None, rec.achieved_at_ms, &e.player).ok();
            assert_eq!(
                key.map(|k| (k.rank_value, k.member)),
                Some((e.rank_value, e.member.clone()))
            );
            assert_eq!(
                sortkey::decode_member(&e.member).ok(),
                Some((rec.achieved_at_ms, e.player.clone()))
            );
        }
    }

    #[test]
    fn scores_stay_in_narrow_bounds_and_fill_subscores() {
        let Some(b) = board(
            r#"{"id":"small","sort":"asc","score_min":-5,"score_max":5,"subscore":{"min":3,"max":9}}"#,
        ) else {
            panic!("board");
        };
        for i in 0..1000 {
            let Ok(e) = entry(&b, i) else {
                panic!("entry {i}");
            };
            let Ok(rec) = serde_json::from_str::<Record>(&e.record_json) else {
                panic!("record {i}");
            };
            assert!((-5..=5).contains(&rec.score), "{}", rec.score);
            assert_eq!(rec.subscore, Some(3));
        }
        assert_eq!(entry(&b, 7).ok(), entry(&b, 7).ok(), "deterministic");
    }
}

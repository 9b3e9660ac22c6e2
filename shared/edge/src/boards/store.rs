//! Board configs: create, load (alone or with a player's record), list, delete.

use leaderboard::events::event::BoardCreated;
use leaderboard::http::cache::initial_version;
use leaderboard::{
    Board, BoardId, Event, EventEnvelope, LeaderboardError, PeriodId, PlayerId, Record, Result,
    TenantId,
};

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{
    Keys, RedisParameter, RedisResult, Repo, bin, int, parse_record, tenant_boards, text, uint,
};
use crate::submissions::idempotency::store::KeyLock;
use crate::submissions::idempotency::store::Reservation;

script! {
    /// A board's keys, made once (`lua/create_board.lua`).
    mod create_board = include_str!("lua/create_board.lua");
    keys {
        /// The board's config.
        config,
        /// Its version counter.
        version,
        /// Its log.
        events,
        /// Its tombstone ([`Keys::tombstone`]).
        tombstone,
    }
    args {
        /// The config (JSON).
        config,
        /// The version it starts at.
        version,
        /// The `board_created` event.
        event,
    }
}

/// What `create_board.lua` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    /// The board is made.
    Created,
    /// A board of this id exists.
    Exists,
    /// An earlier board of this id is still being swept (its tombstone is there).
    BeingSwept,
}
const BOARD_AND_RECORD: &str = include_str!("lua/board_and_record.lua");
const DELETE_BOARD: &str = include_str!("lua/delete_board.lua");
const SWEEP_STEP_SCRIPT: &str = include_str!("lua/sweep_step.lua");

impl Keys {
    /// Present from a board's delete until every key under its prefix is swept
    /// ([`Repo::sweep_board`]), holding the sweep's token: a board of the same id is created
    /// only after the sweep.
    pub fn tombstone(&self) -> String {
        self.k("deleting")
    }
}

impl Repo {
    /// Makes a board's keys from its stored config and `board_created` event, once.
    async fn make_board(&self, keys: &Keys, json: &str, now_ms: i64, event: &str) -> Result<Made> {
        let r = create_board::run(
            self,
            create_board::Keys {
                config: keys.config(),
                version: keys.version(),
                events: keys.events(),
                tombstone: keys.tombstone(),
            },
            create_board::Args {
                config: json.into(),
                version: initial_version(now_ms).into(),
                event: event.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, []) if word == "created" => Ok(Made::Created),
            (word, []) if word == "exists" => Ok(Made::Exists),
            (word, []) if word == "being_swept" => Ok(Made::BeingSwept),
            (word, rest) => Err(unexpected(create_board::NAME, &word, rest)),
        }
    }

    /// Stores a new board created at `now_ms` (its version starts at
    /// [`initial_version`]) with its `board_created` event, the first of its log; `BoardExists`
    /// if the id is taken in this tenant.
    pub async fn create_board(&self, tenant: &TenantId, board: &Board, now_ms: i64) -> Result<()> {
        let keys = Keys::new(tenant, &board.id);
        let json = board.to_stored()?;
        let event = EventEnvelope {
            id: format!("{now_ms}-created"),
            tenant: tenant.clone(),
            board: board.id.clone(),
            at_ms: now_ms,
            event: Event::BoardCreated(BoardCreated {
                board: board.clone(),
            }),
        }
        .to_json()?;
        let create = async || self.make_board(&keys, &json, now_ms, &event).await;
        let mut created = create().await?;
        if created == Made::BeingSwept {
            // A board of this id was deleted and its sweep did not finish (the request that
            // deleted it stopped, or is still sweeping): nothing of it may outlive into the new
            // board (an Idempotency-Key would replay the old board's answer). Take the sweep
            // over (the old sweep stops at its next step), finish it, then create.
            let token = sweep_token();
            let taken = self
                .exec(
                    "SET",
                    vec![bin(keys.tombstone()), bin(token.as_str()), bin("XX")],
                )
                .await?;
            let swept = if matches!(taken.first(), Some(RedisResult::Status(_))) {
                self.sweep_board(&keys, &token).await?
            } else {
                // The tombstone went meanwhile: that sweep finished.
                Swept::Done(0)
            };
            if matches!(swept, Swept::Done(_)) {
                created = create().await?;
            }
        }
        match created {
            Made::Created => {}
            Made::Exists => {
                return Err(LeaderboardError::BoardExists(format!(
                    "board '{}' already exists",
                    board.id
                )));
            }
            Made::BeingSwept => {
                return Err(LeaderboardError::Conflict(format!(
                    "board '{}' is being deleted; retry",
                    board.id
                )));
            }
        }
        self.exec(
            "SADD",
            vec![bin(tenant_boards(tenant)), bin(board.id.as_str())],
        )
        .await?;
        // With `redis_min_replica_acks`: the board and its place in the tenant's list (two
        // slots, maybe two primaries) reach replicas before the `201`.
        self.await_replicas(&[&keys.config(), &tenant_boards(tenant)])
            .await
    }

    /// Loads a board; `BoardNotFound` if absent.
    pub async fn board(&self, tenant: &TenantId, id: &BoardId) -> Result<Board> {
        self.board_raw(tenant, id).await.map(|(_, board)| board)
    }

    /// [`Repo::board`] with its config as stored (what a compare-and-set of it compares).
    pub async fn board_raw(&self, tenant: &TenantId, id: &BoardId) -> Result<(String, Board)> {
        let r = self
            .exec("GET", vec![bin(Keys::new(tenant, id).config())])
            .await?;
        let raw = r.first().map(text).transpose()?.unwrap_or_default();
        if raw.is_empty() {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        let board = Board::from_stored(&format!("board '{id}'"), raw.as_bytes())?;
        Ok((raw, board))
    }

    /// A board and, in the same round trip, a player's record in the board's current period
    /// (`now_ms` picks the period): what a submission needs before it can decide anything.
    /// With a `lock`, the same round trip also reserves its `Idempotency-Key` (or reports what
    /// the key holds).
    pub async fn board_and_record(
        &self,
        tenant: &TenantId,
        id: &BoardId,
        player: &PlayerId,
        now_ms: i64,
        lock: Option<&KeyLock>,
    ) -> Result<(Board, String, Option<Record>, Option<Reservation>)> {
        use leaderboard::PeriodKind as K;
        let keys = Keys::new(tenant, id);
        let mut script_keys = vec![keys.config()];
        for kind in [K::AllTime, K::Daily, K::Weekly, K::Monthly] {
            script_keys.push(keys.records(&leaderboard::board::period::period_id(kind, now_ms)?));
        }
        let mut args = vec![bin(player.as_str())];
        if let Some(lock) = lock {
            script_keys.push(keys.idem(&lock.key));
            args.extend(lock.reserve_args());
        }
        let r = self.eval(BOARD_AND_RECORD, &script_keys, args).await?;
        let cfg = r.first().map(text).transpose()?.unwrap_or_default();
        if cfg.is_empty() {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        let board = Board::from_stored(&format!("board '{id}'"), cfg.as_bytes())?;
        let raw = r.get(1).map(text).transpose()?.unwrap_or_default();
        let rec = parse_record(&raw)?;
        let reservation = match (lock, r.get(2).map(int).transpose()?) {
            (None, _) => None,
            (Some(_), Some(1)) => Some(Reservation::Reserved),
            (Some(_), _) => Some(Reservation::Held(
                r.get(3).map(text).transpose()?.unwrap_or_default(),
            )),
        };
        Ok((board, raw, rec, reservation))
    }

    /// The board's version (`None` when it has none: a board created before versions existed and
    /// not written since, or a deleted one).
    pub async fn board_version(&self, keys: &Keys) -> Result<Option<i64>> {
        let r = self.exec("GET", vec![bin(keys.version())]).await?;
        match r.first() {
            None | Some(spin_sdk::redis::RedisResult::Nil) => Ok(None),
            Some(v) => int(v).map(Some),
        }
    }

    /// How many boards a tenant has.
    pub async fn board_count(&self, tenant: &TenantId) -> Result<u64> {
        let r = self.exec("SCARD", vec![bin(tenant_boards(tenant))]).await?;
        r.first().map_or(Ok(0), uint)
    }

    /// How many players a board's period holds.
    pub async fn period_size(&self, keys: &Keys, period: &leaderboard::PeriodId) -> Result<u64> {
        let r = self.exec("ZCARD", vec![bin(keys.zset(period))]).await?;
        r.first().map_or(Ok(0), uint)
    }

    /// Whether a player has an entry in a board's period.
    pub async fn has_entry(
        &self,
        keys: &Keys,
        period: &leaderboard::PeriodId,
        player: &leaderboard::PlayerId,
    ) -> Result<bool> {
        let r = self
            .exec(
                "HEXISTS",
                vec![bin(keys.records(period)), bin(player.as_str())],
            )
            .await?;
        Ok(r.first().map_or(Ok(0), int)? == 1)
    }

    /// Board ids of a tenant, sorted.
    pub async fn board_ids(&self, tenant: &TenantId) -> Result<Vec<BoardId>> {
        let r = self
            .exec("SMEMBERS", vec![bin(tenant_boards(tenant))])
            .await?;
        let mut ids = r
            .iter()
            .map(|v| text(v).and_then(BoardId::new))
            .collect::<Result<Vec<_>>>()?;
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(ids)
    }

    /// Deletes a board: one short script ([`DELETE_BOARD`]) removes its config (the board is gone
    /// from here on: reads answer `404`, and writes that read it before refuse to store anything)
    /// and every key it names, each retained period's ranking, records and members included (so
    /// a sweep that never finishes leaves no player's data), and leaves a tombstone holding a
    /// fresh sweep token. What is left under the board's prefix is for [`Repo::sweep_board`]
    /// with that token ([`Deletion::sweep_token`]).
    pub async fn delete_board(&self, tenant: &TenantId, id: &BoardId) -> Result<Deletion> {
        let keys = Keys::new(tenant, id);
        let token = sweep_token();
        // The periods set may change between its read and the script (a write's first score of
        // a period): the script then does nothing, and answers 3; read it again.
        // A board with cohorts names their keys too (placements and each cohort's set); one
        // started by a first submission racing this delete is left to the sweep.
        // A league's closes and tiers go with it (a periodic board with rewards has closes).
        let (cohort_size, league) = match self.board(tenant, id).await {
            Ok(board) => (board.cohort_size, board.closes_periods()),
            Err(LeaderboardError::BoardNotFound(_)) => (None, false),
            Err(e) => return Err(e),
        };
        for _ in 0..DELETE_ATTEMPTS {
            let periods = self
                .exec("SMEMBERS", vec![bin(keys.periods())])
                .await?
                .iter()
                .map(text)
                .collect::<Result<Vec<String>>>()?;
            let mut script_keys = vec![
                keys.config(),
                keys.periods(),
                keys.events(),
                keys.inbox(),
                keys.version(),
                keys.tombstone(),
            ];
            let mut args = vec![bin(token.as_str())];
            for raw in &periods {
                let period: PeriodId = raw.parse().map_err(|_| {
                    LeaderboardError::CorruptData(format!(
                        "board '{id}' lists a period '{raw}' that is no period id"
                    ))
                })?;
                script_keys.extend([
                    keys.zset(&period),
                    keys.records(&period),
                    keys.members(&period),
                ]);
                args.push(bin(raw.as_str()));
            }
            if let Some(size) = cohort_size {
                for raw in &periods {
                    let period: PeriodId = raw
                        .parse()
                        .map_err(|_| LeaderboardError::CorruptData(format!("a period '{raw}'")))?;
                    script_keys.extend(self.cohort_keys(&keys, &period, size).await?);
                }
            }
            if league {
                script_keys.extend([keys.league(), keys.tiers()]);
            }
            let r = self.eval(DELETE_BOARD, &script_keys, args).await?;
            return Ok(match r.first().map(int).transpose()? {
                Some(1) => Deletion::Deleted { keys, token },
                Some(2) => Deletion::Unfinished { keys, token },
                Some(0) => Deletion::Absent,
                Some(3) => continue,
                other => {
                    return Err(LeaderboardError::CorruptData(format!(
                        "the board delete script answered {other:?}"
                    )));
                }
            });
        }
        Err(LeaderboardError::Conflict(format!(
            "board '{id}' kept gaining periods while it was being deleted; retry"
        )))
    }

    /// Removes a board id from its tenant's set (what `max_boards` counts), unless a board of
    /// that id exists by then: a creation that raced this delete (its config is written before
    /// its id joins the set) keeps its place.
    pub async fn forget_board(&self, tenant: &TenantId, id: &BoardId) -> Result<()> {
        self.exec("SREM", vec![bin(tenant_boards(tenant)), bin(id.as_str())])
            .await?;
        let keys = Keys::new(tenant, id);
        let exists = self.exec("EXISTS", vec![bin(keys.config())]).await?;
        if exists.first().map(int).transpose()? == Some(1) {
            self.exec("SADD", vec![bin(tenant_boards(tenant)), bin(id.as_str())])
                .await?;
        }
        Ok(())
    }

    /// Deletes every key under a deleted board's prefix, then its tombstone, while the tombstone
    /// holds `token` (a later delete or creation of the id takes the sweep over by writing its
    /// own): `SCAN … MATCH` steps of [`SWEEP_STEP`] keys each, and a short script per step that
    /// checks the token and `UNLINK`s what the step found ([`SWEEP_STEP_SCRIPT`]), so Redis
    /// serves everyone else between them however large its keyspace.
    ///
    /// (A `SCAN` inside the delete script, as before, held Redis for the whole keyspace's walk:
    /// measured in docs/benchmarks.md › Deleting a board. On Redis Cluster a board's keys share
    /// one slot, and `CLUSTER GETKEYSINSLOT` can replace the walk.)
    pub async fn sweep_board(&self, keys: &Keys, token: &str) -> Result<Swept> {
        let tombstone = keys.tombstone();
        let pattern = format!("{}*", glob_escape(keys.prefix()));
        let mut cursor = "0".to_string();
        let mut swept = 0u64;
        loop {
            let r = self
                .exec(
                    "SCAN",
                    vec![
                        bin(cursor.as_str()),
                        bin("MATCH"),
                        bin(pattern.as_str()),
                        bin("COUNT"),
                        RedisParameter::Int64(SWEEP_STEP),
                    ],
                )
                .await?;
            // The reply, flattened: the next cursor, then the keys found.
            let Some((next, found)) = r.split_first() else {
                return Err(LeaderboardError::CorruptData(
                    "SCAN answered without a cursor".into(),
                ));
            };
            cursor = text(next)?;
            let last = cursor == "0";
            let mut step_keys = vec![tombstone.clone()];
            for k in found {
                let k = text(k)?;
                if k != tombstone {
                    step_keys.push(k);
                }
            }
            if step_keys.len() > 1 || last {
                let r = self
                    .eval(
                        SWEEP_STEP_SCRIPT,
                        &step_keys,
                        vec![bin(token), bin(if last { "1" } else { "0" })],
                    )
                    .await?;
                match r.first().map(int).transpose()? {
                    Some(-1) => return Ok(Swept::TakenOver),
                    Some(n) if n >= 0 => swept += n.unsigned_abs(),
                    other => {
                        return Err(LeaderboardError::CorruptData(format!(
                            "the sweep step answered {other:?}"
                        )));
                    }
                }
            }
            if last {
                return Ok(Swept::Done(swept));
            }
        }
    }
}

/// What [`Repo::delete_board`] found.
pub enum Deletion {
    /// The board existed and is deleted; its sweep is to do, with the token.
    Deleted {
        /// The board's keys.
        keys: Keys,
        /// The sweep's token (the tombstone holds it).
        token: String,
    },
    /// No board, but an earlier delete's sweep was unfinished: it is taken over, to finish
    /// with the token.
    Unfinished {
        /// The board's keys.
        keys: Keys,
        /// The sweep's token (the tombstone holds it).
        token: String,
    },
    /// No board, nothing to sweep.
    Absent,
}

impl Deletion {
    /// The sweep still to do: the board's keys and the token, if any.
    pub fn sweep_token(&self) -> Option<(&Keys, &str)> {
        match self {
            Self::Deleted { keys, token } | Self::Unfinished { keys, token } => {
                Some((keys, token.as_str()))
            }
            Self::Absent => None,
        }
    }
}

/// How a sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swept {
    /// Every key under the prefix is gone, and the tombstone: this many keys were deleted.
    Done(u64),
    /// A later delete or creation of the id took the sweep over (it finishes it).
    TakenOver,
}

/// A fresh sweep token: which sweep the tombstone belongs to.
fn sweep_token() -> String {
    format!("{:016x}", crate::scope::random_u64())
}

/// How often a delete reads the periods set again when writes keep changing it.
const DELETE_ATTEMPTS: usize = 5;

/// How many keys one sweep step looks at (`SCAN`'s `COUNT`): measured in docs/benchmarks.md ›
/// Deleting a board.
const SWEEP_STEP: i64 = 1_000;

/// `s` as a `SCAN … MATCH` pattern that matches only itself (`*`, `?`, `[`, `]` and `\`
/// escaped).
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_matches_only_itself() {
        assert_eq!(glob_escape("lb:{t/b}:"), "lb:{t/b}:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}

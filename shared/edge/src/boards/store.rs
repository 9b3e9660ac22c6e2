//! Board configs: create, load (alone or with a player's record), list.

use leaderboard::Conflict;
use leaderboard::events::event::BoardCreated;
use leaderboard::events::idempotency::RESERVATION_LEASE_MS;
use leaderboard::http::cache::initial_version;
use leaderboard::{
    Board, BoardId, Event, EventEnvelope, LeaderboardError, PlayerId, Record, Result, TenantId,
};

use crate::boards::sweep::{Swept, sweep_token};
use crate::repo::script::{Arg, answer, script, unexpected};
use crate::repo::{Keys, RedisResult, Repo, bin, int, parse_record, tenant_boards, text, uint};
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
        /// The mark of its creation on its way ([`Keys::creating`]), cleared once it is stored.
        creating,
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

script! {
    /// A board and a player's record, with an `Idempotency-Key` reserved
    /// (`lua/board_and_record.lua`).
    mod board_and_record = include_str!("lua/board_and_record.lua");
    keys {
        /// The board's config.
        config,
        /// The records of the current `all_time` period.
        all_time,
        /// The records of the current daily period.
        daily,
        /// The records of the current weekly period.
        weekly,
        /// The records of the current monthly period.
        monthly,
        /// The `Idempotency-Key`'s record (or the unused key).
        idempotency,
    }
    args {
        /// The player.
        player,
        /// `'1'` with an `Idempotency-Key`.
        keyed,
        /// This attempt's reservation of the key.
        reservation,
        /// How long the reservation holds (ms).
        lease_ms,
    }
}

/// What `board_and_record.lua` found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// No board.
    NoBoard,
    /// The board's config and the player's record (`""`: none), with what reserving the key
    /// found (`None` without a key).
    Board {
        /// The config as stored.
        config: String,
        /// The record as stored.
        record: String,
        /// What reserving the `Idempotency-Key` found.
        reservation: Option<Reservation>,
    },
}

/// The answer of `board_and_record.lua`, typed.
fn found(word: &str, rest: &[RedisResult]) -> Result<Found> {
    let board = |config: &RedisResult, record: &RedisResult, reservation| {
        Ok(Found::Board {
            config: text(config)?,
            record: text(record)?,
            reservation,
        })
    };
    match (word, rest) {
        ("no_board", []) => Ok(Found::NoBoard),
        ("read", [config, record]) => board(config, record, None),
        ("reserved", [config, record]) => board(config, record, Some(Reservation::Reserved)),
        ("held", [config, record, held]) => {
            board(config, record, Some(Reservation::Held(text(held)?)))
        }
        _ => Err(unexpected(board_and_record::NAME, word, rest)),
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
                creating: keys.creating(),
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
                return Err(Conflict::BeingDeleted {
                    board: board.id.to_string(),
                }
                .into());
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
        use leaderboard::board::period::period_id;
        let keys = Keys::new(tenant, id);
        let records = |kind| Ok::<_, LeaderboardError>(keys.records(&period_id(kind, now_ms)?));
        let r = board_and_record::run(
            self,
            board_and_record::Keys {
                config: keys.config(),
                all_time: records(K::AllTime)?,
                daily: records(K::Daily)?,
                weekly: records(K::Weekly)?,
                monthly: records(K::Monthly)?,
                idempotency: lock.map_or_else(|| keys.unused(), |l| keys.idem(&l.key)),
            },
            board_and_record::Args {
                player: player.as_str().into(),
                keyed: Arg::flag(lock.is_some()),
                reservation: lock.map_or("", |l| l.reservation.as_str()).into(),
                lease_ms: RESERVATION_LEASE_MS.into(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        let not_found = || LeaderboardError::BoardNotFound(format!("board '{id}' does not exist"));
        let Found::Board {
            config: cfg,
            record: raw,
            reservation,
        } = found(&word, rest)?
        else {
            return Err(not_found());
        };
        if reservation.is_some() != lock.is_some() {
            return Err(unexpected(board_and_record::NAME, &word, rest));
        }
        if cfg.is_empty() {
            return Err(not_found());
        }
        let board = Board::from_stored(&format!("board '{id}'"), cfg.as_bytes())?;
        let rec = parse_record(&raw)?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::repo::script::reply_text as word;

    #[test]
    fn the_board_read_answers_by_name() {
        let board = |reservation| Found::Board {
            config: "{}".into(),
            record: String::new(),
            reservation,
        };
        let (cfg, rec) = (word("{}"), word(""));
        assert_eq!(found("no_board", &[]).ok(), Some(Found::NoBoard));
        assert_eq!(
            found("read", &[cfg.clone(), rec.clone()]).ok(),
            Some(board(None))
        );
        assert_eq!(
            found("reserved", &[cfg.clone(), rec.clone()]).ok(),
            Some(board(Some(Reservation::Reserved)))
        );
        assert_eq!(
            found("held", &[cfg.clone(), rec.clone(), word("p:1")]).ok(),
            Some(board(Some(Reservation::Held("p:1".into()))))
        );
        assert!(matches!(
            found("held", &[cfg, rec]),
            Err(LeaderboardError::CorruptData(_))
        ));
        assert!(matches!(
            found("1", &[]),
            Err(LeaderboardError::CorruptData(_))
        ));
    }
}

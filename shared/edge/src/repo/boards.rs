//! Board configs: create, load (alone or with a player's record), list, delete.

use leaderboard::cache::initial_version;
use leaderboard::events::BoardCreated;
use leaderboard::{
    Board, BoardConfigInput, BoardId, Event, EventEnvelope, LeaderboardError, PlayerId, Record,
    Result, TenantId,
};

use super::{Claim, Keys, Repo, Reservation, bin, int, parse_record, tenant_boards, text, uint};

const CREATE_BOARD: &str = include_str!("lua/create_board.lua");
const BOARD_AND_RECORD: &str = include_str!("lua/board_and_record.lua");
const DELETE_BOARD: &str = include_str!("lua/delete_board.lua");

impl Repo {
    /// Stores a new board created at `now_ms` (its version starts at
    /// [`initial_version`]) with its `board_created` event, the first of its log; `BoardExists`
    /// if the id is taken in this tenant.
    pub fn create_board(&self, tenant: &TenantId, board: &Board, now_ms: i64) -> Result<()> {
        let keys = Keys::new(tenant, &board.id);
        let json = serde_json::to_string(&board.to_input())
            .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
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
        let r = self.eval(
            CREATE_BOARD,
            &[keys.config(), keys.version(), keys.events()],
            vec![
                bin(json),
                bin(initial_version(now_ms).to_string()),
                bin(event),
            ],
        )?;
        if r.first().map(int).transpose()?.unwrap_or(0) == 0 {
            return Err(LeaderboardError::BoardExists(format!(
                "board '{}' already exists",
                board.id
            )));
        }
        self.exec(
            "SADD",
            vec![bin(tenant_boards(tenant)), bin(board.id.as_str())],
        )?;
        Ok(())
    }

    /// Loads a board; `BoardNotFound` if absent.
    pub fn board(&self, tenant: &TenantId, id: &BoardId) -> Result<Board> {
        let r = self.exec("GET", vec![bin(Keys::new(tenant, id).config())])?;
        let raw = r.first().map(text).transpose()?.unwrap_or_default();
        if raw.is_empty() {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        let input: BoardConfigInput = serde_json::from_slice(raw.as_bytes())
            .map_err(|e| LeaderboardError::CorruptData(format!("stored board '{id}': {e}")))?;
        input.validate()
    }

    /// A board and, in the same round trip, a player's record in the board's current period
    /// (`now_ms` picks the period): what a submission needs before it can decide anything.
    /// With a `claim`, the same round trip also reserves its `Idempotency-Key` (or reports what
    /// the key holds).
    pub fn board_and_record(
        &self,
        tenant: &TenantId,
        id: &BoardId,
        player: &PlayerId,
        now_ms: i64,
        claim: Option<&Claim>,
    ) -> Result<(Board, String, Option<Record>, Option<Reservation>)> {
        use leaderboard::PeriodKind as K;
        let keys = Keys::new(tenant, id);
        let mut script_keys = vec![keys.config()];
        for kind in [K::AllTime, K::Daily, K::Weekly, K::Monthly] {
            script_keys.push(keys.records(&leaderboard::period::period_id(kind, now_ms)?));
        }
        let mut args = vec![bin(player.as_str())];
        if let Some(claim) = claim {
            script_keys.push(keys.idem(&claim.key));
            args.extend(claim.reserve_args());
        }
        let r = self.eval(BOARD_AND_RECORD, &script_keys, args)?;
        let cfg = r.first().map(text).transpose()?.unwrap_or_default();
        if cfg.is_empty() {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        let input: BoardConfigInput = serde_json::from_slice(cfg.as_bytes())
            .map_err(|e| LeaderboardError::CorruptData(format!("stored board '{id}': {e}")))?;
        let raw = r.get(1).map(text).transpose()?.unwrap_or_default();
        let rec = parse_record(&raw)?;
        let reservation = match (claim, r.get(2).map(int).transpose()?) {
            (None, _) => None,
            (Some(_), Some(1)) => Some(Reservation::Reserved),
            (Some(_), _) => Some(Reservation::Held(
                r.get(3).map(text).transpose()?.unwrap_or_default(),
            )),
        };
        Ok((input.validate()?, raw, rec, reservation))
    }

    /// The board's version (`None` when it has none: a board created before versions existed and
    /// not written since, or a deleted one).
    pub fn board_version(&self, keys: &Keys) -> Result<Option<i64>> {
        let r = self.exec("GET", vec![bin(keys.version())])?;
        match r.first() {
            None | Some(spin_sdk::redis::RedisResult::Nil) => Ok(None),
            Some(v) => int(v).map(Some),
        }
    }

    /// How many boards a tenant has.
    pub fn board_count(&self, tenant: &TenantId) -> Result<u64> {
        let r = self.exec("SCARD", vec![bin(tenant_boards(tenant))])?;
        r.first().map_or(Ok(0), uint)
    }

    /// How many players a board's period holds.
    pub fn period_size(&self, keys: &Keys, period: &leaderboard::PeriodId) -> Result<u64> {
        let r = self.exec("ZCARD", vec![bin(keys.zset(period))])?;
        r.first().map_or(Ok(0), uint)
    }

    /// Whether a player has an entry in a board's period.
    pub fn has_entry(
        &self,
        keys: &Keys,
        period: &leaderboard::PeriodId,
        player: &leaderboard::PlayerId,
    ) -> Result<bool> {
        let r = self.exec(
            "HEXISTS",
            vec![bin(keys.records(period)), bin(player.as_str())],
        )?;
        Ok(r.first().map_or(Ok(0), int)? == 1)
    }

    /// Board ids of a tenant, sorted.
    pub fn board_ids(&self, tenant: &TenantId) -> Result<Vec<BoardId>> {
        let r = self.exec("SMEMBERS", vec![bin(tenant_boards(tenant))])?;
        let mut ids = r
            .iter()
            .map(|v| text(v).and_then(BoardId::new))
            .collect::<Result<Vec<_>>>()?;
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(ids)
    }

    /// Deletes a board and all its data; `BoardNotFound` if absent.
    pub fn delete_board(&self, tenant: &TenantId, id: &BoardId) -> Result<()> {
        let keys = Keys::new(tenant, id);
        let r = self.eval(
            DELETE_BOARD,
            &[
                keys.config(),
                keys.periods(),
                keys.events(),
                keys.inbox(),
                keys.version(),
            ],
            vec![bin(keys.prefix())],
        )?;
        self.exec("SREM", vec![bin(tenant_boards(tenant)), bin(id.as_str())])?;
        if r.first().map(int).transpose()?.unwrap_or(0) == 0 {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        Ok(())
    }
}

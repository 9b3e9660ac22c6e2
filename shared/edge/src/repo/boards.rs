//! Board configs: create, load (alone or with a player's record), list, delete.

use leaderboard::cache::initial_version;
use leaderboard::events::BoardCreated;
use leaderboard::{
    Board, BoardConfigInput, BoardId, Event, EventEnvelope, LeaderboardError, PlayerId, Record,
    Result, TenantId,
};

use super::{
    Claim, Keys, RedisParameter, Repo, Reservation, bin, int, parse_record, tenant_boards, text,
    uint,
};

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
        let create = || {
            let r = self.eval(
                CREATE_BOARD,
                &[
                    keys.config(),
                    keys.version(),
                    keys.events(),
                    keys.tombstone(),
                ],
                vec![
                    bin(json.as_str()),
                    bin(initial_version(now_ms).to_string()),
                    bin(event.as_str()),
                ],
            )?;
            r.first().map(int).transpose().map(|n| n.unwrap_or(0))
        };
        let mut created = create()?;
        if created == -1 {
            // A board of this id was deleted and its sweep did not finish (the request that
            // deleted it stopped): nothing of it may outlive into the new board (an
            // Idempotency-Key would replay the old board's answer).
            self.sweep_board(&keys)?;
            created = create()?;
        }
        match created {
            1 => {}
            0 => {
                return Err(LeaderboardError::BoardExists(format!(
                    "board '{}' already exists",
                    board.id
                )));
            }
            _ => {
                return Err(LeaderboardError::Conflict(format!(
                    "board '{}' is being deleted; retry",
                    board.id
                )));
            }
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
    ///
    /// One short script deletes the config and the keys the board names ([`DELETE_BOARD`]);
    /// then [`Repo::sweep_board`] deletes what is left under its prefix. A delete whose sweep was
    /// interrupted leaves the tombstone: the next delete of the id (answered `404`) or its next
    /// creation finishes the sweep.
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
                keys.tombstone(),
            ],
            vec![bin(keys.prefix())],
        )?;
        let outcome = r.first().map(int).transpose()?.unwrap_or(0);
        self.exec("SREM", vec![bin(tenant_boards(tenant)), bin(id.as_str())])?;
        if outcome != 0 {
            self.sweep_board(&keys)?;
        }
        if outcome != 1 {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        Ok(())
    }

    /// Deletes every key under a deleted board's prefix, then its tombstone: `SCAN … MATCH` steps
    /// of [`SWEEP_STEP`] keys each and an `UNLINK` of what each step found, each its own short
    /// command, so Redis serves everyone else between them however large its keyspace. Returns
    /// how many keys it deleted.
    ///
    /// (A `SCAN` inside the delete script, as before, held Redis for the whole keyspace's walk:
    /// measured in docs/benchmarks.md › Deleting a board. On Redis Cluster a board's keys share
    /// one slot, and `CLUSTER GETKEYSINSLOT` can replace the walk.)
    pub fn sweep_board(&self, keys: &Keys) -> Result<u64> {
        let tombstone = keys.tombstone();
        let pattern = format!("{}*", glob_escape(keys.prefix()));
        let mut cursor = "0".to_string();
        let mut swept = 0u64;
        loop {
            let r = self.exec(
                "SCAN",
                vec![
                    bin(cursor.as_str()),
                    bin("MATCH"),
                    bin(pattern.as_str()),
                    bin("COUNT"),
                    RedisParameter::Int64(SWEEP_STEP),
                ],
            )?;
            // The reply, flattened: the next cursor, then the keys found.
            let Some((next, found)) = r.split_first() else {
                return Err(LeaderboardError::CorruptData(
                    "SCAN answered without a cursor".into(),
                ));
            };
            let doomed = found
                .iter()
                .map(text)
                .filter(|k| k.as_ref().map_or(true, |k| *k != tombstone))
                .map(|k| k.map(bin))
                .collect::<Result<Vec<_>>>()?;
            if !doomed.is_empty() {
                swept += doomed.len() as u64;
                self.exec("UNLINK", doomed)?;
            }
            cursor = text(next)?;
            if cursor == "0" {
                break;
            }
        }
        self.exec("DEL", vec![bin(tombstone)])?;
        Ok(swept)
    }
}

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

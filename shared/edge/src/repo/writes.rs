//! The compare-and-set write of a decided record (with its event, in one script) and the removal
//! of an entry.

use leaderboard::{LeaderboardError, PeriodId, PlayerId, Record, Result};

use super::{Keys, Repo, bin, int, record, text, uint};

const SUBMIT_CAS: &str = include_str!("lua/submit_cas.lua");
const DELETE_PLAYER: &str = include_str!("lua/delete_player.lua");

/// What a compare-and-set write did.
#[derive(Debug, Clone)]
pub enum ApplyResult {
    /// Written.
    Applied(Applied),
    /// The record changed since it was read: read again and retry.
    Conflict,
    /// The event was already applied (its dedupe key exists): nothing written.
    Duplicate,
}

/// The result of a successful compare-and-set write.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Entries strictly better than the new standing.
    pub better: u64,
    /// Entries in the period.
    pub total: u64,
    /// Stream id of the appended event.
    pub event_id: String,
    /// The board's version after this write.
    pub version: i64,
}

impl Repo {
    /// A player's record as raw JSON (for compare-and-set) and decoded.
    pub fn record(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
    ) -> Result<(String, Option<Record>)> {
        let r = self.exec(
            "HGET",
            vec![bin(keys.records(period)), bin(player.as_str())],
        )?;
        let raw = r.first().map(text).transpose()?.unwrap_or_default();
        let rec = record(&raw)?;
        Ok((raw, rec))
    }

    /// Applies a decided record if the stored one is still `expected_raw`; with `dedupe`, only
    /// if that inbox event was not applied before (atomically with the write).
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        expected_raw: &str,
        new: &Record,
        member: &str,
        rank_value: u64,
        event_json: &str,
        expire_at_ms: Option<i64>,
        dedupe: Option<&str>,
    ) -> Result<ApplyResult> {
        let new_raw =
            serde_json::to_string(new).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
        let mut cas_keys = vec![
            keys.records(period),
            keys.members(period),
            keys.zset(period),
            keys.events(),
            keys.periods(),
            keys.version(),
        ];
        if let Some(id) = dedupe {
            cas_keys.push(keys.applied(id));
        }
        let r = self.eval(
            SUBMIT_CAS,
            &cas_keys,
            vec![
                bin(player.as_str()),
                bin(expected_raw),
                bin(new_raw),
                bin(member),
                bin(rank_value.to_string()),
                bin(event_json),
                bin(expire_at_ms.unwrap_or(0).to_string()),
                bin(period.to_string()),
            ],
        )?;
        match r.as_slice() {
            [ok] if int(ok)? == 0 => Ok(ApplyResult::Conflict),
            [ok] if int(ok)? == 2 => Ok(ApplyResult::Duplicate),
            [_, better, total, id, version] => Ok(ApplyResult::Applied(Applied {
                better: uint(better)?,
                total: uint(total)?,
                event_id: text(id)?,
                version: int(version)?,
            })),
            other => Err(LeaderboardError::CorruptData(format!(
                "unexpected reply {other:?}"
            ))),
        }
    }

    /// Removes a player's entry from a period: the board's new version, or `None` if the player
    /// had no entry.
    pub fn delete_player(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        event_json: &str,
    ) -> Result<Option<i64>> {
        let r = self.eval(
            DELETE_PLAYER,
            &[
                keys.records(period),
                keys.members(period),
                keys.zset(period),
                keys.events(),
                keys.version(),
            ],
            vec![bin(player.as_str()), bin(event_json)],
        )?;
        let version = r.first().map(int).transpose()?.unwrap_or(0);
        Ok((version != 0).then_some(version))
    }
}

//! A league's closes (`leaderboard::competition::league`, `crate::competitions::leagues`): a period's close is
//! begun once ([`Repo::freeze_period`]: from then on no write lands in the period), its
//! cohorts' final standings are read ([`Repo::ranked_players`]), and the moves the core decides
//! are stored once with the period's `league_closed` event ([`Repo::league_close`]). The tiers
//! hash ([`Keys::tiers`]) keeps where the last close left each player who moved.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:league` | hash | a league's closes: `closing:<period>` (from then no write lands in the period), `closed:<period>` (its moves stored), when, ms |
//! | `lb:{t/b}:tiers` | hash | a league's tiers: player → the tier the last close left it in (absent: the lowest) |

use leaderboard::Conflict;
use leaderboard::board::period::{is_retained, parse_period_id};
use leaderboard::board::sortkey::decode_member;
use leaderboard::{LeaderboardError, PeriodId, PeriodKind, PlayerId, Result};

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{Keys, Repo, bin, board_deleted, int, text};

script! {
    /// A period's close begun, once (`lua/league_freeze.lua`).
    mod freeze = include_str!("lua/league_freeze.lua");
    keys {
        /// The board's config.
        config,
        /// Its closes ([`Keys::league`]).
        closes,
    }
    args {
        /// The period's closing mark ([`closing_field`]).
        closing_mark,
        /// The caller's clock (Unix ms: what the mark holds).
        now_ms,
    }
}

script! {
    /// A league period's close, stored once (`lua/league_close.lua`).
    mod close = include_str!("lua/league_close.lua");
    keys {
        /// The board's config.
        config,
        /// Its closes ([`Keys::league`]).
        closes,
        /// Its tiers ([`Keys::tiers`]).
        tiers,
        /// Its log.
        events,
        /// The flag saying a webhook subscription wants the board.
        hooks,
        /// The webhook deliverer's bell.
        hooks_bell,
        /// The period's moves ([`Keys::moves`]).
        moves,
    }
    args {
        /// The period's closing mark ([`closing_field`]).
        closing_mark,
        /// Its closed mark.
        closed_mark,
        /// The caller's clock (Unix ms).
        now_ms,
        /// The `league_closed` event.
        event,
        /// The webhook ring's payload (`wh:tenant/board`).
        ring,
        /// When the moves expire (Unix ms: with the period's standings).
        expire_at_ms;
        /// The moves: a player, then the tier it plays next, for each player moved.
        more moves,
    }
}

/// The field of [`Keys::league`] marking that `period`'s close has begun.
pub fn closing_field(period: &PeriodId) -> String {
    format!("closing:{period}")
}

/// The field of [`Keys::league`] marking that `period`'s moves were stored.
fn closed_field(period: &PeriodId) -> String {
    format!("closed:{period}")
}

impl Keys {
    /// A board's period closes, named for leagues, which came first (hash: `closing:<period>` →
    /// when its close began, ms: from then on no write lands in the period, on a league or a
    /// periodic board with rewards; `closed:<period>` → when a league's moves were stored;
    /// `crate::competitions::leagues::store`).
    pub fn league(&self) -> String {
        self.k("league")
    }
    /// A league period's close's moves (hash: player → the tier the close moved it to, for the
    /// players it moved; `:at`, which no player id can be, → when the close was stored): a
    /// player's history (`crate::competitions::leagues::standing`). Expires with the period's standings.
    pub fn moves(&self, p: &PeriodId) -> String {
        self.k(&format!("moves:{p}"))
    }
    /// A league's tiers (hash: player → the tier it plays its next period in, as the last close
    /// left it; a player absent plays in the lowest).
    pub fn tiers(&self) -> String {
        self.k("tiers")
    }
}

impl Repo {
    /// The periods of `kind` with standings still kept at `now_ms` (`retain_periods`), each with
    /// when it ends (Unix ms): what a league's closes and a periodic board's awards read.
    pub async fn kept_periods(
        &self,
        keys: &Keys,
        kind: PeriodKind,
        retain_periods: u32,
        now_ms: i64,
    ) -> Result<Vec<(PeriodId, i64)>> {
        let mut kept = Vec::new();
        for raw in self.periods_of(keys).await? {
            let period = parse_period_id(kind, &raw)
                .map_err(|e| LeaderboardError::CorruptData(format!("a board's periods: {e}")))?;
            if let Some(end_ms) = period.end_ms()
                && is_retained(&period, now_ms, retain_periods)?
            {
                kept.push((period, end_ms));
            }
        }
        Ok(kept)
    }

    /// Drops the close marks (`closing:<period>`, `closed:<period>`) of the periods whose
    /// standings are no longer kept at `now_ms` (`retain_periods`): marks no close, award or
    /// write reads again (each reads retained periods only). Answers how many were dropped.
    pub async fn trim_closes(
        &self,
        keys: &Keys,
        kind: PeriodKind,
        retain_periods: u32,
        now_ms: i64,
    ) -> Result<usize> {
        let fields = self.exec("HKEYS", vec![bin(keys.league())]).await?;
        let mut stale = vec![bin(keys.league())];
        for field in fields.iter().map(text) {
            let field = field?;
            let Some(raw) = field
                .strip_prefix("closing:")
                .or_else(|| field.strip_prefix("closed:"))
            else {
                continue;
            };
            let period = parse_period_id(kind, raw).map_err(|e| {
                LeaderboardError::CorruptData(format!(
                    "a close mark '{field}' names no period of the board: {e}"
                ))
            })?;
            if !is_retained(&period, now_ms, retain_periods)? {
                stale.push(bin(field));
            }
        }
        let dropped = stale.len() - 1;
        if dropped > 0 {
            self.exec("HDEL", stale).await?;
        }
        Ok(dropped)
    }

    /// Whether `period` has standings (a write landed in it).
    pub async fn has_period(&self, keys: &Keys, period: &PeriodId) -> Result<bool> {
        let r = self
            .exec(
                "SISMEMBER",
                vec![bin(keys.periods()), bin(period.to_string())],
            )
            .await?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// The periods (of `kind`) of the board whose close was stored, each with when (Unix ms).
    pub async fn league_closed(
        &self,
        keys: &Keys,
        kind: PeriodKind,
    ) -> Result<Vec<(PeriodId, i64)>> {
        let r = self.exec("HGETALL", vec![bin(keys.league())]).await?;
        let mut closed = Vec::new();
        for pair in r.chunks(2) {
            let [field, at] = pair else {
                return Err(LeaderboardError::CorruptData(
                    "a league's closes: a field without its value".into(),
                ));
            };
            let field = text(field)?;
            if let Some(raw) = field.strip_prefix("closed:") {
                let period = parse_period_id(kind, raw).map_err(|e| {
                    LeaderboardError::CorruptData(format!(
                        "a league close mark '{field}' names no period of the board: {e}"
                    ))
                })?;
                closed.push((period, int(at)?));
            }
        }
        Ok(closed)
    }

    /// Whether `period`'s close was stored.
    pub async fn league_closed_at(&self, keys: &Keys, period: &PeriodId) -> Result<bool> {
        let r = self
            .exec(
                "HEXISTS",
                vec![bin(keys.league()), bin(closed_field(period))],
            )
            .await?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// Begins `period`'s close (once; a later call finds it begun): from then on no write lands
    /// in the period. A league's close and a periodic board's awards (`crate::competitions::rewards`) begin
    /// the same way, and share the mark.
    pub async fn freeze_period(&self, keys: &Keys, period: &PeriodId, now_ms: i64) -> Result<()> {
        let r = freeze::run(
            self,
            freeze::Keys {
                config: keys.config(),
                closes: keys.league(),
            },
            freeze::Args {
                closing_mark: closing_field(period).into(),
                now_ms: now_ms.into(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        match (word.as_str(), rest) {
            ("marked" | "before", []) => Ok(()),
            ("board_gone", []) => Err(board_deleted(keys)),
            _ => Err(unexpected(freeze::NAME, &word, rest)),
        }
    }

    /// The players of a sorted set (`key`: a cohort's, [`Keys::cohort`]) in ranked order, best
    /// first (ties: the earlier achievement first, as a page lists them).
    pub async fn ranked_players(&self, key: &str) -> Result<Vec<PlayerId>> {
        let r = self
            .exec("ZRANGE", vec![bin(key), bin("0"), bin("-1")])
            .await?;
        r.iter()
            .map(|m| decode_member(&text(m)?).map(|(_, player)| player))
            .collect()
    }

    /// Whether `period`'s close kept its moves, and the tier it moved `player` to (`None`: it
    /// did not move it).
    pub async fn moved_to(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
    ) -> Result<(bool, Option<String>)> {
        let r = self
            .exec(
                "HMGET",
                vec![bin(keys.moves(period)), bin(":at"), bin(player.as_str())],
            )
            .await?;
        let [kept, to] = r.as_slice() else {
            return Err(LeaderboardError::CorruptData(
                "short HMGET of a close's moves".into(),
            ));
        };
        let to = Some(text(to)?).filter(|t| !t.is_empty());
        Ok((!text(kept)?.is_empty(), to))
    }

    /// The tier `player` plays its next period in, as the last close that moved it left it
    /// (`None`: never moved).
    pub async fn tier_of(&self, keys: &Keys, player: &PlayerId) -> Result<Option<String>> {
        let r = self
            .exec("HGET", vec![bin(keys.tiers()), bin(player.as_str())])
            .await?;
        Ok(r.first().map(text).transpose()?.filter(|t| !t.is_empty()))
    }

    /// Stores `period`'s close once: each of `moves` (player, the tier it plays next) in the
    /// tiers and in the period's moves (kept until `moves_expire_ms`, with the period's
    /// standings), the closed mark and `event_json` (`league_closed`), in one script; waits for
    /// the replicas `redis_min_replica_acks` asks for. `409` if the close was not begun
    /// ([`freeze_period`]).
    ///
    /// [`freeze_period`]: Repo::freeze_period
    pub async fn league_close(
        &self,
        keys: &Keys,
        period: &PeriodId,
        moves: &[(PlayerId, String)],
        event_json: &str,
        now_ms: i64,
        moves_expire_ms: i64,
    ) -> Result<()> {
        let r = close::run(
            self,
            close::Keys {
                config: keys.config(),
                closes: keys.league(),
                tiers: keys.tiers(),
                events: keys.events(),
                hooks: keys.hooks(),
                hooks_bell: keys.hooks_bell(),
                moves: keys.moves(period),
            },
            close::Args {
                closing_mark: closing_field(period).into(),
                closed_mark: closed_field(period).into(),
                now_ms: now_ms.into(),
                event: event_json.into(),
                ring: keys.hooks_ring().into(),
                expire_at_ms: moves_expire_ms.into(),
                moves: moves
                    .iter()
                    .flat_map(|(player, tier)| [player.as_str().into(), tier.as_str().into()])
                    .collect(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        match (word.as_str(), rest) {
            ("stored", [rang]) => {
                self.note_if_rang(keys, Some(rang), now_ms).await;
                self.await_replicas(&[&keys.config()]).await
            }
            // Stored before, by another closer: its moves stand.
            ("before", []) => Ok(()),
            // The freeze's mark is gone: the board was deleted and created again meanwhile.
            ("not_closing", []) => Err(Conflict::LeagueRemade {
                period: period.to_string(),
            }
            .into()),
            ("board_gone", []) => Err(board_deleted(keys)),
            _ => Err(unexpected(close::NAME, &word, rest)),
        }
    }
}

//! A tournament's players who joined it (`lb:{t/b}:joined`, a set on the board's slot): the
//! join, decided by `leaderboard::competition::tournament` on the count the script saw, and
//! the membership a `join_required` submission is checked against; and the extra attempts
//! granted in each run (`lb:{t/b}:grants:{period}`, a hash expiring with the period). The
//! attempts used are the player's record's `submissions`, kept by the write itself.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:joined` | set | players who joined the board's tournament |
//! | `lb:{t/b}:grants:<period>` | hash | extra attempts granted in a run of the tournament: player → count (expires with the period) |
//! | `lb:{t/b}:announced` | hash | the tournament's announcements made (`started`, `ended`: when, ms), `early` when an admin ended it, `end` its end after a change (what a score's write checks) |
//! | `lb:tenant:{t}:tournaments` | sorted set | the tenant's tournaments: board id → when its window ends, ms (the listing) |
//! | `lb:tenant:{t}:joined:<player>` | sorted set | the tournaments a player joined: board id → when it joined, ms |
//!
//! When a tournament's next announcement, or a periodic board's next close, is due is an item of
//! the schedule's register (`crate::schedule`: `competition:<tenant>/<board>`).

use leaderboard::competition::tournament::JoinStep;
use leaderboard::{BoardId, LeaderboardError, PeriodId, PlayerId, Result, TenantId};

use crate::repo::script::{answer, answer_of, script, unexpected};
use crate::repo::{Keys, Repo, bin, int, text, uint};

use super::scripts;

script! {
    /// A player's join of a tournament (`lua/tournament_join.lua`).
    mod join = include_str!("lua/tournament_join.lua");
    keys {
        /// The board's config.
        config,
        /// The tournament's players ([`Keys::joined`]).
        joined,
    }
    args {
        /// The player joining.
        player,
        /// Players the tournament takes at most (`0`: unlimited).
        max_size,
    }
}

script! {
    /// Extra attempts granted in a run (`lua/tournament_grant.lua`).
    mod grant = include_str!("lua/tournament_grant.lua");
    keys {
        /// The board's config.
        config,
        /// The run's grants ([`Keys::grants`]).
        grants,
        /// The run's records (hash: player → record).
        records,
    }
    args {
        /// The player granted.
        player,
        /// Attempts added.
        extra,
        /// When the grants expire (Unix ms; `0`: never).
        expire_at_ms,
    }
}

script! {
    /// A page of a sorted set of board ids after a cursor (`lua/tournament_scan.lua`).
    mod scan = include_str!("lua/tournament_scan.lua");
    keys {
        /// The sorted set read (a tenant's [`index`], or a player's [`joined_by`]).
        entries,
    }
    args {
        /// `asc` or `desc` ([`Scan`]).
        direction,
        /// The caller's clock (Unix ms).
        now_ms,
        /// The cursor's score (`''`: from the first).
        cursor_score,
        /// The cursor's id.
        cursor_id,
        /// Entries answered at most.
        count,
    }
}

/// A tenant's tournaments (sorted set: board id → when its window ends, Unix ms): what the
/// listing pages through.
pub fn index(tenant: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:tournaments", tenant.as_str())
}

/// The tournaments a player joined (sorted set: board id → when it first joined, Unix ms).
pub fn joined_by(tenant: &TenantId, player: &PlayerId) -> String {
    format!(
        "lb:tenant:{{{}}}:joined:{}",
        tenant.as_str(),
        player.as_str()
    )
}

/// Which way [`Repo::tournament_scan`] reads the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Those ending after now, the soonest to end first (open and upcoming).
    Live,
    /// Those ended by now, the latest ended first.
    Ended,
}

/// The announcements a tournament made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Announced {
    /// `tournament_started` is in the log.
    pub started: bool,
    /// `tournament_ended` is in the log.
    pub ended: bool,
    /// An admin ended it early.
    pub early: bool,
}

/// What an announcement's script did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    /// Appended to the log.
    Made,
    /// It was made before.
    Before,
    /// The board's config changed since it was read: decide again.
    ConfigChanged,
}

/// What a change of a tournament's window did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowWrite {
    /// Written.
    Changed,
    /// The config changed since it was read: decide again.
    Stale,
    /// The tournament's end was announced: its standings are final.
    Ended,
}

/// The join's script as an integration test runs it itself (feature `testing`): whether a
/// join passes `max_size` is decided there alone.
#[cfg(feature = "testing")]
pub fn join_for_tests() -> crate::repo::script::Named {
    join::named()
}

impl Keys {
    /// Players who joined the board's tournament (set).
    pub fn joined(&self) -> String {
        self.k("joined")
    }
    /// Extra attempts granted in a run of the board's tournament (hash: player → count).
    pub fn grants(&self, p: &PeriodId) -> String {
        self.k(&format!("grants:{p}"))
    }
    /// The tournament's announcements made (hash: `started`, `ended`, `early`).
    pub fn announced(&self) -> String {
        self.k("announced")
    }
}

impl Repo {
    /// Joins `player` to the board's tournament in one script, up to `max_size` players (none:
    /// unlimited); a join that added the player waits for the replicas
    /// `redis_min_replica_acks` asks for (one that changed nothing does not).
    pub async fn tournament_join(
        &self,
        keys: &Keys,
        player: &PlayerId,
        max_size: Option<u32>,
    ) -> Result<JoinStep> {
        let r = join::run(
            self,
            join::Keys {
                config: keys.config(),
                joined: keys.joined(),
            },
            join::Args {
                player: player.as_str().into(),
                max_size: max_size.unwrap_or(0).into(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        let step = match (word.as_str(), rest) {
            ("joined", [before]) => JoinStep::Added {
                before: uint(before)?,
            },
            ("already", [before]) => JoinStep::Already {
                players: uint(before)?,
            },
            ("full", [_]) => JoinStep::Full,
            ("board_gone", []) => return Err(crate::repo::board_deleted(keys)),
            _ => return Err(unexpected(join::NAME, &word, rest)),
        };
        if matches!(step, JoinStep::Added { .. }) {
            self.await_replicas(&[&keys.joined()]).await?;
        }
        Ok(step)
    }

    /// Whether `player` joined the board's tournament.
    pub async fn tournament_joined(&self, keys: &Keys, player: &PlayerId) -> Result<bool> {
        let r = self
            .exec("SISMEMBER", vec![bin(keys.joined()), bin(player.as_str())])
            .await?;
        match r.first() {
            Some(v) => Ok(int(v)? == 1),
            None => Err(LeaderboardError::Internal(
                "SISMEMBER answered nothing".into(),
            )),
        }
    }

    /// Extra attempts granted to `player` in the run `period` (0 when none were).
    pub async fn attempts_granted(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
    ) -> Result<u64> {
        let r = self
            .exec("HGET", vec![bin(keys.grants(period)), bin(player.as_str())])
            .await?;
        match r.first() {
            Some(spin_sdk::redis::RedisResult::Nil) | None => Ok(0),
            Some(v) => uint(v),
        }
    }

    /// Grants `player` `extra` more attempts in the run `period` (whose data expires at
    /// `expire_at_ms`), waiting for the replicas `redis_min_replica_acks` asks for: the attempts
    /// granted this run, this grant included, and the player's record in the run as it was then
    /// (what its attempts used are), read in the same step.
    pub async fn grant_attempts(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        extra: u64,
        expire_at_ms: Option<i64>,
    ) -> Result<(u64, Option<leaderboard::Record>)> {
        let grants = keys.grants(period);
        let r = grant::run(
            self,
            grant::Keys {
                config: keys.config(),
                grants: grants.clone(),
                records: keys.records(period),
            },
            grant::Args {
                player: player.as_str().into(),
                extra: extra.into(),
                expire_at_ms: expire_at_ms.unwrap_or(0).into(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        let (granted, record) = match (word.as_str(), rest) {
            ("granted", [granted, record]) => (granted, record),
            ("board_gone", []) => return Err(crate::repo::board_deleted(keys)),
            _ => return Err(unexpected(grant::NAME, &word, rest)),
        };
        let granted = uint(granted)?;
        let record = crate::repo::parse_record(&text(record)?)?;
        self.await_replicas(&[&grants]).await?;
        Ok((granted, record))
    }

    /// The announcements the board's tournament made.
    pub async fn tournament_announced(&self, keys: &Keys) -> Result<Announced> {
        let r = self.exec("HGETALL", vec![bin(keys.announced())]).await?;
        let mut made = Announced::default();
        for pair in r.chunks(2) {
            let [field, _] = pair else {
                return Err(LeaderboardError::CorruptData(
                    "HGETALL of a tournament's announcements answered an odd list".into(),
                ));
            };
            match text(field)?.as_str() {
                "started" => made.started = true,
                "ended" => made.ended = true,
                "early" => made.early = true,
                _ => {}
            }
        }
        Ok(made)
    }

    /// Appends a tournament's announcement `event_json` (`which`: `started` or `ended`) to the
    /// board's log once, while its config is still `config_raw` (as the decision read it),
    /// ringing the webhook deliverer when a subscription wants the board.
    pub async fn tournament_announce(
        &self,
        keys: &Keys,
        which: &str,
        config_raw: &str,
        event_json: &str,
        now_ms: i64,
    ) -> Result<Announce> {
        let named_keys = scripts::announce::Keys {
            config: keys.config(),
            announced: keys.announced(),
            events: keys.events(),
            hooks_wanted: keys.hooks(),
            hooks_bell: keys.hooks_bell(),
        };
        let args = scripts::announce::Args {
            which: which.into(),
            config_read: config_raw.into(),
            event: event_json.into(),
            hooks_ring: keys.hooks_ring().into(),
            now_ms: now_ms.into(),
        };
        let reply = scripts::announce::run(self, named_keys, args).await?;
        let (word, rest) = crate::repo::script::answer(&reply)?;
        match (word.as_str(), rest) {
            ("made", [rang]) => {
                self.note_if_rang(keys, Some(rang), now_ms).await;
                Ok(Announce::Made)
            }
            ("before", []) => Ok(Announce::Before),
            ("config_changed", []) => Ok(Announce::ConfigChanged),
            ("board_deleted", []) => Err(crate::repo::board_deleted(keys)),
            (word, rest) => Err(crate::repo::script::unexpected(
                scripts::announce::NAME,
                word,
                rest,
            )),
        }
    }

    /// Rewrites the board's config `raw` (as read) to `new_json` (its tournament's window
    /// changed; `early`: an admin ended it), unless the config changed since or the tournament's
    /// end was announced; waits for the replicas `redis_min_replica_acks` asks for.
    pub async fn tournament_window(
        &self,
        keys: &Keys,
        raw: &str,
        new_json: &str,
        end_ms: i64,
        early: bool,
    ) -> Result<WindowWrite> {
        let named_keys = scripts::window_write::Keys {
            config: keys.config(),
            announced: keys.announced(),
        };
        let args = scripts::window_write::Args {
            config_read: raw.into(),
            config: new_json.into(),
            early: crate::repo::script::Arg::flag(early),
            end_ms: end_ms.into(),
        };
        let reply = scripts::window_write::run(self, named_keys, args).await?;
        let (word, rest) = crate::repo::script::answer(&reply)?;
        match (word.as_str(), rest) {
            ("changed", []) => {
                self.await_replicas(&[&keys.config()]).await?;
                Ok(WindowWrite::Changed)
            }
            ("ended", []) => Ok(WindowWrite::Ended),
            ("stale", []) => Ok(WindowWrite::Stale),
            ("board_deleted", []) => Err(crate::repo::board_deleted(keys)),
            (word, rest) => Err(crate::repo::script::unexpected(
                scripts::window_write::NAME,
                word,
                rest,
            )),
        }
    }

    /// Indexes the tournament `id` of `tenant` as ending at `end_ms` (again after its window
    /// changed).
    pub async fn tournament_index(
        &self,
        tenant: &TenantId,
        id: &BoardId,
        end_ms: i64,
    ) -> Result<()> {
        self.exec(
            "ZADD",
            vec![
                bin(index(tenant)),
                bin(end_ms.to_string()),
                bin(id.as_str()),
            ],
        )
        .await?;
        Ok(())
    }

    /// Takes the tournament `id` of `tenant` out of the index (its board was deleted).
    pub async fn tournament_unindex(&self, tenant: &TenantId, id: &BoardId) -> Result<()> {
        self.exec("ZREM", vec![bin(index(tenant)), bin(id.as_str())])
            .await?;
        Ok(())
    }

    /// Up to `count` entries of the sorted set `key` (the tenant's [`index`], or a player's
    /// [`joined_by`]) after `cursor` (an entry's score and id), read the way `scan` says at
    /// `now_ms`: `(id, score)` in order.
    pub async fn tournament_scan(
        &self,
        key: &str,
        scan: Scan,
        now_ms: i64,
        cursor: Option<&(i64, BoardId)>,
        count: usize,
    ) -> Result<Vec<(BoardId, i64)>> {
        let (cursor_score, cursor_id) = match cursor {
            Some((score, id)) => (score.to_string(), id.as_str().to_string()),
            None => (String::new(), String::new()),
        };
        let r = scan::run(
            self,
            scan::Keys {
                entries: key.to_string(),
            },
            scan::Args {
                direction: (if scan == Scan::Live { "asc" } else { "desc" }).into(),
                now_ms: now_ms.into(),
                cursor_score: cursor_score.into(),
                cursor_id: cursor_id.into(),
                count: count.into(),
            },
        )
        .await?;
        let rest = answer_of(&r, scan::NAME, "page")?;
        rest.chunks(2)
            .map(|pair| match pair {
                [id, score] => Ok((BoardId::new(text(id)?)?, int(score)?)),
                _ => Err(LeaderboardError::CorruptData(
                    "a tournament scan answered an odd list".into(),
                )),
            })
            .collect()
    }

    /// Removes `id` from the sorted set `key` (the tenant's [`index`], or a player's
    /// [`joined_by`]) only while its score is `score` (what a scan read): an entry written
    /// again meanwhile stays.
    pub async fn tournament_drop_if(&self, key: &str, id: &BoardId, score: i64) -> Result<()> {
        self.zrem_if(key, id.as_str().as_bytes(), Some(score)).await
    }

    /// Notes that `player` joined the tournament `id` at `now_ms`: `first` (it joined now)
    /// sets the time, else only a missing entry is added (a join sent again after a failure).
    pub async fn joined_note(
        &self,
        tenant: &TenantId,
        player: &PlayerId,
        id: &BoardId,
        now_ms: i64,
        first: bool,
    ) -> Result<()> {
        let mut args = vec![bin(joined_by(tenant, player))];
        if !first {
            args.push(bin("NX"));
        }
        args.extend([bin(now_ms.to_string()), bin(id.as_str())]);
        self.exec("ZADD", args).await?;
        Ok(())
    }
}

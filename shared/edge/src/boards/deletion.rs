//! A board's delete: one short script removes its config and every key it names, and leaves a
//! tombstone; a sweep, step by step, removes what is left under its prefix.

use leaderboard::Conflict;
use leaderboard::{BoardId, LeaderboardError, PeriodId, Result, TenantId};

use crate::boards::sweep::sweep_token;
use crate::repo::script::{answer, script, unexpected};
use crate::repo::{Keys, RedisResult, Repo, bin, int, tenant_boards, text};

script! {
    /// A board's delete (`lua/delete_board.lua`): its config and every key it names.
    mod delete_board = include_str!("lua/delete_board.lua");
    keys {
        /// The board's config.
        config,
        /// Its periods set.
        periods,
        /// Its log.
        events,
        /// Its inbox.
        inbox,
        /// Its version counter.
        version,
        /// Its tombstone ([`Keys::tombstone`]).
        tombstone;
        /// The other keys it deletes: each period's sorted set, records and members, then the
        /// periods' cohort keys, then a league's closes and tiers.
        more doomed,
    }
    args {
        /// The sweep's token.
        token;
        /// The period ids the caller read, in the keys' order.
        more period_ids,
    }
}

/// What `delete_board.lua` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dropped {
    /// The board existed and is deleted.
    Deleted,
    /// No board, and an earlier delete's unfinished sweep is taken over.
    Unfinished,
    /// The periods set is no longer what the caller read: nothing is done.
    PeriodsMoved,
    /// No board, nothing to sweep.
    Absent,
}

/// The answer of `delete_board.lua`, typed.
fn dropped(word: &str, rest: &[RedisResult]) -> Result<Dropped> {
    match (word, rest) {
        ("deleted", []) => Ok(Dropped::Deleted),
        ("unfinished", []) => Ok(Dropped::Unfinished),
        ("periods_moved", []) => Ok(Dropped::PeriodsMoved),
        ("absent", []) => Ok(Dropped::Absent),
        _ => Err(unexpected(delete_board::NAME, word, rest)),
    }
}

impl Repo {
    /// Deletes a board: one short script (`delete_board.lua`) removes its config (the board is gone
    /// from here on: reads answer `404`, and writes that read it before refuse to store anything)
    /// and every key it names, each retained period's ranking, records and members included (so
    /// a sweep that never finishes leaves no player's data), and leaves a tombstone holding a
    /// fresh sweep token. What is left under the board's prefix is for [`Repo::sweep_board`]
    /// with that token ([`Deletion::sweep_token`]).
    pub async fn delete_board(&self, tenant: &TenantId, id: &BoardId) -> Result<Deletion> {
        let keys = Keys::new(tenant, id);
        let token = sweep_token();
        // The periods set may change between its read and the script (a write's first score of
        // a period): the script then does nothing, and answers `periods_moved`; read it again.
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
            let mut doomed = Vec::new();
            let mut period_ids = Vec::new();
            let mut parsed = Vec::with_capacity(periods.len());
            for raw in &periods {
                let period: PeriodId = raw.parse().map_err(|_| {
                    LeaderboardError::CorruptData(format!(
                        "board '{id}' lists a period '{raw}' that is no period id"
                    ))
                })?;
                doomed.extend([
                    keys.zset(&period),
                    keys.records(&period),
                    keys.members(&period),
                ]);
                period_ids.push(raw.as_str().into());
                parsed.push(period);
            }
            if let Some(size) = cohort_size {
                for period in &parsed {
                    doomed.extend(self.cohort_keys(&keys, period, size).await?);
                }
            }
            if league {
                doomed.extend([keys.league(), keys.tiers()]);
            }
            let r = delete_board::run(
                self,
                delete_board::Keys {
                    config: keys.config(),
                    periods: keys.periods(),
                    events: keys.events(),
                    inbox: keys.inbox(),
                    version: keys.version(),
                    tombstone: keys.tombstone(),
                    doomed,
                },
                delete_board::Args {
                    token: token.as_str().into(),
                    period_ids,
                },
            )
            .await?;
            let (word, rest) = answer(&r)?;
            return Ok(match dropped(&word, rest)? {
                Dropped::Deleted => Deletion::Deleted { keys, token },
                Dropped::Unfinished => Deletion::Unfinished { keys, token },
                Dropped::Absent => Deletion::Absent,
                Dropped::PeriodsMoved => continue,
            });
        }
        Err(Conflict::DeletionRaced {
            board: id.to_string(),
        }
        .into())
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

/// How often a delete reads the periods set again when writes keep changing it.
const DELETE_ATTEMPTS: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    use crate::repo::script::reply_text as word;

    #[test]
    fn the_delete_answers_by_name() {
        for (w, d) in [
            ("deleted", Dropped::Deleted),
            ("unfinished", Dropped::Unfinished),
            ("periods_moved", Dropped::PeriodsMoved),
            ("absent", Dropped::Absent),
        ] {
            assert_eq!(dropped(w, &[]).ok(), Some(d));
        }
        assert!(matches!(
            dropped("deleted", &[word("1")]),
            Err(LeaderboardError::CorruptData(_))
        ));
        assert!(matches!(
            dropped("3", &[]),
            Err(LeaderboardError::CorruptData(_))
        ));
    }
}

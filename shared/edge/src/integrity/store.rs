//! Integrity facts and reviews (`leaderboard::integrity::check`, `leaderboard::integrity::review`): all in the
//! board's hash slot.

use leaderboard::{LeaderboardError, PeriodId, PlayerId, Result};

use crate::repo::script::{answer, answer_of, script, unexpected};
use crate::repo::{Keys, Repo, bin, text, uint};

script! {
    /// What the integrity rules need to judge one submission (`lua/ig_facts.lua`).
    mod facts = include_str!("lua/ig_facts.lua");
    keys {
        /// The period's integrity states ([`Keys::integrity`]).
        states,
        /// The period's standings (sorted set).
        ranks,
        /// The submitted score's burst set (player → Unix ms).
        burst,
        /// The period's sample ([`Keys::integrity_sample`]).
        sample,
    }
    args {
        /// The player.
        player,
        /// The caller's clock (Unix ms).
        now_ms,
        /// The burst rule's window (ms; `0`: no burst rule).
        burst_window_ms,
        /// The sample's points (`0`: no outlier rule).
        sample_points,
        /// Players that make a burst.
        burst_players,
        /// How long a sample is kept (ms).
        sample_kept_ms,
    }
}

script! {
    /// Reviews stored (`lua/ig_reviews.lua`).
    mod store_reviews = include_str!("lua/ig_reviews.lua");
    keys {
        /// The board's reviews (hash).
        reviews,
        /// Its reviews by time (sorted set).
        reviews_index,
        /// The board's config.
        config,
        /// Its tournament's announcements (absent on a board that is no tournament).
        announced,
    }
    args {
        /// `1` new only, `0` replace, `H` a hold.
        mode;
        /// The reviews: an id, its JSON and its submission time (Unix ms), for each.
        more reviews,
    }
}

/// How many evenly spaced standings the outlier rule's sample takes.
pub const SAMPLE_POINTS: u32 = 101;

/// How long a period's sample is reused (ms): the distribution moves slowly, and taking it is a
/// `ZRANGE` per point.
pub const SAMPLE_KEPT_MS: i64 = 5_000;

/// What the integrity rules need, as stored.
#[derive(Debug, Clone, Default)]
pub struct RawFacts {
    /// The player's integrity state (JSON, `""` when none).
    pub state: String,
    /// Players in the period.
    pub players: u64,
    /// Other players who submitted the same score within the burst window.
    pub same_score_players: u64,
    /// The other members of a burst this submission completes: player and Unix ms.
    pub burst_members: Vec<(String, i64)>,
    /// Rank values of evenly spaced standings (empty without an outlier rule).
    pub sample: Vec<u64>,
}

impl Keys {
    /// Integrity state of the period's players (hash: player → JSON).
    pub fn integrity(&self, p: &PeriodId) -> String {
        self.k(&format!("ig:{p}"))
    }
    /// The outlier rule's sample of the period's standings (comma-separated rank values, kept
    /// a few seconds).
    pub fn integrity_sample(&self, p: &PeriodId) -> String {
        self.k(&format!("ig:sample:{p}"))
    }
    /// Reviews of held and flagged submissions (hash: id → JSON).
    pub fn reviews(&self) -> String {
        self.k("reviews")
    }
    /// Reviews by submission time (sorted set: Unix ms → id).
    pub fn reviews_index(&self) -> String {
        self.k("reviews:index")
    }
    /// Players who recently submitted `score` (minor units), for the burst rule (sorted set:
    /// Unix ms → player).
    pub fn burst(&self, score: i64) -> String {
        self.k(&format!("burst:{score}"))
    }
}

impl Repo {
    /// Reads the integrity facts of one submission of `score` (minor units) in one round trip.
    #[allow(clippy::too_many_arguments)]
    pub async fn integrity_facts(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        score: i64,
        now_ms: i64,
        burst: Option<(i64, u32)>,
        sample: bool,
    ) -> Result<RawFacts> {
        let r = facts::run(
            self,
            facts::Keys {
                states: keys.integrity(period),
                ranks: keys.zset(period),
                burst: keys.burst(score),
                sample: keys.integrity_sample(period),
            },
            facts::Args {
                player: player.as_str().into(),
                now_ms: now_ms.into(),
                burst_window_ms: burst.map_or(0, |b| b.0).into(),
                sample_points: (if sample { SAMPLE_POINTS } else { 0 }).into(),
                burst_players: burst.map_or(0, |b| b.1).into(),
                sample_kept_ms: SAMPLE_KEPT_MS.into(),
            },
        )
        .await?;
        let rest = answer_of(&r, facts::NAME, "facts")?;
        let mut it = rest.iter();
        let mut next = || {
            it.next()
                .ok_or_else(|| LeaderboardError::CorruptData("short integrity facts".into()))
        };
        let state = text(next()?)?;
        let players = uint(next()?)?;
        let same_score_players = uint(next()?)?;
        let members = uint(next()?)?;
        let mut burst_members = Vec::new();
        for _ in 0..members {
            let player = text(next()?)?;
            let at = crate::repo::int(next()?)?;
            burst_members.push((player, at));
        }
        let sample = text(next()?)?
            .split(',')
            .filter(|v| !v.is_empty())
            .map(|v| {
                // Redis writes a sorted-set score as a double: integral, below 2^53.
                v.parse::<u64>()
                    .or_else(|_| v.parse::<f64>().map(|f| f as u64))
                    .map_err(|_| {
                        LeaderboardError::CorruptData("a sampled rank value is not a number".into())
                    })
            })
            .collect::<Result<Vec<u64>>>()?;
        Ok(RawFacts {
            state,
            players,
            same_score_players,
            burst_members,
            sample,
        })
    }

    /// Stores a review (new or decided) and indexes it by submission time; `BoardNotFound` once
    /// the board is deleted.
    pub async fn put_review(&self, keys: &Keys, id: &str, json: &str, at_ms: i64) -> Result<()> {
        self.store_reviews(keys, "0", &[(id.to_string(), json.to_string(), at_ms)])
            .await
            .map(|_| ())
    }

    /// Stores a held submission's new review, unless the board's tournament end was announced
    /// (`Ok(false)`: the hold is refused, since its approval would change final standings);
    /// `BoardNotFound` once the board is deleted.
    pub async fn put_hold(&self, keys: &Keys, id: &str, json: &str, at_ms: i64) -> Result<bool> {
        let stored = self
            .store_reviews(keys, "H", &[(id.to_string(), json.to_string(), at_ms)])
            .await?;
        Ok(stored.is_some())
    }

    /// Stores reviews unless one with the same id exists (id, JSON, Unix ms): how many were new;
    /// `BoardNotFound` once the board is deleted.
    pub async fn put_new_reviews(
        &self,
        keys: &Keys,
        reviews: &[(String, String, i64)],
    ) -> Result<u64> {
        if reviews.is_empty() {
            return Ok(0);
        }
        // Only a hold is ever refused.
        Ok(self.store_reviews(keys, "1", reviews).await?.unwrap_or(0))
    }

    /// Stores reviews in `mode` (`ig_reviews.lua`: `1` new only, `0` replace, `H` a hold): how
    /// many were stored, `None` when a hold came after the tournament's end was announced.
    async fn store_reviews(
        &self,
        keys: &Keys,
        mode: &str,
        reviews: &[(String, String, i64)],
    ) -> Result<Option<u64>> {
        let r = store_reviews::run(
            self,
            store_reviews::Keys {
                reviews: keys.reviews(),
                reviews_index: keys.reviews_index(),
                config: keys.config(),
                announced: keys.announced(),
            },
            store_reviews::Args {
                mode: mode.into(),
                reviews: reviews
                    .iter()
                    .flat_map(|(id, json, at)| {
                        [id.as_str().into(), json.as_str().into(), (*at).into()]
                    })
                    .collect(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        match (word.as_str(), rest) {
            ("stored", [n]) => Ok(Some(uint(n)?)),
            ("after_end", []) => Ok(None),
            ("board_gone", []) => Err(crate::repo::board_deleted(keys)),
            _ => Err(unexpected(store_reviews::NAME, &word, rest)),
        }
    }

    /// One review's JSON.
    pub async fn review(&self, keys: &Keys, id: &str) -> Result<Option<String>> {
        self.hget(&keys.reviews(), id).await
    }

    /// The newest `limit` reviews' JSON, newest first, from `offset`.
    pub async fn reviews(&self, keys: &Keys, offset: u64, limit: u64) -> Result<Vec<String>> {
        let ids = self
            .exec(
                "ZREVRANGE",
                vec![
                    bin(keys.reviews_index()),
                    bin(offset.to_string()),
                    bin(offset.saturating_add(limit).saturating_sub(1).to_string()),
                ],
            )
            .await?;
        self.reviews_of(keys, &ids).await
    }

    /// The reviews of submissions made in `[from_ms, to_ms)` (their JSON), `limit` index
    /// entries from `offset`, oldest first, and how many index entries were read (an entry
    /// whose review is gone has no JSON).
    pub async fn reviews_between(
        &self,
        keys: &Keys,
        from_ms: i64,
        to_ms: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<String>)> {
        let ids = self
            .exec(
                "ZRANGEBYSCORE",
                vec![
                    bin(keys.reviews_index()),
                    bin(from_ms.to_string()),
                    bin(format!("({to_ms}")),
                    bin("LIMIT"),
                    bin(offset.to_string()),
                    bin(limit.to_string()),
                ],
            )
            .await?;
        Ok((ids.len() as u64, self.reviews_of(keys, &ids).await?))
    }

    /// The JSON of the reviews `ids` (as an index answered them), those still stored.
    async fn reviews_of(
        &self,
        keys: &Keys,
        ids: &[spin_sdk::redis::RedisResult],
    ) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![bin(keys.reviews())];
        args.extend(
            ids.iter()
                .map(|id| text(id).map(bin))
                .collect::<Result<Vec<_>>>()?,
        );
        let r = self.exec("HMGET", args).await?;
        r.iter()
            .map(text)
            .filter(|v| !matches!(v, Ok(s) if s.is_empty()))
            .collect()
    }
}

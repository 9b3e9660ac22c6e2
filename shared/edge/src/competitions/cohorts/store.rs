//! Cohort placements (`leaderboard::competition::cohort`): a player's first write of a period
//! places it ([`Repo::place`], one script counting arrivals per band), and a read of a cohort
//! board looks its reader's placement up ([`Repo::placement`]). Each write keeps the cohort's
//! sorted set beside the board's ([`Keys::cohort`]).

use leaderboard::competition::cohort::{self, CohortId};
use leaderboard::{Board, LeaderboardError, PeriodId, PlayerId, Result};

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{Keys, Repo, bin, board_deleted, text};

script! {
    /// Players placed in a period's cohorts (`lua/cohort_place.lua`).
    mod place = include_str!("lua/cohort_place.lua");
    keys {
        /// The period's arrivals ([`Keys::arrivals`]).
        arrivals,
        /// The period's placements ([`Keys::placements`]).
        placements,
        /// The board's config.
        config,
    }
    args {
        /// When the placements expire (Unix ms; `0`: never).
        expire_at_ms;
        /// The players: a player, then the band its first submission names (`''`: none), for
        /// each.
        more players,
    }
}

impl Keys {
    /// The sorted set of a cohort of a period (`z:<period>:c:<cohort>`): the cohort's entries,
    /// kept beside the board's by each write.
    pub fn cohort(&self, p: &PeriodId, cohort: &CohortId) -> String {
        self.k(&format!("z:{p}:c:{cohort}"))
    }
    /// A period's cohort arrivals (hash: `n`, `n:<band>` → arrivals counted): which cohorts
    /// the period has ([`leaderboard::competition::cohort::cohorts`]).
    pub fn arrivals(&self, p: &PeriodId) -> String {
        self.k(&format!("cohorts:{p}"))
    }
    /// A period's cohort placements (hash: player → its arrival, `12` or `12:gold`:
    /// [`leaderboard::competition::cohort::from_stored`]).
    pub fn placements(&self, p: &PeriodId) -> String {
        self.k(&format!("placed:{p}"))
    }
}

impl Repo {
    /// The cohorts of `players` (each with the band its first submission names) in `period` of
    /// a board of cohorts of `size`, placing those not placed yet; in the order given. The
    /// placements expire with the period's keys (`expire_at_ms`).
    pub async fn place(
        &self,
        keys: &Keys,
        period: &PeriodId,
        size: u32,
        expire_at_ms: Option<i64>,
        players: &[(&PlayerId, Option<&str>)],
    ) -> Result<Vec<CohortId>> {
        let reply = place::run(
            self,
            place::Keys {
                arrivals: keys.arrivals(period),
                placements: keys.placements(period),
                config: keys.config(),
            },
            place::Args {
                expire_at_ms: expire_at_ms.unwrap_or(0).into(),
                players: players
                    .iter()
                    .flat_map(|(player, band)| {
                        [player.as_str().into(), band.unwrap_or_default().into()]
                    })
                    .collect(),
            },
        )
        .await?;
        let (word, r) = answer(&reply)?;
        match (word.as_str(), r) {
            ("placed", _) => {}
            // Placing no one places no one, the board gone or not.
            ("board_gone", []) if players.is_empty() => return Ok(Vec::new()),
            ("board_gone", []) => return Err(board_deleted(keys)),
            _ => return Err(unexpected(place::NAME, &word, r)),
        }
        if r.len() != players.len() {
            return Err(LeaderboardError::CorruptData(format!(
                "placing {} players answered {} placements",
                players.len(),
                r.len()
            )));
        }
        r.iter()
            .map(|raw| cohort::from_stored(&text(raw)?, size))
            .collect()
    }

    /// Every cohort of `period` on a board of cohorts of `size` (each band's, in order).
    pub async fn cohorts(
        &self,
        keys: &Keys,
        period: &PeriodId,
        size: u32,
    ) -> Result<Vec<CohortId>> {
        let r = self
            .exec("HGETALL", vec![bin(keys.arrivals(period))])
            .await?;
        let mut counters = Vec::with_capacity(r.len() / 2);
        for pair in r.chunks(2) {
            if let [field, count] = pair {
                counters.push((text(field)?, text(count)?));
            }
        }
        cohort::cohorts_of(&counters, size)
    }

    /// Every key of `period`'s cohorts on a board of cohorts of `size`: its arrivals, its
    /// placements and each cohort's sorted set (what deleting the board removes at once).
    pub async fn cohort_keys(
        &self,
        keys: &Keys,
        period: &PeriodId,
        size: u32,
    ) -> Result<Vec<String>> {
        let mut all = vec![keys.arrivals(period), keys.placements(period)];
        all.extend(
            self.cohorts(keys, period, size)
                .await?
                .iter()
                .map(|c| keys.cohort(period, c)),
        );
        Ok(all)
    }

    /// The cohort `player` is placed in for `period` of `board` (`None`: the board has no
    /// cohorts, or the player is not placed: it has not submitted in the period).
    pub async fn cohort_of(
        &self,
        keys: &Keys,
        board: &Board,
        period: &PeriodId,
        player: &PlayerId,
    ) -> Result<Option<CohortId>> {
        match board.cohort_size {
            Some(size) => self.placement(keys, period, size, player).await,
            None => Ok(None),
        }
    }

    /// The cohort `player` is placed in for `period` (`None`: not placed: it has not submitted
    /// in the period).
    pub async fn placement(
        &self,
        keys: &Keys,
        period: &PeriodId,
        size: u32,
        player: &PlayerId,
    ) -> Result<Option<CohortId>> {
        let r = self
            .exec(
                "HGET",
                vec![bin(keys.placements(period)), bin(player.as_str())],
            )
            .await?;
        match r.first().map(text).transpose()?.filter(|s| !s.is_empty()) {
            Some(raw) => cohort::from_stored(&raw, size).map(Some),
            None => Ok(None),
        }
    }
}

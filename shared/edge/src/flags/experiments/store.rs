//! A tenant's A/B experiments in Redis. Every key carries the tenant's hash tag, so each script
//! stays on one slot:
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:tenant:{t}:exps` | hash | experiment id → definition (`leaderboard::policy::experiment::Experiment` JSON) |
//! | `lb:tenant:{t}:exps:running` | hash | id → flag key, for experiments not stopped |
//! | `lb:tenant:{t}:exp:<id>` | hash | `def`, `start_ms`, `end_ms` (`''`: none), `arms` (`\|a\|b\|`), `stopped_ms`, `results` (frozen at stop) |
//! | `lb:tenant:{t}:exp:<id>:assign` | hash | unit (targeting key) → the arm it was first exposed to |
//! | `lb:tenant:{t}:exp:<id>:n` | hash | counters: `x:<arm>`, `c:/s:/q:<metric>:<arm>`, `crossovers`, `unexposed` |
//! | `lb:tenant:{t}:exp:<id>:units` | hash | `<metric>\x1f<unit>` → the unit's value (or `1`: converted) |
//! | `lb:tenant:{t}:exp:<id>:seen` | set | `<unit>\x1f<event id>` of posted events (idempotency) |
//!
//! Exposures are kept exactly (a hash of assignments, not a HyperLogLog): conversions must be
//! attributed to the arm a unit saw, and the sample-ratio check detects splits off by well under
//! HyperLogLog's ±0.81 % standard error at these sample sizes, so an estimate would raise false
//! alarms. The cost is ~60–100 bytes of Redis memory per exposed unit and experiment.

use leaderboard::policy::experiment::{Counters, Experiment};
use leaderboard::{LeaderboardError, Result, TenantId};

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{RedisResult, Repo, bin, int, text};

script! {
    /// A new experiment, declared (`lua/exp_create.lua`).
    mod create = include_str!("lua/exp_create.lua");
    keys {
        /// The tenant's experiment index (hash: id → definition).
        index,
        /// Its running experiments (hash: id → flag).
        running,
        /// The experiment's meta hash.
        meta,
    }
    args {
        /// The experiment's id.
        id,
        /// Its definition (JSON).
        def,
        /// Its flag's key.
        flag,
        /// When it starts (Unix ms).
        start_ms,
        /// When it ends (Unix ms, `''`: never).
        end_ms,
        /// Its arms (`|a|b|`).
        arms,
        /// The most experiments a tenant keeps ([`MAX_EXPERIMENTS`]).
        max_experiments,
    }
}

script! {
    /// One evaluation's exposures, counted (`lua/exp_expose.lua`).
    mod expose = include_str!("lua/exp_expose.lua");
    keys {
        ;
        /// Per experiment: its meta hash, its assignments (unit → arm), its counters.
        more experiments,
    }
    args {
        /// The unit (targeting key).
        unit,
        /// The caller's clock (Unix ms).
        now_ms;
        /// Per experiment: the arm the unit resolved to.
        more arms,
    }
}

script! {
    /// One conversion source, counted (`lua/exp_convert.lua`).
    mod convert = include_str!("lua/exp_convert.lua");
    keys {
        /// The experiment's meta hash.
        meta,
        /// Its assignments (hash: unit → arm).
        assign,
        /// Its counters (hash).
        counters,
        /// Its units' values (hash: `<metric>\x1f<unit>` → value).
        units,
        /// Its posted events seen (set: `<unit>\x1f<event id>`).
        seen,
    }
    args {
        /// The unit (targeting key).
        unit,
        /// The caller's clock (Unix ms).
        now_ms,
        /// What feeds the metrics: `board` or `event`.
        source,
        /// The board's or the event's name.
        source_name,
        /// The value (a number).
        value,
        /// The posted event's id (`''` for a score submission).
        event_id,
    }
}

script! {
    /// An experiment, stopped (`lua/exp_stop.lua`).
    mod stop = include_str!("lua/exp_stop.lua");
    keys {
        /// The experiment's meta hash.
        meta,
        /// The tenant's running experiments (hash: id → flag).
        running,
    }
    args {
        /// The experiment's id.
        id,
        /// The caller's clock (Unix ms).
        now_ms,
    }
}

/// The most experiments (running or stopped) a tenant keeps.
pub const MAX_EXPERIMENTS: usize = 100;

fn index(t: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:exps", t.as_str())
}

fn running(t: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:exps:running", t.as_str())
}

fn meta(t: &TenantId, id: &str) -> String {
    format!("lb:tenant:{{{}}}:exp:{id}", t.as_str())
}

fn part(t: &TenantId, id: &str, p: &str) -> String {
    format!("{}:{p}", meta(t, id))
}

/// Why a declaration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The id is taken.
    Exists,
    /// The flag already has a running experiment.
    FlagBusy,
    /// The tenant keeps [`MAX_EXPERIMENTS`].
    Quota,
}

/// A stored experiment and its state.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The definition.
    pub def: Experiment,
    /// When it was stopped.
    pub stopped_ms: Option<i64>,
    /// The results frozen when it was stopped (JSON).
    pub frozen: Option<String>,
}

/// What counting one exposure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposed {
    /// The unit's first exposure: counted in its arm.
    New,
    /// The unit was exposed to this arm before.
    Seen,
    /// The unit was exposed to another arm before (counted as a crossover).
    Crossover,
    /// The experiment is not counting (unknown, stopped, outside its window, not an arm).
    NotCounting,
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    /// Counted in this arm.
    Counted(String),
    /// The event id was seen before for this unit.
    Duplicate,
    /// The experiment is not counting (stopped or outside its window).
    NotRunning,
    /// The unit was never exposed.
    Unexposed,
}

fn decode(raw: &str) -> Result<Experiment> {
    serde_json::from_slice(raw.as_bytes())
        .map_err(|e| LeaderboardError::CorruptData(format!("stored experiment: {e}")))
}

impl Repo {
    /// Stores a new experiment.
    pub async fn exp_create(
        &self,
        t: &TenantId,
        e: &Experiment,
    ) -> Result<std::result::Result<(), Refused>> {
        let def =
            serde_json::to_string(e).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
        let arms = format!("|{}|", e.arms().join("|"));
        let r = create::run(
            self,
            create::Keys {
                index: index(t),
                running: running(t),
                meta: meta(t, &e.id),
            },
            create::Args {
                id: e.id.as_str().into(),
                def: def.into(),
                flag: e.flag.as_str().into(),
                start_ms: e.start_ms.into(),
                end_ms: e.end_ms.map(|v| v.to_string()).unwrap_or_default().into(),
                arms: arms.into(),
                max_experiments: MAX_EXPERIMENTS.into(),
            },
        )
        .await?;
        create_answer(&r)
    }

    /// Every experiment of the tenant (definitions only), sorted by id.
    pub async fn exp_list(&self, t: &TenantId) -> Result<Vec<Experiment>> {
        let r = self.exec("HVALS", vec![bin(index(t))]).await?;
        let mut out = r
            .iter()
            .map(|v| decode(&text(v)?))
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Running experiments: id → flag key.
    pub async fn exp_running(&self, t: &TenantId) -> Result<Vec<(String, String)>> {
        let r = self.exec("HGETALL", vec![bin(running(t))]).await?;
        r.chunks(2)
            .map(|kv| match kv {
                [k, v] => Ok((text(k)?, text(v)?)),
                _ => Err(LeaderboardError::CorruptData("odd HGETALL reply".into())),
            })
            .collect()
    }

    /// One experiment with its state.
    pub async fn exp_get(&self, t: &TenantId, id: &str) -> Result<Option<Stored>> {
        let r = self
            .exec(
                "HMGET",
                vec![
                    bin(meta(t, id)),
                    bin("def"),
                    bin("stopped_ms"),
                    bin("results"),
                ],
            )
            .await?;
        let field = |i: usize| -> Result<Option<String>> {
            Ok(r.get(i).map(text).transpose()?.filter(|s| !s.is_empty()))
        };
        let Some(def) = field(0)? else {
            return Ok(None);
        };
        Ok(Some(Stored {
            def: decode(&def)?,
            stopped_ms: field(1)?
                .map(|s| s.parse::<i64>())
                .transpose()
                .map_err(|_| LeaderboardError::CorruptData("stopped_ms".into()))?,
            frozen: field(2)?,
        }))
    }

    /// The experiment's counters.
    pub async fn exp_counters(&self, t: &TenantId, id: &str) -> Result<Counters> {
        let r = self.exec("HGETALL", vec![bin(part(t, id, "n"))]).await?;
        let pairs = r
            .chunks(2)
            .map(|kv| match kv {
                [k, v] => Ok((text(k)?, text(v)?)),
                _ => Err(LeaderboardError::CorruptData("odd HGETALL reply".into())),
            })
            .collect::<Result<Vec<_>>>()?;
        Counters::from_fields(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Counts `unit`'s exposures: `(experiment id, arm)` per experiment flag the evaluation
    /// resolved, in one script call. What it did per experiment, in order.
    pub async fn exp_expose(
        &self,
        t: &TenantId,
        unit: &str,
        exposures: &[(String, String)],
        now_ms: i64,
    ) -> Result<Vec<Exposed>> {
        if exposures.is_empty() {
            return Ok(vec![]);
        }
        let r = expose::run(
            self,
            expose::Keys {
                experiments: exposures
                    .iter()
                    .flat_map(|(id, _)| [meta(t, id), part(t, id, "assign"), part(t, id, "n")])
                    .collect(),
            },
            expose::Args {
                unit: unit.into(),
                now_ms: now_ms.into(),
                arms: exposures
                    .iter()
                    .map(|(_, arm)| arm.as_str().into())
                    .collect(),
            },
        )
        .await?;
        expose_answer(&r, exposures.len())
    }

    /// Counts one conversion source for `unit` (see `lua/exp_convert.lua`).
    #[allow(clippy::too_many_arguments)]
    pub async fn exp_convert(
        &self,
        t: &TenantId,
        id: &str,
        unit: &str,
        source: (&str, &str),
        value: f64,
        event_id: Option<&str>,
        now_ms: i64,
    ) -> Result<Converted> {
        let r = convert::run(
            self,
            convert::Keys {
                meta: meta(t, id),
                assign: part(t, id, "assign"),
                counters: part(t, id, "n"),
                units: part(t, id, "units"),
                seen: part(t, id, "seen"),
            },
            convert::Args {
                unit: unit.into(),
                now_ms: now_ms.into(),
                source: source.0.into(),
                source_name: source.1.into(),
                value: format!("{value:?}").into(),
                event_id: event_id.unwrap_or_default().into(),
            },
        )
        .await?;
        convert_answer(&r)
    }

    /// Stops the experiment: `Some((stopped now?, stopped at))`, `None` when it does not exist.
    pub async fn exp_stop(
        &self,
        t: &TenantId,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<(bool, i64)>> {
        let r = stop::run(
            self,
            stop::Keys {
                meta: meta(t, id),
                running: running(t),
            },
            stop::Args {
                id: id.into(),
                now_ms: now_ms.into(),
            },
        )
        .await?;
        stop_answer(&r)
    }

    /// Stores the results frozen at the stop (the first freeze wins).
    pub async fn exp_freeze(&self, t: &TenantId, id: &str, results: &str) -> Result<()> {
        self.exec(
            "HSETNX",
            vec![bin(meta(t, id)), bin("results"), bin(results)],
        )
        .await?;
        Ok(())
    }

    /// Deletes the experiment and everything counted for it.
    pub async fn exp_delete(&self, t: &TenantId, id: &str) -> Result<bool> {
        let existed = self.exec("HDEL", vec![bin(index(t)), bin(id)]).await?;
        self.exec("HDEL", vec![bin(running(t)), bin(id)]).await?;
        self.exec(
            "DEL",
            ["", ":assign", ":n", ":units", ":seen"]
                .iter()
                .map(|s| bin(format!("{}{s}", meta(t, id))))
                .collect(),
        )
        .await?;
        Ok(existed.first().map(int).transpose()? == Some(1))
    }
}

/// What `exp_create.lua` answered.
fn create_answer(r: &[RedisResult]) -> Result<std::result::Result<(), Refused>> {
    let (word, rest) = answer(r)?;
    match (word.as_str(), rest) {
        ("created", []) => Ok(Ok(())),
        ("exists", []) => Ok(Err(Refused::Exists)),
        ("flag_busy", []) => Ok(Err(Refused::FlagBusy)),
        ("quota", []) => Ok(Err(Refused::Quota)),
        _ => Err(unexpected(create::NAME, &word, rest)),
    }
}

/// What `exp_expose.lua` answered for `n` experiments.
fn expose_answer(r: &[RedisResult], n: usize) -> Result<Vec<Exposed>> {
    let (word, rest) = answer(r)?;
    if word != "exposures" || rest.len() != n {
        return Err(unexpected(expose::NAME, &word, rest));
    }
    rest.iter()
        .map(|each| match text(each)?.as_str() {
            "new" => Ok(Exposed::New),
            "seen" => Ok(Exposed::Seen),
            "crossover" => Ok(Exposed::Crossover),
            "not_counting" => Ok(Exposed::NotCounting),
            _ => Err(unexpected(expose::NAME, &word, rest)),
        })
        .collect()
}

/// What `exp_convert.lua` answered.
fn convert_answer(r: &[RedisResult]) -> Result<Converted> {
    let (word, rest) = answer(r)?;
    match (word.as_str(), rest) {
        ("counted", [arm]) => Ok(Converted::Counted(text(arm)?)),
        ("duplicate", []) => Ok(Converted::Duplicate),
        ("not_running", []) => Ok(Converted::NotRunning),
        ("unexposed", []) => Ok(Converted::Unexposed),
        _ => Err(unexpected(convert::NAME, &word, rest)),
    }
}

/// What `exp_stop.lua` answered: `Some((stopped now?, stopped at))`, `None` for no experiment.
fn stop_answer(r: &[RedisResult]) -> Result<Option<(bool, i64)>> {
    let (word, rest) = answer(r)?;
    match (word.as_str(), rest) {
        ("stopped", [at]) => Ok(Some((true, int(at)?))),
        ("already_stopped", [at]) => Ok(Some((false, int(at)?))),
        ("absent", []) => Ok(None),
        _ => Err(unexpected(stop::NAME, &word, rest)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use crate::repo::script::reply_text as word;

    fn corrupt<T: std::fmt::Debug>(r: Result<T>) -> bool {
        matches!(r, Err(LeaderboardError::CorruptData(_)))
    }

    #[test]
    fn the_experiment_scripts_answers_are_read_by_word() {
        assert_eq!(create_answer(&[word("created")]).unwrap(), Ok(()));
        assert_eq!(
            create_answer(&[word("flag_busy")]).unwrap(),
            Err(Refused::FlagBusy)
        );
        assert!(corrupt(create_answer(&[word("flag-busy")])));

        let words: Vec<_> = ["exposures", "new", "seen", "crossover", "not_counting"]
            .map(word)
            .into();
        assert_eq!(
            expose_answer(&words, 4).unwrap(),
            [
                Exposed::New,
                Exposed::Seen,
                Exposed::Crossover,
                Exposed::NotCounting
            ]
        );
        assert!(corrupt(expose_answer(&words, 3)));
        assert!(corrupt(expose_answer(&[word("exposures"), word("old")], 1)));

        assert_eq!(
            convert_answer(&[word("counted"), word("b")]).unwrap(),
            Converted::Counted("b".into())
        );
        assert_eq!(
            convert_answer(&[word("unexposed")]).unwrap(),
            Converted::Unexposed
        );
        assert!(corrupt(convert_answer(&[word("counted")])));

        let at = || RedisResult::Int64(7);
        assert_eq!(
            stop_answer(&[word("already_stopped"), at()]).unwrap(),
            Some((false, 7))
        );
        assert_eq!(
            stop_answer(&[word("stopped"), at()]).unwrap(),
            Some((true, 7))
        );
        assert_eq!(stop_answer(&[word("absent")]).unwrap(), None);
        assert!(corrupt(stop_answer(&[word("stopped")])));
    }
}

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

use crate::repo::{Repo, bin, int, text};

const CREATE: &str = include_str!("lua/exp_create.lua");
const EXPOSE: &str = include_str!("lua/exp_expose.lua");
const CONVERT: &str = include_str!("lua/exp_convert.lua");
const STOP: &str = include_str!("lua/exp_stop.lua");

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
        let r = self
            .eval(
                CREATE,
                &[index(t), running(t), meta(t, &e.id)],
                vec![
                    bin(e.id.as_str()),
                    bin(def),
                    bin(e.flag.as_str()),
                    bin(e.start_ms.to_string()),
                    bin(e.end_ms.map(|v| v.to_string()).unwrap_or_default()),
                    bin(arms),
                    bin(MAX_EXPERIMENTS.to_string()),
                ],
            )
            .await?;
        if r.first().map(int).transpose()? == Some(1) {
            return Ok(Ok(()));
        }
        Ok(Err(match r.get(1).map(text).transpose()?.as_deref() {
            Some("exists") => Refused::Exists,
            Some("flag-busy") => Refused::FlagBusy,
            _ => Refused::Quota,
        }))
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
    /// resolved, in one script call. Returns the script's answer per experiment (1 new, 0 seen,
    /// 2 crossover, −1 not counting).
    pub async fn exp_expose(
        &self,
        t: &TenantId,
        unit: &str,
        exposures: &[(String, String)],
        now_ms: i64,
    ) -> Result<Vec<i64>> {
        if exposures.is_empty() {
            return Ok(vec![]);
        }
        let keys: Vec<String> = exposures
            .iter()
            .flat_map(|(id, _)| [meta(t, id), part(t, id, "assign"), part(t, id, "n")])
            .collect();
        let mut args = vec![bin(unit), bin(now_ms.to_string())];
        args.extend(exposures.iter().map(|(_, arm)| bin(arm.as_str())));
        self.eval(EXPOSE, &keys, args)
            .await?
            .iter()
            .map(int)
            .collect()
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
        let keys = [
            meta(t, id),
            part(t, id, "assign"),
            part(t, id, "n"),
            part(t, id, "units"),
            part(t, id, "seen"),
        ];
        let r = self
            .eval(
                CONVERT,
                &keys,
                vec![
                    bin(unit),
                    bin(now_ms.to_string()),
                    bin(source.0),
                    bin(source.1),
                    bin(format!("{value:?}")),
                    bin(event_id.unwrap_or_default()),
                ],
            )
            .await?;
        Ok(match r.first().map(int).transpose()? {
            Some(1) => Converted::Counted(r.get(1).map(text).transpose()?.unwrap_or_default()),
            Some(0) => Converted::Duplicate,
            Some(-2) => Converted::Unexposed,
            _ => Converted::NotRunning,
        })
    }

    /// Stops the experiment: `Some((stopped now?, stopped at))`, `None` when it does not exist.
    pub async fn exp_stop(
        &self,
        t: &TenantId,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<(bool, i64)>> {
        let r = self
            .eval(
                STOP,
                &[meta(t, id), running(t)],
                vec![bin(id), bin(now_ms.to_string())],
            )
            .await?;
        match r.as_slice() {
            [flag, at] => Ok(Some((int(flag)? == 1, int(at)?))),
            _ => Ok(None),
        }
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

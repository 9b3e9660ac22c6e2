//! What a run records, in the shapes `bench.json` has always had: each struct's field order is
//! the key order of the JSON the Python report wrote (serde_json's own maps would sort the keys,
//! so maps keyed by runtime are [`Ordered`]).

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// A row's `kind`: loaded over HTTP by edge-load, or a `redis-benchmark` row.
pub const HTTP: &str = "http";
pub const REDIS: &str = "redis";

/// One `edge-load --json` result, or a `redis-benchmark` row in the same shape (no `elapsed_s`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    pub label: String,
    pub concurrency: u64,
    pub requests: u64,
    pub errors: u64,
    pub non_2xx: u64,
    pub req_per_s: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
}

/// The projector's drain after an async submit run.
#[derive(Debug, Clone, Serialize)]
pub struct Drain {
    pub backlog: u64,
    /// `None`: not drained within `BENCH_DRAIN_SECS`.
    pub seconds: Option<f64>,
}

/// One measured row. The fields from `floor` on are the report's: `floor` is set when the row is
/// measured, the pairs and the merged rounds when the report makes one row of every round.
#[derive(Debug, Clone, Serialize)]
pub struct RowRecord {
    pub runtime: String,
    pub row: String,
    pub route: String,
    pub kind: &'static str,
    pub note: String,
    /// HTTP rows only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    pub result: LoadResult,
    /// Async submit rows only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain: Option<Drain>,
    pub floor: Option<&'static str>,
    pub pair_hello: Option<f64>,
    pub pair_floor: Option<f64>,
    pub rounds: Vec<Option<f64>>,
    pub ratio_to_hello: Option<f64>,
    pub ratio_to_floor: Option<f64>,
}

/// `edge-seed lag`'s report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LagReport {
    pub board: String,
    pub samples: u64,
    pub visible: u64,
    pub timed_out: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// `edge-seed loglag`'s report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLag {
    pub events: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// The projector's drain of a backlog appended straight to an inbox.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub runtime: String,
    pub entries: u64,
    /// Seconds with three decimals, or `timeout` (a string, as it always was).
    pub seconds: String,
    /// Set by the report.
    pub events_per_s: Option<i64>,
}

/// A runtime and a tool's JSON result as printed (edge-live, edge-hooks).
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeResult {
    pub runtime: String,
    pub result: Value,
}

impl RuntimeResult {
    /// What `tool` printed on `runtime` (one JSON line), echoed on stderr and parsed.
    pub fn printed(runtime: &str, tool: &str, printed: &str) -> anyhow::Result<Self> {
        eprintln!("    {printed}");
        let result = serde_json::from_str(printed)
            .map_err(|e| anyhow::anyhow!("{tool} printed {printed:?}: {e}"))?;
        Ok(Self {
            runtime: runtime.to_string(),
            result,
        })
    }
}

/// Redis commands sent for 200 OFREP evaluations of one flag.
#[derive(Debug, Clone, Serialize)]
pub struct CmdCount {
    pub runtime: String,
    pub flag: String,
    /// Commands clients sent (the lines of `redis-cli monitor` less those run inside scripts).
    pub commands: i64,
    pub script_commands: u64,
    pub result: LoadResult,
}

/// Start → first answer with an empty compile cache (`None`: no answer).
#[derive(Debug, Clone, Serialize)]
pub struct ColdStart {
    pub runtime: String,
    pub what: String,
    pub secs: Option<f64>,
}

/// A component's size in bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Size {
    pub component: String,
    pub bytes: u64,
}

/// One line of the targets list.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub target: String,
    pub value: Value,
    pub met: bool,
}

/// The run's settings and the machine (the figures as floats, as they always were).
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub players: f64,
    pub warmup_secs: f64,
    pub secs: f64,
    pub max_requests: f64,
    pub seed_secs: f64,
    pub build_secs: f64,
    pub total_secs: f64,
    pub redis: String,
    pub redis_used_memory: String,
    pub spin: String,
    pub nproc: Option<u64>,
    pub cpu: String,
    pub kernel: String,
}

/// A map keyed by runtime that keeps its insertion order (a Python dict's order).
#[derive(Debug, Clone)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V> Ordered<V> {
    /// Sets `key`'s value; a new key goes last, an existing one keeps its place.
    pub fn insert(&mut self, key: &str, value: V) {
        match self.0.iter_mut().find(|entry| entry.0 == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.0
            .iter()
            .find(|entry| entry.0 == key)
            .map(|entry| &entry.1)
    }
}

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Everything measured, in measurement order.
pub struct Results {
    pub sizes: Vec<Size>,
    pub coldstart: Vec<ColdStart>,
    pub rows: Vec<RowRecord>,
    pub cmds: Vec<CmdCount>,
    /// `edge-seed seed`'s lines for the four big boards.
    pub seed: Vec<Value>,
    pub seed_secs: Option<f64>,
    pub lag: Ordered<LagReport>,
    pub loglag: Ordered<LogLag>,
    pub throughput: Ordered<Throughput>,
    pub live: Vec<RuntimeResult>,
    pub hooks: Vec<RuntimeResult>,
    /// `edge-seed league`'s report per runtime.
    pub league: Vec<RuntimeResult>,
    /// Redis connections received by the end of each runtime's rows (cumulative).
    pub conns: Ordered<u64>,
}

impl Results {
    pub fn new(sizes: Vec<Size>) -> Self {
        Self {
            sizes,
            coldstart: Vec::new(),
            rows: Vec::new(),
            cmds: Vec::new(),
            seed: Vec::new(),
            seed_secs: None,
            lag: Ordered(Vec::new()),
            loglag: Ordered(Vec::new()),
            throughput: Ordered(Vec::new()),
            live: Vec::new(),
            hooks: Vec::new(),
            league: Vec::new(),
            conns: Ordered(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_maps_keep_insertion_order() {
        let mut m = Ordered(Vec::new());
        m.insert("spin", 1u64);
        m.insert("edge-host", 2);
        m.insert("spin", 3);
        assert_eq!(m.get("spin"), Some(&3));
        assert_eq!(
            serde_json::to_string(&m).unwrap_or_default(),
            r#"{"spin":3,"edge-host":2}"#
        );
    }

    #[test]
    fn load_results_keep_their_key_order() {
        let raw = r#"{"label":"hello","concurrency":32,"requests":3,"errors":0,"non_2xx":1,"req_per_s":2.0,"p50_ms":2.0,"p99_ms":3.0,"max_ms":null,"elapsed_s":1.5}"#;
        let parsed: Option<LoadResult> = serde_json::from_str(raw).ok();
        let again = parsed.and_then(|r| serde_json::to_string(&r).ok());
        assert_eq!(again.as_deref(), Some(raw));
    }
}

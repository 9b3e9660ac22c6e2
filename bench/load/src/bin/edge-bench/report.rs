//! The report: the rows of every round made one (`rounds`), the Markdown (the machine, the main
//! table with one block of columns per runtime, the rows measured apart, the targets) and
//! `bench.md` / `bench.json` in BENCH_OUT, numbers formatted as `py` says.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use crate::knobs::RUNTIMES;
use crate::py;
use crate::records::{
    CmdCount, ColdStart, LagReport, LogLag, Meta, Ordered, Results, RowRecord, RuntimeResult, Size,
    Target, Throughput,
};
use crate::rounds::{find, merge_rounds};
use crate::targets;

/// The runtimes of the main table, in its column order: edge-host, spin-p3, then Spin (the
/// knobs' order reversed).
fn table_order() -> impl Iterator<Item = &'static str> {
    RUNTIMES.into_iter().rev()
}

/// `bench.json`.
#[derive(Serialize)]
struct Json<'a> {
    machine: &'a Meta,
    seed: &'a [Value],
    sizes: &'a [Size],
    rows: &'a [RowRecord],
    lag: &'a Ordered<LagReport>,
    loglag: &'a Ordered<LogLag>,
    throughput: &'a Ordered<Throughput>,
    live: &'a [RuntimeResult],
    webhooks: &'a [RuntimeResult],
    league_close: &'a [RuntimeResult],
    redis_connections: &'a Ordered<u64>,
    redis_commands: &'a [CmdCount],
    coldstart: &'a [ColdStart],
    targets: &'a [Target],
}

struct Report<'a> {
    results: &'a Results,
    meta: &'a Meta,
    /// The merged rows.
    rows: Vec<RowRecord>,
    /// Those of the runtimes (edge-host, spin-p3, Spin) that have rows.
    runtimes: Vec<&'static str>,
    lag: Ordered<LagReport>,
    loglag: Ordered<LogLag>,
    /// With events/s.
    throughput: Ordered<Throughput>,
}

/// Writes `bench.md` and `bench.json` into `out`; the Markdown.
pub fn write(results: &Results, meta: &Meta, out: &Path) -> Result<String> {
    let mut throughput = results.throughput.clone();
    for (_, t) in &mut throughput.0 {
        t.events_per_s = events_per_s(t);
    }
    let report = Report {
        results,
        meta,
        rows: merge_rounds(results.rows.clone()),
        runtimes: table_order()
            .filter(|rt| results.rows.iter().any(|r| r.runtime == *rt))
            .collect(),
        lag: in_table_order(&results.lag),
        loglag: in_table_order(&results.loglag),
        throughput,
    };
    let targets = targets::targets(&report.rows, results, &report.throughput);
    let md = report.markdown(&targets);
    let md_path = out.join("bench.md");
    std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
    let json = Json {
        machine: meta,
        seed: &results.seed,
        sizes: &results.sizes,
        rows: &report.rows,
        lag: &report.lag,
        loglag: &report.loglag,
        throughput: &report.throughput,
        live: &results.live,
        webhooks: &results.hooks,
        league_close: &results.league,
        redis_connections: &results.conns,
        redis_commands: &results.cmds,
        coldstart: &results.coldstart,
        targets: &targets,
    };
    let text = serde_json::to_string_pretty(&json).context("serialising bench.json")?;
    let json_path = out.join("bench.json");
    std::fs::write(&json_path, py::ascii_json(&text))
        .with_context(|| format!("writing {}", json_path.display()))?;
    Ok(md)
}

/// The projector's events/s: entries over seconds, rounded (none on a timeout or 0 s).
fn events_per_s(t: &Throughput) -> Option<i64> {
    if t.seconds == "timeout" {
        return None;
    }
    let secs: f64 = t.seconds.parse().ok()?;
    if secs == 0.0 {
        return None;
    }
    Some(py::round_int(t.entries as f64 / secs))
}

/// A by-runtime map in the table's runtime order.
fn in_table_order<V: Clone>(by_runtime: &Ordered<V>) -> Ordered<V> {
    Ordered(
        table_order()
            .filter_map(|rt| by_runtime.get(rt).map(|v| (rt.to_string(), v.clone())))
            .collect(),
    )
}

impl Report<'_> {
    fn markdown(&self, targets: &[Target]) -> String {
        let mut lines = self.preamble();
        self.table(&mut lines);
        self.apart(&mut lines);
        lines.push(String::new());
        for t in targets {
            let status = if t.target.starts_with("info:") {
                "info"
            } else if t.met {
                "met"
            } else {
                "MISSED"
            };
            lines.push(format!(
                "- {status}: {} (measured {})",
                t.target.replace("info: ", ""),
                py::str_of(&t.value)
            ));
        }
        lines.push(format!(
            "- total run time {:.0} s (builds {:.0} s)",
            self.meta.total_secs, self.meta.build_secs
        ));
        let mut md = lines.join("\n");
        md.push('\n');
        md
    }

    /// The machine, the boards, the sizes, the cold starts and how to read the table.
    fn preamble(&self) -> Vec<String> {
        let m = self.meta;
        let spin = if m.spin.is_empty() {
            String::new()
        } else {
            format!(", {}", m.spin)
        };
        let nproc = m
            .nproc
            .map_or_else(|| "None".to_string(), |n| n.to_string());
        let sizes: Vec<String> = self
            .results
            .sizes
            .iter()
            .map(|s| format!("{} {} B", s.component, py::thousands(s.bytes)))
            .collect();
        let cold: Vec<String> = self
            .results
            .coldstart
            .iter()
            .map(|c| {
                let secs = c
                    .secs
                    .map_or_else(|| "failed".to_string(), |s| format!("{s:.2} s"));
                format!("{} {}: {secs}", c.runtime, c.what)
            })
            .collect();
        let cold = if cold.is_empty() {
            "not measured".to_string()
        } else {
            cold.join(", ")
        };
        let max_rounds = self.rows.iter().map(|r| r.rounds.len()).max().unwrap_or(1);
        let rounds = if max_rounds < 2 {
            String::new()
        } else {
            format!(
                "The floors and the target rows (cached and uncached top-10, player rank, sync \
                 submit, and the last two on a Redis Cluster) were measured in {max_rounds} \
                 rounds, next to each other, the order swapped every round: their req/s is the \
                 median round, and their ratios the median of each round's row over the floor \
                 (or row) measured beside it."
            )
        };
        vec![
            format!(
                "Machine: {nproc} cores (`nproc`), {}, Linux {}, redis {}{spin}; the servers, \
                 edge-load and redis-server share these cores, one server loaded at a time.",
                m.cpu, m.kernel, m.redis
            ),
            format!(
                "Boards: {} players each, seeded in {:.1} s; Redis used memory {}. Each HTTP row: \
                 {} s warm-up discarded, then at most {} requests within {} s. Every runtime \
                 serves the shipped spin.toml (spin-p3: spin-p3.toml, the WASIp3 build), \
                 spin-worker.toml and runtime-config.toml (KV on SQLite); Spin with every app \
                 variable given as --variable (as scripts/up.sh starts it), edge-host in its \
                 Spin-faithful mode.",
                py::thousands(m.players as u64),
                m.seed_secs,
                m.redis_used_memory,
                py::g(m.warmup_secs),
                py::thousands(m.max_requests as u64),
                py::g(m.secs)
            ),
            String::new(),
            format!("Component sizes: {}", sizes.join(", ")),
            String::new(),
            format!(
                "Cold start (start → first answer of `/health/live`, or `/` for hello, with an \
                 empty compile cache: HOME and XDG_CACHE_HOME pointed at an empty folder): {cold}"
            ),
            String::new(),
            "Each row's req/s is also given as a ratio to the floor that bounds it on the same \
             runtime at the same concurrency (× floor: KV = one KV get, Redis = one outbound \
             Redis open + GET; on spin-p3, Redis = one GET on a connection the instance kept; a Redis \
             Cluster row: the same row on one Redis)."
                .to_string(),
            rounds,
            String::new(),
        ]
    }

    /// The main table: a row per name, route and concurrency, a block of columns per runtime.
    fn table(&self, lines: &mut Vec<String>) {
        let mut head = String::from("| row | route | c |");
        let mut rule = String::from("| --- | --- | ---: |");
        for rt in &self.runtimes {
            head.push_str(&format!(
                " {rt} req/s | × {rt} hello | × {rt} floor | p50 ms | p99 ms |"
            ));
            rule.push_str(" ---: | ---: | ---: | ---: | ---: |");
        }
        lines.push(format!("{head} notes |"));
        lines.push(format!("{rule} --- |"));
        let mut order: Vec<(&str, &str, u64)> = Vec::new();
        for r in &self.rows {
            let key = (r.row.as_str(), r.route.as_str(), r.result.concurrency);
            if self.runtimes.iter().any(|rt| *rt == r.runtime) && !order.contains(&key) {
                order.push(key);
            }
        }
        for (name, route, c) in order {
            let mut cells: Vec<String> = Vec::new();
            let mut notes: Vec<String> = Vec::new();
            for rt in &self.runtimes {
                let Some(r) = find(&self.rows, rt, name, c) else {
                    cells.extend(std::iter::repeat_n("-".to_string(), 5));
                    continue;
                };
                let s = &r.result;
                let to_floor = match (r.ratio_to_floor, r.floor) {
                    (Some(ratio), Some(floor)) => format!(
                        "{ratio:.2} ({})",
                        floor.split_whitespace().next().unwrap_or_default()
                    ),
                    _ => "-".to_string(),
                };
                cells.extend([
                    py::fixed(s.req_per_s, 1),
                    py::fixed(r.ratio_to_hello, 2),
                    to_floor,
                    py::fixed(s.p50_ms, 3),
                    py::fixed(s.p99_ms, 3),
                ]);
                if r.drain.is_some() {
                    notes.push(format!("{rt}: {}", r.note));
                } else if !r.note.is_empty() && !notes.contains(&r.note) {
                    notes.push(r.note.clone());
                }
                let bad: Vec<String> = [("errors", s.errors), ("non_2xx", s.non_2xx)]
                    .into_iter()
                    .filter(|(_, n)| *n != 0)
                    .map(|(k, n)| format!("{k}={n}"))
                    .collect();
                if !bad.is_empty() {
                    notes.push(format!("{rt}: {}", bad.join(", ")));
                }
            }
            lines.push(format!(
                "| {name} | `{route}` | {c} | {} | {} |",
                cells.join(" | "),
                notes.join("; ")
            ));
        }
    }

    /// The rows measured apart: lags, the projector, webhooks, live updates, then the native
    /// and Redis rows.
    fn apart(&self, lines: &mut Vec<String>) {
        lines.push(String::new());
        lines.push("| measured apart | c | req/s | p50 ms | p99 ms | notes |".to_string());
        lines.push("| --- | ---: | ---: | ---: | ---: | --- |".to_string());
        for &rt in &self.runtimes {
            if let Some(lag) = self.lag.get(rt) {
                lines.push(format!(
                    "| {rt}: async submit→visible lag (submit, then poll `GET …/players/{{p}}`) \
                     | 1 | - | {} | {} | {}/{} visible, max {} ms |",
                    py::fixed(lag.p50_ms, 3),
                    py::fixed(lag.p99_ms, 3),
                    lag.visible,
                    lag.samples,
                    py::fixed(lag.max_ms, 3)
                ));
            }
            if let Some(lag) = self.loglag.get(rt) {
                lines.push(format!(
                    "| {rt}: async submit→applied lag of every submission of the c=8 run (from \
                     the log: 202 to `score_applied`, 1 ms resolution) | 8 | - | {} | {} | {} \
                     events, max {} ms |",
                    py::fixed(lag.p50_ms, 0),
                    py::fixed(lag.p99_ms, 0),
                    lag.events,
                    py::fixed(lag.max_ms, 0)
                ));
            }
            if let Some(t) = self.throughput.get(rt) {
                let per_s = match t.events_per_s {
                    Some(n) if n != 0 => n.to_string(),
                    _ => "-".to_string(),
                };
                lines.push(format!(
                    "| {rt}: projector drain of a {}-entry inbox backlog (one doorbell) | - | \
                     {per_s} events/s | - | - | {} s |",
                    t.entries, t.seconds
                ));
            }
            for h in self.results.hooks.iter().filter(|h| h.runtime == rt) {
                lines.push(hooks_line(rt, &h.result));
            }
            for l in self.results.live.iter().filter(|l| l.runtime == rt) {
                lines.push(live_line(rt, &l.result));
            }
            for l in self.results.league.iter().filter(|l| l.runtime == rt) {
                lines.push(league_line(rt, &l.result));
            }
        }
        for r in self
            .rows
            .iter()
            .filter(|r| r.runtime == "native" || r.runtime == "redis")
        {
            let s = &r.result;
            lines.push(format!(
                "| {}: {} `{}` | {} | {} | {} | {} | {} |",
                r.runtime,
                r.row,
                r.route,
                s.concurrency,
                py::fixed(s.req_per_s, 1),
                py::fixed(s.p50_ms, 3),
                py::fixed(s.p99_ms, 3),
                r.note
            ));
        }
    }
}

/// A webhooks line from edge-hooks' result.
fn hooks_line(rt: &str, s: &Value) -> String {
    if py::truthy(&s["failed"]) {
        return format!("| {rt}: webhooks | - | - | - | - | FAILED |");
    }
    let per_s = if py::truthy(&s["deliveries_per_s"]) {
        py::str_of(&s["deliveries_per_s"])
    } else {
        "-".to_string()
    };
    format!(
        "| {rt}: webhooks, {} scores at c=8, each a score.applied to a loopback receiver \
         (accepted score → delivery) | 8 | {per_s} deliveries/s | {} | {} | {} of {} delivered, \
         max {} ms |",
        py::str_of(&s["expected"]),
        py::fixed(s["p50_ms"].as_f64(), 0),
        py::fixed(s["p99_ms"].as_f64(), 0),
        py::str_of(&s["distinct"]),
        py::str_of(&s["expected"]),
        py::fixed(s["max_ms"].as_f64(), 0)
    )
}

/// A league-close line from `edge-seed league`'s result: the close's request (and the awards'),
/// and Redis memory.
fn league_line(rt: &str, s: &Value) -> String {
    let mib = |v: &Value| py::fixed(v.as_f64().map(|b| b / 1_048_576.0), 1);
    let awards = match s["awards_ms"].as_f64() {
        Some(ms) => format!(
            "; awards {} ms ({} awarded, +{} MiB)",
            py::fixed(Some(ms), 0),
            py::str_of(&s["awarded"]),
            mib(&s["memory"]["awards_bytes"])
        ),
        None => String::new(),
    };
    format!(
        "| {rt}: a league's close, {} players in {} cohorts of {} tiers (one request: the \
         standing of a player, which closes the day first) | 1 | - | {} | - | {} up, {} down, \
         {} stayed; the period {} MiB in Redis, the close +{} MiB{awards} |",
        py::str_of(&s["players"]),
        py::str_of(&s["cohorts"]),
        py::str_of(&s["tiers"]),
        py::fixed(s["close_ms"].as_f64(), 0),
        py::str_of(&s["promoted"]),
        py::str_of(&s["demoted"]),
        py::str_of(&s["stayed"]),
        mib(&s["memory"]["league_bytes"]),
        mib(&s["memory"]["close_bytes"]),
    )
}

/// A live-updates line from edge-live's result.
fn live_line(rt: &str, s: &Value) -> String {
    let clients = py::str_of(&s["clients"]);
    if py::truthy(&s["failed"]) {
        return format!("| {rt}: live updates, {clients} event streams | - | - | - | - | FAILED |");
    }
    format!(
        "| {rt}: live updates, {clients} event streams on one instance, 10 writes (write sent → \
         its event at each client) | {clients} | - | {} | {} | {} connected, {} got every write, \
         max {} ms |",
        py::fixed(s["p50_ms"].as_f64(), 0),
        py::fixed(s["p99_ms"].as_f64(), 0),
        py::str_of(&s["connected"]),
        py::str_of(&s["complete"]),
        py::fixed(s["max_ms"].as_f64(), 0)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_league_line_reads_edge_seeds_report() {
        let report: Value = serde_json::from_str(
            r#"{"board":"bench-league-spin","period":"2026-11-27","players":100000,"tiers":4,
            "cohorts":1000,"seed_s":0.9,"close_ms":370.4,"promoted":15000,"demoted":15000,
            "stayed":70000,"awards_ms":223.5,"awarded":3000,"memory":{"league_bytes":56150000,
            "close_bytes":1934896,"awards_bytes":545456}}"#,
        )
        .unwrap();
        let line = league_line("spin", &report);
        for part in [
            "| spin: a league's close, 100000 players in 1000 cohorts of 4 tiers",
            "| 1 | - | 370 | - |",
            "15000 up, 15000 down, 70000 stayed",
            "the period 53.5 MiB in Redis, the close +1.8 MiB",
            "awards 224 ms (3000 awarded, +0.5 MiB)",
        ] {
            assert!(line.contains(part), "{part:?} not in {line}");
        }
        let unpaid = serde_json::json!({"players": 10, "awards_ms": null});
        assert!(!league_line("spin", &unpaid).contains("awards"));
    }
}

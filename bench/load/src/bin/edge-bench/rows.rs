//! THE row table: every measured row, defined once as data. `measure` runs the rows from here
//! (which server, which request, at which concurrencies, in which group of the schedule) and the
//! report reads their names from here (the targets name rows by these constants), so a row's
//! name, route, request, note and bounding floor exist in one place only.
//!
//! A row's body may hold `{runtime}`, `{c}` and `{round}`, filled in before the run, and `{seq}`,
//! which `edge-load` replaces with each request's number (so each submission names a new player).
//! A name may hold `{metrics}`: the shipped default of the `metrics` variable (spin.toml).

use crate::knobs::SPIN_P3;

/// The floor rows (served by the floors app) and the rows the targets are about.
pub const HELLO_FLOOR: &str = "hello floor";
pub const KV_FLOOR: &str = "KV floor";
pub const REDIS_FLOOR: &str = "Redis floor";
/// One Redis GET on a connection the instance kept: the p3 build's Redis floor (a p3 instance
/// serves many requests; a p2 one serves one, so it has no such floor).
pub const REDIS_KEPT_FLOOR: &str = "Redis floor, kept connection";
pub const CACHED: &str = "cached top-10";
pub const UNCACHED: &str = "uncached top-10";
/// The uncached top-10 and the sync submit against the Redis Cluster, each paired with its
/// single-Redis row ([`CLUSTER_PAIRS`]).
pub const UNCACHED_CLUSTER: &str = "uncached top-10, Redis Cluster";
pub const SUBMIT_CLUSTER: &str = "submit sync, Redis Cluster";
pub const PLAYER_RANK: &str = "player rank";
pub const LIMIT_REDIS: &str = "cached top-10, limit in Redis";
pub const LIMIT_KV: &str = "cached top-10, limit in KV";
pub const OFREP: &str = "OFREP evaluation";
pub const OFREP_EXPERIMENT: &str = "OFREP evaluation, experiment flag";
pub const GRAPHQL: &str = "GraphQL top-10";
pub const CONNECT: &str = "Connect GetLeaderboard";
pub const SUBMIT_SYNC: &str = "submit sync";
/// Each cluster row and the single-Redis row it is compared with (its [`Floor::Row`]).
pub const CLUSTER_PAIRS: [(&str, &str); 2] =
    [(UNCACHED_CLUSTER, UNCACHED), (SUBMIT_CLUSTER, SUBMIT_SYNC)];
pub const INTEGRITY: &str = "submit sync, integrity rules on";
pub const STATS_OFF: &str = "submit sync, stats off";
pub const STATS_READ: &str = "stats read, 1h by 1m";
pub const TOURNAMENT: &str = "submit sync, tournament";
/// The tournament row's board (join required, attempts counted) and the prefix of the players
/// joined to it before the run (`edge-seed join`: `j0` to `j{BENCH_REQUESTS - 1}`).
pub const TOURNAMENT_BOARD: &str = "bench-cup";
pub const TOURNAMENT_PREFIX: &str = "j";
pub const COHORT: &str = "cohort top-10";
/// The cohort row's board (cohorts of [`COHORT_SIZE`], reads uncached), its players
/// (`pod0` to `pod{COHORT_PLAYERS - 1}`, submitted through the API so each is placed), and the
/// player whose token reads its own cohort.
pub const COHORT_BOARD: &str = "bench-pods";
pub const COHORT_SIZE: u32 = 100;
pub const COHORT_PLAYERS: u32 = 200;
pub const COHORT_READER: &str = "pod0";
/// What the names of the two "observed" rows (log and metrics on) start with.
pub const OBSERVED_PREFIX: &str = "cached top-10, log + metrics";

/// The concurrencies of the paired rounds (floors, target rows, sync submit), and of the first
/// pass over the floors, the target rows and the endpoint rows.
pub const PAIRED: &[u32] = &[1, 32];
/// The order of the native rows' concurrencies: the reads at 1 and 32, then the submit at 8.
pub const NATIVE_ORDER: &[u32] = &[1, 32, 8];
/// The async submit run whose every submission's submit→applied lag is read from the log.
pub const LOGLAG_AT: u32 = 8;

/// The async board (its submit row, lag and log-lag), the projector-throughput board, the
/// live-updates board and the webhooks board (its row's path names it too).
pub const ASYNC_BOARD: &str = "bench-async";
pub const DRAIN_BOARD: &str = "bench-drain";
pub const LIVE_BOARD: &str = "bench-live";
pub const HOOKS_BOARD: &str = "bench-hooks";

/// The OFREP rows whose Redis round trips are counted (the plain flag, then the experiment flag),
/// and the request body of those 200 evaluations (instead of the row's).
pub const OFREP_COUNTED: [&str; 2] = [OFREP, OFREP_EXPERIMENT];
pub const COMMANDS_BODY: &str = r#"{"context":{"targetingKey":"{runtime}-cmd-{seq}"}}"#;

/// The webhooks load (its name is edge-load's label) and its concurrency.
pub const HOOKS: &str = "hooks";
pub const HOOKS_AT: u32 = 8;

/// Where a row's requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The floors app: `hello` at `/`, the KV floor at `/kv`, the Redis floor at `/redis`.
    Hello,
    /// The app as shipped (access log and metrics as `BENCH_REQUEST_LOG` / `BENCH_METRICS`).
    App,
    /// The app with the access log (JSON to a file) and metrics at the shipped default.
    Observed,
    /// The app with the access log and metrics of every request.
    ObservedExact,
    /// The app in cluster mode (`redis_mode = "cluster"`) against a cluster of three primaries
    /// (no replicas), with its own worker and KV store.
    Cluster,
    /// `edge-native`, the native baseline.
    Native,
}

/// When a row runs; `measure` runs the groups in its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Floors: first pass and every round.
    Floor,
    /// The rows the issue's ratios are about: first pass and every round.
    Target,
    /// The other endpoint rows: first pass only.
    Endpoint,
    /// The sync submit: after the first pass (at each of its concurrencies), and every round.
    Submit,
    /// After the rounds, row by row.
    Extra,
    /// The async submit, each run followed by the projector's drain.
    Async,
    /// The native baseline, after every runtime.
    Native,
    /// Loaded by `apart` as part of a measurement of its own (not a row of the table).
    Apart,
}

/// The floor whose I/O a row cannot do without, or the row it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// A cached read: one KV get.
    Kv,
    /// A read or write of Redis: one Redis open and a command.
    Redis,
    /// Another row of the same group, measured beside it in every round (a cluster row's
    /// single-Redis row): its ratio is the median of the rounds' paired ratios, like a floor's.
    Row(&'static str),
}

impl Floor {
    /// The floor's own row on runtime `rt`: on spin-p3 a Redis row is bounded by a GET on a kept
    /// connection, as its instances keep theirs.
    pub fn row_on(self, rt: &str) -> &'static str {
        match self {
            Floor::Kv => KV_FLOOR,
            Floor::Redis if rt == SPIN_P3 => REDIS_KEPT_FLOOR,
            Floor::Redis => REDIS_FLOOR,
            Floor::Row(name) => name,
        }
    }
}

/// A request header of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// `content-type: application/json`
    Json,
    /// `authorization: Bearer <service token>`
    Auth,
    /// `connect-protocol-version: 1`
    Connect,
    /// `authorization: Bearer <player token of COHORT_READER>`
    Player,
}

/// One measured HTTP row.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub name: &'static str,
    pub group: Group,
    pub server: Server,
    pub method: &'static str,
    /// The request's path and query on its server.
    pub path: &'static str,
    /// Appended to `METHOD path` in the table's route column.
    pub route_suffix: &'static str,
    pub concurrencies: &'static [u32],
    pub floor: Option<Floor>,
    pub note: &'static str,
    pub headers: &'static [Header],
    pub body: Option<&'static str>,
    /// Checked to answer 200 (a plain GET) before a runtime is measured.
    pub check: bool,
    /// Measured on spin-p3 only (what only a p3 instance does).
    pub p3_only: bool,
}

impl Row {
    /// The row's name, `{metrics}` filled in.
    pub fn label(&self, shipped_metrics: &str) -> String {
        self.name.replace("{metrics}", shipped_metrics)
    }

    /// The route column: `METHOD path`, and the suffix.
    pub fn route(&self) -> String {
        format!("{} {}{}", self.method, self.path, self.route_suffix)
    }

    /// Whether the row is measured on runtime `rt`.
    pub fn runs_on(&self, rt: &str) -> bool {
        !self.p3_only || rt == SPIN_P3
    }

    /// The flag an OFREP row evaluates: its path's last segment.
    pub fn flag(&self) -> &'static str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
}

/// A body template with `{runtime}`, `{c}` and `{round}` filled in (`{seq}` stays for edge-load).
pub fn fill(template: &str, runtime: &str, c: u32, round: u32) -> String {
    template
        .replace("{runtime}", runtime)
        .replace("{c}", &c.to_string())
        .replace("{round}", &round.to_string())
}

/// The rows of one group, in table order.
pub fn in_group(group: Group) -> impl Iterator<Item = &'static Row> {
    ROWS.iter().filter(move |r| r.group == group)
}

/// Every concurrency some row of `group` runs at, lowest first.
pub fn concurrencies(group: Group) -> Vec<u32> {
    let mut all: Vec<u32> = in_group(group)
        .flat_map(|r| r.concurrencies.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The app's row named `name` (the native baseline's rows share some names), on the app as
/// shipped or its cluster copy.
pub fn app_row(name: &str) -> Option<&'static Row> {
    ROWS.iter()
        .find(|r| r.name == name && matches!(r.server, Server::App | Server::Cluster))
}

/// The defaults the rows below start from: a GET of the app at concurrency 1 and 32, in `group`.
const fn get(group: Group) -> Row {
    Row {
        name: "",
        group,
        server: Server::App,
        method: "GET",
        path: "/",
        route_suffix: "",
        concurrencies: PAIRED,
        floor: None,
        note: "",
        headers: &[],
        body: None,
        check: false,
        p3_only: false,
    }
}

/// A JSON POST with the service token, in `group`.
const fn post(group: Group) -> Row {
    Row {
        method: "POST",
        headers: &[Header::Json, Header::Auth],
        ..get(group)
    }
}

/// Every HTTP row, in the order each group runs them.
pub const ROWS: &[Row] = &[
    // The floors: the same runtime and mode, nothing but the unavoidable host calls.
    Row {
        name: HELLO_FLOOR,
        server: Server::Hello,
        path: "/",
        ..get(Group::Floor)
    },
    Row {
        name: KV_FLOOR,
        server: Server::Hello,
        path: "/kv",
        note: "one KV get (1.2 KB value), nothing else",
        ..get(Group::Floor)
    },
    Row {
        name: REDIS_FLOOR,
        server: Server::Hello,
        path: "/redis",
        note: "one outbound Redis open + GET (1.2 KB), nothing else",
        ..get(Group::Floor)
    },
    Row {
        name: REDIS_KEPT_FLOOR,
        server: Server::Hello,
        path: "/redis-kept",
        note: "one GET (1.2 KB) on a connection the instance kept, nothing else",
        p3_only: true,
        ..get(Group::Floor)
    },
    // The target rows.
    Row {
        name: CACHED,
        path: "/api/v1/boards/bench/entries?limit=10",
        floor: Some(Floor::Kv),
        note: "KV cache hit",
        check: true,
        ..get(Group::Target)
    },
    Row {
        name: UNCACHED,
        path: "/api/v1/boards/bench-nocache/entries?limit=10",
        floor: Some(Floor::Redis),
        note: "ttl 0: Redis every time",
        check: true,
        ..get(Group::Target)
    },
    // The same board and page on the cluster: the slot map from the KV read the request makes
    // anyway, then the owner's connection.
    Row {
        name: UNCACHED_CLUSTER,
        server: Server::Cluster,
        path: "/api/v1/boards/bench-nocache/entries?limit=10",
        floor: Some(Floor::Row(UNCACHED)),
        note: "ttl 0: the owning primary every time",
        check: true,
        ..get(Group::Target)
    },
    Row {
        name: PLAYER_RANK,
        path: "/api/v1/boards/bench-nocache/players/p0500000",
        floor: Some(Floor::Redis),
        check: true,
        ..get(Group::Target)
    },
    // The endpoint rows.
    Row {
        name: "cached top-10, log + metrics ({metrics})",
        server: Server::Observed,
        path: "/api/v1/boards/bench/entries?limit=10",
        floor: Some(Floor::Kv),
        note: "access log (JSON to a file) and metrics at the shipped default",
        ..get(Group::Endpoint)
    },
    Row {
        name: "cached top-10, log + metrics (on)",
        server: Server::ObservedExact,
        path: "/api/v1/boards/bench/entries?limit=10",
        floor: Some(Floor::Kv),
        note: "access log and metrics of every request (2 KV increments)",
        ..get(Group::Endpoint)
    },
    Row {
        name: LIMIT_REDIS,
        path: "/api/v1/boards/bench-rl-redis/entries?limit=10",
        floor: Some(Floor::Kv),
        note: "KV cache hit + GCRA script in Redis",
        check: true,
        ..get(Group::Endpoint)
    },
    Row {
        name: LIMIT_KV,
        path: "/api/v1/boards/bench-rl-kv/entries?limit=10",
        floor: Some(Floor::Kv),
        note: "KV cache hit + compare-and-swap in KV",
        check: true,
        ..get(Group::Endpoint)
    },
    Row {
        name: OFREP,
        path: "/ofrep/v1/evaluate/flags/new-ui",
        note: "fractional by targeting key; flags from KV",
        body: Some(r#"{"context":{"targetingKey":"player-{seq}"}}"#),
        ..post(Group::Endpoint)
    },
    Row {
        name: OFREP_EXPERIMENT,
        path: "/ofrep/v1/evaluate/flags/exp-ui",
        note: "as above + exposure counted (a new key per request)",
        body: Some(r#"{"context":{"targetingKey":"{runtime}-x{c}-{seq}"}}"#),
        ..post(Group::Endpoint)
    },
    Row {
        name: "around-me",
        path: "/api/v1/boards/bench-nocache/players/p0500000/around?radius=5",
        floor: Some(Floor::Redis),
        check: true,
        ..get(Group::Endpoint)
    },
    // GraphQL (its own component): the same top-10 of the cached board, which GraphQL reads from
    // Redis every time (its answers are not kept in the KV cache; a CDN keeps GETs).
    Row {
        name: GRAPHQL,
        path: "/graphql",
        route_suffix: " leaderboard(board: bench, limit: 10)",
        floor: Some(Floor::Redis),
        note: "one root field: board config from KV, the page from Redis",
        headers: &[Header::Json],
        body: Some(
            r#"{"query":"{ leaderboard(board: \"bench\", limit: 10) { entries { rank player score } totalCount nextCursor } }"}"#,
        ),
        ..post(Group::Endpoint)
    },
    // Connect (its own component), the JSON codec: the same page.
    Row {
        name: CONNECT,
        path: "/leaderboard.v1.LeaderboardService/GetLeaderboard",
        floor: Some(Floor::Redis),
        note: "JSON codec, limit 10: board config from KV, the page from Redis",
        headers: &[Header::Json, Header::Connect],
        body: Some(r#"{"board":"bench","limit":10}"#),
        ..post(Group::Endpoint)
    },
    // The sync submit: a new player per request (the round in the name keeps rounds apart).
    Row {
        name: SUBMIT_SYNC,
        path: "/api/v1/boards/bench-nocache/scores",
        concurrencies: &[1, 8, 32],
        floor: Some(Floor::Redis),
        note: "a new player per request",
        body: Some(r#"{"player":"{runtime}-s{c}-r{round}-{seq}","score":{seq}}"#),
        ..post(Group::Submit)
    },
    Row {
        name: SUBMIT_CLUSTER,
        server: Server::Cluster,
        path: "/api/v1/boards/bench-nocache/scores",
        floor: Some(Floor::Row(SUBMIT_SYNC)),
        note: "a new player per request, on the owning primary",
        body: Some(r#"{"player":"{runtime}-k{c}-r{round}-{seq}","score":{seq}}"#),
        ..post(Group::Submit)
    },
    // All four integrity rules set loosely enough that none triggers: what judging costs (one
    // more script call reading the player's state and a 101-point sample).
    Row {
        name: INTEGRITY,
        path: "/api/v1/boards/bench-integrity/scores",
        floor: Some(Floor::Redis),
        note: "a new player per request; 4 rules judged",
        body: Some(r#"{"player":"{runtime}-i{c}-{seq}","score":{seq}}"#),
        ..post(Group::Extra)
    },
    // The same board without analytics: what counting a submission in its minute costs.
    Row {
        name: STATS_OFF,
        path: "/api/v1/boards/bench-nostats/scores",
        floor: Some(Floor::Redis),
        note: "a new player per request; stats off",
        body: Some(r#"{"player":"{runtime}-n{c}-{seq}","score":{seq}}"#),
        ..post(Group::Extra)
    },
    // A tournament: the window checked, the join checked (one SISMEMBER), the attempts counted
    // (the grants' HGET; the count is the record's, in the write). The joined players are named
    // by the request's number, so a later run (another concurrency, another runtime) submits
    // again for players that have a record.
    Row {
        name: TOURNAMENT,
        path: "/api/v1/boards/bench-cup/scores",
        floor: Some(Floor::Redis),
        note: "joined players, join_required + max_attempts",
        body: Some(r#"{"player":"j{seq}","score":{seq}}"#),
        ..post(Group::Extra)
    },
    // A player's read of its own cohort: its placement looked up (one HGET), then the page of
    // the cohort's sorted set; reads uncached (compare the uncached top-10).
    Row {
        name: COHORT,
        path: "/api/v1/boards/bench-pods/entries?limit=10",
        floor: Some(Floor::Redis),
        note: "a player's own cohort of 100: its placement + the page; uncached",
        headers: &[Header::Player],
        ..get(Group::Extra)
    },
    // A stats read of the board the submit rows just wrote to: an hour of one-minute steps over
    // the seeded standings (the percentiles and the histogram read the whole period).
    Row {
        name: STATS_READ,
        path: "/api/v1/boards/bench-nocache/stats?window=1h&step=1m",
        concurrencies: &[1, 8],
        note: "60 steps, 21 histogram buckets, 3 percentiles; two round trips",
        headers: &[Header::Auth],
        ..get(Group::Extra)
    },
    Row {
        name: "submit sync, one hot player",
        path: "/api/v1/boards/bench-nocache/scores",
        concurrencies: &[8],
        floor: Some(Floor::Redis),
        note: "every request the same player: CAS contention",
        body: Some(r#"{"player":"{runtime}-hot","score":1}"#),
        ..post(Group::Extra)
    },
    // The async submit: 202 queued; each run's backlog is drained and timed (its note then says).
    Row {
        name: "submit async",
        path: "/api/v1/boards/bench-async/scores",
        concurrencies: &[1, 8, 32],
        body: Some(r#"{"player":"{runtime}-a{c}-{seq}","score":{seq}}"#),
        ..post(Group::Async)
    },
    // The webhooks load: a new player per score on the board with a score.applied subscription
    // (`apart` measures the deliveries, not this load).
    Row {
        name: HOOKS,
        path: "/api/v1/boards/bench-hooks/scores",
        concurrencies: &[HOOKS_AT],
        body: Some(r#"{"player":"{runtime}-h{seq}","score":{seq}}"#),
        ..post(Group::Apart)
    },
    // The native baseline: the same handlers, core and Redis calls behind a plain hyper server.
    Row {
        name: CACHED,
        server: Server::Native,
        path: "/api/v1/boards/bench/entries?limit=10",
        floor: Some(Floor::Kv),
        note: "in-process KV cache hit",
        ..get(Group::Native)
    },
    Row {
        name: UNCACHED,
        server: Server::Native,
        path: "/api/v1/boards/bench-nocache/entries?limit=10",
        floor: Some(Floor::Redis),
        note: "Redis every time (pooled)",
        ..get(Group::Native)
    },
    Row {
        name: SUBMIT_SYNC,
        server: Server::Native,
        path: "/api/v1/boards/bench-nocache/scores",
        concurrencies: &[8],
        floor: Some(Floor::Redis),
        note: "a new player per request",
        body: Some(r#"{"player":"n8-{seq}","score":{seq}}"#),
        ..post(Group::Native)
    },
];

/// `redis-benchmark`'s clients and requests per row (its result reports these).
pub const REDIS_BENCH_CLIENTS: u64 = 32;
pub const REDIS_BENCH_REQUESTS: u64 = 100_000;
/// The scratch key the ZADD row writes (deleted after it).
pub const REDIS_SCRATCH: &str = "bench:scratch";

/// One `redis-benchmark` row: the raw Redis command under the routes.
#[derive(Debug, Clone, Copy)]
pub struct RedisRow {
    pub name: &'static str,
    pub note: &'static str,
    pub command: &'static [&'static str],
}

pub const REDIS_ROWS: &[RedisRow] = &[
    RedisRow {
        name: "redis ZRANGE top-10",
        note: "redis-benchmark -n 100000 -c 32",
        command: &["ZRANGE", "lb:{default/bench}:z:all", "0", "9", "WITHSCORES"],
    },
    RedisRow {
        name: "redis ZADD",
        note: "redis-benchmark -n 100000 -c 32, scratch key",
        command: &["ZADD", REDIS_SCRATCH, "__rand_int__", "m:__rand_int__"],
    },
];

/// A board's Redis key (`lb:{default/<board>}:<suffix>`).
pub fn board_key(board: &str, suffix: &str) -> String {
    format!("lb:{{default/{board}}}:{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_concurrency_is_measured_once_per_group() {
        let mut seen = Vec::new();
        for r in ROWS {
            for c in r.concurrencies {
                let key = (r.name, r.server == Server::Native, *c);
                assert!(!seen.contains(&key), "{key:?} twice");
                seen.push(key);
            }
        }
    }

    #[test]
    fn rows_looked_up_by_name_are_there() {
        assert_eq!(ROWS.iter().filter(|r| r.check).count(), 7);
        assert!(app_row(CACHED).is_some_and(|r| r.check));
        for r in ROWS.iter().filter(|r| r.check) {
            assert!(matches!(r.server, Server::App | Server::Cluster));
            assert_eq!((r.method, r.body), ("GET", None));
        }
        for (cluster, single) in CLUSTER_PAIRS {
            let single_row = app_row(single).map(|r| (r.path, r.group));
            let cluster_row = app_row(cluster).map(|r| (r.path, r.group, r.server, r.floor));
            assert_eq!(
                cluster_row,
                single_row.map(|(path, group)| (
                    path,
                    group,
                    Server::Cluster,
                    Some(Floor::Row(single))
                ))
            );
        }
        let flags = OFREP_COUNTED.map(|name| app_row(name).map(Row::flag));
        assert_eq!(flags, [Some("new-ui"), Some("exp-ui")]);
        let hooks = app_row(HOOKS).map(|r| r.path).unwrap_or_default();
        assert!(hooks.contains(&format!("/boards/{HOOKS_BOARD}/")));
    }

    #[test]
    fn bodies_fill_in_runtime_concurrency_and_round() {
        assert_eq!(
            fill(
                r#"{"player":"{runtime}-s{c}-r{round}-{seq}"}"#,
                "spin",
                32,
                2
            ),
            r#"{"player":"spin-s32-r2-{seq}"}"#
        );
        assert_eq!(
            board_key("bench-async", "inbox"),
            "lb:{default/bench-async}:inbox"
        );
    }
}

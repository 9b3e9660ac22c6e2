//! The Redis repository: the source of truth, reached through Spin's outbound Redis (`execute`).
//!
//! Key layout — every key of a board shares the hash tag `{tenant/board}`, so the multi-key Lua
//! scripts stay on one slot and the layout runs on Redis Cluster:
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:config` | string | the board (`BoardConfigInput` JSON, every field explicit) |
//! | `lb:{t/b}:z:<period>` | sorted set | score = rank value (exact integer < 2^53), member = `{achieved_at:013x}{player}` |
//! | `lb:{t/b}:r:<period>` | hash | player → `Record` JSON |
//! | `lb:{t/b}:m:<period>` | hash | player → current sorted-set member |
//! | `lb:{t/b}:periods` | set | period ids that have data (for deletion) |
//! | `lb:{t/b}:events` | stream | domain events, appended in the same script as the write |
//! | `lb:{t/b}:idem:<key>` | string | idempotency reservation / stored response |
//! | `lb:tenant:{t}:boards` | set | board ids of a tenant |
//!
//! Writes are compare-and-set: the handler reads a record, the pure core decides the new record,
//! and one Lua script applies it only if the record is still the one read (else the handler
//! retries). Business rules stay in `shared/leaderboard`; Redis only sees the decided effects.

use leaderboard::{
    Board, BoardConfigInput, BoardId, LeaderboardError, PeriodId, PlayerId, Record, Result,
    TenantId,
};
use spin_sdk::redis::{RedisParameter, RedisResult};

use crate::platform::{Platform, RedisExec};

const SUBMIT_CAS: &str = r#"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return {0} end
if KEYS[6] and not redis.call('SET', KEYS[6], '1', 'NX', 'PX', '604800000') then return {2} end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and old ~= ARGV[4] then redis.call('ZREM', KEYS[3], old) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', '100000', '*', 'event', ARGV[6])
redis.call('SADD', KEYS[5], ARGV[8])
if ARGV[7] ~= '0' then
  for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], ARGV[7]) end
end
local better = redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. ARGV[5])
local total = redis.call('ZCARD', KEYS[3])
return {1, better, total, id}
"#;

const BOARD_AND_RECORD: &str = r#"
local cfg = redis.call('GET', KEYS[1])
if not cfg then return {''} end
local kinds = {all_time = 2, daily = 3, weekly = 4, monthly = 5}
local key = KEYS[kinds[cjson.decode(cfg).period] or 2]
return {cfg, redis.call('HGET', key, ARGV[1]) or ''}
"#;

const PAGE: &str = r#"
local start = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
if ARGV[3] then
  local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[4])
  local pos = redis.call('ZRANK', KEYS[1], ARGV[4])
  if added == 1 then
    redis.call('ZREM', KEYS[1], ARGV[4])
    start = pos
  else
    start = pos + 1
  end
end
local total = redis.call('ZCARD', KEYS[1])
local out = {total, start}
if count <= 0 then return out end
local rows = redis.call('ZRANGE', KEYS[1], start, start + count - 1, 'WITHSCORES')
if #rows == 0 then return out end
table.insert(out, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. rows[2]))
for i = 1, #rows, 2 do
  local rec = redis.call('HGET', KEYS[2], string.sub(rows[i], 14))
  table.insert(out, rows[i])
  table.insert(out, rows[i + 1])
  table.insert(out, rec or '')
end
return out
"#;

const AROUND: &str = r#"
local member = redis.call('HGET', KEYS[3], ARGV[1])
local total = redis.call('ZCARD', KEYS[1])
if not member then return {total, -1} end
local pos = redis.call('ZRANK', KEYS[1], member)
if not pos then return {total, -1} end
local radius = tonumber(ARGV[2])
local start = pos - radius
if start < 0 then start = 0 end
local rows = redis.call('ZRANGE', KEYS[1], start, pos + radius, 'WITHSCORES')
local out = {total, start, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. rows[2])}
for i = 1, #rows, 2 do
  local rec = redis.call('HGET', KEYS[2], string.sub(rows[i], 14))
  table.insert(out, rows[i])
  table.insert(out, rows[i + 1])
  table.insert(out, rec or '')
end
return out
"#;

const PLAYERS: &str = r#"
local out = {redis.call('ZCARD', KEYS[1])}
for i = 1, #ARGV do
  local member = redis.call('HGET', KEYS[3], ARGV[i])
  local score = member and redis.call('ZSCORE', KEYS[1], member)
  if score then
    table.insert(out, score)
    table.insert(out, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. score))
    table.insert(out, redis.call('HGET', KEYS[2], ARGV[i]) or '')
  else
    table.insert(out, '')
    table.insert(out, 0)
    table.insert(out, '')
  end
end
return out
"#;

const DELETE_PLAYER: &str = r#"
local member = redis.call('HGET', KEYS[2], ARGV[1])
if not member then return 0 end
redis.call('ZREM', KEYS[3], member)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '100000', '*', 'event', ARGV[2])
return 1
"#;

const DELETE_BOARD: &str = r#"
local prefix = ARGV[1]
local periods = redis.call('SMEMBERS', KEYS[2])
for _, p in ipairs(periods) do
  redis.call('DEL', prefix .. 'z:' .. p, prefix .. 'r:' .. p, prefix .. 'm:' .. p)
end
local found = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
for _, pattern in ipairs({'idem:*', 'applied:*'}) do
  local cursor = '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', prefix .. pattern, 'COUNT', 1000)
    cursor = r[1]
    if #r[2] > 0 then redis.call('DEL', unpack(r[2])) end
  until cursor == '0'
end
return found
"#;

/// What an idempotency key says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotency {
    /// First time: reserved; apply, then [`Repo::idem_complete`].
    New,
    /// The same key is being processed right now.
    InProgress,
    /// Already applied: replay this status and body.
    Done {
        /// Stored status.
        status: u16,
        /// Stored body.
        body: String,
    },
    /// The key was used with a different request.
    Mismatch,
}

/// A sorted-set row with its record.
#[derive(Debug, Clone)]
pub struct Row {
    /// Sorted-set member.
    pub member: String,
    /// Rank value (sorted-set score).
    pub rank_value: u64,
    /// The record, when present.
    pub record: Option<Record>,
}

/// A page of rows from one read script.
#[derive(Debug, Clone)]
pub struct Page {
    /// Entries in the period.
    pub total: u64,
    /// 0-based position of the first row.
    pub start: u64,
    /// Entries strictly better than the first row.
    pub first_better: u64,
    /// Rows, best first.
    pub rows: Vec<Row>,
}

/// A player's standing as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Rank value.
    pub rank_value: u64,
    /// Entries strictly better.
    pub better: u64,
    /// The record.
    pub record: Record,
}

/// What a compare-and-set write did.
#[derive(Debug, Clone)]
pub enum ApplyResult {
    /// Written.
    Applied(Applied),
    /// The record changed since it was read: read again and retry.
    Conflict,
    /// The event was already applied (its dedupe key exists): nothing written.
    Duplicate,
}

/// The result of a successful compare-and-set write.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Entries strictly better than the new standing.
    pub better: u64,
    /// Entries in the period.
    pub total: u64,
    /// Stream id of the appended event.
    pub event_id: String,
}

/// Board-scoped key names.
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys of one board.
    pub fn new(tenant: &TenantId, board: &BoardId) -> Self {
        Self {
            prefix: format!("lb:{{{}/{}}}:", tenant.as_str(), board.as_str()),
        }
    }
    /// Key prefix (`lb:{t/b}:`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    fn k(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }
    /// The board config key.
    pub fn config(&self) -> String {
        self.k("config")
    }
    /// Sorted set of a period.
    pub fn zset(&self, p: &PeriodId) -> String {
        self.k(&format!("z:{p}"))
    }
    /// Record hash of a period.
    pub fn records(&self, p: &PeriodId) -> String {
        self.k(&format!("r:{p}"))
    }
    /// Member hash of a period.
    pub fn members(&self, p: &PeriodId) -> String {
        self.k(&format!("m:{p}"))
    }
    /// Event stream.
    pub fn events(&self) -> String {
        self.k("events")
    }
    /// Set of periods with data.
    pub fn periods(&self) -> String {
        self.k("periods")
    }
    /// An idempotency key.
    pub fn idem(&self, key: &str) -> String {
        self.k(&format!("idem:{key}"))
    }
    /// Inbox stream of accepted asynchronous submissions.
    pub fn inbox(&self) -> String {
        self.k("inbox")
    }
    /// Marker that an inbox event was applied (kept 7 days).
    pub fn applied(&self, event_id: &str) -> String {
        self.k(&format!("applied:{event_id}"))
    }
}

fn tenant_boards(tenant: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:boards", tenant.as_str())
}

/// Redis failures are logged in full (component stderr) and reported to clients without
/// internals.
fn unavailable(e: impl std::fmt::Debug) -> LeaderboardError {
    eprintln!("redis error: {e:?}");
    LeaderboardError::Unavailable(
        "the leaderboard store (Redis) is unavailable; retry shortly".into(),
    )
}

fn bin(s: impl Into<Vec<u8>>) -> RedisParameter {
    RedisParameter::Binary(s.into())
}

fn text(r: &RedisResult) -> Result<String> {
    match r {
        RedisResult::Binary(b) => String::from_utf8(b.clone())
            .map_err(|_| LeaderboardError::CorruptData("non-UTF-8 value in Redis".into())),
        RedisResult::Status(s) => Ok(s.clone()),
        RedisResult::Int64(i) => Ok(i.to_string()),
        RedisResult::Nil => Ok(String::new()),
    }
}

fn int(r: &RedisResult) -> Result<i64> {
    match r {
        RedisResult::Int64(i) => Ok(*i),
        other => text(other)?.parse().map_err(|_| {
            LeaderboardError::CorruptData(format!("expected an integer from Redis, got {other:?}"))
        }),
    }
}

fn uint(r: &RedisResult) -> Result<u64> {
    u64::try_from(int(r)?)
        .map_err(|_| LeaderboardError::CorruptData("negative count from Redis".into()))
}

fn record(raw: &str) -> Result<Option<Record>> {
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(raw)
        .map(Some)
        .map_err(|e| LeaderboardError::CorruptData(format!("stored record does not decode: {e}")))
}

fn rows(items: &[RedisResult]) -> Result<Vec<Row>> {
    items
        .chunks(3)
        .map(|c| match c {
            [m, s, r] => Ok(Row {
                member: text(m)?,
                rank_value: leaderboard::sortkey::parse_redis_score(&text(s)?)?,
                record: record(&text(r)?)?,
            }),
            _ => Err(LeaderboardError::CorruptData(
                "truncated page from Redis".into(),
            )),
        })
        .collect()
}

/// A connection to the source of truth.
pub struct Repo {
    conn: Box<dyn RedisExec>,
}

impl Repo {
    /// Opens the connection on a platform (`redis_url` from its variables).
    pub fn open(platform: &dyn Platform, url: &str) -> Result<Self> {
        platform
            .redis(url)
            .map(|conn| Self { conn })
            .map_err(unavailable)
    }

    fn exec(&self, cmd: &str, args: Vec<RedisParameter>) -> Result<Vec<RedisResult>> {
        self.conn.execute(cmd, &args).map_err(unavailable)
    }

    fn eval(
        &self,
        script: &str,
        keys: &[String],
        args: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>> {
        let mut params = Vec::with_capacity(2 + keys.len() + args.len());
        params.push(bin(script));
        params.push(RedisParameter::Int64(keys.len() as i64));
        params.extend(keys.iter().map(|k| bin(k.as_str())));
        params.extend(args);
        self.exec("EVAL", params)
    }

    /// Stores a new board; `BoardExists` if the id is taken in this tenant.
    pub fn create_board(&self, tenant: &TenantId, board: &Board) -> Result<()> {
        let keys = Keys::new(tenant, &board.id);
        let json = serde_json::to_string(&board.to_input())
            .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
        let r = self.exec("SET", vec![bin(keys.config()), bin(json), bin("NX")])?;
        if matches!(r.first(), None | Some(RedisResult::Nil)) {
            return Err(LeaderboardError::BoardExists(format!(
                "board '{}' already exists",
                board.id
            )));
        }
        self.exec(
            "SADD",
            vec![bin(tenant_boards(tenant)), bin(board.id.as_str())],
        )?;
        Ok(())
    }

    /// Loads a board; `BoardNotFound` if absent.
    pub fn board(&self, tenant: &TenantId, id: &BoardId) -> Result<Board> {
        let r = self.exec("GET", vec![bin(Keys::new(tenant, id).config())])?;
        let raw = r.first().map(text).transpose()?.unwrap_or_default();
        if raw.is_empty() {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        let input: BoardConfigInput = serde_json::from_str(&raw)
            .map_err(|e| LeaderboardError::CorruptData(format!("stored board '{id}': {e}")))?;
        input.validate()
    }

    /// A board and, in the same round trip, a player's record in the board's current period
    /// (`now_ms` picks the period): what a submission needs before it can decide anything.
    pub fn board_and_record(
        &self,
        tenant: &TenantId,
        id: &BoardId,
        player: &PlayerId,
        now_ms: i64,
    ) -> Result<(Board, String, Option<Record>)> {
        use leaderboard::PeriodKind as K;
        let keys = Keys::new(tenant, id);
        let mut script_keys = vec![keys.config()];
        for kind in [K::AllTime, K::Daily, K::Weekly, K::Monthly] {
            script_keys.push(keys.records(&leaderboard::period::period_id(kind, now_ms)?));
        }
        let r = self.eval(BOARD_AND_RECORD, &script_keys, vec![bin(player.as_str())])?;
        let cfg = r.first().map(text).transpose()?.unwrap_or_default();
        if cfg.is_empty() {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        let input: BoardConfigInput = serde_json::from_str(&cfg)
            .map_err(|e| LeaderboardError::CorruptData(format!("stored board '{id}': {e}")))?;
        let raw = r.get(1).map(text).transpose()?.unwrap_or_default();
        let rec = record(&raw)?;
        Ok((input.validate()?, raw, rec))
    }

    /// Board ids of a tenant, sorted.
    pub fn board_ids(&self, tenant: &TenantId) -> Result<Vec<BoardId>> {
        let r = self.exec("SMEMBERS", vec![bin(tenant_boards(tenant))])?;
        let mut ids = r
            .iter()
            .map(|v| text(v).and_then(BoardId::new))
            .collect::<Result<Vec<_>>>()?;
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(ids)
    }

    /// Deletes a board and all its data; `BoardNotFound` if absent.
    pub fn delete_board(&self, tenant: &TenantId, id: &BoardId) -> Result<()> {
        let keys = Keys::new(tenant, id);
        let r = self.eval(
            DELETE_BOARD,
            &[keys.config(), keys.periods(), keys.events(), keys.inbox()],
            vec![bin(keys.prefix())],
        )?;
        self.exec("SREM", vec![bin(tenant_boards(tenant)), bin(id.as_str())])?;
        if r.first().map(int).transpose()?.unwrap_or(0) == 0 {
            return Err(LeaderboardError::BoardNotFound(format!(
                "board '{id}' does not exist"
            )));
        }
        Ok(())
    }

    /// A player's record as raw JSON (for compare-and-set) and decoded.
    pub fn record(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
    ) -> Result<(String, Option<Record>)> {
        let r = self.exec(
            "HGET",
            vec![bin(keys.records(period)), bin(player.as_str())],
        )?;
        let raw = r.first().map(text).transpose()?.unwrap_or_default();
        let rec = record(&raw)?;
        Ok((raw, rec))
    }

    /// Applies a decided record if the stored one is still `expected_raw`; with `dedupe`, only
    /// if that inbox event was not applied before (atomically with the write).
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        expected_raw: &str,
        new: &Record,
        member: &str,
        rank_value: u64,
        event_json: &str,
        expire_at_ms: Option<i64>,
        dedupe: Option<&str>,
    ) -> Result<ApplyResult> {
        let new_raw =
            serde_json::to_string(new).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
        let mut cas_keys = vec![
            keys.records(period),
            keys.members(period),
            keys.zset(period),
            keys.events(),
            keys.periods(),
        ];
        if let Some(id) = dedupe {
            cas_keys.push(keys.applied(id));
        }
        let r = self.eval(
            SUBMIT_CAS,
            &cas_keys,
            vec![
                bin(player.as_str()),
                bin(expected_raw),
                bin(new_raw),
                bin(member),
                bin(rank_value.to_string()),
                bin(event_json),
                bin(expire_at_ms.unwrap_or(0).to_string()),
                bin(period.to_string()),
            ],
        )?;
        match r.as_slice() {
            [ok] if int(ok)? == 0 => Ok(ApplyResult::Conflict),
            [ok] if int(ok)? == 2 => Ok(ApplyResult::Duplicate),
            [_, better, total, id] => Ok(ApplyResult::Applied(Applied {
                better: uint(better)?,
                total: uint(total)?,
                event_id: text(id)?,
            })),
            other => Err(LeaderboardError::CorruptData(format!(
                "unexpected reply {other:?}"
            ))),
        }
    }

    /// A page starting at 0-based `start`, or right after the cursor position `(rank_value, member)`.
    pub fn page(
        &self,
        keys: &Keys,
        period: &PeriodId,
        start: u64,
        count: u32,
        after: Option<(u64, &str)>,
    ) -> Result<Page> {
        let mut args = vec![bin(start.to_string()), bin(count.to_string())];
        if let Some((rv, member)) = after {
            args.push(bin(rv.to_string()));
            args.push(bin(member));
        }
        let r = self.eval(PAGE, &[keys.zset(period), keys.records(period)], args)?;
        let (total, start) = match r.as_slice() {
            [t, s, ..] => (uint(t)?, uint(s)?),
            _ => return Err(LeaderboardError::CorruptData("short page reply".into())),
        };
        let (first_better, rows) = match r.get(2) {
            Some(b) => (uint(b)?, rows(&r[3..])?),
            None => (0, Vec::new()),
        };
        Ok(Page {
            total,
            start,
            first_better,
            rows,
        })
    }

    /// Rows around a player (`radius` either side); `None` if the player has no entry.
    pub fn around(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        radius: u32,
    ) -> Result<Option<Page>> {
        let r = self.eval(
            AROUND,
            &[
                keys.zset(period),
                keys.records(period),
                keys.members(period),
            ],
            vec![bin(player.as_str()), bin(radius.to_string())],
        )?;
        match r.as_slice() {
            [_, s, ..] if int(s)? < 0 => Ok(None),
            [t, s, b, rest @ ..] => Ok(Some(Page {
                total: uint(t)?,
                start: uint(s)?,
                first_better: uint(b)?,
                rows: rows(rest)?,
            })),
            _ => Err(LeaderboardError::CorruptData("short around reply".into())),
        }
    }

    /// Standings of several players (None where absent) and the period total.
    pub fn players(
        &self,
        keys: &Keys,
        period: &PeriodId,
        players: &[PlayerId],
    ) -> Result<(u64, Vec<Option<Stored>>)> {
        let r = self.eval(
            PLAYERS,
            &[
                keys.zset(period),
                keys.records(period),
                keys.members(period),
            ],
            players.iter().map(|p| bin(p.as_str())).collect(),
        )?;
        let total = r.first().map(uint).transpose()?.unwrap_or(0);
        let mut out = Vec::with_capacity(players.len());
        for c in r.get(1..).unwrap_or_default().chunks(3) {
            let [s, b, rec] = c else {
                return Err(LeaderboardError::CorruptData(
                    "truncated players reply".into(),
                ));
            };
            let score = text(s)?;
            out.push(match (score.is_empty(), record(&text(rec)?)?) {
                (false, Some(record)) => Some(Stored {
                    rank_value: leaderboard::sortkey::parse_redis_score(&score)?,
                    better: uint(b)?,
                    record,
                }),
                _ => None,
            });
        }
        Ok((total, out))
    }

    /// Removes a player's entry from a period; whether it existed.
    pub fn delete_player(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        event_json: &str,
    ) -> Result<bool> {
        let r = self.eval(
            DELETE_PLAYER,
            &[
                keys.records(period),
                keys.members(period),
                keys.zset(period),
                keys.events(),
            ],
            vec![bin(player.as_str()), bin(event_json)],
        )?;
        Ok(r.first().map(int).transpose()?.unwrap_or(0) == 1)
    }

    /// Accepts an asynchronous submission: appends the event to the board's inbox stream (the
    /// durable record) and rings the doorbell channel so the projector drains it. Returns the
    /// stream id. A lost doorbell only delays projection until the next one.
    pub fn enqueue(
        &self,
        keys: &Keys,
        event_json: &str,
        doorbell: &str,
        board_ref: &str,
    ) -> Result<String> {
        let r = self.exec(
            "XADD",
            vec![
                bin(keys.inbox()),
                bin("MAXLEN"),
                bin("~"),
                bin("1000000"),
                bin("*"),
                bin("event"),
                bin(event_json),
            ],
        )?;
        let id = r.first().map(text).transpose()?.unwrap_or_default();
        self.exec("PUBLISH", vec![bin(doorbell), bin(board_ref)])?;
        Ok(id)
    }

    /// Reads up to `count` inbox entries for the projector's consumer group (creating the group at
    /// the start of the stream if needed): first this consumer's pending entries (a previous run
    /// that died before acknowledging), then new ones. Returns `(stream id, event JSON)` pairs.
    pub fn inbox_batch(
        &self,
        keys: &Keys,
        group: &str,
        consumer: &str,
        count: u32,
    ) -> Result<Vec<(String, String)>> {
        let created = self.conn.execute(
            "XGROUP",
            &[
                bin("CREATE"),
                bin(keys.inbox()),
                bin(group),
                bin("0"),
                bin("MKSTREAM"),
            ],
        );
        // BUSYGROUP: the group exists already, which is the normal case.
        if let Err(e) = created
            && !e.contains("BUSYGROUP")
        {
            return Err(unavailable(e));
        }
        for start in ["0", ">"] {
            let r = self.exec(
                "XREADGROUP",
                vec![
                    bin("GROUP"),
                    bin(group),
                    bin(consumer),
                    bin("COUNT"),
                    bin(count.to_string()),
                    bin("STREAMS"),
                    bin(keys.inbox()),
                    bin(start),
                ],
            )?;
            // Flattened reply: stream name, then per entry: id, "event", json.
            let entries: Vec<(String, String)> = r
                .get(1..)
                .unwrap_or_default()
                .chunks(3)
                .filter_map(|c| match c {
                    [id, _field, json] => Some((text(id).ok()?, text(json).ok()?)),
                    _ => None,
                })
                .collect();
            if !entries.is_empty() {
                return Ok(entries);
            }
        }
        Ok(Vec::new())
    }

    /// Acknowledges (and trims) processed inbox entries.
    pub fn inbox_ack(&self, keys: &Keys, group: &str, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut args = vec![bin(keys.inbox()), bin(group)];
        args.extend(ids.iter().map(|i| bin(i.as_str())));
        self.exec("XACK", args)?;
        let mut del = vec![bin(keys.inbox())];
        del.extend(ids.iter().map(|i| bin(i.as_str())));
        self.exec("XDEL", del)?;
        Ok(())
    }

    /// Reserves an idempotency key for a request fingerprint, or reports its state.
    pub fn idem_reserve(
        &self,
        keys: &Keys,
        key: &str,
        fingerprint: &str,
        ttl_ms: u64,
    ) -> Result<Idempotency> {
        let k = keys.idem(key);
        let pending = format!("pending:{fingerprint}");
        let r = self.exec(
            "SET",
            vec![
                bin(k.as_str()),
                bin(pending),
                bin("NX"),
                bin("PX"),
                bin(ttl_ms.to_string()),
            ],
        )?;
        if !matches!(r.first(), None | Some(RedisResult::Nil)) {
            return Ok(Idempotency::New);
        }
        let r = self.exec("GET", vec![bin(k)])?;
        let raw = r.first().map(text).transpose()?.unwrap_or_default();
        if let Some(fp) = raw.strip_prefix("pending:") {
            return Ok(if fp == fingerprint {
                Idempotency::InProgress
            } else {
                Idempotency::Mismatch
            });
        }
        // done:<fingerprint>:<status>:<body>
        let mut parts = raw.strip_prefix("done:").unwrap_or("").splitn(3, ':');
        match (
            parts.next(),
            parts.next().and_then(|s| s.parse().ok()),
            parts.next(),
        ) {
            (Some(fp), Some(status), Some(body)) if fp == fingerprint => Ok(Idempotency::Done {
                status,
                body: body.to_string(),
            }),
            (Some(_), Some(_), Some(_)) => Ok(Idempotency::Mismatch),
            // Expired between SET and GET: treat as new on the client's next retry.
            _ => Ok(Idempotency::InProgress),
        }
    }

    /// Stores the response of a reserved request.
    pub fn idem_complete(
        &self,
        keys: &Keys,
        key: &str,
        fingerprint: &str,
        status: u16,
        body: &str,
        ttl_ms: u64,
    ) -> Result<()> {
        self.exec(
            "SET",
            vec![
                bin(keys.idem(key)),
                bin(format!("done:{fingerprint}:{status}:{body}")),
                bin("PX"),
                bin(ttl_ms.to_string()),
            ],
        )?;
        Ok(())
    }

    /// Releases a reservation after a failure, so a retry can apply.
    pub fn idem_release(&self, keys: &Keys, key: &str) -> Result<()> {
        self.exec("DEL", vec![bin(keys.idem(key))])?;
        Ok(())
    }
}

-- Applies a drained batch as decided by the core, in one atomic step: only if everything it was
-- decided on is unchanged. Writes the records, sorted sets and events, dead-letters what cannot be
-- applied, remembers ingest idempotency keys, acknowledges and deletes every entry of the batch.
-- KEYS: 1 config, 2 events, 3 periods, 4 version, 5 inbox, 6 dead letters, 7 reviews (hash),
--       8 reviews by time (sorted set), 9.. per-batch keys
-- ARGV (sections, each led by its count):
--   group; now ms; dedupe TTL ms; stats TTL seconds; climbers kept per minute;
--   checks: key index, field ('' = the key must not exist), expected value;
--   entries: ids in stream order (each must still be pending: a concurrent drain may have
--            applied it);
--   period starts: period id, period_started event (appended when the period is new);
--   puts: records, members, sorted set key indexes, player, record, member, rank value,
--         expire at ms ('0' never), score_applied event, stats (`stats_note`): the minute's
--         counters, players and climbers key indexes ('0' = the board keeps no stats),
--         counters to increment, improved '1'/'0', the player's cohort's sorted set key index
--         ('0' = the board has no cohorts);
--   dead letters: entry id, reason, deliveries, entry fields as JSON;
--   dedupe keys: key index (remembered for the dedupe TTL);
--   integrity states: state hash key index, player, state JSON, expire at ms ('0' never);
--   reviews (held and flagged submissions): id, JSON, submission time (ms);
--   stats notes (held and rejected submissions): the minute's counters, players and climbers
--         key indexes, counter, player.
-- Returns {1, version or 0, applied event ids...}, or {0, 'board'} (board deleted), {0, 'check',
-- i} (state changed: decide again), {0, 'gone', ids...} (taken by another drain).
local a = 1
local function nxt() a = a + 1; return ARGV[a - 1] end
local group, now, ttl, stats_ttl, keep = nxt(), nxt(), nxt(), nxt(), tonumber(nxt())

local checks = {}
for i = 1, tonumber(nxt()) do checks[i] = {tonumber(nxt()), nxt(), nxt()} end
local ids = {}
for i = 1, tonumber(nxt()) do ids[i] = nxt() end
local starts = {}
for i = 1, tonumber(nxt()) do starts[i] = {nxt(), nxt()} end
local puts = {}
for i = 1, tonumber(nxt()) do
  puts[i] = {tonumber(nxt()), tonumber(nxt()), tonumber(nxt()), nxt(), nxt(), nxt(), nxt(), nxt(), nxt(),
    tonumber(nxt()), tonumber(nxt()), tonumber(nxt()), nxt(), nxt(), tonumber(nxt())}
end
local dead = {}
for i = 1, tonumber(nxt()) do dead[i] = {nxt(), nxt(), nxt(), nxt()} end
local dedupe = {}
for i = 1, tonumber(nxt()) do dedupe[i] = tonumber(nxt()) end
local states = {}
for i = 1, tonumber(nxt()) do states[i] = {tonumber(nxt()), nxt(), nxt(), nxt()} end
local reviews = {}
for i = 1, tonumber(nxt()) do reviews[i] = {nxt(), nxt(), nxt()} end
local notes = {}
for i = 1, tonumber(nxt()) do
  notes[i] = {tonumber(nxt()), tonumber(nxt()), tonumber(nxt()), nxt(), nxt()}
end

if #puts > 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, 'board'} end
-- An entry not pending any more was applied (and acknowledged) by another drain.
if #ids > 0 then
  local pending = {}
  for _, p in ipairs(redis.call('XPENDING', KEYS[5], group, ids[1], ids[#ids], #ids * 4 + 1000)) do
    pending[p[1]] = true
  end
  local gone = {}
  for _, id in ipairs(ids) do
    if not pending[id] then table.insert(gone, id) end
  end
  if #gone > 0 then return {0, 'gone', unpack(gone)} end
end
for i, c in ipairs(checks) do
  local key = KEYS[c[1]]
  if c[2] == '' then
    if redis.call('EXISTS', key) == 1 then return {0, 'check', i} end
  elseif (redis.call('HGET', key, c[2]) or '') ~= c[3] then
    return {0, 'check', i}
  end
end

for _, s in ipairs(starts) do
  if redis.call('SADD', KEYS[3], s[1]) == 1 then redis.call('XADD', KEYS[2], '*', 'event', s[2]) end
end
local out = {1, 0}
for _, p in ipairs(puts) do
  local recs, members, zset = KEYS[p[1]], KEYS[p[2]], KEYS[p[3]]
  local old = redis.call('HGET', members, p[4])
  local before = nil
  if p[10] > 0 and p[14] == '1' and old then
    local r = redis.call('ZSCORE', zset, old)
    if r then before = redis.call('ZCOUNT', zset, '-inf', '(' .. r) + 1 end
  end
  if old and old ~= p[6] then redis.call('ZREM', zset, old) end
  redis.call('HSET', recs, p[4], p[5])
  redis.call('HSET', members, p[4], p[6])
  redis.call('ZADD', zset, p[7], p[6])
  if p[8] ~= '0' then
    for _, k in ipairs({recs, members, zset}) do redis.call('PEXPIREAT', k, p[8]) end
  end
  if p[15] > 0 then
    local cohort = KEYS[p[15]]
    if old and old ~= p[6] then redis.call('ZREM', cohort, old) end
    redis.call('ZADD', cohort, p[7], p[6])
    if p[8] ~= '0' then redis.call('PEXPIREAT', cohort, p[8]) end
  end
  table.insert(out, redis.call('XADD', KEYS[2], '*', 'event', p[9]))
  if p[10] > 0 then
    local gained = 0
    if before then gained = before - (redis.call('ZCOUNT', zset, '-inf', '(' .. p[7]) + 1) end
    stats_note(KEYS[p[10]], KEYS[p[11]], KEYS[p[12]], p[13], p[4], p[4], gained, keep, stats_ttl)
  end
end
for _, d in ipairs(dead) do
  redis.call('XADD', KEYS[6], '*', 'id', d[1], 'reason', d[2], 'deliveries', d[3],
    'dead_at_ms', now, 'entry', d[4])
end
for _, k in ipairs(dedupe) do redis.call('SET', KEYS[k], '1', 'PX', ttl) end
for _, s in ipairs(states) do
  redis.call('HSET', KEYS[s[1]], s[2], s[3])
  if s[4] ~= '0' then redis.call('PEXPIREAT', KEYS[s[1]], s[4]) end
end
for _, r in ipairs(reviews) do
  redis.call('HSET', KEYS[7], r[1], r[2])
  redis.call('ZADD', KEYS[8], r[3], r[1])
end
for _, n in ipairs(notes) do
  stats_note(KEYS[n[1]], KEYS[n[2]], KEYS[n[3]], n[4], n[5], n[5], 0, keep, stats_ttl)
end
if #ids > 0 then
  redis.call('XACK', KEYS[5], group, unpack(ids))
  redis.call('XDEL', KEYS[5], unpack(ids))
end
if #puts > 0 then out[2] = redis.call('INCR', KEYS[4]) end
return out

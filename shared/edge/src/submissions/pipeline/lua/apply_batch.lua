-- Applies a drained batch as decided by the core, in one atomic step: only if everything it was
-- decided on is unchanged. Writes the records, sorted sets and events, dead-letters what cannot be
-- applied, remembers ingest idempotency keys, acknowledges and deletes every entry of the batch.
-- K: the board's keys; the batch's own follow them in KEYS, and A.batch names each by its index.
-- A.batch (JSON, `Wire` in pipeline/batch.rs), every part by name:
--   checks: {key, field ('' = the key must not exist), value}: what the batch was decided on;
--   ids: the entries in stream order (each must still be pending: a concurrent drain may have
--        applied it);
--   starts: {period, event}: the period_started event, appended when the period is new;
--   puts: {records, members, ranks (the period's keys), player, record, member, rank,
--         expire_at_ms ('0' never), event (score_applied), stats (absent: the board keeps none):
--         {counters, players, climbers (the minute's keys), fields (counters to increment),
--         improved}, cohort (the player's cohort's sorted set; absent: no cohorts)};
--   dead: {id, reason, deliveries, entry (its fields as JSON)};
--   dedupe: ingest idempotency keys, remembered for A.dedupe_ttl_ms;
--   states: {key (the period's integrity states), player, state, expire_at_ms ('0' never)};
--   reviews: {id, review, at_ms}: held and flagged submissions;
--   notes: {counters, players, climbers, counter, player}: held and rejected submissions counted.
-- Answers {'applied', version (0: nothing put), applied event ids...}, {'board_gone'} (the board
-- was deleted), {'changed', i} (check i no longer holds: decide again) or {'gone', ids...} (taken
-- by another drain).
local b = cjson.decode(A.batch)
local keep, stats_ttl = tonumber(A.climbers_kept), A.stats_ttl_secs

if #b.puts > 0 and redis.call('EXISTS', K.config) == 0 then return {'board_gone'} end
-- An entry not pending any more was applied (and acknowledged) by another drain.
if #b.ids > 0 then
  local pending = {}
  for _, p in ipairs(redis.call('XPENDING', K.inbox, A.group, b.ids[1], b.ids[#b.ids],
      #b.ids * 4 + 1000)) do
    pending[p[1]] = true
  end
  local gone = {}
  for _, id in ipairs(b.ids) do
    if not pending[id] then table.insert(gone, id) end
  end
  if #gone > 0 then return {'gone', unpack(gone)} end
end
for i, c in ipairs(b.checks) do
  local key = KEYS[c.key]
  if c.field == '' then
    if redis.call('EXISTS', key) == 1 then return {'changed', i} end
  elseif (redis.call('HGET', key, c.field) or '') ~= c.value then
    return {'changed', i}
  end
end

for _, s in ipairs(b.starts) do
  if redis.call('SADD', K.periods, s.period) == 1 then
    redis.call('XADD', K.events, '*', 'event', s.event)
  end
end
local out = {'applied', 0}
for _, p in ipairs(b.puts) do
  local recs, members, zset = KEYS[p.records], KEYS[p.members], KEYS[p.ranks]
  local old = redis.call('HGET', members, p.player)
  local before = nil
  if p.stats and p.stats.improved and old then
    local r = redis.call('ZSCORE', zset, old)
    if r then before = redis.call('ZCOUNT', zset, '-inf', '(' .. r) + 1 end
  end
  if old and old ~= p.member then redis.call('ZREM', zset, old) end
  redis.call('HSET', recs, p.player, p.record)
  redis.call('HSET', members, p.player, p.member)
  redis.call('ZADD', zset, p.rank, p.member)
  if p.expire_at_ms ~= '0' then
    for _, k in ipairs({recs, members, zset}) do redis.call('PEXPIREAT', k, p.expire_at_ms) end
  end
  if p.cohort then
    local cohort = KEYS[p.cohort]
    if old and old ~= p.member then redis.call('ZREM', cohort, old) end
    redis.call('ZADD', cohort, p.rank, p.member)
    if p.expire_at_ms ~= '0' then redis.call('PEXPIREAT', cohort, p.expire_at_ms) end
  end
  table.insert(out, redis.call('XADD', K.events, '*', 'event', p.event))
  if p.stats then
    local gained = 0
    if before then gained = before - (redis.call('ZCOUNT', zset, '-inf', '(' .. p.rank) + 1) end
    stats_note(KEYS[p.stats.counters], KEYS[p.stats.players], KEYS[p.stats.climbers],
      p.stats.fields, p.player, p.player, gained, keep, stats_ttl)
  end
end
for _, d in ipairs(b.dead) do
  redis.call('XADD', K.dead, '*', 'id', d.id, 'reason', d.reason, 'deliveries', d.deliveries,
    'dead_at_ms', A.now_ms, 'entry', d.entry)
end
for _, k in ipairs(b.dedupe) do redis.call('SET', KEYS[k], '1', 'PX', A.dedupe_ttl_ms) end
for _, s in ipairs(b.states) do
  redis.call('HSET', KEYS[s.key], s.player, s.state)
  if s.expire_at_ms ~= '0' then redis.call('PEXPIREAT', KEYS[s.key], s.expire_at_ms) end
end
for _, r in ipairs(b.reviews) do
  redis.call('HSET', K.reviews, r.id, r.review)
  redis.call('ZADD', K.reviews_index, r.at_ms, r.id)
end
for _, n in ipairs(b.notes) do
  stats_note(KEYS[n.counters], KEYS[n.players], KEYS[n.climbers], n.counter, n.player, n.player, 0,
    keep, stats_ttl)
end
if #b.ids > 0 then
  redis.call('XACK', K.inbox, A.group, unpack(b.ids))
  redis.call('XDEL', K.inbox, unpack(b.ids))
end
if #b.puts > 0 then out[2] = redis.call('INCR', K.version) end
return out

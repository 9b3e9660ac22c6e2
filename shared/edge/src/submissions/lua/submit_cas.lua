-- The compare-and-set write of a decided record, its events, the board's version and, with an
-- Idempotency-Key, the stored outcome: one atomic step.
-- KEYS: 1 records, 2 members, 3 sorted set, 4 events, 5 periods, 6 version,
--       7 idempotency key (or a placeholder), 8 webhooks wanted (flag), 9 webhook bell,
--       10 integrity state hash, 11 reviews hash, 12 reviews by time (zset),
--       13-15 the stats minute's counters, players and climbers (`stats_note`), 16 config,
--       17 the tournament's announcements (hash), 18 the player's cohort's sorted set (or a
--       placeholder), 19 a league's closes (hash, or a placeholder)
-- ARGV: 1 player, 2 expected record ('' = none), 3 new record, 4 member, 5 rank value,
--       6 score_applied event, 7 expire at ms ('0' = never), 8 period id,
--       9 period_started event (appended first when this is the period's first write),
--       10 idempotency '1'/'0', 11 our reservation, 12 outcome prefix, 13 outcome JSON,
--       14 outcome TTL ms, 15 webhook ring payload (`wh:tenant/board`),
--       16 the player's integrity state ('' = the board has no rules), 17 review id ('' = none),
--       18 review JSON, 19 now (Unix ms),
--       20 stats TTL seconds ('0' = the board keeps no stats), 21 counters to increment,
--       22 player counted '1'/'0', 23 improved '1'/'0', 24 climbers kept,
--       25 a tournament's end as the decision saw it ('' = no tournament),
--       26 '1' when the board has cohorts: the entry is kept in KEYS[18] too, and `better` and
--       `total` are the cohort's,
--       27 on a board that closes its periods (a league, a periodic board with rewards), the
--       field of KEYS[19] marking the period's close under way (`closing:<period>`; '' = none)
-- Returns {0} the record changed (retry), {3} the idempotency key is held by another attempt,
-- {4} the board was deleted since the caller read it (nothing is written: a write that lost
-- that race must not bring the board's keys back), {5} the tournament's end was announced since
-- (nothing is written: its standings are final), {6} its end moved since the decision (ended
-- early or extended: nothing is written, and the caller answers 409 to send it again), {7} the
-- period's close has begun (nothing is written: its standings are final), or
-- {1, better, total, event id, version, 1 when it rang the webhook deliverer else 0}.
if redis.call('EXISTS', KEYS[16]) == 0 then return {4} end
if ARGV[25] ~= '' then
  local marks = redis.call('HMGET', KEYS[17], 'ended', 'end')
  if marks[1] then return {5} end
  if marks[2] and marks[2] ~= ARGV[25] then return {6} end
end
if ARGV[27] ~= '' and redis.call('HEXISTS', KEYS[19], ARGV[27]) == 1 then return {7} end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return {0} end
if ARGV[10] == '1' then
  local held = redis.call('GET', KEYS[7])
  if held and held ~= ARGV[11] then return {3} end
end
if redis.call('SADD', KEYS[5], ARGV[8]) == 1 then
  redis.call('XADD', KEYS[4], '*', 'event', ARGV[9])
end
local old = redis.call('HGET', KEYS[2], ARGV[1])
-- A climber's rank before its improvement (stats).
local before = nil
if ARGV[20] ~= '0' and ARGV[23] == '1' and old then
  local r = redis.call('ZSCORE', KEYS[3], old)
  if r then before = redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. r) + 1 end
end
if old and old ~= ARGV[4] then redis.call('ZREM', KEYS[3], old) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
local ranked = KEYS[3]
if ARGV[26] == '1' then
  ranked = KEYS[18]
  if old and old ~= ARGV[4] then redis.call('ZREM', ranked, old) end
  redis.call('ZADD', ranked, ARGV[5], ARGV[4])
  if ARGV[7] ~= '0' then redis.call('PEXPIREAT', ranked, ARGV[7]) end
end
local id = redis.call('XADD', KEYS[4], '*', 'event', ARGV[6])
-- The log is the webhook outbox: when a subscription wants the board, ring the deliverer (once
-- until it starts a fan-out, or for a second: a ring nobody heard is rung again by the next write).
local rang = 0
if redis.call('EXISTS', KEYS[8]) == 1 and redis.call('SET', KEYS[9], '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', ARGV[15])
  rang = 1
end
-- Integrity: the player's state and a flagged submission's review change with the write (a rejected or held submission never reaches this script).
if ARGV[16] ~= '' then
  redis.call('HSET', KEYS[10], ARGV[1], ARGV[16])
  if ARGV[7] ~= '0' then redis.call('PEXPIREAT', KEYS[10], ARGV[7]) end
end
if ARGV[17] ~= '' then
  redis.call('HSET', KEYS[11], ARGV[17], ARGV[18])
  redis.call('ZADD', KEYS[12], ARGV[19], ARGV[17])
end
if ARGV[7] ~= '0' then
  for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], ARGV[7]) end
end
local version = redis.call('INCR', KEYS[6])
local better = redis.call('ZCOUNT', ranked, '-inf', '(' .. ARGV[5])
local total = redis.call('ZCARD', ranked)
if ARGV[20] ~= '0' then
  local gained = 0
  if before then
    -- Ranks climbed on the board (`before` is the board's), whatever the answer's scope.
    local after = better
    if ranked ~= KEYS[3] then after = redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. ARGV[5]) end
    gained = before - (after + 1)
  end
  local counted = ''
  if ARGV[22] == '1' then counted = ARGV[1] end
  stats_note(KEYS[13], KEYS[14], KEYS[15], ARGV[21], counted, ARGV[1], gained,
    tonumber(ARGV[24]), ARGV[20])
end
if ARGV[10] == '1' then
  redis.call('SET', KEYS[7], ARGV[12] .. better .. ':' .. total .. ':' .. ARGV[13], 'PX', ARGV[14])
end
return {1, better, total, id, version, rang}

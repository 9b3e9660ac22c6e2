-- The compare-and-set write of a decided record, its events, the board's version and, with an
-- Idempotency-Key, the stored outcome: one atomic step. Its keys (`K`) and arguments (`A`) are
-- named, and documented, where the script is declared (`submit_cas` in ../writes.rs).
-- Answers {'board_deleted'} (the board was deleted since the caller read it: nothing is
-- written, so a write that lost that race does not bring the board's keys back),
-- {'tournament_ended'} (the tournament's end was announced since: its standings are final),
-- {'window_moved'} (its end moved since the decision, ended early or extended: decide again),
-- {'period_closed'} (the period's close has begun: its standings are final), {'conflict'} (the
-- record changed: read again), {'key_locked'} (the idempotency key is held by another
-- attempt), or {'applied', better, total, event id, version, 1 when it rang the webhook
-- deliverer else 0}. Only 'applied' writes anything.
if redis.call('EXISTS', K.config) == 0 then return {'board_deleted'} end
if A.tournament_end_ms ~= '' then
  local marks = redis.call('HMGET', K.announced, 'ended', 'end')
  if marks[1] then return {'tournament_ended'} end
  if marks[2] and marks[2] ~= A.tournament_end_ms then return {'window_moved'} end
end
if A.closing_field ~= '' and redis.call('HEXISTS', K.closes, A.closing_field) == 1 then
  return {'period_closed'}
end
local cur = redis.call('HGET', K.records, A.player)
if (cur or '') ~= A.expected then return {'conflict'} end
if A.keyed == '1' then
  local held = redis.call('GET', K.idempotency)
  if held and held ~= A.reservation then return {'key_locked'} end
end
if redis.call('SADD', K.periods, A.period) == 1 then
  redis.call('XADD', K.events, '*', 'event', A.period_started)
end
local old = redis.call('HGET', K.members, A.player)
-- A climber's rank before its improvement (stats).
local before = nil
if A.stats_ttl_s ~= '0' and A.improved == '1' and old then
  local r = redis.call('ZSCORE', K.ranked, old)
  if r then before = redis.call('ZCOUNT', K.ranked, '-inf', '(' .. r) + 1 end
end
if old and old ~= A.member then redis.call('ZREM', K.ranked, old) end
redis.call('HSET', K.records, A.player, A.record)
redis.call('HSET', K.members, A.player, A.member)
redis.call('ZADD', K.ranked, A.rank_value, A.member)
local ranked = K.ranked
if A.in_cohort == '1' then
  ranked = K.cohort_ranked
  if old and old ~= A.member then redis.call('ZREM', ranked, old) end
  redis.call('ZADD', ranked, A.rank_value, A.member)
  if A.expire_at_ms ~= '0' then redis.call('PEXPIREAT', ranked, A.expire_at_ms) end
end
local id = redis.call('XADD', K.events, '*', 'event', A.event)
-- The log is the webhook outbox: when a subscription wants the board, ring the deliverer (once
-- until it starts a fan-out, or for a second: a ring nobody heard is rung again by the next write).
local rang = 0
if redis.call('EXISTS', K.hooks_wanted) == 1 and redis.call('SET', K.hooks_bell, '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', A.hooks_ring)
  rang = 1
end
-- Integrity: the player's state and a flagged submission's review change with the write (a rejected or held submission never reaches this script).
if A.integrity_state ~= '' then
  redis.call('HSET', K.integrity, A.player, A.integrity_state)
  if A.expire_at_ms ~= '0' then redis.call('PEXPIREAT', K.integrity, A.expire_at_ms) end
end
if A.review_id ~= '' then
  redis.call('HSET', K.reviews, A.review_id, A.review)
  redis.call('ZADD', K.reviews_by_time, A.now_ms, A.review_id)
end
if A.expire_at_ms ~= '0' then
  for _, key in ipairs({K.records, K.members, K.ranked}) do
    redis.call('PEXPIREAT', key, A.expire_at_ms)
  end
end
local version = redis.call('INCR', K.version)
local better = redis.call('ZCOUNT', ranked, '-inf', '(' .. A.rank_value)
local total = redis.call('ZCARD', ranked)
if A.stats_ttl_s ~= '0' then
  local gained = 0
  if before then
    -- Ranks climbed on the board (`before` is the board's), whatever the answer's scope.
    local after = better
    if ranked ~= K.ranked then after = redis.call('ZCOUNT', K.ranked, '-inf', '(' .. A.rank_value) end
    gained = before - (after + 1)
  end
  local counted = ''
  if A.count_player == '1' then counted = A.player end
  stats_note(K.stats_counters, K.stats_players, K.stats_climbers, A.counters, counted, A.player,
    gained, tonumber(A.climbers_kept), A.stats_ttl_s)
end
if A.keyed == '1' then
  redis.call('SET', K.idempotency, A.outcome_prefix .. better .. ':' .. total .. ':' .. A.outcome,
    'PX', A.outcome_ttl_ms)
end
return {'applied', better, total, id, version, rang}

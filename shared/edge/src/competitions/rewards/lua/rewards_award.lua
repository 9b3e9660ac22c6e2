-- A run's awards, stored once: the first caller's awards stand, and a later one (two workers, a
-- read racing a claim) is answered with them. The same script appends `rewards_awarded` to the
-- board's log (the webhook outbox), so the event is made exactly once too. Nothing is stored
-- once the board is deleted, while its config is not the one the awards were decided on, or
-- before the run's close is marked (a tournament's `ended` announcement, a period's closing
-- mark: what freezes its standings).
-- A.awarded (JSON): {player, rank, cohort (absent off a board with cohorts)}, best first.
-- Hash fields: `_at` when awarded, `_count` players awarded, `_table` the tables, `p:<player>`
-- its rank, `g:<player>` its cohort on a board with cohorts (claims add `c:<player>`). A player
-- named twice keeps its first (better) rank.
-- Answers {'stored', at, count, rang} (rang: 1 when it rang the webhook deliverer, else 0),
-- {'before', at, count} (stored before), {'changed'} (the config changed, or the close is not
-- marked) or {'board_gone'}.
local cfg = redis.call('GET', K.config)
if not cfg then return {'board_gone'} end
local before = redis.call('HMGET', K.awards, '_at', '_count')
if before[1] then return {'before', tonumber(before[1]), tonumber(before[2])} end
if cfg ~= A.config or redis.call('HEXISTS', K.closing, A.mark) == 0 then return {'changed'} end
local count = 0
for _, a in ipairs(cjson.decode(A.awarded)) do
  if redis.call('HSETNX', K.awards, 'p:' .. a.player, a.rank) == 1 then
    if a.cohort then redis.call('HSET', K.awards, 'g:' .. a.player, a.cohort) end
    redis.call('RPUSH', K.awarded, a.player)
    count = count + 1
  end
end
redis.call('HSET', K.awards, '_at', A.now_ms, '_count', count, '_table', A.table)
if A.expire_at_ms ~= '0' then
  redis.call('PEXPIREAT', K.awards, A.expire_at_ms)
  if count > 0 then redis.call('PEXPIREAT', K.awarded, A.expire_at_ms) end
end
redis.call('XADD', K.events, '*', 'event', A.event)
local rang = 0
if redis.call('EXISTS', K.hooks) == 1 and redis.call('SET', K.hooks_bell, '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', A.ring)
  rang = 1
end
return {'stored', tonumber(A.now_ms), count, rang}

-- A run's awards, stored once: the first caller's awards stand, and a later one (two workers, a
-- read racing a claim) is answered with them. The same script appends `rewards_awarded` to the
-- board's log (the webhook outbox), so the event is made exactly once too. Nothing is stored
-- once the board is deleted, or while its config is not the one the awards were decided on.
-- KEYS: 1 the board's config, 2 the run's awards (hash), 3 the run's awarded players in rank
--       order (list), 4 the log, 5 webhooks wanted (flag), 6 webhook bell
-- ARGV: 1 the config as the decision read it, 2 now (Unix ms), 3 the reward table (JSON),
--       4 the event, 5 ring payload (`wh:tenant/board`), then pairs (player, rank) best first
-- Hash fields: `_at` when awarded, `_count` players awarded, `_table` the table, `p:<player>` its
-- rank (claims add `c:<player>`).
-- Returns {1, at, count} stored now, {2, at, count} stored before, {0} the config changed; {}
-- when the board is gone.
local cfg = redis.call('GET', KEYS[1])
if not cfg then return {} end
local before = redis.call('HMGET', KEYS[2], '_at', '_count')
if before[1] then return {2, tonumber(before[1]), tonumber(before[2])} end
if cfg ~= ARGV[1] then return {0} end
local count = (#ARGV - 5) / 2
redis.call('HSET', KEYS[2], '_at', ARGV[2], '_count', count, '_table', ARGV[3])
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[2], 'p:' .. ARGV[i], ARGV[i + 1])
  redis.call('RPUSH', KEYS[3], ARGV[i])
end
redis.call('XADD', KEYS[4], '*', 'event', ARGV[4])
if redis.call('EXISTS', KEYS[5]) == 1 and redis.call('SET', KEYS[6], '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', ARGV[5])
end
return {1, tonumber(ARGV[2]), count}

-- A run's awards, stored once: the first caller's awards stand, and a later one (two workers, a
-- read racing a claim) is answered with them. The same script appends `rewards_awarded` to the
-- board's log (the webhook outbox), so the event is made exactly once too. Nothing is stored
-- once the board is deleted, while its config is not the one the awards were decided on, or
-- before the run's close is marked (a tournament's `ended` announcement, a period's closing
-- mark: what freezes its standings).
-- KEYS: 1 the board's config, 2 the hash holding the close's mark, 3 the run's awards (hash),
--       4 the run's awarded players in rank order (list), 5 the log, 6 webhooks wanted (flag),
--       7 webhook bell
-- ARGV: 1 the config as the decision read it, 2 now (Unix ms), 3 the reward tables (JSON),
--       4 the event, 5 ring payload (`wh:tenant/board`), 6 the close's mark (a field of KEYS[2]),
--       7 when the awards expire (Unix ms; 0 = kept with the board), then triples (player, rank,
--       cohort or '') best first
-- Hash fields: `_at` when awarded, `_count` players awarded, `_table` the tables, `p:<player>`
-- its rank, `g:<player>` its cohort on a board with cohorts (claims add `c:<player>`). A player
-- named twice keeps its first (better) rank.
-- Returns {1, at, count, rang} stored now (rang: 1 when it rang the webhook deliverer, else 0),
-- {2, at, count} stored before, {0} the config changed or the
-- close is not marked; {} when the board is gone.
local cfg = redis.call('GET', KEYS[1])
if not cfg then return {} end
local before = redis.call('HMGET', KEYS[3], '_at', '_count')
if before[1] then return {2, tonumber(before[1]), tonumber(before[2])} end
if cfg ~= ARGV[1] or redis.call('HEXISTS', KEYS[2], ARGV[6]) == 0 then return {0} end
local count = 0
for i = 8, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[3], 'p:' .. ARGV[i], ARGV[i + 1]) == 1 then
    if ARGV[i + 2] ~= '' then
      redis.call('HSET', KEYS[3], 'g:' .. ARGV[i], ARGV[i + 2])
    end
    redis.call('RPUSH', KEYS[4], ARGV[i])
    count = count + 1
  end
end
redis.call('HSET', KEYS[3], '_at', ARGV[2], '_count', count, '_table', ARGV[3])
if ARGV[7] ~= '0' then
  redis.call('PEXPIREAT', KEYS[3], ARGV[7])
  if count > 0 then redis.call('PEXPIREAT', KEYS[4], ARGV[7]) end
end
redis.call('XADD', KEYS[5], '*', 'event', ARGV[4])
if redis.call('EXISTS', KEYS[6]) == 1 and redis.call('SET', KEYS[7], '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', ARGV[5])
  return {1, tonumber(ARGV[2]), count, 1}
end
return {1, tonumber(ARGV[2]), count, 0}

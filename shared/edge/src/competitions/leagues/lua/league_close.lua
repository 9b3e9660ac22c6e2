-- Stores a league period's close (`crate::leagues`) once: each moved player's tier for the
-- periods after, the period's moves (its players' history), the mark that the period is closed,
-- and its `league_closed` event in the log, in one step, so however many closers race, the moves are applied and logged once. Only after
-- the period was marked closing (league_freeze.lua): the moves were read from final standings.
-- The log is the webhook outbox: when a subscription wants the board, the deliverer is rung as a
-- write rings it.
-- KEYS: 1 the board's config, 2 its closes (hash), 3 its tiers (hash), 4 its log,
--       5 webhooks wanted (flag), 6 webhook bell, 7 the period's moves (hash: player → the tier
--       it moved to; `:at` → now, a field no player id can be)
-- ARGV: 1 the period's closing mark (`closing:<period>`), 2 its closed mark (`closed:<period>`),
--       3 now (Unix ms), 4 the league_closed event, 5 ring payload (`wh:tenant/board`),
--       6 when the moves expire (Unix ms: with the period's standings),
--       then pairs: player, the tier it plays next
-- Returns {1, rang} stored (rang: 1 when it rang the webhook deliverer, else 0), {2} stored
-- before (nothing is written: the first close stands), {0} the
-- period is not marked closing, or {} when the board is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return {0} end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return {2} end
redis.call('HSET', KEYS[7], ':at', ARGV[3])
-- The moves in variadic HSETs of up to 1,000 players each (2,000 values: unpack stays far below
-- Lua's stack limit of 8,000, and each step starts on a player, as the pairs start at 7): a
-- close of 30,000 moves held Redis 114 ms with an HSET per field, and about 45 ms so
-- (docs/benchmarks.md › A league's close).
local step = 2000
for a = 7, #ARGV, step do
  local last = math.min(a + step - 1, #ARGV)
  redis.call('HSET', KEYS[3], unpack(ARGV, a, last))
  redis.call('HSET', KEYS[7], unpack(ARGV, a, last))
end
redis.call('PEXPIREAT', KEYS[7], ARGV[6])
redis.call('XADD', KEYS[4], '*', 'event', ARGV[4])
if redis.call('EXISTS', KEYS[5]) == 1 and redis.call('SET', KEYS[6], '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', ARGV[5])
  return {1, 1}
end
return {1, 0}

-- Stores a league period's close (`crate::leagues`) once: each moved player's tier for the
-- periods after, the period's moves (its players' history), the mark that the period is closed,
-- and its `league_closed` event in the log, in one step, so however many closers race, the moves
-- are applied and logged once. Only after the period was marked closing (league_freeze.lua): the
-- moves were read from final standings. The log is the webhook outbox: when a subscription wants
-- the board, the deliverer is rung as a write rings it.
-- K.moves: player → the tier it moved to; `:at` → now, a field no player id can be.
-- The moves follow the named arguments (from ARGV[A_MORE]): player, the tier it plays next.
-- Answers {'stored', rang} (rang: 1 when it rang the webhook deliverer, else 0), {'before'}
-- (stored before: nothing is written, the first close stands), {'not_closing'} (the period is not
-- marked closing) or {'board_gone'}.
if redis.call('EXISTS', K.config) == 0 then return {'board_gone'} end
if redis.call('HEXISTS', K.closes, A.closing_mark) == 0 then return {'not_closing'} end
if redis.call('HSETNX', K.closes, A.closed_mark, A.now_ms) == 0 then return {'before'} end
redis.call('HSET', K.moves, ':at', A.now_ms)
-- The moves in variadic HSETs of up to 1,000 players each (2,000 values: unpack stays far below
-- Lua's stack limit of 8,000, and each step starts on a player, as the moves start on one): a
-- close of 30,000 moves held Redis 114 ms with an HSET per field, and about 45 ms so
-- (docs/benchmarks.md › A league's close).
local step = 2000
for a = A_MORE, #ARGV, step do
  local last = math.min(a + step - 1, #ARGV)
  redis.call('HSET', K.tiers, unpack(ARGV, a, last))
  redis.call('HSET', K.moves, unpack(ARGV, a, last))
end
redis.call('PEXPIREAT', K.moves, A.expire_at_ms)
redis.call('XADD', K.events, '*', 'event', A.event)
if redis.call('EXISTS', K.hooks) == 1 and redis.call('SET', K.hooks_bell, '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', A.ring)
  return {'stored', 1}
end
return {'stored', 0}

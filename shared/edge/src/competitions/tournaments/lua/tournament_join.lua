-- A player's join of a tournament (leaderboard::competition::tournament::Tournament::join, whose
-- rule this follows on the count before the join: a join past max_size is refused and counts
-- nothing; joining again is no new join).
-- KEYS: 1 the board's config, 2 its joined players (set)
-- ARGV: 1 player, 2 max_size (0: unlimited)
-- Returns {1 if the player had joined before, players joined before this join, 1 if this join
-- added the player}; {} when the board is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local before = redis.call('SCARD', KEYS[2])
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {1, before, 0} end
local max = tonumber(ARGV[2])
if max == 0 or before < max then
  redis.call('SADD', KEYS[2], ARGV[1])
  return {0, before, 1}
end
return {0, before, 0}

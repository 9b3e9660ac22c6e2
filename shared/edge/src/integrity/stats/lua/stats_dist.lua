-- The current period's distribution (`leaderboard::stats`): standings at given positions and
-- the number of standings in given rank-value ranges, in one round trip.
-- KEYS: 1 the period's sorted set
-- ARGV: 1 n positions (zero-based, best first), then the positions, then pairs (lowest,
--       highest) of inclusive rank-value ranges
-- Returns {the rank value at each position ('' = none), then the count in each range}
local out = {}
local n = tonumber(ARGV[1])
for i = 2, n + 1 do
  local r = redis.call('ZRANGE', KEYS[1], ARGV[i], ARGV[i], 'WITHSCORES')
  out[#out + 1] = r[2] or ''
end
for i = n + 2, #ARGV - 1, 2 do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1], ARGV[i], ARGV[i + 1])
end
return out

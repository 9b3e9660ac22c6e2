-- The current period's distribution (`leaderboard::stats`): standings at given positions and
-- the number of standings in given rank-value ranges, in one round trip.
-- After A.positions (how many positions), from ARGV[A_MORE]: the positions (zero-based, best
-- first), then pairs (lowest, highest) of inclusive rank-value ranges.
-- Answers {'distribution', the rank value at each position ('' = none), then the count in each
-- range}.
local out = {'distribution'}
local n = tonumber(A.positions)
for i = A_MORE, A_MORE + n - 1 do
  local r = redis.call('ZRANGE', K.ranks, ARGV[i], ARGV[i], 'WITHSCORES')
  out[#out + 1] = r[2] or ''
end
for i = A_MORE + n, #ARGV - 1, 2 do
  out[#out + 1] = redis.call('ZCOUNT', K.ranks, ARGV[i], ARGV[i + 1])
end
return out

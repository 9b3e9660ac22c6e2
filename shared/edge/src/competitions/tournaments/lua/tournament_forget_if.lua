-- Removes a member from a sorted set only while its score is ARGV[2] (what the caller holds or
-- read): the tournaments' register (a worker's lease or an early end's note: one noted again
-- meanwhile, for a new board of the id or a changed window, keeps its time), a tenant's
-- tournament index or a player's joined tournaments (an entry written again meanwhile stays).
-- KEYS: 1 the sorted set
-- ARGV: 1 the member, 2 its score as the caller holds it (ms)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0

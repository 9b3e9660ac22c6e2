-- Stores reviews (new ones only, with ARGV[1] '1': an id already stored keeps its review and its
-- decision; else each one as given, a decision replacing the review). Nothing is stored once the
-- board is deleted: a review must never outlive its board into a new one of the same id.
-- KEYS: 1 reviews hash, 2 reviews by time (zset), 3 the board's config
-- ARGV: 1 '1' new only / '0' replace, then triples (id, JSON, Unix ms)
-- Returns how many were stored, or -1 when the board is gone.
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
local n = 0
for i = 2, #ARGV, 3 do
  local stored
  if ARGV[1] == '1' then
    stored = redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    stored = true
  end
  if stored then
    redis.call('ZADD', KEYS[2], ARGV[i + 2], ARGV[i])
    n = n + 1
  end
end
return n

-- Stores reviews that are new (an id already stored keeps its review and its decision).
-- KEYS: 1 reviews hash, 2 reviews by time (zset)
-- ARGV: triples (id, JSON, Unix ms)
-- Returns how many were new.
local n = 0
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 2], ARGV[i])
    n = n + 1
  end
end
return n

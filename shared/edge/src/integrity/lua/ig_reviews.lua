-- Stores reviews (new ones only, with ARGV[1] '1': an id already stored keeps its review and its
-- decision; else each one as given, a decision replacing the review; with 'H', a held
-- submission's new review, refused once the board's tournament end was announced: what is held
-- then could change final standings after them). Nothing is stored once the board is deleted: a
-- review must never outlive its board into a new one of the same id.
-- KEYS: 1 reviews hash, 2 reviews by time (zset), 3 the board's config, 4 its tournament's
--       announcements (hash; absent on a board that is no tournament)
-- ARGV: 1 '1' new only / '0' replace / 'H' hold, then triples (id, JSON, Unix ms)
-- Returns how many were stored, -1 when the board is gone, -2 when a hold came after the end.
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
if ARGV[1] == 'H' and redis.call('HEXISTS', KEYS[4], 'ended') == 1 then return -2 end
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

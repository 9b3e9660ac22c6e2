-- Stores reviews (new ones only, with A.mode '1': an id already stored keeps its review and its
-- decision; else each one as given, a decision replacing the review; with 'H', a held
-- submission's new review, refused once the board's tournament end was announced: what is held
-- then could change final standings after them). Nothing is stored once the board is deleted: a
-- review must never outlive its board into a new one of the same id.
-- The reviews follow the named arguments (from ARGV[A_MORE]): id, JSON, Unix ms, for each.
-- Answers {'stored', how many}, {'after_end'} (a hold after the end) or {'board_gone'}.
if redis.call('EXISTS', K.config) == 0 then return {'board_gone'} end
if A.mode == 'H' and redis.call('HEXISTS', K.announced, 'ended') == 1 then return {'after_end'} end
local n = 0
for i = A_MORE, #ARGV, 3 do
  local stored
  if A.mode == '1' then
    stored = redis.call('HSETNX', K.reviews, ARGV[i], ARGV[i + 1]) == 1
  else
    redis.call('HSET', K.reviews, ARGV[i], ARGV[i + 1])
    stored = true
  end
  if stored then
    redis.call('ZADD', K.reviews_index, ARGV[i + 2], ARGV[i])
    n = n + 1
  end
end
return {'stored', n}

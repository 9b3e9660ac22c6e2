-- Forgets a tournament in the register only while it is due at ARGV[2] (the caller's lease or
-- note): one noted again meanwhile (a new board of the id, a changed window) keeps its time.
-- KEYS: 1 register
-- ARGV: 1 tenant/board, 2 the due time the caller holds it at (ms)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0

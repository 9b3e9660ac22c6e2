-- A swept board whose inbox is empty leaves the register, unless it was noted or leased again
-- since this sweep leased it (its score is no longer the lease).
-- KEYS: 1 register
-- ARGV: 1 board, 2 lease
-- Returns 1 when removed.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0

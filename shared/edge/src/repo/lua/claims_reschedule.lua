-- A swept entry of a tenant's webhook messages: due again at ARGV[3] (its score that minus the
-- reclaim time) or, with ARGV[3] '', removed; unless it was noted since the sweep leased it
-- (its score is no longer the lease), when that note stands. Then the alarm is armed
-- (claims_arm.lua).
-- KEYS: 1 register, 2 alarm
-- ARGV: 1 entry, 2 lease, 3 next due (ms) or '', 4 now (ms), 5 reclaim (ms)
-- Returns 1 when the entry left the register.
local reclaim = tonumber(ARGV[5])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local removed = 0
if score and tonumber(score) == tonumber(ARGV[2]) then
  if ARGV[3] == '' then
    removed = redis.call('ZREM', KEYS[1], ARGV[1])
  else
    redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) - reclaim, ARGV[1])
  end
end
arm(tonumber(ARGV[4]), reclaim)
return removed

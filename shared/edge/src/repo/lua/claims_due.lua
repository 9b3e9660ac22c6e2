-- Notes ARGV[1], a tenant's webhook messages (`wh:<tenant>`), as due at ARGV[2] ms: its score
-- becomes ARGV[2] minus the reclaim time (when a board noted then would fall due), unless an
-- earlier note stands. Then the alarm is armed (claims_arm.lua).
-- KEYS: 1 register, 2 alarm
-- ARGV: 1 entry, 2 due (ms), 3 now (ms), 4 reclaim (ms)
local reclaim = tonumber(ARGV[4])
local at = tonumber(ARGV[2]) - reclaim
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not old or tonumber(old) > at then
  redis.call('ZADD', KEYS[1], at, ARGV[1])
end
arm(tonumber(ARGV[3]), reclaim)
return 1

-- A push tier's register of the boards whose period ends next, and the alarm that rings the
-- worker when the earliest ends (crate::push: the new period's state is published then).
-- Notes ARGV[1] as ending at ARGV[2], then sets the alarm to expire in ARGV[3] ms unless it
-- expires sooner already. (The wait comes from the caller's clock, so a guest's clock decides
-- when a period ends, and Redis's only how long to wait.)
-- KEYS: 1 register (sorted set: tenant/board -> when its period ends, ms), 2 alarm
-- ARGV: 1 tenant/board, 2 period end ms, 3 ms until then
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local wait = math.max(tonumber(ARGV[3]), 1)
local left = redis.call('PTTL', KEYS[2])
if left < 0 or left > wait then
  redis.call('SET', KEYS[2], '1', 'PX', wait)
end
return 1

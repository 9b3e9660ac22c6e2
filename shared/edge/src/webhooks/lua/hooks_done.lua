-- A leased entry of the webhook deliverer's register, served: due again at ARGV[3], or with
-- ARGV[3] '' removed (with its stamp). When it was noted after the lease (its stamp is no longer
-- ARGV[2]), it stays, due at the earlier of its time and ARGV[3]: whatever that note owes is
-- served then. Then the alarm is armed (alarm_arm.lua) for the earliest entry.
-- KEYS: 1 register, 2 alarm, 3 stamps
-- ARGV: 1 entry, 2 its stamp when leased, 3 next due (Unix ms) or '', 4 now (Unix ms)
-- Returns 1 when the entry left the register.
local removed = 0
local untouched = (redis.call('HGET', KEYS[3], ARGV[1]) or '0') == ARGV[2]
if untouched and ARGV[3] == '' then
  removed = redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
elseif ARGV[3] ~= '' then
  local again = tonumber(ARGV[3])
  local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if untouched or not at or tonumber(at) > again then
    redis.call('ZADD', KEYS[1], again, ARGV[1])
  end
end
arm_first(KEYS[1], KEYS[2], tonumber(ARGV[4]))
return removed

-- Leases up to ARGV[3] entries of the webhook deliverer's register that are due by ARGV[1]: each
-- one's due time becomes the lease's end, ARGV[1] + ARGV[2] (a sweep that dies leaves it due
-- then). Then the alarm is armed (alarm_arm.lua) for the earliest entry.
-- KEYS: 1 register, 2 alarm, 3 stamps
-- ARGV: 1 now (Unix ms), 2 lease (ms), 3 entries at most
-- Returns, flat: entry, its stamp (what hooks_done.lua compares), ...
local now = tonumber(ARGV[1])
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, entry in ipairs(due) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), entry)
  table.insert(out, entry)
  table.insert(out, redis.call('HGET', KEYS[3], entry) or '0')
end
arm_first(KEYS[1], KEYS[2], now)
return out

-- A leased entry of the webhook deliverer's register, served: due again at ARGV[3], or with
-- ARGV[3] '' removed (with its count of notes). When it was noted after the lease (its notes are
-- no longer ARGV[2]), it stays, due at the earlier of its time and ARGV[3]: whatever that note
-- owes is served then. Then the alarm is armed (alarm_arm.lua) for the earliest entry.
-- KEYS: 1 register, 2 alarm, 3 notes
-- ARGV: 1 entry, 2 its notes when leased, 3 next due (Unix ms) or '', 4 now (Unix ms)
-- Returns 1 when the entry left the register.
local removed = 0
local notes = redis.call('HGET', KEYS[3], ARGV[1]) or '0'
if notes == ARGV[2] and ARGV[3] == '' then
  removed = redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
elseif ARGV[3] ~= '' then
  local next = tonumber(ARGV[3])
  local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if notes == ARGV[2] or not at or tonumber(at) > next then
    redis.call('ZADD', KEYS[1], next, ARGV[1])
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then arm(tonumber(ARGV[4]), tonumber(first[2]), first[1]) end
return removed

-- Leases the boards of a register (rollovers_note.lua) that are due (at most ARGV[3]): each
-- one's score becomes now + ARGV[2], so no other alarm takes it meanwhile; the caller does what
-- is due (a push tier publishes its new period; a tournament is announced), which notes it again
-- with its next time, and a failure leaves it due again after the lease. Then sets the alarm for the earliest entry, unless it expires
-- sooner already.
-- KEYS: 1 register, 2 alarm
-- ARGV: 1 now ms, 2 lease ms, 3 boards at most
-- Returns the boards leased.
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, board in ipairs(due) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), board)
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then
  local wait = math.max(tonumber(first[2]) - now, 1)
  local left = redis.call('PTTL', KEYS[2])
  if left < 0 or left > wait then
    redis.call('SET', KEYS[2], '1', 'PX', wait)
  end
end
return due

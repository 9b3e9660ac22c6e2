-- Takes the boards of a push tier's register whose period has ended (at most ARGV[2]): they leave
-- the register, and the caller publishes each one's new period (which notes it again with its
-- next end). Then sets the alarm for the earliest left, unless it expires sooner already.
-- KEYS: 1 register, 2 alarm
-- ARGV: 1 now ms, 2 boards at most
-- Returns the boards taken.
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, board in ipairs(due) do
  redis.call('ZREM', KEYS[1], board)
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

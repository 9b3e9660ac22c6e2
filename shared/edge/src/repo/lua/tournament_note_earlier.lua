-- Notes a tournament in the register as due at ARGV[2] unless it is due earlier already (ZADD
-- LT: a creation refused because its id is taken must not postpone the existing tournament),
-- then arms the alarm for the register's earliest entry, as rollovers_note.lua does.
-- KEYS: 1 register (sorted set: tenant/board -> when it is due, ms), 2 alarm
-- ARGV: 1 tenant/board, 2 due ms, 3 now ms
local now = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = math.max(tonumber(first[2]) - now, 1)
local left = redis.call('PTTL', KEYS[2])
if left < 0 or left > wait then
  redis.call('SET', KEYS[2], '1', 'PX', wait)
end
return 1

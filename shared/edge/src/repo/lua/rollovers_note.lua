-- A register of boards due at a time, and the alarm that rings the worker when the earliest is
-- due: a push tier's boards whose period ends next (crate::push: the new period's state is
-- published then), the tournaments whose window opens or closes next (crate::tournaments).
-- Notes ARGV[1] as due at ARGV[2], then sets the alarm to expire when the register's earliest
-- entry is due (at once for one already due: an alarm missed while no worker listened is made
-- up by the next note), unless it expires sooner already. Times come from the caller's clock,
-- Redis's only says how long to wait.
-- KEYS: 1 register (sorted set: tenant/board -> when it is due, ms), 2 alarm
-- ARGV: 1 tenant/board, 2 due ms, 3 now ms
local now = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = math.max(tonumber(first[2]) - now, 1)
local left = redis.call('PTTL', KEYS[2])
if left < 0 or left > wait then
  redis.call('SET', KEYS[2], '1', 'PX', wait)
end
return 1

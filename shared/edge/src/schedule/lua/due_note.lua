-- A register of boards due at a time, and the alarm that rings the worker when the earliest is
-- due: a push tier's boards whose period ends next (crate::push: the new period's state is
-- published then), the tournaments whose window opens or closes next (crate::tournaments).
-- Notes ARGV[1] as due at ARGV[2] — with ARGV[4] 'LT' only if that is earlier than it is due
-- already (a tournament's creation refused because its id is taken must not postpone the
-- existing one); with 'IF' only while it is due at ARGV[5] still (a worker's lease or an early
-- end's note: a newer note is never overwritten) — then sets the alarm to expire when the
-- register's earliest entry is due (at once for one already due: an alarm missed while no
-- worker listened is made up by the next note), unless it expires sooner already. Times come
-- from the caller's clock, Redis's only says how long to wait.
-- KEYS: 1 register (sorted set: tenant/board -> when it is due, ms), 2 alarm
-- ARGV: 1 tenant/board, 2 due ms, 3 now ms, 4 '' or 'LT' or 'IF', [5 the due time held, ms]
-- Returns 1 when noted, 0 when 'IF' found it due at another time.
local now = tonumber(ARGV[3])
if ARGV[4] == 'IF' then
  local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not held or tonumber(held) ~= tonumber(ARGV[5]) then return 0 end
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
elseif ARGV[4] == 'LT' then
  redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = math.max(tonumber(first[2]) - now, 1)
local left = redis.call('PTTL', KEYS[2])
if left < 0 or left > wait then
  redis.call('SET', KEYS[2], '1', 'PX', wait)
end
return 1

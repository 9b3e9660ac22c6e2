-- Rings the worker again for due work it did not hear of: when the register's earliest item fell
-- due more than A.grace_ms before A.now_ms and no alarm is set (it expired while no worker
-- listened: pub/sub keeps no message for a subscriber that is not there), the alarm is armed to
-- expire at once, and K.nudged is set for the grace, so that however many callers ask, it rings
-- once per grace. Otherwise nothing is written: an alarm set rings by itself, and an item due
-- within the grace is one a worker may be leasing.
-- Answers {'rung', item, due} or {'quiet'}.
local first = redis.call('ZRANGE', K.register, 0, 0, 'WITHSCORES')
if not first[2] then return {'quiet'} end
local now = tonumber(A.now_ms)
if tonumber(first[2]) > now - tonumber(A.grace_ms) or redis.call('EXISTS', K.alarm) == 1 then
  return {'quiet'}
end
if not redis.call('SET', K.nudged, '1', 'NX', 'PX', A.grace_ms) then return {'quiet'} end
arm_first(K.register, K.alarm, now)
return {'rung', first[1], first[2]}

-- Rings the worker again for due work it did not hear of: when the register's earliest item fell
-- due more than A.grace_ms before A.now_ms (a worker at work leases what its alarm rang for,
-- which makes it due again later; this is work no alarm will ring any more: the alarm expired
-- while no worker listened, for pub/sub keeps no message for a subscriber that is not there, or
-- a push tier's note set it for later), the alarm is armed to expire at once, and K.nudged is set
-- for the grace, so that however many callers ask, it rings once per grace. Otherwise nothing is
-- written.
-- Answers {'rung', item, due} or {'quiet'}.
local first = redis.call('ZRANGE', K.register, 0, 0, 'WITHSCORES')
if not first[2] then return {'quiet'} end
local now = tonumber(A.now_ms)
if tonumber(first[2]) > now - tonumber(A.grace_ms) then return {'quiet'} end
if not redis.call('SET', K.nudged, '1', 'NX', 'PX', A.grace_ms) then return {'quiet'} end
arm(K.alarm, now, tonumber(first[2]), first[1])
return {'rung', first[1], first[2]}

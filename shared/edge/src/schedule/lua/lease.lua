-- Moves up to A.adopt_max items of the previous release's register (K.previous: `tenant/board`
-- -> due ms, with no kind; a shim for one release, since a rolling deploy's old instances still
-- note there) into K.register as A.kind's, keeping the earlier due time where both hold one.
-- Then leases up to A.max items of K.register due by A.now_ms: each one's due time becomes now +
-- A.lease_ms, so no other worker takes it meanwhile; the caller serves each (which notes it again
-- with its next time, or forgets it), and a failure leaves it due again when the lease ends.
-- Last, arms the alarm for the register's earliest item (at once when more are due).
-- Answers {'leased', item...}.
local old = redis.call('ZRANGE', K.previous, 0, tonumber(A.adopt_max) - 1, 'WITHSCORES')
for i = 1, #old, 2 do
  redis.call('ZADD', K.register, 'LT', old[i + 1], A.kind .. ':' .. old[i])
  redis.call('ZREM', K.previous, old[i])
end
local now = tonumber(A.now_ms)
local due = redis.call('ZRANGEBYSCORE', K.register, '-inf', now, 'LIMIT', 0, tonumber(A.max))
for _, item in ipairs(due) do
  redis.call('ZADD', K.register, now + tonumber(A.lease_ms), item)
end
arm_first(K.register, K.alarm, now)
-- More left to move than one lease moves: the alarm rings again at once (one of them may be due).
if #old / 2 >= tonumber(A.adopt_max) then arm(K.alarm, now, now, 'adopting') end
return {'leased', unpack(due)}

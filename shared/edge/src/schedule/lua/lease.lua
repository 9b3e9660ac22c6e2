-- Leases up to A.max items of K.register due by A.now_ms: each one's due time becomes now +
-- A.lease_ms, so no other worker takes it meanwhile; the caller serves each (which notes it again
-- with its next time, or forgets it), and a failure leaves it due again when the lease ends.
-- Then arms the alarm for the register's earliest item (at once when more are due).
-- Answers {'leased', item...}.
local now = tonumber(A.now_ms)
local due = redis.call('ZRANGEBYSCORE', K.register, '-inf', now, 'LIMIT', 0, tonumber(A.max))
for _, item in ipairs(due) do
  redis.call('ZADD', K.register, now + tonumber(A.lease_ms), item)
end
arm_first(now)
return {'leased', unpack(due)}

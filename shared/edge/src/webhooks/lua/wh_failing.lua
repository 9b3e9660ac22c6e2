-- Marks a subscription as failing since A.now_ms unless it already is, in one round trip.
-- Answers {'failing_since', Unix ms (as a string)}.
-- A damaged time (not a number) is replaced, so it cannot stop every later drain of the tenant.
local since = redis.call('HGET', K.failing, A.subscription)
if not tonumber(since) then
  since = A.now_ms
  redis.call('HSET', K.failing, A.subscription, since)
end
return {'failing_since', since}

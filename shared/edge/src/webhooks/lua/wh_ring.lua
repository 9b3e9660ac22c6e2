-- Rings the webhook deliverer for a board after a drain applied entries, when a subscription
-- wants its events (once until a fan-out starts, or for a second: a ring nobody heard is rung
-- again by the next drain).
-- Answers {'rang'} or {'quiet'}.
if redis.call('EXISTS', K.hooks) == 1 and redis.call('SET', K.hooks_bell, '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', A.ring)
  return {'rang'}
end
return {'quiet'}

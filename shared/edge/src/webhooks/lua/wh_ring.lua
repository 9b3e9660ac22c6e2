-- Rings the webhook deliverer for a board after a drain applied entries, when a subscription
-- wants its events (once until a fan-out starts, or for a second: a ring nobody heard is rung
-- again by the next drain).
-- KEYS: 1 webhooks wanted (flag), 2 webhook bell
-- ARGV: 1 ring payload (`wh:tenant/board`)
-- Returns 1 when it rang.
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('SET', KEYS[2], '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', ARGV[1])
  return 1
end
return 0

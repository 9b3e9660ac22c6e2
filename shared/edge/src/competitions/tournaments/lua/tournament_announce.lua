-- A tournament's announcement (tournament_started or tournament_ended), appended to the board's
-- log once, only while the board's config is the one the decision read (else the caller decides
-- again on the config as it is now). The log is the webhook outbox: when a subscription
-- wants the board, the deliverer is rung as a write rings it. Its keys (`K`) and arguments (`A`)
-- are named where the script is declared (`announce` in ../scripts.rs).
-- Answers {'made', rang} (appended; rang: 1 when it rang the webhook deliverer, else 0),
-- {'before'} (announced before), {'config_changed'}, or {'board_deleted'}.
local cfg = redis.call('GET', K.config)
if not cfg then return {'board_deleted'} end
if cfg ~= A.config_read then return {'config_changed'} end
if redis.call('HSETNX', K.announced, A.which, A.now_ms) == 0 then return {'before'} end
redis.call('XADD', K.events, '*', 'event', A.event)
if redis.call('EXISTS', K.hooks_wanted) == 1 and redis.call('SET', K.hooks_bell, '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', A.hooks_ring)
  return {'made', 1}
end
return {'made', 0}

-- A tournament's announcement (tournament_started or tournament_ended), appended to the board's
-- log once, only while the board's config is the one the decision read (else the caller decides
-- again on the config as it is now). The log is the webhook outbox: when a subscription
-- wants the board, the deliverer is rung as a write rings it.
-- KEYS: 1 the board's config, 2 its announcements (hash), 3 its log, 4 webhooks wanted (flag),
--       5 webhook bell
-- ARGV: 1 'started' or 'ended', 2 the config as the decision read it, 3 the event,
--       4 ring payload (`wh:tenant/board`), 5 now (Unix ms: what the mark holds)
-- Returns {1, rang} appended (rang: 1 when it rang the webhook deliverer, else 0), {2} announced
-- before, {0} the config changed; {} when the board is gone.
local cfg = redis.call('GET', KEYS[1])
if not cfg then return {} end
if cfg ~= ARGV[2] then return {0} end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[5]) == 0 then return {2} end
redis.call('XADD', KEYS[3], '*', 'event', ARGV[3])
if redis.call('EXISTS', KEYS[4]) == 1 and redis.call('SET', KEYS[5], '1', 'NX', 'PX', 1000) then
  redis.call('PUBLISH', 'lb:webhooks', ARGV[4])
  return {1, 1}
end
return {1, 0}

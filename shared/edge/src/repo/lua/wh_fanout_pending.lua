-- How many of the board's log entries the webhook fan-out (group `webhooks`) read and has not
-- acknowledged: 0 without a log or without the group (no fan-out ever read it).
-- KEYS: 1 events
local ok, summary = pcall(redis.call, 'XPENDING', KEYS[1], 'webhooks')
if not ok then return 0 end
return summary[1]

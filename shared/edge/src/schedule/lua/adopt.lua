-- For one release (a rolling deploy's instances of the previous one still note there): moves
-- what the previous release's registers of the inbox sweep and of the webhook deliverer hold
-- into K.register, up to A.max members of each.
-- K.inbox: `tenant/board` -> when a drain noted it (ms): an inbox item, due A.reclaim_ms later,
-- or the later of that and its time here (a drain's latest note stands); with A.reclaim_ms ''
-- (not known) K.inbox is left as it is.
-- K.webhooks: `tenant/board` -> due (ms): a webhook_log item; `wh:<tenant>` -> due: a
-- webhook_messages item (`<tenant>/*`); the earlier of that and its time here stands. Their
-- stamps (K.webhook_stamps) are dropped.
-- Each moved item is stamped as a note stamps it (a worker holding it does not take it for
-- served). When any moved, the alarm is armed for the earliest item, or at once while more are
-- left to move.
-- Answers {'adopted', how many}.
local max = tonumber(A.max)
local moved = 0
local function move(item, due, rule)
  redis.call('ZADD', K.register, rule, due, item)
  redis.call('HSET', K.stamps, item, redis.call('INCR', K.notes))
  moved = moved + 1
end
local inbox = {}
if A.reclaim_ms ~= '' then
  inbox = redis.call('ZRANGE', K.inbox, 0, max - 1, 'WITHSCORES')
  for i = 1, #inbox, 2 do
    move('inbox:' .. inbox[i], tonumber(inbox[i + 1]) + tonumber(A.reclaim_ms), 'GT')
    redis.call('ZREM', K.inbox, inbox[i])
  end
end
local hooks = redis.call('ZRANGE', K.webhooks, 0, max - 1, 'WITHSCORES')
for i = 1, #hooks, 2 do
  local entry = hooks[i]
  local item = 'webhook_log:' .. entry
  if string.sub(entry, 1, 3) == 'wh:' then
    item = 'webhook_messages:' .. string.sub(entry, 4) .. '/*'
  end
  move(item, tonumber(hooks[i + 1]), 'LT')
  redis.call('ZREM', K.webhooks, entry)
  redis.call('HDEL', K.webhook_stamps, entry)
end
local now = tonumber(A.now_ms)
if #inbox / 2 >= max or #hooks / 2 >= max then
  arm(K.alarm, now, now, 'adopting')
elseif moved > 0 then
  arm_first(K.register, K.alarm, now)
end
return {'adopted', moved}

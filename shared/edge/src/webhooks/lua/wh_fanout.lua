-- Reads the board's log for the webhook fan-out through the consumer group `webhooks` (created
-- at A.start_id the first time: the log from the oldest subscription on), first taking back
-- entries a fan-out read but never acknowledged (idle over A.min_idle_ms), else new ones. Clears
-- the bell first, so a write after this read rings again.
-- Answers {'read', entry id, event JSON ('' for an entry trimmed meanwhile), ...}.
redis.call('DEL', K.hooks_bell)
if redis.call('EXISTS', K.events) == 0 then return {'read'} end
pcall(redis.call, 'XGROUP', 'CREATE', K.events, 'webhooks', A.start_id)
local entries = redis.call('XAUTOCLAIM', K.events, 'webhooks', 'fanout', A.min_idle_ms, '0-0',
  'COUNT', A.count)[2]
if #entries == 0 then
  local r = redis.call('XREADGROUP', 'GROUP', 'webhooks', 'fanout', 'COUNT', A.count, 'STREAMS',
    K.events, '>')
  entries = (r and r[1] and r[1][2]) or {}
end
local out = {'read'}
for _, e in ipairs(entries) do
  local event = ''
  local fields = e[2]
  if type(fields) == 'table' then
    for i = 1, #fields, 2 do
      if fields[i] == 'event' then event = fields[i + 1] end
    end
  end
  table.insert(out, e[1])
  table.insert(out, event)
end
return out

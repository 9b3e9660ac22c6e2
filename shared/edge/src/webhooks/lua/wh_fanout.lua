-- Reads the board's log for the webhook fan-out through the consumer group `webhooks` (created
-- at ARGV[1] the first time: the log from the oldest subscription on), first taking back entries
-- a fan-out read but never acknowledged (idle over ARGV[3] ms), else new ones. Clears the bell
-- first, so a write after this read rings again.
-- KEYS: 1 events, 2 webhook bell
-- ARGV: 1 group start id, 2 count, 3 min idle ms
-- Returns a flat list: entry id, event JSON ('' for an entry trimmed meanwhile), ...
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], 'webhooks', ARGV[1])
local entries = redis.call('XAUTOCLAIM', KEYS[1], 'webhooks', 'fanout', ARGV[3], '0-0', 'COUNT', ARGV[2])[2]
if #entries == 0 then
  local r = redis.call('XREADGROUP', 'GROUP', 'webhooks', 'fanout', 'COUNT', ARGV[2], 'STREAMS', KEYS[1], '>')
  entries = (r and r[1] and r[1][2]) or {}
end
local out = {}
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

-- Hands a drain up to ARGV[3] inbox entries through the consumer group: first entries another
-- drain left pending longer than ARGV[4] ms (it died mid-batch: XAUTOCLAIM), else new ones.
-- Clears the board's bell flag first: a submission from now on rings the doorbell again.
-- KEYS: 1 inbox, 2 bell flag
-- ARGV: 1 group, 2 consumer, 3 count, 4 min idle ms
-- Returns a flat list: per entry its id, delivery count, field count, then the fields and values.
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local made = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0')
if type(made) == 'table' and made.err and not string.find(made.err, 'BUSYGROUP') then
  return redis.error_reply(made.err)
end
local out = {}
local function emit(entry, deliveries)
  table.insert(out, entry[1])
  table.insert(out, deliveries)
  table.insert(out, #entry[2])
  for _, v in ipairs(entry[2]) do table.insert(out, v) end
end
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4], '0-0', 'COUNT', ARGV[3])
if #claimed[2] > 0 then
  for _, entry in ipairs(claimed[2]) do
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
    emit(entry, (p[1] and p[1][4]) or 2)
  end
  return out
end
local fresh = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
  'STREAMS', KEYS[1], '>')
if fresh then
  for _, entry in ipairs(fresh[1][2]) do emit(entry, 1) end
end
return out

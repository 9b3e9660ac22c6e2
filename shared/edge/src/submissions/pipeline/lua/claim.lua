-- Hands a drain up to A.count inbox entries through the consumer group: first entries another
-- drain left pending longer than A.min_idle_ms (it died mid-batch: XAUTOCLAIM), else new ones.
-- Clears the board's bell flag first: a submission from now on rings the doorbell again.
-- Answers {'claimed', then per entry its id, delivery count, field count, then the fields and
-- values}.
redis.call('DEL', K.bell)
if redis.call('EXISTS', K.inbox) == 0 then return {'claimed'} end
local made = redis.pcall('XGROUP', 'CREATE', K.inbox, A.group, '0')
if type(made) == 'table' and made.err and not string.find(made.err, 'BUSYGROUP') then
  return redis.error_reply(made.err)
end
local out = {'claimed'}
local function emit(entry, deliveries)
  table.insert(out, entry[1])
  table.insert(out, deliveries)
  table.insert(out, #entry[2])
  for _, v in ipairs(entry[2]) do table.insert(out, v) end
end
local claimed = redis.call('XAUTOCLAIM', K.inbox, A.group, A.consumer, A.min_idle_ms, '0-0', 'COUNT', A.count)
if #claimed[2] > 0 then
  for _, entry in ipairs(claimed[2]) do
    local p = redis.call('XPENDING', K.inbox, A.group, entry[1], entry[1], 1)
    emit(entry, (p[1] and p[1][4]) or 2)
  end
  return out
end
local fresh = redis.call('XREADGROUP', 'GROUP', A.group, A.consumer, 'COUNT', A.count,
  'STREAMS', K.inbox, '>')
if fresh then
  for _, entry in ipairs(fresh[1][2]) do emit(entry, 1) end
end
return out

-- Counts one conversion source (a score submission on a board, or a posted event) for a unit
-- in the experiment's metrics fed by that source, in the arm the unit was exposed to.
-- K.units holds '<metric>\31<unit>' -> value, K.seen '<unit>\31<event id>'; A.event_id is ''
-- for score submissions (they are counted once by the submission's own idempotency).
-- Answers {'counted', arm}, {'duplicate'} (an event seen before), {'not_running'} (stopped/
-- outside the window/unknown) or {'unexposed'} (the unit was never exposed).
local m = redis.call('HMGET', K.meta, 'start_ms', 'end_ms', 'stopped_ms', 'def')
local now = tonumber(A.now_ms)
if not m[1] or m[3] or now < tonumber(m[1]) or (m[2] ~= '' and now >= tonumber(m[2])) then
  return {'not_running'}
end
if A.event_id ~= '' and redis.call('SADD', K.seen, A.unit .. '\31' .. A.event_id) == 0 then
  return {'duplicate'}
end
local arm = redis.call('HGET', K.assign, A.unit)
if not arm then
  redis.call('HINCRBY', K.counters, 'unexposed', 1)
  return {'unexposed'}
end
local value = tonumber(A.value)
for _, metric in ipairs(cjson.decode(m[4]).metrics) do
  if metric[A.source] == A.source_name then
    local unit = metric.name .. '\31' .. A.unit
    if metric.kind == 'conversion' then
      local t = metric.threshold
      if (t == nil or t == cjson.null or value >= t)
          and redis.call('HSETNX', K.units, unit, 1) == 1 then
        redis.call('HINCRBY', K.counters, 'c:' .. metric.name .. ':' .. arm, 1)
      end
    else
      local old = tonumber(redis.call('HGET', K.units, unit))
      if old == nil then
        redis.call('HINCRBY', K.counters, 'c:' .. metric.name .. ':' .. arm, 1)
        old = 0
      end
      local new = old + value
      redis.call('HSET', K.units, unit, string.format('%.17g', new))
      redis.call('HINCRBYFLOAT', K.counters, 's:' .. metric.name .. ':' .. arm, string.format('%.17g', value))
      redis.call('HINCRBYFLOAT', K.counters, 'q:' .. metric.name .. ':' .. arm,
        string.format('%.17g', new * new - old * old))
    end
  end
end
return {'counted', arm}

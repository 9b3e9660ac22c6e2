-- Counts one conversion source (a score submission on a board, or a posted event) for a unit
-- in the experiment's metrics fed by that source, in the arm the unit was exposed to.
-- KEYS: 1 meta hash, 2 assignments hash, 3 counters hash, 4 unit values hash
--       ('<metric>\31<unit>' -> value), 5 seen events set ('<unit>\31<event id>')
-- ARGV: 1 unit, 2 now ms, 3 'board' | 'event', 4 board or event name, 5 value (number),
--       6 event id ('' for score submissions: they are counted once by the submission's own
--       idempotency)
-- Returns {1, arm}, {0} duplicate event, {-1} not counting (stopped/outside the window/
-- unknown), {-2} the unit was never exposed.
local m = redis.call('HMGET', KEYS[1], 'start_ms', 'end_ms', 'stopped_ms', 'def')
local now = tonumber(ARGV[2])
if not m[1] or m[3] or now < tonumber(m[1]) or (m[2] ~= '' and now >= tonumber(m[2])) then
  return {-1}
end
if ARGV[6] ~= '' and redis.call('SADD', KEYS[5], ARGV[1] .. '\31' .. ARGV[6]) == 0 then
  return {0}
end
local arm = redis.call('HGET', KEYS[2], ARGV[1])
if not arm then
  redis.call('HINCRBY', KEYS[3], 'unexposed', 1)
  return {-2}
end
local value = tonumber(ARGV[5])
for _, metric in ipairs(cjson.decode(m[4]).metrics) do
  if metric[ARGV[3]] == ARGV[4] then
    local unit = metric.name .. '\31' .. ARGV[1]
    if metric.kind == 'conversion' then
      local t = metric.threshold
      if (t == nil or t == cjson.null or value >= t)
          and redis.call('HSETNX', KEYS[4], unit, 1) == 1 then
        redis.call('HINCRBY', KEYS[3], 'c:' .. metric.name .. ':' .. arm, 1)
      end
    else
      local old = tonumber(redis.call('HGET', KEYS[4], unit))
      if old == nil then
        redis.call('HINCRBY', KEYS[3], 'c:' .. metric.name .. ':' .. arm, 1)
        old = 0
      end
      local new = old + value
      redis.call('HSET', KEYS[4], unit, string.format('%.17g', new))
      redis.call('HINCRBYFLOAT', KEYS[3], 's:' .. metric.name .. ':' .. arm, string.format('%.17g', value))
      redis.call('HINCRBYFLOAT', KEYS[3], 'q:' .. metric.name .. ':' .. arm,
        string.format('%.17g', new * new - old * old))
    end
  end
end
return {1, arm}

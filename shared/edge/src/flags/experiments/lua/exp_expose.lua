-- Counts exposures: for each experiment, the unit's first resolution to one of its arms while
-- it runs. One call for every experiment flag an evaluation resolved (one round trip).
-- KEYS: per experiment 3 keys: meta hash, assignments hash (unit -> arm), counters hash
-- ARGV: 1 unit (targeting key), 2 now ms, then per experiment the arm it resolved to
-- Returns per experiment: 1 new exposure, 0 already exposed (same arm), 2 crossover (already
-- exposed to another arm), -1 not counting (unknown, stopped, outside its window, not an arm).
local out = {}
local now = tonumber(ARGV[2])
for i = 1, #KEYS / 3 do
  local meta, assign, counters = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local arm = ARGV[2 + i]
  local m = redis.call('HMGET', meta, 'start_ms', 'end_ms', 'stopped_ms', 'arms')
  local r = -1
  if m[1] and not m[3] and now >= tonumber(m[1]) and (m[2] == '' or now < tonumber(m[2]))
      and string.find(m[4], '|' .. arm .. '|', 1, true) then
    if redis.call('HSETNX', assign, ARGV[1], arm) == 1 then
      redis.call('HINCRBY', counters, 'x:' .. arm, 1)
      r = 1
    elseif redis.call('HGET', assign, ARGV[1]) == arm then
      r = 0
    else
      redis.call('HINCRBY', counters, 'crossovers', 1)
      r = 2
    end
  end
  out[i] = r
end
return out

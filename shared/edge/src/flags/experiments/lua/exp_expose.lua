-- Counts exposures: for each experiment, the unit's first resolution to one of its arms while
-- it runs. One call for every experiment flag an evaluation resolved (one round trip).
-- The keys (from KEYS[K_MORE]) are 3 per experiment: meta hash, assignments hash (unit -> arm),
-- counters hash; the arguments after the named ones (from ARGV[A_MORE]) the arm each resolved to.
-- Answers {'exposures', then per experiment: 'new' (a new exposure), 'seen' (already exposed,
-- same arm), 'crossover' (already exposed to another arm) or 'not_counting' (unknown, stopped,
-- outside its window, not an arm)}.
local out = {'exposures'}
local now = tonumber(A.now_ms)
for i = 1, (#KEYS - K_MORE + 1) / 3 do
  local first = K_MORE + 3 * (i - 1)
  local meta, assign, counters = KEYS[first], KEYS[first + 1], KEYS[first + 2]
  local arm = ARGV[A_MORE + i - 1]
  local m = redis.call('HMGET', meta, 'start_ms', 'end_ms', 'stopped_ms', 'arms')
  local r = 'not_counting'
  if m[1] and not m[3] and now >= tonumber(m[1]) and (m[2] == '' or now < tonumber(m[2]))
      and string.find(m[4], '|' .. arm .. '|', 1, true) then
    if redis.call('HSETNX', assign, A.unit, arm) == 1 then
      redis.call('HINCRBY', counters, 'x:' .. arm, 1)
      r = 'new'
    elseif redis.call('HGET', assign, A.unit) == arm then
      r = 'seen'
    else
      redis.call('HINCRBY', counters, 'crossovers', 1)
      r = 'crossover'
    end
  end
  out[1 + i] = r
end
return out

-- The alarm's arming, a prelude of the scripts of the schedule's registers (its own and each
-- push tier's), which pass their keys (K.register, K.alarm).
-- The alarm (key `alarm`) is set to expire at `due` (Unix ms; at once when that has passed),
-- unless it expires sooner already. Its expiry (a keyspace event) rings the worker, which serves
-- every register.
local function arm(alarm, now, due, value)
  local wait = math.max(math.ceil(due - now), 1)
  local left = redis.call('PTTL', alarm)
  if left < 0 or left > wait then
    redis.call('SET', alarm, value, 'PX', wait)
  end
end

-- Arms `alarm` for the earliest entry of `register`, whose scores are due times, if any.
local function arm_first(register, alarm, now)
  local first = redis.call('ZRANGE', register, 0, 0, 'WITHSCORES')
  if first[2] then arm(alarm, now, tonumber(first[2]), first[1]) end
end

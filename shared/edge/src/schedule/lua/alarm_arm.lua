-- The alarm's arming, a prelude of the scripts of every register that shares it (the schedule's
-- and each push tier's, the inbox sweep's, the webhook deliverer's; each script names its
-- register KEYS[1] and the alarm KEYS[2]): it is set to expire at `due` (Unix ms; at once when
-- that has passed), unless it expires sooner already. Its expiry (a keyspace event) rings the
-- worker, which serves every register.
local function arm(now, due, value)
  local wait = math.max(due - now, 1)
  local left = redis.call('PTTL', KEYS[2])
  if left < 0 or left > wait then
    redis.call('SET', KEYS[2], value, 'PX', wait)
  end
end

-- Arms it for the earliest entry of the register KEYS[1], whose scores are due times, if any.
local function arm_first(now)
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if first[2] then arm(now, tonumber(first[2]), first[1]) end
end

-- The sweep register's alarm (a prelude of the register's scripts, which name KEYS[1] the
-- register and KEYS[2] the alarm): set to expire when the earliest entry falls due (its score +
-- the reclaim time), unless it expires sooner already; its expiry (a keyspace event) rings the
-- worker.
local function arm(now, reclaim)
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if first[2] then
    local wait = math.max(tonumber(first[2]) + reclaim - now, 1)
    local left = redis.call('PTTL', KEYS[2])
    if left < 0 or left > wait then
      redis.call('SET', KEYS[2], first[1], 'PX', wait)
    end
  end
end

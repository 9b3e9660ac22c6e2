-- Writes folded log events into a projection under a key prefix (a replay's fresh keys, a
-- time-travel projection). Keys under the prefix share the board's hash tag.
-- The ops follow the named arguments (from ARGV[A_MORE]):
--   'S', period                                      the period has data
--   'P', period, player, record, member, rank value  set a player's entry
--   'D', period or '*', player                       remove a player's entry (from every period)
-- Answers {'folded', the number of ops applied}.
local prefix, ttl = A.prefix, A.ttl_ms
local touched = {}
local function keys_of(p)
  local r, m, z = prefix .. 'r:' .. p, prefix .. 'm:' .. p, prefix .. 'z:' .. p
  touched[r], touched[m], touched[z] = true, true, true
  return r, m, z
end
local n, a = 0, A_MORE
while a <= #ARGV do
  local op = ARGV[a]
  if op == 'S' then
    redis.call('SADD', K.periods, ARGV[a + 1])
    touched[K.periods] = true
    a = a + 2
  elseif op == 'P' then
    local r, m, z = keys_of(ARGV[a + 1])
    local player, member = ARGV[a + 2], ARGV[a + 4]
    local old = redis.call('HGET', m, player)
    if old and old ~= member then redis.call('ZREM', z, old) end
    redis.call('HSET', r, player, ARGV[a + 3])
    redis.call('HSET', m, player, member)
    redis.call('ZADD', z, ARGV[a + 5], member)
    a = a + 6
  elseif op == 'D' then
    local periods = {ARGV[a + 1]}
    if ARGV[a + 1] == '*' then periods = redis.call('SMEMBERS', K.periods) end
    for _, p in ipairs(periods) do
      local r, m, z = keys_of(p)
      local member = redis.call('HGET', m, ARGV[a + 2])
      if member then
        redis.call('ZREM', z, member)
        redis.call('HDEL', r, ARGV[a + 2])
        redis.call('HDEL', m, ARGV[a + 2])
      end
    end
    a = a + 3
  else
    return redis.error_reply('unknown fold op ' .. tostring(op))
  end
  n = n + 1
end
if ttl ~= '0' then
  for k in pairs(touched) do redis.call('PEXPIRE', k, ttl) end
end
return {'folded', n}

local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return {0} end
if KEYS[7] and not redis.call('SET', KEYS[7], '1', 'NX', 'PX', '604800000') then return {2} end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and old ~= ARGV[4] then redis.call('ZREM', KEYS[3], old) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', '100000', '*', 'event', ARGV[6])
redis.call('SADD', KEYS[5], ARGV[8])
if ARGV[7] ~= '0' then
  for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], ARGV[7]) end
end
local version = redis.call('INCR', KEYS[6])
local better = redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. ARGV[5])
local total = redis.call('ZCARD', KEYS[3])
return {1, better, total, id, version}

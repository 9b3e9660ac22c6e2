local prefix = ARGV[1]
local periods = redis.call('SMEMBERS', KEYS[2])
for _, p in ipairs(periods) do
  redis.call('DEL', prefix .. 'z:' .. p, prefix .. 'r:' .. p, prefix .. 'm:' .. p)
end
local found = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('DEL', KEYS[5])
for _, pattern in ipairs({'idem:*', 'applied:*'}) do
  local cursor = '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', prefix .. pattern, 'COUNT', 1000)
    cursor = r[1]
    if #r[2] > 0 then redis.call('DEL', unpack(r[2])) end
  until cursor == '0'
end
return found

-- Deletes a board and everything under its key prefix: config, periods, log, inbox, dead letters,
-- snapshots, idempotency keys.
-- KEYS: 1 config, 2 periods, 3 events, 4 inbox, 5 version. ARGV: 1 the board's key prefix.
-- Returns 1 if the board existed.
local prefix = ARGV[1]
for _, p in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('DEL', prefix .. 'z:' .. p, prefix .. 'r:' .. p, prefix .. 'm:' .. p)
end
local found = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local cursor = '0'
repeat
  local r = redis.call('SCAN', cursor, 'MATCH', prefix .. '*', 'COUNT', 1000)
  cursor = r[1]
  if #r[2] > 0 then redis.call('DEL', unpack(r[2])) end
until cursor == '0'
return found

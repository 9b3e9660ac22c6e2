local start = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
if ARGV[3] then
  local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[4])
  local pos = redis.call('ZRANK', KEYS[1], ARGV[4])
  if added == 1 then
    redis.call('ZREM', KEYS[1], ARGV[4])
    start = pos
  else
    start = pos + 1
  end
end
local total = redis.call('ZCARD', KEYS[1])
local out = {total, start}
if count <= 0 then return out end
local rows = redis.call('ZRANGE', KEYS[1], start, start + count - 1, 'WITHSCORES')
if #rows == 0 then return out end
table.insert(out, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. rows[2]))
for i = 1, #rows, 2 do
  local rec = redis.call('HGET', KEYS[2], string.sub(rows[i], 14))
  table.insert(out, rows[i])
  table.insert(out, rows[i + 1])
  table.insert(out, rec or '')
end
return out

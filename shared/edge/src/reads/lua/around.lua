local member = redis.call('HGET', KEYS[3], ARGV[1])
local total = redis.call('ZCARD', KEYS[1])
if not member then return {total, -1} end
local pos = redis.call('ZRANK', KEYS[1], member)
if not pos then return {total, -1} end
local radius = tonumber(ARGV[2])
local start = pos - radius
if start < 0 then start = 0 end
local rows = redis.call('ZRANGE', KEYS[1], start, pos + radius, 'WITHSCORES')
local out = {total, start, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. rows[2])}
for i = 1, #rows, 2 do
  local rec = redis.call('HGET', KEYS[2], string.sub(rows[i], 14))
  table.insert(out, rows[i])
  table.insert(out, rows[i + 1])
  table.insert(out, rec or '')
end
return out

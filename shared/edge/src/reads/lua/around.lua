local member = redis.call('HGET', K.members, A.player)
local total = redis.call('ZCARD', K.ranks)
if not member then return {'absent'} end
local pos = redis.call('ZRANK', K.ranks, member)
if not pos then return {'absent'} end
local radius = tonumber(A.radius)
local start = pos - radius
if start < 0 then start = 0 end
local rows = redis.call('ZRANGE', K.ranks, start, pos + radius, 'WITHSCORES')
local out = {'found', total, start, redis.call('ZCOUNT', K.ranks, '-inf', '(' .. rows[2])}
for i = 1, #rows, 2 do
  local rec = redis.call('HGET', K.records, string.sub(rows[i], 14))
  table.insert(out, rows[i])
  table.insert(out, rows[i + 1])
  table.insert(out, rec or '')
end
return out

local start = tonumber(A.start)
local count = tonumber(A.count)
if A.after_value ~= '' then
  local added = redis.call('ZADD', K.ranks, 'NX', A.after_value, A.after_member)
  local pos = redis.call('ZRANK', K.ranks, A.after_member)
  if added == 1 then
    redis.call('ZREM', K.ranks, A.after_member)
    start = pos
  else
    start = pos + 1
  end
end
local total = redis.call('ZCARD', K.ranks)
local out = {'page', total, start}
if count <= 0 then return out end
local rows = redis.call('ZRANGE', K.ranks, start, start + count - 1, 'WITHSCORES')
if #rows == 0 then return out end
table.insert(out, redis.call('ZCOUNT', K.ranks, '-inf', '(' .. rows[2]))
for i = 1, #rows, 2 do
  local rec = redis.call('HGET', K.records, string.sub(rows[i], 14))
  table.insert(out, rows[i])
  table.insert(out, rows[i + 1])
  table.insert(out, rec or '')
end
return out

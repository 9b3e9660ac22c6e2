-- Read only: the items of kind A.kind that are due (their time has passed, A.now_ms, and no
-- worker holds them), among the first A.scan items due of K.register; the first A.max of them
-- with when each fell due.
-- Answers {'overdue', how many, item, due, ...}.
local out = {'overdue', 0}
local prefix = A.kind .. ':'
local due = redis.call('ZRANGEBYSCORE', K.register, '-inf', A.now_ms, 'WITHSCORES', 'LIMIT', 0, tonumber(A.scan))
for i = 1, #due, 2 do
  if string.sub(due[i], 1, #prefix) == prefix then
    out[2] = out[2] + 1
    if out[2] <= tonumber(A.max) then
      table.insert(out, due[i])
      table.insert(out, due[i + 1])
    end
  end
end
return out

-- A page of a stream in a shape that survives the flattening of nested replies.
-- Answers {'entries', then per entry: id, field count, then the fields and values}.
local out = {'entries'}
for _, entry in ipairs(redis.call('XRANGE', K.stream, A.start, A.stop, 'COUNT', A.count)) do
  table.insert(out, entry[1])
  table.insert(out, #entry[2])
  for _, v in ipairs(entry[2]) do table.insert(out, v) end
end
return out

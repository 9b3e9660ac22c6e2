-- A page of a stream in a shape that survives the flattening of nested replies.
-- KEYS: 1 stream. ARGV: 1 start, 2 end, 3 count.
-- Returns per entry: id, field count, then the fields and values.
local out = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])) do
  table.insert(out, entry[1])
  table.insert(out, #entry[2])
  for _, v in ipairs(entry[2]) do table.insert(out, v) end
end
return out

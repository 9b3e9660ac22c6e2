-- Entries of a stream delivered to its group ARGV[1] longer than ARGV[2] ms ago and not
-- acknowledged (a board inbox's drain, or its log's webhook fan-out, that died), counted up to
-- ARGV[3].
-- KEYS: 1 the stream
-- ARGV: 1 group, 2 idle ms, 3 most counted
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[2], '-', '+', ARGV[3])
if type(p) == 'table' and p.err then
  if string.find(p.err, 'NOGROUP') then return 0 end
  return redis.error_reply(p.err)
end
return #p

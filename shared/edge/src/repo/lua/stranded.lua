-- Inbox entries delivered to a drain longer than ARGV[2] ms ago and not acknowledged (the drain
-- died), counted up to ARGV[3].
-- KEYS: 1 inbox
-- ARGV: 1 group, 2 idle ms, 3 most counted
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[2], '-', '+', ARGV[3])
if type(p) == 'table' and p.err then
  if string.find(p.err, 'NOGROUP') then return 0 end
  return redis.error_reply(p.err)
end
return #p

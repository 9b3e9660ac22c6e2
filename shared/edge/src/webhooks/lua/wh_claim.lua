-- Takes up to ARGV[3] webhook messages due by ARGV[1] and leases them until ARGV[2] (their due
-- time moves there), so no other drain sends them meanwhile; a drain that dies leaves them due
-- again when the lease ends.
-- KEYS: 1 due (zset)
-- ARGV: 1 now ms, 2 lease end ms, 3 count
-- Returns the message ids.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
end
return ids

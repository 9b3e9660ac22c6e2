-- Takes up to A.count webhook messages due by A.now_ms and leases them until A.lease_until_ms
-- (their due time moves there), so no other drain sends them meanwhile; a drain that dies leaves
-- them due again when the lease ends.
-- Answers {'leased', message ids...}.
local ids = redis.call('ZRANGEBYSCORE', K.due, '-inf', A.now_ms, 'LIMIT', 0, tonumber(A.count))
for _, id in ipairs(ids) do
  redis.call('ZADD', K.due, 'XX', A.lease_until_ms, id)
end
table.insert(ids, 1, 'leased')
return ids

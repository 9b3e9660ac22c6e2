-- Replaces a tenant's flag document if its version is still the one the writer read
-- (A.expected '' = any).
-- Answers {'written', new version} or {'stale', current version} when the expected one is stale.
local current = tonumber(redis.call('HGET', K.flags, 'version') or '0')
if A.expected ~= '' and tonumber(A.expected) ~= current then
  return {'stale', current}
end
redis.call('HSET', K.flags, 'doc', A.doc)
return {'written', redis.call('HINCRBY', K.flags, 'version', 1)}

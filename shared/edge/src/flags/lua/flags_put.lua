-- Replaces a tenant's flag document if its version is still the one the writer read.
-- KEYS: 1 the tenant's flags hash {doc, version}
-- ARGV: 1 expected version ('' = any), 2 the document (canonical JSON)
-- Returns {1, new version} or {0, current version} when the expected one is stale.
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= current then
  return {0, current}
end
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
return {1, redis.call('HINCRBY', KEYS[1], 'version', 1)}

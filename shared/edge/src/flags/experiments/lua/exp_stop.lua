-- Stops an experiment: from now on nothing is counted. Idempotent.
-- KEYS: 1 meta hash, 2 running index (hash id -> flag)
-- ARGV: 1 id, 2 now ms
-- Returns {1, stopped ms} when this call stopped it, {0, stopped ms} when it already was,
-- {-1} when there is no such experiment.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local at = redis.call('HGET', KEYS[1], 'stopped_ms')
if at then
  return {0, tonumber(at)}
end
redis.call('HSET', KEYS[1], 'stopped_ms', ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
return {1, tonumber(ARGV[2])}

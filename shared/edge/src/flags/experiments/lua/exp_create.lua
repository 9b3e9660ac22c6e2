-- Declares an experiment if its id is free and its flag has no running experiment.
-- KEYS: 1 the tenant's experiment index (hash id -> definition), 2 the running index
--       (hash id -> flag), 3 the experiment's meta hash
-- ARGV: 1 id, 2 definition JSON, 3 flag, 4 start ms, 5 end ms ('' = none), 6 '|arm|arm|',
--       7 the most experiments a tenant may keep
-- Returns {1} or {0, reason}.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return {0, 'exists'}
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[7]) then
  return {0, 'quota'}
end
for _, flag in pairs(redis.call('HVALS', KEYS[2])) do
  if flag == ARGV[3] then
    return {0, 'flag-busy'}
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'def', ARGV[2], 'start_ms', ARGV[4], 'end_ms', ARGV[5], 'arms', ARGV[6])
return {1}

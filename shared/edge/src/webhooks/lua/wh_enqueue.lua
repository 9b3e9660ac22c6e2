-- A new webhook message: stored once (SET NX), due at ARGV[3], listed in its subscription's log
-- (newest ARGV[6] kept).
-- KEYS: 1 message, 2 due (zset), 3 the subscription's log (zset)
-- ARGV: 1 message JSON, 2 message id, 3 due ms, 4 created ms, 5 TTL secs, 6 log length kept
-- Returns 1 when stored, 0 when a message with this id exists.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[5]) then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[6]) + 1))
return 1

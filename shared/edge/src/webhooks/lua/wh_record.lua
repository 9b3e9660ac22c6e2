-- Stores a webhook message after an attempt (or a redrive): due again at ARGV[3], or off the due
-- set when ARGV[3] is empty (delivered or failed).
-- KEYS: 1 message, 2 due (zset)
-- ARGV: 1 message JSON, 2 message id, 3 next due ms or "", 4 TTL secs
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
return 1

-- Marks a subscription as failing since ARGV[2] unless it already is, in one round trip.
-- KEYS: 1 failing hash (subscription id -> Unix ms)
-- ARGV: 1 subscription id, 2 now (Unix ms)
-- Returns since when it has been failing (Unix ms, as a string).
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])

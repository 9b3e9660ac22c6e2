-- Counts submissions outside a write in a minute bucket of the board's stats: a held or
-- rejected one, or the earlier members of a burst flagged when it completed.
-- KEYS: 1 the minute's counters, 2 its players
-- ARGV: 1 counter, 2 how many, 3 player counted among the minute's players ('' = none),
--       4 TTL seconds
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[3] ~= '' then
  redis.call('PFADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return 1

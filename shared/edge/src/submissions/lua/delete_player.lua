-- Removes a player's entry from a period with its record_deleted event.
-- KEYS: 1 records, 2 members, 3 sorted set, 4 events, 5 version, 6 config, 7 the player's
-- cohort's sorted set (or a placeholder). ARGV: 1 player, 2 event JSON, 3 '1' when the board
-- has cohorts (the entry leaves KEYS[7] too; the placement stays for the period).
-- Returns the board's new version, 0 when the player had no entry, or -1 when the board is gone
-- (nothing is written: its log and version must not come back after its delete).
if redis.call('EXISTS', KEYS[6]) == 0 then return -1 end
local member = redis.call('HGET', KEYS[2], ARGV[1])
if not member then return 0 end
redis.call('ZREM', KEYS[3], member)
if ARGV[3] == '1' then redis.call('ZREM', KEYS[7], member) end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[4], '*', 'event', ARGV[2])
return redis.call('INCR', KEYS[5])

-- Notes work the webhook deliverer owes: ARGV[1] is a board (`tenant/board`: a write rang the
-- deliverer, and no fan-out may have heard it) or a tenant's messages (`wh:<tenant>`: one waits
-- until a time), due at ARGV[2]. The earliest due time stands. Every note stamps the entry with
-- a number never given before (KEYS[4] counts them), so a sweep that leased the entry before
-- this note does not remove it (hooks_done.lua). Then the alarm is armed (alarm_arm.lua) for the
-- earliest entry.
-- KEYS: 1 register (sorted set: entry -> when due, Unix ms), 2 alarm, 3 stamps (hash: entry ->
--       its last note's number), 4 the count of notes ever made
-- ARGV: 1 entry, 2 due (Unix ms), 3 now (Unix ms)
local due = tonumber(ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], redis.call('INCR', KEYS[4]))
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not old or tonumber(old) > due then
  redis.call('ZADD', KEYS[1], due, ARGV[1])
end
arm_first(KEYS[1], KEYS[2], tonumber(ARGV[3]))
return 1

-- Creates a board: its config, its version counter and its board_created event (the log's first).
-- KEYS: 1 config, 2 version, 3 events, 4 tombstone. ARGV: 1 config JSON, 2 initial version,
-- 3 event JSON.
-- Returns 0 when the board exists, -1 while an earlier board of this id is still being swept
-- (its tombstone is there: the caller sweeps, then creates), 1 when created.
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[3], '*', 'event', ARGV[3])
return 1

-- Accepts an asynchronous submission: appends its score_submitted event to the board's log and to
-- its inbox (what the drain applies) and, with an Idempotency-Key, stores the outcome in the same
-- step; then rings the doorbell unless one is already pending (a drain clears the bell flag when
-- it starts, so a burst of submissions rings once per drain, not once per submission; the flag
-- expires, so a lost doorbell only delays entries until the next submission).
-- KEYS: 1 inbox, 2 idempotency key (or a placeholder), 3 events, 4 bell flag, 5 config
-- ARGV: 1 event JSON, 2 doorbell channel, 3 doorbell payload, 4 idempotency '1'/'0',
--       5 our reservation, 6 outcome prefix, 7 outcome TTL ms, 8 bell flag lifetime ms
-- Returns {3} when the idempotency key is held by another attempt, {4} when the board was deleted
-- since the caller read it (nothing is written), else {1, inbox entry id}.
if redis.call('EXISTS', KEYS[5]) == 0 then return {4} end
if ARGV[4] == '1' then
  local held = redis.call('GET', KEYS[2])
  if held and held ~= ARGV[5] then return {3} end
end
local id = redis.call('XADD', KEYS[1], '*', 'event', ARGV[1])
redis.call('XADD', KEYS[3], '*', 'event', ARGV[1])
if ARGV[4] == '1' then redis.call('SET', KEYS[2], ARGV[6] .. id, 'PX', ARGV[7]) end
if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[8]) then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return {1, id}

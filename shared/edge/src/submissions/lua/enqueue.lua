-- Accepts an asynchronous submission: appends its score_submitted event to the board's log and to
-- its inbox (what the drain applies) and, with an Idempotency-Key, stores the outcome in the same
-- step; then rings the doorbell unless one is already pending (a drain clears the bell flag when
-- it starts, so a burst of submissions rings once per drain, not once per submission; the flag
-- expires, so a lost doorbell only delays entries until the next submission). Its keys (`K`) and
-- arguments (`A`) are named where the script is declared (`enqueue` in ../inbox.rs).
-- Answers {'board_deleted'} (the board was deleted since the caller read it: nothing is
-- written), {'key_locked'} (the idempotency key is held by another attempt), or
-- {'accepted', inbox entry id, heard}: heard is how many subscribers this server delivered the
-- doorbell to (-1: none was rung, one was pending). 0 means no worker heard it here: on one
-- server, none listens (one restarting); on a cluster, the worker may listen on another node
-- (PUBLISH counts this node's subscribers only).
if redis.call('EXISTS', K.config) == 0 then return {'board_deleted'} end
if A.keyed == '1' then
  local held = redis.call('GET', K.idempotency)
  if held and held ~= A.reservation then return {'key_locked'} end
end
local id = redis.call('XADD', K.inbox, '*', 'event', A.event)
redis.call('XADD', K.events, '*', 'event', A.event)
if A.keyed == '1' then
  redis.call('SET', K.idempotency, A.outcome_prefix .. id, 'PX', A.outcome_ttl_ms)
end
local heard = -1
if redis.call('SET', K.bell, '1', 'NX', 'PX', A.bell_ms) then
  heard = redis.call('PUBLISH', A.doorbell, A.board_ref)
end
return {'accepted', id, heard}

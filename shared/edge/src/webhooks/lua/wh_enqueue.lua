-- A new webhook message: stored once (SET NX), due at A.due_ms, listed in its subscription's log
-- (the newest A.log_kept kept).
-- Answers {'stored'}, or {'exists'} when a message with this id exists.
if not redis.call('SET', K.message, A.json, 'NX', 'EX', A.ttl_secs) then
  return {'exists'}
end
redis.call('ZADD', K.due, A.due_ms, A.id)
redis.call('ZADD', K.log, A.created_ms, A.id)
redis.call('ZREMRANGEBYRANK', K.log, 0, -(tonumber(A.log_kept) + 1))
return {'stored'}

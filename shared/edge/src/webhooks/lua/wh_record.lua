-- Stores a webhook message after an attempt (or a redrive): due again at A.next_ms, or off the
-- due set when A.next_ms is empty (delivered or failed).
-- Answers {'recorded'}.
redis.call('SET', K.message, A.json, 'EX', A.ttl_secs)
if A.next_ms == '' then
  redis.call('ZREM', K.due, A.id)
else
  redis.call('ZADD', K.due, A.next_ms, A.id)
end
return {'recorded'}

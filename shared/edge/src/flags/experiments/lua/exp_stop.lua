-- Stops an experiment: from now on nothing is counted. Idempotent.
-- Answers {'stopped', stopped ms} when this call stopped it, {'already_stopped', stopped ms}
-- when it already was, {'absent'} when there is no such experiment.
if redis.call('EXISTS', K.meta) == 0 then
  return {'absent'}
end
local at = redis.call('HGET', K.meta, 'stopped_ms')
if at then
  return {'already_stopped', tonumber(at)}
end
redis.call('HSET', K.meta, 'stopped_ms', A.now_ms)
redis.call('HDEL', K.running, A.id)
return {'stopped', tonumber(A.now_ms)}

-- Declares an experiment if its id is free and its flag has no running experiment (and the
-- tenant keeps fewer than A.max_experiments).
-- Answers {'created'}, or {'exists'}, {'quota'} or {'flag_busy'} when refused.
if redis.call('HEXISTS', K.index, A.id) == 1 then
  return {'exists'}
end
if redis.call('HLEN', K.index) >= tonumber(A.max_experiments) then
  return {'quota'}
end
for _, flag in pairs(redis.call('HVALS', K.running)) do
  if flag == A.flag then
    return {'flag_busy'}
  end
end
redis.call('HSET', K.index, A.id, A.def)
redis.call('HSET', K.running, A.id, A.flag)
redis.call('DEL', K.meta)
redis.call('HSET', K.meta, 'def', A.def, 'start_ms', A.start_ms, 'end_ms', A.end_ms, 'arms', A.arms)
return {'created'}

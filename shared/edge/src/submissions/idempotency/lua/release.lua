-- Releases an Idempotency-Key reservation if it is still ours (nothing was applied).
-- Answers {'released'}, or {'not_held'} when the key holds something else (or nothing).
if redis.call('GET', K.idem) == A.reservation then
  redis.call('DEL', K.idem)
  return {'released'}
end
return {'not_held'}

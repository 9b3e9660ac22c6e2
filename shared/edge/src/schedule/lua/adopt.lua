-- Moves up to A.max items of a register of the previous release (K.previous: `tenant/board` ->
-- due ms, with no kind) into K.register as A.kind's, keeping the earlier due time where both
-- hold one, and arms the alarm for the register's earliest item. A shim for one release: a
-- rolling deploy's old instances still note there until they are gone.
-- Answers {'moved', how many}.
local old = redis.call('ZRANGE', K.previous, 0, tonumber(A.max) - 1, 'WITHSCORES')
for i = 1, #old, 2 do
  redis.call('ZADD', K.register, 'LT', old[i + 1], A.kind .. ':' .. old[i])
  redis.call('ZREM', K.previous, old[i])
end
if #old > 0 then arm_first(tonumber(A.now_ms)) end
return {'moved', #old / 2}

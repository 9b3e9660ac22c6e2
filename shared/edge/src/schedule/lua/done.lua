-- What a worker did with an item it leased, whose stamp was A.stamp then: due again at
-- A.next_ms, or with A.next_ms '' forgotten (with its stamp). An item noted since the lease (its
-- stamp is no longer A.stamp) stays, due at the earlier of its time and A.next_ms: what that
-- note owes is served then. With A.stamp '' the item is set or forgotten whatever was noted
-- (its board is gone). Then arms the alarm for the register's earliest item.
-- Answers {'removed'}, {'due'} (at A.next_ms) or {'kept'} (noted since: its own time stands).
local untouched = A.stamp == '' or (redis.call('HGET', K.stamps, A.item) or '0') == A.stamp
local word = 'kept'
if A.next_ms == '' then
  if untouched then
    redis.call('ZREM', K.register, A.item)
    redis.call('HDEL', K.stamps, A.item)
    word = 'removed'
  end
else
  local again = tonumber(A.next_ms)
  local at = redis.call('ZSCORE', K.register, A.item)
  if untouched or not at or tonumber(at) > again then
    redis.call('ZADD', K.register, again, A.item)
    word = 'due'
  end
end
arm_first(K.register, K.alarm, tonumber(A.now_ms))
return {word}

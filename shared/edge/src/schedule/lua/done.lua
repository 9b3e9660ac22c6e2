-- What a worker did with an item it leased, which the lease gave the stamp A.stamp and the due
-- time A.held_ms: due again at A.next_ms, or with A.next_ms '' forgotten (with its stamp). An
-- item noted since the lease (its stamp is another: a note of this release; or its due time is
-- another: a note of the previous release, which stamps nothing, or another worker's lease once
-- this one ended) stays, due at the earlier of its time and A.next_ms: what that note owes is
-- served then. With A.stamp '' the item is set or forgotten whatever was noted (its board is
-- gone). With A.only_held '1' an item noted since is left as it is (a worker giving back what
-- it did not serve: another worker may hold it now). Then arms the alarm for the register's
-- earliest item.
-- Answers {'removed'}, {'due'} (at A.next_ms) or {'kept'} (noted since: its own time stands).
local at = redis.call('ZSCORE', K.register, A.item)
local untouched = A.stamp == '' or (
  (redis.call('HGET', K.stamps, A.item) or '0') == A.stamp
  and at and tonumber(at) == tonumber(A.held_ms))
local word = 'kept'
if A.next_ms == '' then
  if untouched then
    redis.call('ZREM', K.register, A.item)
    redis.call('HDEL', K.stamps, A.item)
    word = 'removed'
  end
else
  local again = tonumber(A.next_ms)
  if untouched or (A.only_held ~= '1' and (not at or tonumber(at) > again)) then
    redis.call('ZADD', K.register, again, A.item)
    word = 'due'
  end
end
arm_first(K.register, K.alarm, tonumber(A.now_ms))
return {word}

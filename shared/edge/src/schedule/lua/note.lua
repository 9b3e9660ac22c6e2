-- Notes an item (K.register's member A.item) as due at A.due_ms: with A.mode 'earlier' only if
-- that is earlier than it is due already (a tournament's creation refused because its id is
-- taken must not postpone the existing one); with 'if_held' only while it is due at A.held_ms
-- still (a worker's lease or an early end's note: a newer note is never overwritten); with
-- 'always' whatever it was due at. Then arms the alarm for the register's earliest item (at once
-- for one due already: an alarm missed while no worker listened is made up by the next note).
-- Times come from the caller's clock; Redis's only says how long to wait.
-- Answers {'noted'}, or {'held_elsewhere'} when 'if_held' found it due at another time.
if A.mode == 'if_held' then
  local held = redis.call('ZSCORE', K.register, A.item)
  if not held or tonumber(held) ~= tonumber(A.held_ms) then return {'held_elsewhere'} end
  redis.call('ZADD', K.register, A.due_ms, A.item)
elseif A.mode == 'earlier' then
  redis.call('ZADD', K.register, 'LT', A.due_ms, A.item)
else
  redis.call('ZADD', K.register, A.due_ms, A.item)
end
arm_first(K.register, K.alarm, tonumber(A.now_ms))
return {'noted'}

-- Notes an item (K.register's member A.item) as due at A.due_ms: with A.mode 'earlier' only if
-- that is earlier than it is due already (a tournament's creation refused because its id is
-- taken must not postpone the existing one; what the webhook deliverer owes is owed at the
-- earliest of its times); with 'always' whatever it was due at (a drain's inbox item moves on
-- with every drain); with 'absent' only if the item is not in the register at all (an
-- acceptance whose doorbell no worker heard: the due time of a drain's note, which says a drain
-- may be at work on the board, stands). Every note stamps the item with a number never given
-- before
-- (K.notes counts them, K.stamps keeps each item's last): a worker that leased the item before
-- this note does not take it for served (done.lua). Then arms the alarm for the register's
-- earliest item (at once for one due already: an alarm missed while no worker listened is made
-- up by the next note). Times come from the caller's clock; Redis's only says how long to wait.
-- Answers {'noted', stamp, due}: the item's stamp and due time now, by which the caller holds it
-- as a lease's holder does.
if A.mode == 'earlier' then
  redis.call('ZADD', K.register, 'LT', A.due_ms, A.item)
elseif A.mode == 'always' then
  redis.call('ZADD', K.register, A.due_ms, A.item)
elseif A.mode == 'absent' then
  redis.call('ZADD', K.register, 'NX', A.due_ms, A.item)
else
  return redis.error_reply('note: no mode ' .. A.mode)
end
local stamp = redis.call('INCR', K.notes)
redis.call('HSET', K.stamps, A.item, stamp)
arm_first(K.register, K.alarm, tonumber(A.now_ms))
return {'noted', stamp, redis.call('ZSCORE', K.register, A.item)}

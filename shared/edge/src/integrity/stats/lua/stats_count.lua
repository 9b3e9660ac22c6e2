-- Counts submissions outside a write in a minute bucket of the board's stats: a held or
-- rejected one, or the earlier members of a burst flagged when it completed.
-- A.player: counted among the minute's players ('' = none).
-- Answers {'counted'}.
redis.call('HINCRBY', K.counters, A.counter, A.by)
redis.call('EXPIRE', K.counters, A.ttl_secs)
if A.player ~= '' then
  redis.call('PFADD', K.players, A.player)
  redis.call('EXPIRE', K.players, A.ttl_secs)
end
return {'counted'}

-- Extra attempts granted to a player in one run of a tournament (a period of its board), added
-- to what was granted before. The hash expires with the period's records.
-- K.grants: player -> attempts granted; K.records: what the attempts used are counted in.
-- Answers {'granted', attempts granted this run (the grant included), the player's record or
-- ''}, or {'board_gone'}.
if redis.call('EXISTS', K.config) == 0 then return {'board_gone'} end
local granted = redis.call('HINCRBY', K.grants, A.player, A.extra)
if A.expire_at_ms ~= '0' then redis.call('PEXPIREAT', K.grants, A.expire_at_ms) end
return {'granted', granted, redis.call('HGET', K.records, A.player) or ''}

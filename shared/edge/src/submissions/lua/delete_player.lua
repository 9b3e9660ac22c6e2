-- Removes a player's entry from a period with its record_deleted event. Its keys (`K`) and
-- arguments (`A`) are named where the script is declared (`delete_player` in ../writes.rs).
-- Answers {'deleted', the board's new version}, {'absent'} (the player had no entry) or
-- {'board_deleted'} (nothing is written: its log and version must not come back after its
-- delete).
if redis.call('EXISTS', K.config) == 0 then return {'board_deleted'} end
local member = redis.call('HGET', K.members, A.player)
if not member then return {'absent'} end
redis.call('ZREM', K.ranked, member)
if A.in_cohort == '1' then redis.call('ZREM', K.cohort_ranked, member) end
redis.call('HDEL', K.records, A.player)
redis.call('HDEL', K.members, A.player)
redis.call('XADD', K.events, '*', 'event', A.event)
return {'deleted', redis.call('INCR', K.version)}

-- Extra attempts granted to a player in one run of a tournament (a period of its board), added
-- to what was granted before. The hash expires with the period's records.
-- KEYS: 1 the board's config, 2 the run's grants (hash: player -> attempts granted), 3 the
--       run's records (what the attempts used are counted in)
-- ARGV: 1 player, 2 attempts to add, 3 when the period's data expires (Unix ms; 0: never)
-- Returns {attempts granted this run, the grant included, the player's record or ''}; {} when
-- the board is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local granted = redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] ~= '0' then redis.call('PEXPIREAT', KEYS[2], ARGV[3]) end
return {granted, redis.call('HGET', KEYS[3], ARGV[1]) or ''}

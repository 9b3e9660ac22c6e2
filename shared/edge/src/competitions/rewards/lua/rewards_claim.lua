-- A player's claim of its award in a run: taken once (the first claim's time is kept, and every
-- claim after it is answered with it), only once the run is awarded and only for a player
-- awarded something. The decision is `leaderboard::competition::rewards::claim`'s; this script
-- reads what it decides on and records the claim it allows in one step. Nothing is taken once
-- the board is deleted (its awards are swept after it).
-- KEYS: 1 the board's config, 2 the run's awards (hash)
-- ARGV: 1 the player, 2 now (Unix ms)
-- Returns {awarded (0/1), the player's rank ('' = none), claimed before ('' = not), taken now
-- (0/1), its cohort ('' = none)}; {} when the board is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local got = redis.call('HMGET', KEYS[2], '_at', 'p:' .. ARGV[1], 'c:' .. ARGV[1], 'g:' .. ARGV[1])
if not got[1] then return {0, '', '', 0, ''} end
if not got[2] then return {1, '', '', 0, ''} end
local cohort = got[4] or ''
if got[3] then return {1, got[2], got[3], 0, cohort} end
redis.call('HSET', KEYS[2], 'c:' .. ARGV[1], ARGV[2])
return {1, got[2], '', 1, cohort}
